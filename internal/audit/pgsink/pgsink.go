// Package pgsink is the database audit sink: with the PostgreSQL store,
// every node writes its audit records to table audit_events (migration
// 0010) in batches (COPY), and answers LookupEvents from it, so that any
// node finds every node's events.
//
// Write never blocks a request: records wait in a buffer bounded in bytes
// and are dropped (counted) when it is full, e.g. while the database is
// unreachable; a failed batch is retried with backoff and stays counted in
// the buffer meanwhile. Retention deletes rows older than it.
//
// NextTokens are opaque: the position (event time and row id) and an
// HMAC-SHA256 over it, the account and the filter, so a changed token or
// one used with another filter is refused.
package pgsink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/offheap"
)

// Defaults of Config.
const (
	DefaultBufferBytes = 32 << 20
	DefaultBatchEvents = 1000
	DefaultBatchWait   = 200 * time.Millisecond
	DefaultConns       = 4
)

// Config configures a Sink.
type Config struct {
	DSN  string
	Node string // this node's name, stored with its events
	// Retention deletes events older than it (0 keeps every event).
	Retention   time.Duration
	TokenKey    []byte // signs NextTokens (at least 32 bytes)
	BufferBytes int64
	// ScratchDir keeps the backlog beyond the records being inserted and
	// the newest MiB in an unlinked scratch file there (offheap.NewFIFOIn),
	// not in resident memory; empty: all of it in memory.
	ScratchDir  string
	BatchEvents int
	BatchWait   time.Duration
	// Conns bounds the connections LookupEvents uses (the writer has one
	// of its own).
	Conns int
	Now   func() time.Time
	Log   *slog.Logger
}

// Sink writes records to audit_events and reads them back.
type Sink struct {
	cfg   Config
	conns chan *pgx.Conn // Conns slots; nil: not connected

	mu sync.Mutex
	// queue holds the records waiting (and the batch being inserted, at
	// its head until done pops it) outside the Go heap: under load it is
	// up to BufferBytes of records that, each allocated on the heap, made
	// the collector run more often and mark them while they waited. With
	// ScratchDir, what waits behind the batch and the newest chunk is in
	// a scratch file: at 100,000 roles on PostgreSQL (internal/tools/scale,
	// the database on the same 2 cores) the backlog reached 13,000-23,000
	// records, 18-32 MiB of the process's resident memory.
	queue    *offheap.FIFO
	batch    [][]byte // the writer's: the records take handed out
	bytes    int64    // queued and in flight
	closed   bool
	accepted uint64 // records taken by Write
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	closeCtx context.Context

	handled  atomic.Uint64 // records inserted or dropped after being taken
	inserted atomic.Uint64
	dropped  atomic.Uint64
	failures atomic.Uint64
	latency  atomic.Int64
	backlog  atomic.Int64
}

// Open connects to the database (whose schema the store has migrated) and
// starts the writer.
func Open(ctx context.Context, cfg Config) (*Sink, error) {
	if len(cfg.TokenKey) < 32 {
		return nil, errors.New("pgsink: a token key of at least 32 bytes is required")
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.BatchEvents <= 0 {
		cfg.BatchEvents = DefaultBatchEvents
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.Conns <= 0 {
		cfg.Conns = DefaultConns
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgsink: connect: %w", err)
	}
	return start(cfg, c), nil
}

// start starts a sink on a configured cfg, c (nil: none yet) its first
// lookup connection.
func start(cfg Config, c *pgx.Conn) *Sink {
	s := &Sink{cfg: cfg, conns: make(chan *pgx.Conn, cfg.Conns), queue: offheap.NewFIFOIn(queueChunk, cfg.ScratchDir), wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	s.conns <- c
	for range cfg.Conns - 1 {
		s.conns <- nil
	}
	go s.run()
	return s
}

// Write queues a copy of one record line; it never blocks and reports
// false when the record was dropped. Its attributes are parsed from the
// line when it is inserted.
func (s *Sink) Write(line []byte) bool { return s.WriteWith(line, nil) }

// WriteWith is Write for a line with its packed attributes (an
// audit.Config.Sink): they are unpacked when it is inserted, instead of
// the line parsed (encoding/json took some 17 µs of CPU a record, and its
// garbage as much again in collections, on the server's cores).
func (s *Sink) WriteWith(line, attrs []byte) bool {
	size := queuedLen(line, attrs)
	n := int64(size)
	s.mu.Lock()
	if s.closed || size > offheap.MaxRecord || s.bytes+n > s.cfg.BufferBytes {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	putQueued(s.queue.Push(size), line, attrs)
	s.bytes += n
	s.accepted++
	s.mu.Unlock()
	s.backlog.Add(1)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// Stats accessors, for metrics.

// Backlog is the number of records queued or being inserted.
func (s *Sink) Backlog() int64 { return s.backlog.Load() }

// Dropped is the number of records lost (buffer full, unparsable, or
// unsent at Close).
func (s *Sink) Dropped() uint64 { return s.dropped.Load() }

// Inserted is the number of records written to the table.
func (s *Sink) Inserted() uint64 { return s.inserted.Load() }

// Failures is the number of failed batch inserts (each retried).
func (s *Sink) Failures() uint64 { return s.failures.Load() }

// WriteLatency is how long the last batch insert took.
func (s *Sink) WriteLatency() time.Duration { return time.Duration(s.latency.Load()) }

// Flush returns once every record Write took before it is inserted (or
// dropped), or ctx ends.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	want := s.accepted
	s.mu.Unlock()
	for s.handled.Load() < want {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Close stops taking records, inserts what is buffered until ctx ends
// (the rest is dropped, counted) and closes the connections. A second
// Close waits for the writer to stop and returns.
func (s *Sink) Close(ctx context.Context) {
	s.mu.Lock()
	first := !s.closed
	if first {
		s.closed, s.closeCtx = true, ctx
		close(s.stop)
	}
	s.mu.Unlock()
	<-s.stopped
	if !first {
		return
	}
	for range s.cfg.Conns {
		if c := <-s.conns; c != nil {
			_ = c.Close(context.Background())
		}
	}
}

func (s *Sink) run() {
	defer close(s.stopped)
	defer func() {
		// Nothing is queued once the writer stops (Close takes no more,
		// and what was left is inserted or dropped).
		s.mu.Lock()
		s.queue.Free()
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Close's deadline cuts the last deliveries short.
		<-s.stop
		select {
		case <-s.closeCtx.Done():
			cancel()
		case <-s.stopped:
		}
	}()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	every := time.Hour
	if s.cfg.Retention > 0 {
		every = min(max(s.cfg.Retention/10, time.Second), 10*time.Minute)
	}
	prune := time.NewTicker(every)
	defer prune.Stop()
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	attempt := 0
	for {
		stopping := false
		select {
		case <-s.wake:
		case <-s.stop:
			stopping = true
		case <-prune.C:
			if s.cfg.Retention > 0 {
				conn = s.prune(ctx, conn)
			}
			continue
		}
		for {
			batch, size := s.take()
			if len(batch) == 0 {
				break
			}
			var err error
			if conn == nil || conn.IsClosed() {
				conn, err = pgx.Connect(ctx, s.cfg.DSN)
			}
			skipped := 0
			if err == nil {
				skipped, err = s.insert(ctx, conn, batch, attempt > 0)
			}
			if err != nil && ctx.Err() == nil {
				s.failures.Add(1)
				if attempt == 0 {
					s.cfg.Log.Warn("audit database sink: insert failed; retrying", "error", err)
				}
				if conn != nil {
					_ = conn.Close(context.Background())
					conn = nil
				}
				// The batch stays at the head of the queue: taken again.
				wait := min(250*time.Millisecond<<min(attempt, 6), 10*time.Second)
				attempt++
				pace.Reset(wait/2 + rand.N(wait/2))
				select {
				case <-pace.C:
				case <-ctx.Done():
				}
				continue
			}
			if err != nil { // Close's deadline
				s.done(0, len(batch), size)
				continue
			}
			if attempt > 0 {
				s.cfg.Log.Info("audit database sink: writing again")
				attempt = 0
			}
			s.done(len(batch)-skipped, skipped, size)
			if !stopping && len(batch) < s.cfg.BatchEvents {
				// Let records gather: one COPY per BatchWait at most.
				pace.Reset(s.cfg.BatchWait)
				select {
				case <-pace.C:
				case <-s.stop:
					stopping = true
				}
			}
		}
		if stopping {
			return
		}
	}
}

// take returns the records at the head of the queue, at most BatchEvents,
// and their bytes as the queue counts them. They stay queued (valid
// whatever Write adds meanwhile) until done pops them; a batch that
// failed is taken again.
func (s *Sink) take() ([][]byte, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.batch)
	s.batch = s.batch[:0]
	var size int64
	s.queue.Peek(s.cfg.BatchEvents, func(rec []byte) bool {
		s.batch = append(s.batch, rec)
		size += int64(len(rec))
		return true
	})
	return s.batch, size
}

// done accounts for the batch take handed out, which it pops: inserted
// rows and dropped records.
func (s *Sink) done(inserted, dropped int, size int64) {
	s.mu.Lock()
	s.queue.Pop(inserted + dropped)
	clear(s.batch) // no pointers into chunks Pop may have unmapped
	s.bytes -= size
	s.mu.Unlock()
	s.backlog.Add(-int64(inserted + dropped))
	s.inserted.Add(uint64(inserted))
	s.dropped.Add(uint64(dropped))
	s.handled.Add(uint64(inserted + dropped))
}

var columns = []string{"node", "event_time", "account", "event_id", "event_name", "event_source", "username", "access_key_id", "read_only", "resource_types", "resource_names", "record"}

var columnList = strings.Join(columns, ", ")

// insert COPYs a batch; records that do not parse are skipped (and
// counted as dropped by the caller). A batch sent again (again: the last
// attempt failed, maybe after the server committed it) goes through
// copyOnce, which skips the events already stored; a first attempt is
// copied into the table directly (copyRows: 21.0-22.3 µs of the database's
// CPU a record against 24.7-26.3 through the staging table,
// BenchmarkInsert), and through copyOnce only when an event of it was
// stored already.
func (s *Sink) insert(ctx context.Context, conn *pgx.Conn, batch [][]byte, again bool) (skipped int, err error) {
	rows := make([][]any, 0, len(batch))
	for _, rec := range batch {
		line, a, err := unqueue(rec)
		if err != nil {
			skipped++
			continue
		}
		types, names := make([]string, len(a.Resources)), make([]string, len(a.Resources))
		for i, r := range a.Resources {
			types[i], names[i] = text(r.Type), text(r.ARN)
		}
		rows = append(rows, []any{s.cfg.Node, a.Time, text(a.Account), text(a.EventID), text(a.EventName), text(a.EventSource), text(a.Username),
			text(a.AccessKeyID), a.ReadOnly, types, names, string(line)})
	}
	start := time.Now()
	if again {
		err = copyOnce(ctx, conn, rows)
	} else if err = copyRows(ctx, conn, rows); unique(err) {
		err = copyOnce(ctx, conn, rows)
	}
	s.latency.Store(int64(time.Since(start)))
	if err != nil && refused(err) {
		// PostgreSQL refused a value, not the connection: retried whole,
		// the batch would fail for ever, and every later record behind it.
		// Each row goes on its own (a row already stored is skipped), and
		// a row refused again is dropped and counted.
		for _, row := range rows {
			if err := copyOnce(ctx, conn, [][]any{row}); err != nil {
				if !refused(err) {
					return 0, fmt.Errorf("copy into audit_events: %w", err)
				}
				skipped++
				s.cfg.Log.Warn("audit database sink: the database refused a record; it is dropped from the table",
					"account", row[2], "eventID", row[3], "error", err)
			}
		}
		return skipped, nil
	}
	if err != nil {
		return 0, fmt.Errorf("copy into audit_events: %w", err)
	}
	return skipped, nil
}

// refused reports whether err is PostgreSQL refusing what a row holds (a
// data exception, an integrity constraint, a program limit such as a row
// too large), which sending it again cannot mend; anything else (the
// connection, the server shutting down, resources) is retried.
func refused(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

// text is s as a TEXT column takes it: PostgreSQL refuses a NUL character
// (a JSON record holds one as \u0000, which an unsigned request's action
// can carry) and bytes that are not UTF-8, and one refused value failed the
// whole batch, which the sink then retried for ever. Either becomes U+FFFD
// (a lookup by such a value finds nothing in the table; the record, in its
// JSON column, is whole).
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// A queued record is one copy of a line and its attributes: the
// attributes' length, them, the line. queuedLen is its size.
func queuedLen(line, attrs []byte) int {
	var b [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(b[:0], uint64(len(attrs)))) + len(attrs) + len(line)
}

// putQueued writes the queued record of line and attrs into rec, of
// queuedLen bytes.
func putQueued(rec, line, attrs []byte) {
	n := binary.PutUvarint(rec, uint64(len(attrs)))
	copy(rec[n+copy(rec[n:], attrs):], line)
}

// queueChunk is the queue's unit of memory.
const queueChunk = 1 << 20

// unqueue splits a queued record (WriteWith) into its line and attributes,
// unpacked or, without them, parsed from the line.
func unqueue(rec []byte) ([]byte, audit.Attrs, error) {
	n, k := binary.Uvarint(rec)
	if k <= 0 || n > uint64(len(rec)-k) {
		return nil, audit.Attrs{}, errors.New("audit database sink: malformed queued record")
	}
	attrs, line := rec[k:k+int(n)], rec[k+int(n):]
	if n == 0 {
		a, err := audit.ParseAttrs(line)
		return line, a, err
	}
	a, err := audit.UnpackAttrs(attrs)
	return line, a, err
}

// copyRows stores rows with one COPY into audit_events: an event already
// stored fails it whole (unique).
func copyRows(ctx context.Context, conn *pgx.Conn, rows [][]any) error {
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_events"}, columns, pgx.CopyFromRows(rows))
	return err
}

// unique reports whether err is PostgreSQL refusing a row as a duplicate
// of one stored (unique_violation).
func unique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// copyOnce stores rows, skipping an event already stored: the sink sends a
// batch again after an error, and the error may have come after the
// server committed it. COPY cannot skip a row, so the rows go through a
// staging table of the connection's, emptied at each commit.
func copyOnce(ctx context.Context, conn *pgx.Conn, rows [][]any) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }() // a no-op once committed
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS audit_stage (node TEXT, event_time TIMESTAMPTZ, account TEXT, event_id TEXT,
		event_name TEXT, event_source TEXT, username TEXT, access_key_id TEXT, read_only BOOLEAN, resource_types TEXT[], resource_names TEXT[],
		record JSON) ON COMMIT DELETE ROWS`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_stage"}, columns, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_events (`+columnList+`) SELECT `+columnList+` FROM audit_stage
		ON CONFLICT (account, event_id) DO NOTHING`); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// prune deletes the events older than the retention.
func (s *Sink) prune(ctx context.Context, conn *pgx.Conn) *pgx.Conn {
	var err error
	if conn == nil || conn.IsClosed() {
		if conn, err = pgx.Connect(ctx, s.cfg.DSN); err != nil {
			return nil
		}
	}
	if _, err := conn.Exec(ctx, `DELETE FROM audit_events WHERE event_time < $1`, s.cfg.Now().Add(-s.cfg.Retention)); err != nil {
		s.cfg.Log.Warn("audit database sink: retention", "error", err)
	}
	return conn
}

// Prune applies the retention now (for `opensts audit` and tests).
func (s *Sink) Prune(ctx context.Context) error {
	if s.cfg.Retention <= 0 {
		return nil
	}
	return s.withConn(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM audit_events WHERE event_time < $1`, s.cfg.Now().Add(-s.cfg.Retention))
		return err
	})
}

func (s *Sink) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	var c *pgx.Conn
	select {
	case c = <-s.conns:
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	if c == nil || c.IsClosed() {
		if c, err = pgx.Connect(ctx, s.cfg.DSN); err != nil {
			s.conns <- nil
			return fmt.Errorf("pgsink: connect: %w", err)
		}
	}
	err = fn(c)
	if err != nil && (c.IsClosed() || ctx.Err() != nil) {
		_ = c.Close(context.Background())
		c = nil
	}
	s.conns <- c
	return err
}

// LookupEvents answers a lookup from the table, newest first
// (audit.EventStore).
func (s *Sink) LookupEvents(ctx context.Context, f audit.Filter, token string, max int) ([]audit.Event, string, error) {
	var after *position
	if token != "" {
		p, err := s.parseToken(f, token)
		if err != nil {
			return nil, "", err
		}
		after = &p
	}
	q, args := lookupQuery(f, after, max)
	if q == "" {
		return nil, "", nil
	}
	var out []audit.Event
	var last position
	more := false
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		out, more = out[:0], false
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if len(out) == max {
				more = true
				break
			}
			var e audit.Event
			var id int64
			var t time.Time
			var ro bool
			var types, names []string
			if err := rows.Scan(&id, &t, &e.EventID, &e.EventName, &ro, &e.AccessKeyID, &e.EventSource, &e.Username, &types, &names, &e.CloudTrailEvent); err != nil {
				return err
			}
			e.ReadOnly, e.EventTime = strconv.FormatBool(ro), float64(t.Unix())
			for i := range min(len(types), len(names)) {
				e.Resources = append(e.Resources, audit.EventResource{ResourceType: types[i], ResourceName: names[i]})
			}
			out = append(out, e)
			last = position{micros: t.UnixMicro(), id: id}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("pgsink: lookup: %w", err)
	}
	next := ""
	if more {
		next = s.token(f, last)
	}
	return out, next, nil
}

// position is where a page ended: its last event's time and row id.
type position struct {
	micros, id int64
}

var attrColumn = map[string]string{
	"EventId": "event_id", "EventName": "event_name", "Username": "username", "AccessKeyId": "access_key_id", "EventSource": "event_source",
}

// lookupQuery is the SELECT for f after p, newest first (up to max+1
// rows; every row oldest first when max is 0); "" when f can match nothing.
func lookupQuery(f audit.Filter, after *position, max int) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Account != "" {
		where = append(where, "account = "+arg(f.Account))
	}
	switch f.Attribute {
	case "":
	case "ReadOnly":
		if f.Value != "true" && f.Value != "false" {
			return "", nil
		}
		where = append(where, "read_only = "+arg(f.Value == "true"))
	case "ResourceName":
		where = append(where, "resource_names @> ARRAY["+arg(f.Value)+"::text]")
	case "ResourceType":
		where = append(where, "resource_types @> ARRAY["+arg(f.Value)+"::text]")
	default:
		col, ok := attrColumn[f.Attribute]
		if !ok {
			return "", nil
		}
		where = append(where, col+" = "+arg(f.Value))
	}
	// Event times are whole seconds: the range is inclusive in seconds, as
	// the trail's index.
	if !f.Start.IsZero() {
		where = append(where, "event_time >= "+arg(time.Unix(f.Start.Unix(), 0).UTC()))
	}
	if !f.End.IsZero() {
		where = append(where, "event_time < "+arg(time.Unix(f.End.Unix()+1, 0).UTC()))
	}
	if after != nil {
		where = append(where, "(event_time, id) < ("+arg(time.UnixMicro(after.micros).UTC())+", "+arg(after.id)+")")
	}
	q := "SELECT id, event_time, event_id, event_name, read_only, access_key_id, event_source, username, resource_types, resource_names, record::text FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if max <= 0 {
		return q + " ORDER BY event_time, id", args
	}
	q += " ORDER BY event_time DESC, id DESC LIMIT " + strconv.Itoa(max+1)
	return q, args
}

// Query connects to dsn and calls emit with each record of audit_events
// that f selects (every node's), oldest first: `opensts audit query
// --database-url`.
func Query(ctx context.Context, dsn string, f audit.Filter, emit func(line []byte) error) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close(context.Background())
	q, args := lookupQuery(f, nil, 0)
	if q == "" {
		return nil
	}
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query audit_events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t time.Time
		var ro bool
		var skip string
		var types, names []string
		var rec []byte
		if err := rows.Scan(&id, &t, &skip, &skip, &ro, &skip, &skip, &skip, &types, &names, &rec); err != nil {
			return err
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	return rows.Err()
}

// token is the NextToken after p for f.
func (s *Sink) token(f audit.Filter, p position) string {
	payload := strconv.FormatInt(p.micros, 10) + "." + strconv.FormatInt(p.id, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(s.mac(f, payload))
}

func (s *Sink) mac(f audit.Filter, payload string) []byte {
	m := hmac.New(sha256.New, s.cfg.TokenKey)
	fmt.Fprintf(m, "opensts-audit-nexttoken-v1\x00%s\x00%s\x00%s\x00%d\x00%d\x00%s", f.Account, f.Attribute, f.Value, unixOrZero(f.Start), unixOrZero(f.End), payload)
	return m.Sum(nil)[:16]
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Sink) parseToken(f audit.Filter, token string) (position, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return position{}, audit.ErrInvalidToken
	}
	// Strict: a token has one spelling (no unused bits set).
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(f, string(payload))) {
		return position{}, audit.ErrInvalidToken
	}
	ms, id, _ := strings.Cut(string(payload), ".")
	var p position
	var err error
	if p.micros, err = strconv.ParseInt(ms, 10, 64); err == nil {
		p.id, err = strconv.ParseInt(id, 10, 64)
	}
	if err != nil {
		return position{}, audit.ErrInvalidToken
	}
	return p, nil
}

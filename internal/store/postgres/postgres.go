// Package postgres is the OpenSTS storage backend for several stateless nodes
// sharing one PostgreSQL database (15 or later, with ICU), through pgx/v5
// connections in a small pool of its own (pgxpool is not in go.mod). Its schema and behaviour mirror the sqlite backend;
// both pass storetest.
//
// The queries live in sqlstore, shared with the sqlite backend; this package
// holds the connection pool, transactions, schema, time encoding and error
// translation. It imports store, sqlstore and pgx only.
//
// Names AWS treats case-insensitively are stored with a nondeterministic ICU
// collation (ci), so equality, uniqueness and ON CONFLICT are
// case-insensitive while the stored spelling is kept. Writes run in READ
// COMMITTED transactions; a serialization failure or deadlock is retried.
// The change feed's sequence numbers come from a counter row that each
// recording write updates last, holding its lock until commit, so they become
// visible to every node in order (see the sqlstore change feed).
//
// Deletes follow the sqlstore package comment, as in the sqlite backend.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

const defaultTouchInterval = time.Second

// migrationLock is the advisory lock key that serializes migrations across nodes.
const migrationLock = 0x6f70656e737473 // "opensts"

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store // the queries

	pool    *pool
	reads   queryer
	touches *sqlstore.Touches
	retried atomic.Int64 // write transactions run again (a deadlock, a serialization failure)

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a pgx connection string or URL)
// and brings its schema up to date. Tables live in the connection's
// search_path schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, defaultTouchInterval, true)
}

// OpenExisting connects to a database a server already brought up to date,
// without touching its schema: for a tool that only reads (audit verify),
// which must not migrate a deployment's database as a side effect.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, defaultTouchInterval, false)
}

func open(ctx context.Context, dsn string, touchInterval time.Duration, migrate bool) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	p := newPool(cfg, 16)
	s := &Store{pool: p, reads: queryer{pool: p}}
	if !migrate {
		// One round trip now, so that a wrong DSN says so here.
		if err := s.ping(ctx); err != nil {
			p.close()
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
	} else if err := s.migrate(ctx); err != nil {
		p.close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s.touches = sqlstore.NewTouches(touchInterval, s.writeTouches)
	s.Store = sqlstore.New(db{s}, dialect{}, s.touches)
	s.touches.SizeBy(ctx, s.Store.Population)
	return s, nil
}

// Close writes pending access key usage and closes the connections. Closing
// again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.touches.Stop()
		s.pool.close()
	})
	return s.closeErr
}

// pool is a minimal connection pool.
type pool struct {
	cfg  *pgx.ConnConfig
	idle chan *pgx.Conn
	sem  chan struct{} // one token per open connection

	mu     sync.Mutex
	closed bool
}

func newPool(cfg *pgx.ConnConfig, size int) *pool {
	return &pool{cfg: cfg, idle: make(chan *pgx.Conn, size), sem: make(chan struct{}, size)}
}

func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.sem <- struct{}{}:
		c, err := pgx.ConnectConfig(ctx, p.cfg)
		if err != nil {
			<-p.sem
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns c to the pool; a connection that failed outside SQL, or
// is in a transaction, is closed instead.
func (p *pool) release(c *pgx.Conn, err error) {
	var pe *pgconn.PgError
	broken := err != nil && !errors.As(err, &pe) && !errors.Is(err, pgx.ErrNoRows)
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if broken || closed || c.IsClosed() || c.PgConn().TxStatus() != 'I' {
		c.Close(context.Background())
		<-p.sem
		return
	}
	select {
	case p.idle <- c:
	default:
		c.Close(context.Background())
		<-p.sem
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.Close(context.Background())
			<-p.sem
		default:
			return
		}
	}
}

// rebind turns the ? placeholders the queries are written with into $n.
// No query has a ? inside a literal.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// result is the affected row count of a statement.
type result int64

func (r result) RowsAffected() (int64, error) { return int64(r), nil }

// queryer runs ? queries in a transaction, or each on a pooled connection.
type queryer struct {
	tx   txConn
	pool *pool
}

// txConn is the connection a transaction's statements run on (a
// *pgx.Conn between the BEGIN and the COMMIT or ROLLBACK of inTx).
type txConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (q queryer) ExecContext(ctx context.Context, query string, args ...any) (sqlstore.Result, error) {
	if q.tx != nil {
		tag, err := q.tx.Exec(ctx, rebind(query), args...)
		return result(tag.RowsAffected()), err
	}
	c, err := q.pool.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tag, err := c.Exec(ctx, rebind(query), args...)
	q.pool.release(c, err)
	return result(tag.RowsAffected()), err
}

func (q queryer) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	if q.tx != nil {
		return q.tx.Query(ctx, rebind(query), args...)
	}
	c, err := q.pool.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := c.Query(ctx, rebind(query), args...)
	if err != nil {
		q.pool.release(c, err)
		return nil, err
	}
	return &pooledRows{Rows: rs, release: func(err error) { q.pool.release(c, err) }}, nil
}

type pooledRows struct {
	pgx.Rows
	release func(error)
	done    bool
}

func (r *pooledRows) Close() {
	r.Rows.Close()
	if !r.done {
		r.done = true
		r.release(r.Rows.Err())
	}
}

func (q queryer) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	if q.tx != nil {
		return q.tx.QueryRow(ctx, rebind(query), args...)
	}
	return rowFunc(func(dest ...any) error {
		c, err := q.pool.acquire(ctx)
		if err != nil {
			return err
		}
		err = c.QueryRow(ctx, rebind(query), args...).Scan(dest...)
		q.pool.release(c, err)
		return err
	})
}

type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// tx is a transaction whose queries use ? placeholders.
type tx struct {
	queryer
	changes []store.Change // to record with the commit (RecordWithCommit)
	seq     *int64
}

// RecordWithCommit implements sqlstore.CommitRecorder: inTx sends the
// statements that record changes with the COMMIT, in one round trip.
func (t *tx) RecordWithCommit(changes []store.Change, seq *int64) { t.changes, t.seq = changes, seq }

// write runs fn in a READ COMMITTED transaction, retrying serialization
// failures and deadlocks.
func (s *Store) write(ctx context.Context, fn func(tx *tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.inTx(ctx, "begin", fn)
		if !retryable(err) {
			return err
		}
		s.retried.Add(1)
	}
	return err
}

// read runs fn in a repeatable-read, read-only transaction, for reads that
// need more than one statement to see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *tx) error) error {
	return s.inTx(ctx, "begin isolation level repeatable read read only", fn)
}

// inTx runs fn in a transaction that begin starts, on a pooled connection,
// and commits it if fn returns nil. The transaction is the store's own
// statements (not pgx.Tx), so that the changes a write records go with
// its COMMIT in one round trip (commit). A transaction that did not commit
// is rolled back; a connection whose rollback failed is closed (release
// closes one still in a transaction).
func (s *Store) inTx(ctx context.Context, begin string, fn func(tx *tx) error) (err error) {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { s.pool.release(c, err) }()
	if _, err := c.Exec(ctx, begin); err != nil {
		return translate(err)
	}
	defer func() {
		if c.PgConn().TxStatus() != 'I' {
			_, _ = c.Exec(context.Background(), "rollback")
		}
	}()
	t := &tx{queryer: queryer{tx: c}}
	if err := fn(t); err != nil {
		return translate(err)
	}
	return translate(t.commit(ctx, c))
}

// commit commits t on c: with the statements that record its changes
// (RecordWithCommit) before the COMMIT, in one pipeline, and sets the
// write's Seq once it committed.
func (t *tx) commit(ctx context.Context, c *pgx.Conn) error {
	if len(t.changes) == 0 {
		tag, err := c.Exec(ctx, "commit")
		return committed(tag, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st := sqlstore.ChangeStatements(dialect{}, t.changes)
	b := &pgx.Batch{}
	for _, x := range st {
		b.Queue(rebind(x.Query), x.Args...)
	}
	b.Queue("commit")
	// The COMMIT is sent with the statements before it: the database runs
	// it once they are done, whether this side still waits or not, and no
	// check on this side can stop it (a statement that must not commit
	// has to fail in the database: ChangeStatements). So the batch is
	// read to its end whatever ctx does, and a write is reported as the
	// database decided it. Were it read with ctx, pgx would close the
	// connection when ctx ends, sending one cancel request, which
	// PostgreSQL drops when it comes before the statement started (the
	// backend then waits for the client's next message: pgx prepares a
	// statement new to the connection in a round trip of its own), and a
	// write still waiting for the counter row would commit after it was
	// reported failed (and audited as failed). So when ctx ends first, the
	// database is asked to cancel the statement running every
	// cancelEvery until the batch returns: a write cancelled before its
	// COMMIT ran rolls back. The connection is not reused after that (a
	// cancel request that arrives late would cancel another's statement);
	// and if the database answers nothing within cancelGrace, the batch is
	// given up, its outcome unknown, as a lost connection's.
	bctx, giveUp := context.WithCancel(context.WithoutCancel(ctx))
	defer giveUp()
	stop := context.AfterFunc(ctx, func() {
		defer giveUp()
		grace := time.NewTimer(cancelGrace)
		defer grace.Stop()
		every := time.NewTicker(cancelEvery)
		defer every.Stop()
		for {
			cctx, done := context.WithTimeout(bctx, cancelEvery)
			_ = c.PgConn().CancelRequest(cctx)
			done()
			select {
			case <-bctx.Done():
				return
			case <-grace.C:
				return
			case <-every.C:
			}
		}
	})
	br := c.SendBatch(bctx, b)
	var (
		seq int64
		at  time.Time
	)
	err := br.QueryRow().Scan(&seq, dialect{}.ScanTime(&at))
	for range st[1:] {
		if err == nil {
			_, err = br.Exec()
		}
	}
	if err == nil {
		err = committed(br.Exec())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if !stop() {
		giveUp()
		_ = c.Close(context.Background())
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("record changes: %w: %w", cerr, err)
		}
		return fmt.Errorf("record changes: %w", err)
	}
	*t.seq = seq
	return nil
}

// cancelGrace bounds the wait for a recording write's outcome once its
// context ended and the database was asked to cancel it (tx.commit), and
// cancelEvery is how often it is asked.
const (
	cancelGrace = 5 * time.Second
	cancelEvery = 50 * time.Millisecond
)

// committed is the outcome of a COMMIT: PostgreSQL answers ROLLBACK, not
// an error, to the COMMIT of a transaction that failed before it.
func committed(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return err
}

// db is the sqlstore.DB of a Store.
type db struct{ s *Store }

func (d db) Write(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.s.write(ctx, func(t *tx) error { return fn(t) })
}

func (d db) Read(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.s.read(ctx, func(t *tx) error { return fn(t) })
}

func (d db) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return d.s.reads.QueryContext(ctx, query, args...)
}

func (d db) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return d.s.reads.QueryRowContext(ctx, query, args...)
}

func (db) Translate(err error) error { return translate(err) }

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// translate maps driver errors to store sentinels.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrChangesPruned) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrAlreadyExists, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
	}
	return err
}

// migrate applies the embedded migrations the database lacks, in one
// transaction under an advisory lock, so that nodes starting together apply
// each once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return s.applyMigrations(ctx, ms)
}

// applyMigrations applies those of ms (versions 1..len(ms)) that the database
// lacks.
func (s *Store) applyMigrations(ctx context.Context, ms []sqlstore.Migration) error {
	err := s.inTx(ctx, "begin", func(t *tx) error {
		if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		var current int
		if err := t.tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", current, len(ms))
		}
		for _, m := range ms[current:] {
			// No arguments: the simple protocol runs the whole script.
			if _, err := t.tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := t.tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// encTime encodes t in UTC; the zero time is NULL.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

type nullTime struct{ t *time.Time }

func (n nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*n.t = time.Time{}
	case time.Time:
		*n.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unsupported type %T", v)
	}
	return nil
}

// writeTouches writes the uses in batch in one transaction; an older use
// never overwrites a newer one. The rows go in statements of up to
// maxTouchBatch uses each, as arrays: one statement a use made a flush a
// round trip a use, and a flush of a second's uses across many keys and
// roles took longer than the second. The uses then waited in memory, each
// keeping its request's Authorization header alive (internal/tools/scale's
// first pass over 100,000 keys and roles, a use of each a request: some
// 40 MiB of heap at its end, and peak RSS 154 MiB against 142).
func (s *Store) writeTouches(ctx context.Context, batch map[string]sqlstore.Touch) error {
	// In id order: two nodes flushing at once, or a flush and a user's
	// delete, then take row locks in much the same order instead of a
	// map's random one (a deadlock is retried, at a transaction's cost).
	var keys, roles touchRows
	for _, id := range slices.Sorted(maps.Keys(batch)) {
		u := batch[id]
		if rid, ok := strings.CutPrefix(id, sqlstore.RolePrefix); ok {
			roles.add(rid, u)
		} else {
			keys.add(id, u)
		}
	}
	err := s.write(ctx, func(tx *tx) error {
		for lo := 0; lo < len(keys.ids); lo += maxTouchBatch {
			hi := min(lo+maxTouchBatch, len(keys.ids))
			if _, err := tx.ExecContext(ctx, `UPDATE access_keys AS k SET last_used_at = u.at, last_used_service = u.service, last_used_region = u.region
				FROM unnest(?::text[], ?::timestamptz[], ?::text[], ?::text[]) AS u(id, at, service, region)
				WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at <= u.at)`,
				keys.ids[lo:hi], keys.at[lo:hi], keys.service[lo:hi], keys.region[lo:hi]); err != nil {
				return err
			}
		}
		for lo := 0; lo < len(roles.ids); lo += maxTouchBatch {
			hi := min(lo+maxTouchBatch, len(roles.ids))
			if _, err := tx.ExecContext(ctx, `UPDATE roles AS r SET last_used_at = u.at, last_used_region = u.region
				FROM unnest(?::text[], ?::timestamptz[], ?::text[]) AS u(id, at, region)
				WHERE r.id = u.id AND (r.last_used_at IS NULL OR r.last_used_at <= u.at)`,
				roles.ids[lo:hi], roles.at[lo:hi], roles.region[lo:hi]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch access keys: %w", err)
	}
	return nil
}

// maxTouchBatch bounds the uses of one statement.
const maxTouchBatch = 1000

// touchRows are uses as the columns writeTouches sends as arrays.
type touchRows struct {
	ids, service, region []string
	at                   []time.Time
}

func (r *touchRows) add(id string, u sqlstore.Touch) {
	r.ids, r.at = append(r.ids, id), append(r.at, u.At.UTC())
	r.service, r.region = append(r.service, u.Service), append(r.region, u.Region)
}

// dialect is PostgreSQL's sqlstore.Dialect. Names AWS treats
// case-insensitively have a nondeterministic collation, which cannot sort by
// bytes, so orders spell out the "C" collation.
type dialect struct{}

func (dialect) Time(t time.Time) any              { return encTime(t) }
func (dialect) ScanTime(t *time.Time) sql.Scanner { return nullTime{t} }
func (dialect) Bool(b bool) any                   { return b }
func (dialect) Greatest(a, b string) string       { return "greatest(" + a + ", " + b + ")" }
func (dialect) Order(expr string) string          { return expr + ` COLLATE "C"` }
func (dialect) FoldOrder(expr string) string      { return `lower(` + expr + `) COLLATE "C"` }
func (d dialect) NameOrder(expr string) string    { return d.FoldOrder(expr) + ", " + d.Order(expr) }
func (dialect) LockRows() string                  { return " FOR UPDATE" }

// Now is the wall clock when the statement runs, not now() (the
// transaction's start): a write that waited for the feed's counter row gets a
// time after the write it waited for.
func (dialect) Now() string { return "clock_timestamp()" }

// IndexedBy is empty: the planner chooses from its statistics.
func (dialect) IndexedBy(string) string { return "" }

// ColumnsQuery lists the columns of the tables in the connection's schema.
func (dialect) ColumnsQuery() string {
	return `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
}

// OverrideIdentity keeps given values in GENERATED ALWAYS columns.
func (dialect) OverrideIdentity() string { return "OVERRIDING SYSTEM VALUE" }

// ResetIdentity moves the column's identity sequence past the stored keys.
func (dialect) ResetIdentity(table, column string) string {
	return `SELECT setval(pg_get_serial_sequence('` + table + `', '` + column + `'), (SELECT max(` + column + `) FROM ` + table + `))`
}

// ping checks that the database answers.
func (s *Store) ping(ctx context.Context) error {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	err = c.Ping(ctx)
	s.pool.release(c, err)
	return err
}

// Package postgres is the OpenSTS storage backend for several stateless nodes
// sharing one PostgreSQL database (15 or later, with ICU), through pgx/v5
// connections in a small pool of its own (pgxpool is not in go.mod). Its schema and behaviour mirror the sqlite backend;
// both pass storetest.
//
// It imports store and pgx only.
//
// Names AWS treats case-insensitively are stored with a nondeterministic ICU
// collation (ci), so equality, uniqueness and ON CONFLICT are
// case-insensitive while the stored spelling is kept. Writes run in READ
// COMMITTED transactions; a serialization failure or deadlock is retried.
// Generation reads a counter row that every node's writes increase, so it
// reflects other nodes' writes.
//
// Deletes follow the sqlite backend: see its package comment.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opensts/opensts/internal/store"
)

const defaultTouchInterval = time.Second

// migrationLock is the advisory lock key that serializes migrations across nodes.
const migrationLock = 0x6f70656e737473 // "opensts"

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database. It is safe for concurrent use.
type Store struct {
	pool    *pool
	reads   queryer
	touches *toucher

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a pgx connection string or URL)
// and brings its schema up to date. Tables live in the connection's
// search_path schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, defaultTouchInterval)
}

func open(ctx context.Context, dsn string, touchInterval time.Duration) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	p := newPool(cfg, 16)
	s := &Store{pool: p, reads: queryer{pool: p}}
	if err := s.migrate(ctx); err != nil {
		p.close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s.touches = newToucher(s, touchInterval)
	return s, nil
}

// Close writes pending access key usage and closes the connections. Closing
// again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.touches.stop()
		s.pool.close()
	})
	return s.closeErr
}

// Generation implements store.Store.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.reads.QueryRowContext(ctx, `SELECT value FROM generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("generation: %w", translate(err))
	}
	return g, nil
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

// rows is what queries return; Close releases the connection.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// queryer runs ? queries in a transaction, or each on a pooled connection.
type queryer struct {
	tx   pgx.Tx
	pool *pool
}

func (q queryer) ExecContext(ctx context.Context, query string, args ...any) (result, error) {
	if q.tx != nil {
		tag, err := q.tx.Exec(ctx, rebind(query), args...)
		return result(tag.RowsAffected()), err
	}
	c, err := q.pool.acquire(ctx)
	if err != nil {
		return 0, err
	}
	tag, err := c.Exec(ctx, rebind(query), args...)
	q.pool.release(c, err)
	return result(tag.RowsAffected()), err
}

func (q queryer) QueryContext(ctx context.Context, query string, args ...any) (rows, error) {
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

func (q queryer) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
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
type tx struct{ queryer }

// write runs fn in a READ COMMITTED transaction, retrying serialization
// failures and deadlocks. If bump is set, the generation counter is increased
// in the same transaction.
func (s *Store) write(ctx context.Context, bump bool, fn func(tx *tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.inTx(ctx, pgx.TxOptions{}, func(t *tx) error {
			if err := fn(t); err != nil {
				return err
			}
			if bump {
				return bumpGeneration(ctx, t)
			}
			return nil
		})
		if !retryable(err) {
			return err
		}
	}
	return err
}

// read runs fn in a repeatable-read, read-only transaction, for reads that
// need more than one statement to see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *tx) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(tx *tx) error) (err error) {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { s.pool.release(c, err) }()
	ptx, err := c.BeginTx(ctx, opts)
	if err != nil {
		return translate(err)
	}
	defer ptx.Rollback(context.Background())
	if err := fn(&tx{queryer{tx: ptx}}); err != nil {
		return translate(err)
	}
	return translate(ptx.Commit(ctx))
}

func bumpGeneration(ctx context.Context, t *tx) error {
	_, err := t.ExecContext(ctx, `UPDATE generation SET value = value + 1 WHERE id = 1`)
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// translate maps driver errors to store sentinels.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, store.ErrConflict) {
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

func affected(res result, err error) error {
	if err != nil {
		return err
	}
	if res == 0 {
		return store.ErrNotFound
	}
	return nil
}

// migrate applies the embedded migrations the database lacks, in one
// transaction under an advisory lock, so that nodes starting together apply
// each once.
func (s *Store) migrate(ctx context.Context) error {
	type migration struct {
		version int
		name    string
		sql     string
	}
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("migrate: bad migration file name %q", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return fmt.Errorf("migrate: migrations are not numbered 1..n: %s", m.name)
		}
	}
	err = s.inTx(ctx, pgx.TxOptions{}, func(t *tx) error {
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
			if _, err := t.tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := t.tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
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

func scanTime(t *time.Time) nullTime { return nullTime{t} }

func encTags(tags []store.Tag) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, err := json.Marshal(tags)
	if err != nil {
		panic(err) // strings always marshal
	}
	return string(b)
}

type jsonTags struct{ tags *[]store.Tag }

func (j jsonTags) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan tags: unsupported type %T", v)
	}
	*j.tags = nil
	if s == "" || s == "[]" {
		return nil
	}
	return json.Unmarshal([]byte(s), j.tags)
}

func scanTags(t *[]store.Tag) jsonTags { return jsonTags{t} }

// prefixFilter returns an SQL condition for a ListOptions path prefix; paths
// are case-sensitive, as in AWS.
func prefixFilter(column string, opt store.ListOptions) (string, []any) {
	if opt.PathPrefix == "" || opt.PathPrefix == "/" {
		return "", nil
	}
	return " AND starts_with(" + column + ", ?)", []any{opt.PathPrefix}
}

type scanner interface{ Scan(dest ...any) error }

func collect[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (rows, error)
}, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

var errClosed = errors.New("postgres store closed")

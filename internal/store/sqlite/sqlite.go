// Package sqlite is the default OpenSTS storage backend: one SQLite database
// file in the data directory, through the pure-Go modernc.org/sqlite driver, so
// CGO_ENABLED=0 builds work.
//
// The queries live in sqlstore, shared with the postgres backend; this package
// holds the connections, transactions, schema, time encoding and error
// translation. It imports store, sqlstore and the driver only.
//
// Concurrency: the database runs in WAL mode. All writes go through a pool of
// exactly one connection and start with BEGIN IMMEDIATE, so writers in this
// process queue in Go instead of failing with SQLITE_BUSY, and a writer in
// another process (an opensts CLI command) waits up to busyTimeout for the lock.
// Reads use a separate pool of read-only connections and never wait for writers.
//
// Deletes: dependent rows go through ON DELETE CASCADE in the schema, as the
// sqlstore package comment describes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout bounds how long a statement waits for a lock held by another
// process before it fails.
const busyTimeout = 10 * time.Second

// readerCacheKiB is each reader connection's page cache (SQLite's
// default is 2,000 KiB a connection, and there are four readers or more):
// reads are point lookups in a database far larger than any such cache,
// whose pages the operating system's cache holds anyway.
const readerCacheKiB = 512

// defaultTouchInterval is how often coalesced TouchAccessKey calls are written.
const defaultTouchInterval = time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use. Close it to flush pending access key usage.
type Store struct {
	*sqlstore.Store // the queries

	wdb *sql.DB // one connection; every write
	rdb *sql.DB // read-only connections

	touches *sqlstore.Touches
	reads   *stmtCache // on rdb

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database at path and brings its schema up to date.
// A missing parent directory is created with mode 0700 and a new database file
// with mode 0600 (SQLite gives its -wal and -shm files the same mode).
func Open(path string) (*Store, error) {
	return open(path, defaultTouchInterval)
}

func open(path string, touchInterval time.Duration) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite store: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	s := &Store{}
	s.wdb, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	// The writer sets journal_mode=WAL before any reader connects.
	if err := migrate(context.Background(), s.wdb); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}

	s.rdb, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	s.rdb.SetConnMaxIdleTime(0)
	if err := s.rdb.Ping(); err != nil {
		s.wdb.Close()
		s.rdb.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}

	s.reads = &stmtCache{db: s.rdb}
	s.touches = sqlstore.NewTouches(touchInterval, s.writeTouches)
	s.Store = sqlstore.New(db{s}, dialect{}, s.touches)
	s.touches.SizeBy(context.Background(), s.Store.Population)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-"+strconv.Itoa(readerCacheKiB)+")")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Close writes pending access key usage and closes the database. The Store
// must not be used afterwards; closing it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := s.touches.Stop()
		s.reads.close()
		if e := s.rdb.Close(); err == nil {
			err = e
		}
		if e := s.wdb.Close(); err == nil {
			err = e
		}
		s.closeErr = err
	})
	return s.closeErr
}

// stmtCache runs single-statement reads on the read pool with statements
// prepared once per connection: preparing costs more than running the small
// lookups on the hot path (GetAccessKey, GetRole, LastChange).
type stmtCache struct {
	db    *sql.DB
	stmts sync.Map // query -> *sql.Stmt
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// QueryRowContext is sql.DB.QueryRowContext with a cached statement.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.db.QueryRowContext(ctx, query, args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

// QueryContext is sql.DB.QueryContext with a cached statement.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) close() {
	c.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// write runs fn in an immediate transaction on the writer connection.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op once committed
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// read runs fn in a read transaction, for reads that need more than one
// statement to see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op once committed
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// writeTouches writes the access key uses in batch in one transaction; an
// older use never overwrites a newer one.
func (s *Store) writeTouches(ctx context.Context, batch map[string]sqlstore.Touch) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE access_keys SET last_used_at = ?1, last_used_service = ?2, last_used_region = ?3
			WHERE id = ?4 AND (last_used_at IS NULL OR last_used_at <= ?1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		// Prepared once a batch, as the keys' statement: a batch holds a
		// use of every role assumed in the interval, which across many
		// roles is one a request.
		roles, err := tx.PrepareContext(ctx, `UPDATE roles SET last_used_at = ?1, last_used_region = ?2
			WHERE id = ?3 AND (last_used_at IS NULL OR last_used_at <= ?1)`)
		if err != nil {
			return err
		}
		defer roles.Close()
		for id, u := range batch {
			if rid, ok := strings.CutPrefix(id, sqlstore.RolePrefix); ok {
				if _, err := roles.ExecContext(ctx, encTime(u.At), u.Region, rid); err != nil {
					return err
				}
				continue
			}
			if _, err := stmt.ExecContext(ctx, encTime(u.At), u.Service, u.Region, id); err != nil {
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

// db is the sqlstore.DB of a Store: writes on the writer connection, reads
// on the read pool.
type db struct{ s *Store }

func (d db) Write(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.s.write(ctx, func(tx *sql.Tx) error { return fn(sqlTx{tx}) })
}

func (d db) Read(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.s.read(ctx, func(tx *sql.Tx) error { return fn(sqlTx{tx}) })
}

func (d db) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return wrapRows(d.s.reads.QueryContext(ctx, query, args...))
}

func (d db) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return d.s.reads.QueryRowContext(ctx, query, args...)
}

func (db) Translate(err error) error { return translate(err) }

// sqlTx is a *sql.Tx as a sqlstore.Tx.
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) ExecContext(ctx context.Context, query string, args ...any) (sqlstore.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

func (t sqlTx) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return wrapRows(t.tx.QueryContext(ctx, query, args...))
}

func (t sqlTx) QueryRowContext(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return t.tx.QueryRowContext(ctx, query, args...)
}

// rows is a *sql.Rows as a sqlstore.Rows.
type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }

func wrapRows(rs *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return rows{rs}, nil
}

// translate maps driver errors to store sentinels. Errors that already wrap a
// sentinel, and errors with no sentinel meaning, pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrChangesPruned) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
	}
	return err
}

// migrate applies the embedded migrations that the database lacks, each in
// its own immediate transaction together with its schema_migrations row, so a
// crash or a concurrent Open never applies one twice.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return applyMigrations(ctx, db, ms)
}

// applyMigrations applies those of ms (versions 1..len(ms)) that the database
// lacks.
func applyMigrations(ctx context.Context, db *sql.DB, ms []sqlstore.Migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, len(ms))
	}
	for _, m := range ms {
		if err := applyMigration(ctx, db, m.Version, m.Name, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, name, script string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op once committed
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, name, time.Now().UTC().Format(timeLayout)); err != nil {
		return err
	}
	return tx.Commit()
}

// timeLayout is fixed width so that string order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// encTime encodes t in UTC; the zero time is NULL.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// nullTime scans a time column.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*n.t = time.Time{}
		return nil
	case string:
		t, err := time.Parse(timeLayout, v)
		if err != nil {
			return fmt.Errorf("scan time %q: %w", v, err)
		}
		*n.t = t
		return nil
	case []byte:
		return n.Scan(string(v))
	}
	return fmt.Errorf("scan time: unsupported type %T", v)
}

// dialect is SQLite's sqlstore.Dialect. Names AWS treats case-insensitively
// are COLLATE NOCASE columns, so a plain ORDER BY on them is
// case-insensitive.
type dialect struct{}

func (dialect) Time(t time.Time) any              { return encTime(t) }
func (dialect) ScanTime(t *time.Time) sql.Scanner { return nullTime{t} }
func (dialect) Greatest(a, b string) string       { return "max(" + a + ", " + b + ")" }

// Now is the current time in timeLayout, to the millisecond (SQLite's clock
// has no finer resolution); it is the same within one statement.
func (dialect) Now() string                  { return `strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')` }
func (dialect) Order(expr string) string     { return expr }
func (dialect) FoldOrder(expr string) string { return expr + " COLLATE NOCASE" }
func (dialect) NameOrder(expr string) string {
	return expr + " COLLATE NOCASE, " + expr + " COLLATE BINARY"
}

// LockRows is none: a write transaction begins IMMEDIATE, and is the only
// writer until it ends.
func (dialect) LockRows() string { return "" }

// Bool encodes b for an INTEGER column of a STRICT table.
func (dialect) Bool(b bool) any {
	if b {
		return 1
	}
	return 0
}

// IndexedBy names the index: SQLite keeps no statistics on the selectivity
// of a path prefix, so it would walk a list's name index for any prefix.
func (dialect) IndexedBy(index string) string { return " INDEXED BY " + index }

// ColumnsQuery lists the columns of every table but SQLite's own.
func (dialect) ColumnsQuery() string {
	return `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'`
}

// OverrideIdentity is empty: an INTEGER PRIMARY KEY takes given values.
func (dialect) OverrideIdentity() string { return "" }

// ResetIdentity is empty: new rows take the largest key plus one.
func (dialect) ResetIdentity(string, string) string { return "" }

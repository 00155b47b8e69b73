// Package sqlite is the default OpenSTS storage backend: one SQLite database
// file in the data directory, through the pure-Go modernc.org/sqlite driver, so
// CGO_ENABLED=0 builds work.
//
// It imports store and the driver only.
//
// Concurrency: the database runs in WAL mode. All writes go through a pool of
// exactly one connection and start with BEGIN IMMEDIATE, so writers in this
// process queue in Go instead of failing with SQLITE_BUSY, and a writer in
// another process (an opensts CLI command) waits up to busyTimeout for the lock.
// Reads use a separate pool of read-only connections and never wait for writers.
//
// Deletes: IAM refuses to delete a user, group or role that still has keys,
// memberships, policies or attachments before it calls the store, so the store
// simply deletes the row. Rows that only exist through that principal
// (memberships, inline policies, attachments, access keys) go with it through
// ON DELETE CASCADE, so nothing is left for a later principal of the same name
// to inherit; an MFA device assigned to a deleted user becomes unassigned.
// A managed policy or an Organizations policy that is still attached is the
// exception: deleting one returns store.ErrConflict, as AWS does.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/store"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout bounds how long a statement waits for a lock held by another
// process before it fails.
const busyTimeout = 10 * time.Second

// defaultTouchInterval is how often coalesced TouchAccessKey calls are written.
const defaultTouchInterval = time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use. Close it to flush pending access key usage.
type Store struct {
	wdb *sql.DB // one connection; every write
	rdb *sql.DB // read-only connections

	touches *toucher
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
	s.touches = newToucher(s, touchInterval)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
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
		err := s.touches.stop()
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

// Generation implements store.Store. It reads the database, so it also
// reflects writes made by other processes on the same file.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.reads.QueryRowContext(ctx, `SELECT value FROM generation WHERE id = 1`).Scan(&g); err != nil {
		return 0, fmt.Errorf("generation: %w", translate(err))
	}
	return g, nil
}

// stmtCache runs single-statement reads on the read pool with statements
// prepared once per connection: preparing costs more than running the small
// lookups on the hot path (GetAccessKey, GetRole, Generation).
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

// write runs fn in an immediate transaction on the writer connection. If bump
// is set, the generation counter is increased in the same transaction.
func (s *Store) write(ctx context.Context, bump bool, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return translate(err)
	}
	if bump {
		if err := bumpGeneration(ctx, tx); err != nil {
			return translate(err)
		}
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
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// translate maps driver errors to store sentinels. Errors that already wrap a
// sentinel, and errors with no sentinel meaning, pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, store.ErrConflict) {
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

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// migrate applies the embedded migrations that the database lacks, each in
// its own immediate transaction together with its schema_migrations row, so a
// crash or a concurrent Open never applies one twice.
func migrate(ctx context.Context, db *sql.DB) error {
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
		if err := applyMigration(ctx, db, m.version, m.name, m.sql); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, name, script string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
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

func scanTime(t *time.Time) nullTime { return nullTime{t} }

// encTags encodes tags as a JSON array, keeping their order.
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

// jsonTags scans a tags column; no tags decode as nil.
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

// prefixFilter returns an SQL condition on column path and its arguments for a
// ListOptions path prefix; paths are case-sensitive, as in AWS.
func prefixFilter(column string, opt store.ListOptions) (string, []any) {
	if opt.PathPrefix == "" || opt.PathPrefix == "/" {
		return "", nil
	}
	return " AND substr(" + column + ", 1, length(?)) = ?", []any{opt.PathPrefix, opt.PathPrefix}
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
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

// bool2int is for INTEGER boolean columns in STRICT tables.
func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

var errClosed = errors.New("sqlite store closed")

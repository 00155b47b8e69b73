package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// ErrClosed is returned for access key usage recorded after the store was
// closed.
var ErrClosed = errors.New("store closed")

// Querier runs statements written with ? placeholders.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) Scanner
}

// Tx is a transaction.
type Tx interface {
	Querier
	ExecContext(ctx context.Context, query string, args ...any) (Result, error)
}

// DB is a backend's connection handling.
type DB interface {
	// Querier runs single read statements, each on its own.
	Querier
	// Write runs fn in a write transaction and commits it if fn returns nil.
	// A backend may run fn more than once (PostgreSQL retries deadlocks and
	// serialization failures), each time in a new transaction: fn must not
	// consume or accumulate state it captured.
	// Errors come back translated. Changes are recorded by fn, with
	// RecordChanges as its last statement.
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn in a read-only transaction that sees one snapshot.
	// Errors come back translated.
	Read(ctx context.Context, fn func(Tx) error) error
	// Translate maps driver errors to store sentinels and passes errors that
	// already wrap one, and errors with no sentinel meaning, through.
	Translate(err error) error
}

// Dialect is what differs in a backend's SQL and column encoding.
type Dialect interface {
	// Time encodes t for a time column; the zero time is NULL.
	Time(t time.Time) any
	// ScanTime returns the scan destination for a time column; NULL scans as
	// the zero time.
	ScanTime(t *time.Time) sql.Scanner
	// Now is the SQL for the database clock's current time, encoded for a
	// time column (ScanTime scans it).
	Now() string
	// Bool encodes b for a boolean column.
	Bool(b bool) any
	// Greatest is the SQL for the larger of the expressions a and b.
	Greatest(a, b string) string
	// Order is expr as an ORDER BY term in the order the backend keeps for
	// that column: byte order. It is also the term to compare expr with in
	// that order (path ranges).
	Order(expr string) string
	// FoldOrder is expr as a case-insensitive ORDER BY term, in the order of
	// store.NameKey; compared with a NameKey it is the keyset condition of a
	// list page. The schema has an index on it for every paged list.
	FoldOrder(expr string) string
	// IndexedBy is the hint, after a table in FROM, that makes the backend use
	// the named index, or "" where the planner picks well by itself.
	IndexedBy(index string) string
	// ColumnsQuery is the SQL that lists every (table, column) of the
	// store's schema (store copy checks it).
	ColumnsQuery() string
	// OverrideIdentity is the clause, after an INSERT's column list, that
	// stores given values in a column the database generates; "" if none
	// is needed.
	OverrideIdentity() string
	// ResetIdentity is the SQL that moves the generator of table's column
	// past the values stored, or "" where it follows them by itself.
	ResetIdentity(table, column string) string
	// NameOrder is expr as ORDER BY terms in the order of names AWS treats
	// case-insensitively: case-insensitive, ties in byte order.
	NameOrder(expr string) string
	// LockRows is the clause, after a SELECT in a write transaction, that
	// keeps the rows it reads from other writers until the commit; "" where
	// a write transaction keeps out every other writer (SQLite's).
	LockRows() string
}

// Store is a store.Store on a DB, written once for every SQL backend. A
// backend embeds it and adds opening, closing and migrations. It is safe for
// concurrent use if the DB is.
type Store struct {
	db      DB
	d       Dialect
	touches *Touches
	hook    atomic.Pointer[func()]  // SetChangeHook
	latency atomic.Pointer[Latency] // SetLatency
}

// New returns a Store on db. touches records access key usage; the caller
// stops it when it closes db.
func New(db DB, d Dialect, touches *Touches) *Store {
	s := &Store{d: d, touches: touches}
	s.db = timedDB{DB: db, latency: &s.latency}
	return s
}

// Rows is the cursor of a query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
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

// deleteRow runs a DELETE in a write transaction that records changes;
// store.ErrNotFound if it removed nothing. Errors are wrapped with what (such
// as "detach org policy P from T").
func (s *Store) deleteRow(ctx context.Context, what string, changes []store.Change, query string, args ...any) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		if err := Affected(tx.ExecContext(ctx, query, args...)); err != nil {
			return err
		}
		c.add(changes...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

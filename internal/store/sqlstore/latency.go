package sqlstore

import (
	"context"
	"sync/atomic"
	"time"
)

// Latency receives the time each store operation took: op is "read" (one
// query, from its start to its last row, or one read transaction) or
// "write" (one write transaction, its commit included).
type Latency func(op string, took time.Duration)

// SetLatency makes every later operation of s report its duration to f
// (nil stops it). It is safe to call at any time.
func (s *Store) SetLatency(f Latency) {
	if f == nil {
		s.latency.Store(nil)
		return
	}
	s.latency.Store(&f)
}

// timedDB is a DB that reports what its operations took to its store's
// Latency, when one is set; otherwise it only passes them on.
type timedDB struct {
	DB
	latency *atomic.Pointer[Latency]
}

func (t timedDB) observe(op string, begin time.Time) {
	if f := t.latency.Load(); f != nil {
		(*f)(op, time.Since(begin))
	}
}

func (t timedDB) Write(ctx context.Context, fn func(Tx) error) error {
	if t.latency.Load() == nil {
		return t.DB.Write(ctx, fn)
	}
	defer t.observe("write", time.Now())
	return t.DB.Write(ctx, fn)
}

func (t timedDB) Read(ctx context.Context, fn func(Tx) error) error {
	if t.latency.Load() == nil {
		return t.DB.Read(ctx, fn)
	}
	defer t.observe("read", time.Now())
	return t.DB.Read(ctx, fn)
}

func (t timedDB) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	if t.latency.Load() == nil {
		return t.DB.QueryContext(ctx, query, args...)
	}
	begin := time.Now()
	rows, err := t.DB.QueryContext(ctx, query, args...)
	if err != nil {
		t.observe("read", begin)
		return nil, err
	}
	return &timedRows{Rows: rows, db: t, begin: begin}, nil
}

func (t timedDB) QueryRowContext(ctx context.Context, query string, args ...any) Scanner {
	if t.latency.Load() == nil {
		return t.DB.QueryRowContext(ctx, query, args...)
	}
	return timedRow{Scanner: t.DB.QueryRowContext(ctx, query, args...), db: t, begin: time.Now()}
}

// timedRows reports its query when it is closed (a query's rows are read
// before Close).
type timedRows struct {
	Rows
	db     timedDB
	begin  time.Time
	closed bool
}

func (r *timedRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.db.observe("read", r.begin)
	}
}

// timedRow reports its query when it is scanned (a single-row query runs
// to its row there).
type timedRow struct {
	Scanner
	db    timedDB
	begin time.Time
}

func (r timedRow) Scan(dest ...any) error {
	err := r.Scanner.Scan(dest...)
	r.db.observe("read", r.begin)
	return err
}

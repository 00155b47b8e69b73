package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// The change feed lives in two tables: change_seq, one row whose value is
// the Seq of the newest write, and changes, one row per store.Change keyed by
// (seq, idx), idx being the change's position within its write.
//
// Ordering: a write takes its Seq with UPDATE change_seq SET value = value +
// 1 ... RETURNING value as its last statement before commit (RecordChanges).
// The row lock that UPDATE takes is held until the write commits, so the
// next write's UPDATE waits for that commit and then reads the committed
// value: Seqs are handed out in commit order, and a write is visible before
// the next Seq can be taken. On PostgreSQL the lock is released only after
// the commit is visible to new snapshots, so a reader whose snapshot has
// Seq N also has every Seq below N (a tailer never skips a Seq that appears
// later). On SQLite there is one writer at a time. A write that records no
// change takes no Seq, and a rolled-back write rolls its Seq back, so every
// Seq from the oldest retained to change_seq.value has at least one row.
//
// Cost: every recording write holds the counter row from that UPDATE to its
// commit (the INSERT and the COMMIT), which serializes recording writes of
// all nodes for that long; writes that record nothing (access key usage,
// role last-used updates) do not take it. On PostgreSQL a write's UPDATE and
// INSERT are one statement (ChangeStatements), sent with the COMMIT
// (CommitRecorder), so the lock is held for one round trip to the database
// and the commit's flush, not three round trips.

// changeList collects the changes of one write.
type changeList struct{ list []store.Change }

// add appends changes, dropping exact duplicates of ones already added.
func (c *changeList) add(changes ...store.Change) {
next:
	for _, ch := range changes {
		for _, have := range c.list {
			if have == ch {
				continue next
			}
		}
		c.list = append(c.list, ch)
	}
}

// write runs fn in a write transaction and records the changes fn adds, in
// the same transaction, after fn returns (RecordChanges). fn may run more
// than once (a backend retries serialization failures); each run starts
// with no changes.
func (s *Store) write(ctx context.Context, fn func(tx Tx, c *changeList) error) error {
	var seq int64
	err := s.db.Write(ctx, func(tx Tx) error {
		var c changeList
		seq = 0
		if err := fn(tx, &c); err != nil {
			return err
		}
		if r, ok := tx.(CommitRecorder); ok && len(c.list) > 0 {
			r.RecordWithCommit(c.list, &seq)
			return nil
		}
		var err error
		seq, err = RecordChanges(ctx, tx, s.d, c.list)
		return err
	})
	if err == nil && seq != 0 {
		if hook := s.hook.Load(); hook != nil {
			(*hook)()
		}
	}
	return err
}

// SetChangeHook implements store.Changes.
func (s *Store) SetChangeHook(f func()) {
	if f == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&f)
}

// maxInsertRows bounds the rows of one INSERT into changes (7 arguments
// each, far below either backend's limit on arguments).
const maxInsertRows = 500

// RecordChanges records changes in tx under one new Seq, which it returns
// (0 and nothing recorded when there are no changes). Seq and At of the
// changes are ignored: they are the new Seq and the database's clock. Call
// it once per transaction, as its last statement before commit: it holds the
// feed's counter row until then (see the comment at the top of this file).
func RecordChanges(ctx context.Context, tx Tx, d Dialect, changes []store.Change) (int64, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	var (
		seq int64
		at  time.Time
	)
	if err := tx.QueryRowContext(ctx, `UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value, `+d.Now()).
		Scan(&seq, d.ScanTime(&at)); err != nil {
		return 0, fmt.Errorf("record changes: %w", err)
	}
	for start := 0; start < len(changes); start += maxInsertRows {
		end := min(start+maxInsertRows, len(changes))
		var q strings.Builder
		q.WriteString(`INSERT INTO changes (seq, idx, kind, account, key, name, changed_at) VALUES `)
		args := make([]any, 0, 7*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			ch := changes[i]
			args = append(args, seq, i, string(ch.Kind), ch.Account, ch.Key, ch.Name, d.Time(at))
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return 0, fmt.Errorf("record changes: %w", err)
		}
	}
	return seq, nil
}

// A CommitRecorder is a Tx that records a write's changes with its commit:
// the statements that record them (ChangeStatements) go to the database
// with the COMMIT, in one round trip (PostgreSQL's pipeline), so that the
// feed's counter row is held for one round trip and the commit's flush,
// where RecordChanges followed by the commit held it for three; writes of
// every node take that row one after the other (BenchmarkRecordingWrites).
// write hands it the changes, which must be the transaction's last
// statements, instead of calling RecordChanges; seq is set to the write's
// Seq once the commit succeeded.
type CommitRecorder interface {
	RecordWithCommit(changes []store.Change, seq *int64)
}

// Statement is a statement with ? placeholders and its arguments.
type Statement struct {
	Query string
	Args  []any
}

// ChangeStatements returns the statements that record changes (at least
// one) under a new Seq, on PostgreSQL (a data-modifying WITH; for a
// CommitRecorder, where RecordChanges takes two statements): the first
// takes the Seq and returns it and the database's time (value, at)
// as it inserts the first rows; the others (more changes than one INSERT
// takes) insert the rest under the Seq and time the first stored. They run
// in order, as the transaction's last statements.
func ChangeStatements(d Dialect, changes []store.Change) []Statement {
	var out []Statement
	for start := 0; start < len(changes); start += maxInsertRows {
		end := min(start+maxInsertRows, len(changes))
		var q strings.Builder
		if start == 0 {
			// Joined LEFT: without the counter row (tampered with) the rows
			// get a NULL Seq, which the table refuses, and the statement
			// fails in the database, so a COMMIT sent after it does not run.
			q.WriteString(`WITH s AS (UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value, ` + d.Now() + ` AS at), ` +
				`i AS (INSERT INTO changes (seq, idx, kind, account, key, name, changed_at) ` +
				`SELECT s.value, v.idx, v.kind, v.account, v.key, v.name, s.at FROM (VALUES `)
		} else {
			q.WriteString(`INSERT INTO changes (seq, idx, kind, account, key, name, changed_at) ` +
				`SELECT c.value, v.idx, v.kind, v.account, v.key, v.name, f.changed_at ` +
				`FROM change_seq c JOIN changes f ON f.seq = c.value AND f.idx = 0, (VALUES `)
		}
		args := make([]any, 0, 5*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(CAST(? AS INTEGER), ?, ?, ?, ?)")
			ch := changes[i]
			args = append(args, i, string(ch.Kind), ch.Account, ch.Key, ch.Name)
		}
		q.WriteString(`) AS v (idx, kind, account, key, name)`)
		if start == 0 {
			q.WriteString(` LEFT JOIN s ON true) SELECT value, at FROM s`)
		} else {
			q.WriteString(` WHERE c.id = 1`)
		}
		out = append(out, Statement{Query: q.String(), Args: args})
	}
	return out
}

// LastChange implements store.Changes. It reads the database, so it reflects
// writes made by other processes.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM change_seq WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last change: %w", s.db.Translate(err))
	}
	return seq, nil
}

// Generation implements store.Store: it is LastChange.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	return s.LastChange(ctx)
}

// feedBounds reads the newest Seq and the oldest retained one (0 when the
// feed holds no rows) in one statement.
func (s *Store) feedBounds(ctx context.Context, q Querier) (last, oldest int64, err error) {
	var o sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT c.value, (SELECT min(seq) FROM changes) FROM change_seq c WHERE c.id = 1`).Scan(&last, &o)
	return last, o.Int64, err
}

// checkAfter returns store.ErrChangesPruned when the feed cannot list every
// change after after.
func checkAfter(after, last, oldest int64) error {
	if after > last {
		return fmt.Errorf("position %d is beyond the newest change %d: %w", after, last, store.ErrChangesPruned)
	}
	next := last + 1 // nothing retained: the oldest retained is the next
	if oldest > 0 {
		next = oldest
	}
	if after+1 < next {
		return fmt.Errorf("changes after %d: oldest retained is %d: %w", after, next, store.ErrChangesPruned)
	}
	return nil
}

const changeColumns = `seq, kind, account, key, name, changed_at`

func (s *Store) scanChange(r Scanner) (store.Change, error) {
	var (
		c    store.Change
		kind string
	)
	err := r.Scan(&c.Seq, &kind, &c.Account, &c.Key, &c.Name, s.d.ScanTime(&c.At))
	c.Kind = store.ChangeKind(kind)
	return c, err
}

// Changes implements store.Changes. When nothing is newer than after (the
// common poll) it costs one single-row statement; otherwise a read
// transaction with that statement and one index range scan of at most
// limit+1 rows (plus, when the first write alone exceeds limit, a scan of
// that write's rows).
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("changes after %d: limit %d is not positive", after, limit)
	}
	last, oldest, err := s.feedBounds(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", after, s.db.Translate(err))
	}
	if after == last {
		return nil, nil
	}
	var out []store.Change
	err = s.db.Read(ctx, func(tx Tx) error {
		// Again in the snapshot the rows are read from.
		last, oldest, err = s.feedBounds(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkAfter(after, last, oldest); err != nil || after == last {
			return err
		}
		out, err = collect(ctx, tx, s.scanChange, `SELECT `+changeColumns+` FROM changes WHERE seq > ? ORDER BY seq, idx LIMIT ?`, after, limit+1)
		if err != nil {
			return err
		}
		if len(out) > limit {
			// The write of the extra row may continue past it: drop it whole.
			cut := out[limit].Seq
			n := 0
			for n < len(out) && out[n].Seq < cut {
				n++
			}
			out = out[:n]
			if n == 0 {
				out, err = collect(ctx, tx, s.scanChange, `SELECT `+changeColumns+` FROM changes WHERE seq = ? ORDER BY idx`, cut)
				if err != nil {
					return err
				}
			}
		}
		// Seqs are dense and pruning keeps a tail, so this cannot fail; if it
		// did, the caller must not skip the missing Seqs.
		prev := after
		for _, c := range out {
			if c.Seq != prev && c.Seq != prev+1 {
				return fmt.Errorf("changes after %d: Seq %d follows %d: %w", after, c.Seq, prev, store.ErrChangesPruned)
			}
			prev = c.Seq
		}
		if len(out) == 0 {
			return fmt.Errorf("changes after %d: none up to %d: %w", after, last, store.ErrChangesPruned)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrChangesPruned) {
			return nil, err
		}
		return nil, fmt.Errorf("changes after %d: %w", after, err)
	}
	return out, nil
}

// pruneBatch bounds the rows one transaction of PruneChanges deletes (plus
// the rest of one write's changes).
const pruneBatch = 1000

// PruneChanges implements store.Changes. It finds the oldest change at or
// after before by walking the feed in Seq order from its oldest row
// (reading every row it will delete, plus one), then deletes the rows below
// it in transactions of about pruneBatch rows each, so a writer waits for at
// most one batch. Its cost is proportional to the rows deleted.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	var cut int64 // delete seq < cut
	err := s.db.Read(ctx, func(tx Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT seq FROM changes WHERE changed_at >= ? ORDER BY seq, idx LIMIT 1`, s.d.Time(before)).Scan(&cut)
		if err == nil {
			return nil
		}
		if !errors.Is(s.db.Translate(err), store.ErrNotFound) {
			return err
		}
		// Every change is older: all of them, and none written later.
		if err := tx.QueryRowContext(ctx, `SELECT value FROM change_seq WHERE id = 1`).Scan(&cut); err != nil {
			return err
		}
		cut++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	var deleted int64
	for {
		var (
			n    int64
			done bool
		)
		err := s.db.Write(ctx, func(tx Tx) error {
			var hi int64
			err := tx.QueryRowContext(ctx, `SELECT seq FROM changes WHERE seq < ? ORDER BY seq, idx LIMIT 1 OFFSET ?`, cut, pruneBatch-1).Scan(&hi)
			var res Result
			switch {
			case err == nil:
				done = false
				res, err = tx.ExecContext(ctx, `DELETE FROM changes WHERE seq <= ?`, hi)
			case errors.Is(s.db.Translate(err), store.ErrNotFound):
				done = true
				res, err = tx.ExecContext(ctx, `DELETE FROM changes WHERE seq < ?`, cut)
			}
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("prune changes: %w", err)
		}
		deleted += n
		if done {
			return deleted, nil
		}
	}
}

package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// ClaimAlert implements store.DetectState with one upsert that replaces
// only an ended claim: a row it neither inserts nor updates is a live claim
// of another node. Times are Unix milliseconds.
func (s *Store) ClaimAlert(ctx context.Context, key []byte, until, now time.Time) error {
	err := s.db.Write(ctx, func(tx Tx) error {
		return Affected(tx.ExecContext(ctx, `INSERT INTO detect_alerts (key, until_ms) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms WHERE detect_alerts.until_ms <= ?`,
			key, until.UnixMilli(), now.UnixMilli()))
	})
	if store.IsNotFound(err) {
		return fmt.Errorf("claim alert: %w", store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("claim alert: %w", s.db.Translate(err))
	}
	return nil
}

// PruneAlertClaims implements store.DetectState.
func (s *Store) PruneAlertClaims(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM detect_alerts WHERE until_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune alert claims: %w", s.db.Translate(err))
	}
	return n, nil
}

// maxBaselineBatch bounds the subjects of one query.
const maxBaselineBatch = 200

// GetBaselines implements store.DetectState.
func (s *Store) GetBaselines(ctx context.Context, subjects []string) (map[string][]byte, error) {
	out := make(map[string][]byte)
	if err := eachBatch(subjects, func(batch []string) error { return readBaselines(ctx, s.db, batch, "", out) }); err != nil {
		return nil, fmt.Errorf("get baselines: %w", s.db.Translate(err))
	}
	return out, nil
}

// readBaselines adds to out the stored baselines of batch, read with q,
// the query ending with tail (an order and a locking clause); an empty
// row is none (MergeBaselines).
func readBaselines(ctx context.Context, q Querier, batch []string, tail string, out map[string][]byte) error {
	rows, err := q.QueryContext(ctx, `SELECT subject, data FROM detect_baselines WHERE subject IN (?`+
		strings.Repeat(", ?", len(batch)-1)+`)`+tail, subjectArgs(batch)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		if len(v) > 0 {
			out[k] = v
		}
	}
	return rows.Err()
}

// PutBaselines implements store.DetectState.
func (s *Store) PutBaselines(ctx context.Context, baselines map[string][]byte, now time.Time) error {
	if len(baselines) == 0 {
		return nil
	}
	keys := make([]string, 0, len(baselines))
	for k := range baselines {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same lock order on every node
	err := s.db.Write(ctx, func(tx Tx) error { return putBaselines(ctx, tx, keys, baselines, now.UnixMilli()) })
	if err != nil {
		return fmt.Errorf("put baselines: %w", s.db.Translate(err))
	}
	return nil
}

// putBaselines writes the baselines of keys (sorted) in statements of up
// to maxBaselineBatch rows each: one statement a row made each one a parse
// and a round trip.
func putBaselines(ctx context.Context, tx Tx, keys []string, baselines map[string][]byte, ms int64) error {
	return eachBatch(keys, func(batch []string) error {
		args := make([]any, 0, 3*len(batch))
		for _, k := range batch {
			args = append(args, k, baselines[k], ms)
		}
		q := `INSERT INTO detect_baselines (subject, data, updated_ms) VALUES (?, ?, ?)` + strings.Repeat(", (?, ?, ?)", len(batch)-1) +
			` ON CONFLICT (subject) DO UPDATE SET data = excluded.data, updated_ms = excluded.updated_ms`
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}

// eachBatch calls f with keys in slices of up to maxBaselineBatch, until
// it fails.
func eachBatch(keys []string, f func(batch []string) error) error {
	for len(keys) > 0 {
		batch := keys[:min(len(keys), maxBaselineBatch)]
		keys = keys[len(batch):]
		if err := f(batch); err != nil {
			return err
		}
	}
	return nil
}

// subjectArgs is batch as a query's arguments.
func subjectArgs(batch []string) []any {
	args := make([]any, len(batch))
	for i, k := range batch {
		args[i] = k
	}
	return args
}

// MergeBaselines implements store.DetectState. Where write transactions
// do not keep each other out (PostgreSQL), the rows read are locked, and
// a subject with none gets an empty one first (no baseline: never read as
// one), so that it is locked too: another transaction's row for it waits
// for this one's commit, and then merges what this one wrote. Rows are
// made and locked in byte order (keys sorted, the SELECT ordered so), the
// same on every node whatever the database's collation: in the column's,
// two merges of different batches locked in opposite orders deadlocked
// (found by a review as an attacker). The empty rows merge wrote nothing
// (or an empty value) over are deleted before the commit.
func (s *Store) MergeBaselines(ctx context.Context, subjects []string, now time.Time, merge func(stored map[string][]byte) (map[string][]byte, error)) error {
	keys := slices.Clone(subjects)
	slices.Sort(keys) // the same lock order on every node
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return nil
	}
	lock := s.d.LockRows()
	ms := now.UnixMilli()
	err := s.db.Write(ctx, func(tx Tx) error {
		if lock != "" {
			err := eachBatch(keys, func(batch []string) error {
				args := make([]any, 0, 3*len(batch))
				for _, k := range batch {
					args = append(args, k, []byte{}, ms)
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO detect_baselines (subject, data, updated_ms) VALUES (?, ?, ?)`+
					strings.Repeat(", (?, ?, ?)", len(batch)-1)+` ON CONFLICT (subject) DO NOTHING`, args...)
				return err
			})
			if err != nil {
				return err
			}
		}
		stored := make(map[string][]byte, len(keys))
		tail := ` ORDER BY ` + s.d.Order("subject") + lock
		err := eachBatch(keys, func(batch []string) error { return readBaselines(ctx, tx, batch, tail, stored) })
		if err != nil {
			return err
		}
		out, err := merge(stored)
		if err != nil {
			return err
		}
		var write, empty []string
		for _, k := range keys {
			if len(out[k]) > 0 { // none, or empty: nothing written
				write = append(write, k)
			} else if _, ok := stored[k]; !ok && lock != "" {
				empty = append(empty, k)
			}
		}
		if err := putBaselines(ctx, tx, write, out, ms); err != nil {
			return err
		}
		return eachBatch(empty, func(batch []string) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM detect_baselines WHERE subject IN (?`+strings.Repeat(", ?", len(batch)-1)+
				`) AND length(data) = 0`, subjectArgs(batch)...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("merge baselines: %w", s.db.Translate(err))
	}
	return nil
}

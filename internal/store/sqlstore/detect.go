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
	for len(subjects) > 0 {
		batch := subjects[:min(len(subjects), maxBaselineBatch)]
		subjects = subjects[len(batch):]
		args := make([]any, len(batch))
		for i, k := range batch {
			args[i] = k
		}
		rows, err := s.db.QueryContext(ctx, `SELECT subject, data FROM detect_baselines WHERE subject IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("get baselines: %w", s.db.Translate(err))
		}
		for rows.Next() {
			var k string
			var v []byte
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("get baselines: %w", s.db.Translate(err))
			}
			out[k] = v
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("get baselines: %w", s.db.Translate(err))
		}
	}
	return out, nil
}

// PutBaselines implements store.DetectState.
func (s *Store) PutBaselines(ctx context.Context, baselines map[string][]byte, now time.Time) error {
	if len(baselines) == 0 {
		return nil
	}
	// Rows go in statements of up to maxBaselineBatch each: one statement
	// a row made each one a parse and a round trip.
	keys := make([]string, 0, len(baselines))
	for k := range baselines {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same lock order on every node
	ms := now.UnixMilli()
	err := s.db.Write(ctx, func(tx Tx) error {
		// rest, not keys: a backend runs fn again after a deadlock or a
		// serialization failure (PostgreSQL), and the retry writes them all.
		for rest := keys; len(rest) > 0; {
			batch := rest[:min(len(rest), maxBaselineBatch)]
			rest = rest[len(batch):]
			args := make([]any, 0, 3*len(batch))
			for _, k := range batch {
				args = append(args, k, baselines[k], ms)
			}
			q := `INSERT INTO detect_baselines (subject, data, updated_ms) VALUES (?, ?, ?)` + strings.Repeat(", (?, ?, ?)", len(batch)-1) +
				` ON CONFLICT (subject) DO UPDATE SET data = excluded.data, updated_ms = excluded.updated_ms`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put baselines: %w", s.db.Translate(err))
	}
	return nil
}

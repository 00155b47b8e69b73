package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// FailThrottle implements store.Throttles with one upsert whose SET
// expressions read the row as it was (standard SQL, in both backends), so
// concurrent failures of one key on any node are counted one by one: the
// row lock (PostgreSQL) or the one writer (SQLite) orders them. Times are
// Unix milliseconds; expires_ms is when the row stops mattering (the end
// of its window or lockout, whichever is later), for PruneThrottles.
func (s *Store) FailThrottle(ctx context.Context, key []byte, limit store.ThrottleLimit, now time.Time) (store.Throttle, error) {
	if limit.Max < 1 || limit.Window <= 0 || limit.Lockout < 0 {
		return store.Throttle{}, fmt.Errorf("fail throttle: invalid limit %+v", limit)
	}
	n := now.UnixMilli()
	cut := n - limit.Window.Milliseconds()
	lockEnd := n + limit.Lockout.Milliseconds()
	expires := n + max(limit.Window, limit.Lockout).Milliseconds()
	// The failure count after this one, reading the old row.
	next := `(CASE WHEN throttles.window_start_ms <= ? THEN 1 ELSE throttles.failures + 1 END)`
	// The failure that reaches the limit starts a lockout, unless one is
	// running: failures during a lockout are counted, and never start
	// another (each would have been let through to a comparison).
	trip := `(` + next + ` >= ? AND throttles.locked_until_ms <= ?)`
	first := 0
	var firstLock int64
	if limit.Max <= 1 {
		firstLock = lockEnd
	} else {
		first = 1
	}
	var t store.Throttle
	err := s.db.Write(ctx, func(tx Tx) error {
		var start, locked int64
		var failures int
		err := tx.QueryRowContext(ctx, `INSERT INTO throttles (key, failures, window_start_ms, locked_until_ms, expires_ms)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN `+trip+` THEN 0 ELSE `+next+` END,
				window_start_ms = CASE WHEN throttles.window_start_ms <= ? OR `+trip+` THEN ? ELSE throttles.window_start_ms END,
				locked_until_ms = CASE WHEN `+trip+` THEN ? ELSE throttles.locked_until_ms END,
				expires_ms = CASE WHEN throttles.expires_ms > ? THEN throttles.expires_ms ELSE ? END
			RETURNING failures, window_start_ms, locked_until_ms`,
			key, first, n, firstLock, expires,
			cut, limit.Max, n, cut,
			cut, cut, limit.Max, n, n,
			cut, limit.Max, n, lockEnd,
			expires, expires,
		).Scan(&failures, &start, &locked)
		if err != nil {
			return err
		}
		t = store.Throttle{Failures: failures, WindowStart: time.UnixMilli(start).UTC()}
		if locked != 0 {
			t.LockedUntil = time.UnixMilli(locked).UTC()
		}
		return nil
	})
	if err != nil {
		return store.Throttle{}, fmt.Errorf("fail throttle: %w", s.db.Translate(err))
	}
	return t, nil
}

// GetThrottle implements store.Throttles.
func (s *Store) GetThrottle(ctx context.Context, key []byte) (store.Throttle, error) {
	var start, locked int64
	var failures int
	err := s.db.QueryRowContext(ctx, `SELECT failures, window_start_ms, locked_until_ms FROM throttles WHERE key = ?`, key).Scan(&failures, &start, &locked)
	if err != nil {
		return store.Throttle{}, fmt.Errorf("get throttle: %w", s.db.Translate(err))
	}
	t := store.Throttle{Failures: failures, WindowStart: time.UnixMilli(start).UTC()}
	if locked != 0 {
		t.LockedUntil = time.UnixMilli(locked).UTC()
	}
	return t, nil
}

// ResetThrottle implements store.Throttles.
func (s *Store) ResetThrottle(ctx context.Context, key []byte) error {
	err := s.db.Write(ctx, func(tx Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset throttle: %w", s.db.Translate(err))
	}
	return nil
}

// RefundThrottle implements store.Throttles with one conditional update:
// the row's window (and lockout) must still be the attempt's, so a refund
// that lost a race with a new window or another failure changes nothing.
func (s *Store) RefundThrottle(ctx context.Context, key []byte, limit store.ThrottleLimit, attempt store.Throttle) error {
	start := attempt.WindowStart.UnixMilli()
	err := s.db.Write(ctx, func(tx Tx) error {
		if attempt.Failures == 0 && !attempt.LockedUntil.IsZero() {
			_, err := tx.ExecContext(ctx, `UPDATE throttles SET failures = ?, locked_until_ms = 0
				WHERE key = ? AND window_start_ms = ? AND locked_until_ms = ? AND failures = 0`,
				max(limit.Max-1, 0), key, start, attempt.LockedUntil.UnixMilli())
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE throttles SET failures = failures - 1
			WHERE key = ? AND window_start_ms = ? AND failures > 0`, key, start)
		return err
	})
	if err != nil {
		return fmt.Errorf("refund throttle: %w", s.db.Translate(err))
	}
	return nil
}

// PruneThrottles implements store.Throttles.
func (s *Store) PruneThrottles(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE expires_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune throttles: %w", s.db.Translate(err))
	}
	return n, nil
}

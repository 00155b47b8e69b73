package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// Times are Unix milliseconds, so that expiry compares as integers on both
// backends.

// CreateRevocation implements store.Revocations.
func (s *Store) CreateRevocation(ctx context.Context, r store.Revocation) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations (id, account, kind, target, role_id, origin_keys, issued_before_ms, created_ms, expires_ms, created_by, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Account, r.Kind, r.Target, r.RoleID, encodeStrings(r.OriginKeys), r.IssuedBefore.UnixMilli(), r.CreatedAt.UnixMilli(),
			r.ExpiresAt.UnixMilli(), r.CreatedBy, r.Reason)
		c.add(store.Change{Kind: store.ChangeRevocation, Account: r.Account, Key: r.ID})
		return err
	})
	if err != nil {
		return fmt.Errorf("create revocation: %w", s.db.Translate(err))
	}
	return nil
}

// DeleteRevocation implements store.Revocations.
func (s *Store) DeleteRevocation(ctx context.Context, account, id string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM revocations WHERE account = ? AND id = ?`, account, id)); err != nil {
			return err
		}
		c.add(store.Change{Kind: store.ChangeRevocation, Account: account, Key: id})
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete revocation %s: %w", id, s.db.Translate(err))
	}
	return nil
}

// ListRevocations implements store.Revocations.
func (s *Store) ListRevocations(ctx context.Context, account string, now time.Time) ([]store.Revocation, error) {
	q := `SELECT id, account, kind, target, role_id, origin_keys, issued_before_ms, created_ms, expires_ms, created_by, reason
		FROM revocations WHERE expires_ms > ?`
	args := []any{now.UnixMilli()}
	if account != "" {
		q += ` AND account = ?`
		args = append(args, account)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_ms, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", s.db.Translate(err))
	}
	defer rows.Close()
	var out []store.Revocation
	for rows.Next() {
		var r store.Revocation
		var before, created, expires int64
		if err := rows.Scan(&r.ID, &r.Account, &r.Kind, &r.Target, &r.RoleID, stringList{&r.OriginKeys}, &before, &created, &expires, &r.CreatedBy, &r.Reason); err != nil {
			return nil, fmt.Errorf("list revocations: %w", s.db.Translate(err))
		}
		r.IssuedBefore, r.CreatedAt, r.ExpiresAt = time.UnixMilli(before).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list revocations: %w", s.db.Translate(err))
	}
	return out, nil
}

// PruneRevocations implements store.Revocations.
func (s *Store) PruneRevocations(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM revocations WHERE expires_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune revocations: %w", s.db.Translate(err))
	}
	return n, nil
}

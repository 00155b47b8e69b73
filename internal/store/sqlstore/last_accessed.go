package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// RecordServiceAccess implements store.LastAccessed with upserts that only
// move a key's time forward, up to maxAccessBatch rows a statement: across
// many principals a batch holds a use a request, and a statement a use
// made each one a parse (SQLite prepares every statement it is given).
// Times are Unix milliseconds. Uses of one key in a batch are one row, the
// latest (PostgreSQL refuses a statement that updates a row twice), and
// rows go in key order, the same lock order for every batch (a delete of a
// principal's uses may lock them in another; the deadlock that can make is
// retried).
func (s *Store) RecordServiceAccess(ctx context.Context, uses []store.ServiceAccess) error {
	if len(uses) == 0 {
		return nil
	}
	type key struct{ principal, service, action string }
	latest := make(map[key]int, len(uses))
	for i, u := range uses {
		k := key{u.PrincipalID, u.Service, u.Action}
		if j, ok := latest[k]; !ok || uses[j].At.Before(u.At) {
			latest[k] = i
		}
	}
	rows := make([]store.ServiceAccess, 0, len(latest))
	for _, i := range latest {
		rows = append(rows, uses[i])
	}
	slices.SortFunc(rows, func(a, b store.ServiceAccess) int {
		return cmp.Or(strings.Compare(a.PrincipalID, b.PrincipalID), strings.Compare(a.Service, b.Service), strings.Compare(a.Action, b.Action))
	})
	err := s.db.Write(ctx, func(tx Tx) error {
		// rest, not rows: a backend runs fn again after a deadlock or a
		// serialization failure (PostgreSQL), and the retry writes them all.
		for rest := rows; len(rest) > 0; {
			batch := rest[:min(len(rest), maxAccessBatch)]
			rest = rest[len(batch):]
			args := make([]any, 0, 6*len(batch))
			for _, u := range batch {
				args = append(args, u.PrincipalID, u.Service, u.Action, u.Account, u.At.UnixMilli(), u.Region)
			}
			q := `INSERT INTO service_access (principal_id, service, action, account, at_ms, region) VALUES (?, ?, ?, ?, ?, ?)` +
				strings.Repeat(", (?, ?, ?, ?, ?, ?)", len(batch)-1) + `
				ON CONFLICT (principal_id, service, action) DO UPDATE SET at_ms = excluded.at_ms, region = excluded.region, account = excluded.account
				WHERE service_access.at_ms < excluded.at_ms`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record service access: %w", s.db.Translate(err))
	}
	return nil
}

// maxAccessBatch bounds the principals of one query and the rows of one
// upsert (six parameters each).
const maxAccessBatch = 200

// ListServiceAccess implements store.LastAccessed.
func (s *Store) ListServiceAccess(ctx context.Context, principalIDs []string) ([]store.ServiceAccess, error) {
	var out []store.ServiceAccess
	for len(principalIDs) > 0 {
		batch := principalIDs[:min(len(principalIDs), maxAccessBatch)]
		principalIDs = principalIDs[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		got, err := collect(ctx, s.db, func(r Scanner) (store.ServiceAccess, error) {
			var u store.ServiceAccess
			var ms int64
			err := r.Scan(&u.PrincipalID, &u.Service, &u.Action, &u.Account, &ms, &u.Region)
			u.At = time.UnixMilli(ms).UTC()
			return u, err
		}, `SELECT principal_id, service, action, account, at_ms, region FROM service_access WHERE principal_id IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("list service access: %w", s.db.Translate(err))
		}
		out = append(out, got...)
	}
	return out, nil
}

// PutAccessReport implements store.LastAccessed.
func (s *Store) PutAccessReport(ctx context.Context, r store.AccessReport) error {
	err := s.db.Write(ctx, func(tx Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO access_reports (account, id, created_ms, data) VALUES (?, ?, ?, ?)`,
			r.Account, r.ID, r.CreatedAt.UnixMilli(), r.Data)
		return err
	})
	if err != nil {
		return fmt.Errorf("put access report %s: %w", r.ID, s.db.Translate(err))
	}
	return nil
}

// GetAccessReport implements store.LastAccessed.
func (s *Store) GetAccessReport(ctx context.Context, account, id string) (store.AccessReport, error) {
	r := store.AccessReport{Account: account, ID: id}
	var ms int64
	err := s.db.QueryRowContext(ctx, `SELECT created_ms, data FROM access_reports WHERE account = ? AND id = ?`, account, id).Scan(&ms, &r.Data)
	if err != nil {
		return store.AccessReport{}, fmt.Errorf("get access report %s: %w", id, s.db.Translate(err))
	}
	r.CreatedAt = time.UnixMilli(ms).UTC()
	return r, nil
}

// PruneAccessReports implements store.LastAccessed.
func (s *Store) PruneAccessReports(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM access_reports WHERE created_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune access reports: %w", s.db.Translate(err))
	}
	return n, nil
}

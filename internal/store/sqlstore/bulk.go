package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// CreateRoles creates roles as CreateRole does, many in one transaction: it
// is for the tools that fill a database to measure it (internal/tools), not
// for the services, which create one role per request. Like CreateRole it
// records a change per role. Either all of rs are created or none.
func (s *Store) CreateRoles(ctx context.Context, rs []store.Role) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration,
				boundary, created_at, tags, last_used_at, last_used_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.Account, r.ID, r.Name, r.Path, r.TrustPolicy, r.Description, r.MaxSessionDuration,
				r.PermissionsBoundary, s.d.Time(r.CreatedAt), EncodeTags(r.Tags), s.d.Time(r.LastUsedAt), r.LastUsedRegion); err != nil {
				return err
			}
			// Roles are distinct, so their changes are: no need for add's
			// de-duplication, which is quadratic.
			c.list = append(c.list, store.Change{Kind: store.ChangeRole, Account: r.Account, Key: r.ID, Name: r.Name})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create %d roles: %w", len(rs), err)
	}
	return nil
}

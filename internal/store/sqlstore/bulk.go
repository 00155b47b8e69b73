package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/opensts/opensts/internal/store"
)

// Bulk is a batch of new users, access keys and roles that CreateBulk writes
// at once: for seeding and imports, where one transaction per record would
// take hours at a million records.
type Bulk struct {
	Users []store.User
	// AccessKeys are keys of users named by Account and UserName (of this
	// batch or stored before; spelled as stored, which their changes
	// carry), with UserID set; root keys are not taken.
	AccessKeys []store.AccessKey
	Roles      []store.Role
}

// bulkRows bounds the rows of one multi-row INSERT (12 arguments a role at
// most: far below either backend's limit on arguments).
const bulkRows = 500

// CreateBulk creates every record of b in one write transaction with
// multi-row INSERTs, users first, and records the changes the single
// creates record (CreateUser, CreateAccessKey, CreateRole), under one Seq.
// It writes nothing if any record fails (store.ErrAlreadyExists for a
// duplicate, store.ErrNotFound for a key of an unknown user).
func (s *Store) CreateBulk(ctx context.Context, b Bulk) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		if err := insertRows(ctx, tx, len(b.Users), "INSERT INTO users (account, id, name, path, created_at, boundary, tags) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?)", func(i int, args []any) []any {
				u := &b.Users[i]
				return append(args, u.Account, u.ID, u.Name, u.Path, s.d.Time(u.CreatedAt), u.PermissionsBoundary, EncodeTags(u.Tags))
			}); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		for i := range b.AccessKeys {
			if k := &b.AccessKeys[i]; k.UserName == "" || k.UserID == "" {
				return fmt.Errorf("access key %s: no user: %w", k.ID, store.ErrNotFound)
			}
		}
		if err := insertRows(ctx, tx, len(b.AccessKeys), `INSERT INTO access_keys (id, account, user_pk, user_id, secret, status, created_at,
			last_used_at, last_used_service, last_used_region) VALUES `,
			"(?, ?, (SELECT pk FROM users WHERE account = ? AND name = ?), ?, ?, ?, ?, ?, ?, ?)", func(i int, args []any) []any {
				k := &b.AccessKeys[i]
				return append(args, k.ID, k.Account, k.Account, k.UserName, k.UserID, k.Secret, k.Status, s.d.Time(k.CreatedAt),
					s.d.Time(k.LastUsedAt), k.LastUsedService, k.LastUsedRegion)
			}); err != nil {
			return fmt.Errorf("access keys: %w", err)
		}
		// A key of a user that does not exist got a NULL user_pk.
		for start := 0; start < len(b.AccessKeys); start += bulkRows {
			end := min(start+bulkRows, len(b.AccessKeys))
			ids := make([]any, 0, end-start)
			for _, k := range b.AccessKeys[start:end] {
				ids = append(ids, k.ID)
			}
			var orphans int
			q := `SELECT count(*) FROM access_keys WHERE user_pk IS NULL AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
			if err := tx.QueryRowContext(ctx, q, ids...).Scan(&orphans); err != nil {
				return err
			}
			if orphans > 0 {
				return fmt.Errorf("access keys: %d of unknown users: %w", orphans, store.ErrNotFound)
			}
		}
		if err := insertRows(ctx, tx, len(b.Roles), `INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration,
			boundary, created_at, tags, last_used_at, last_used_region) VALUES `,
			"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", func(i int, args []any) []any {
				r := &b.Roles[i]
				return append(args, r.Account, r.ID, r.Name, r.Path, r.TrustPolicy, r.Description, r.MaxSessionDuration,
					r.PermissionsBoundary, s.d.Time(r.CreatedAt), EncodeTags(r.Tags), s.d.Time(r.LastUsedAt), r.LastUsedRegion)
			}); err != nil {
			return fmt.Errorf("roles: %w", err)
		}
		// c.add compares each change with those added before; these are
		// distinct records, so they go in directly.
		c.list = make([]store.Change, 0, len(b.Users)+len(b.AccessKeys)+len(b.Roles))
		for _, u := range b.Users {
			c.list = append(c.list, store.Change{Kind: store.ChangeUser, Account: u.Account, Key: u.ID, Name: u.Name})
		}
		for _, k := range b.AccessKeys {
			c.list = append(c.list, store.Change{Kind: store.ChangeAccessKey, Account: k.Account, Key: k.ID, Name: k.UserName})
		}
		for _, r := range b.Roles {
			c.list = append(c.list, store.Change{Kind: store.ChangeRole, Account: r.Account, Key: r.ID, Name: r.Name})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create in bulk: %w", err)
	}
	return nil
}

// insertRows runs head followed by n rows of row (its placeholders), in
// statements of at most bulkRows rows; args appends row i's arguments.
func insertRows(ctx context.Context, tx Tx, n int, head, row string, args func(i int, args []any) []any) error {
	var q strings.Builder
	var a []any
	for start := 0; start < n; start += bulkRows {
		end := min(start+bulkRows, n)
		q.Reset()
		q.WriteString(head)
		a = a[:0]
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString(row)
			a = args(i, a)
		}
		if _, err := tx.ExecContext(ctx, q.String(), a...); err != nil {
			return err
		}
	}
	return nil
}

// CreateRoles creates roles as CreateRole does, many in one transaction: it
// is for the tools that fill a database to measure it (internal/tools), not
// for the services, which create one role per request. Like CreateRole it
// records a change per role. Either all of rs are created or none.
func (s *Store) CreateRoles(ctx context.Context, rs []store.Role) error {
	if err := s.CreateBulk(ctx, Bulk{Roles: rs}); err != nil {
		return fmt.Errorf("create %d roles: %w", len(rs), err)
	}
	return nil
}

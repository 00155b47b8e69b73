package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, email, created_at, management) VALUES (?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.Email, s.d.Time(a.CreatedAt), s.d.Bool(a.Management))
		c.add(store.Change{Kind: store.ChangeAccount, Account: a.ID, Key: a.ID})
		return err
	})
	if err != nil {
		return fmt.Errorf("create account %s: %w", a.ID, err)
	}
	return nil
}

const accountColumns = `id, name, email, created_at, management, standalone, joined_method, joined_at, closed_at`

func (s *Store) scanAccount(r Scanner) (store.Account, error) {
	var a store.Account
	err := r.Scan(&a.ID, &a.Name, &a.Email, s.d.ScanTime(&a.CreatedAt), &a.Management, &a.Standalone, &a.JoinedMethod,
		s.d.ScanTime(&a.JoinedAt), s.d.ScanTime(&a.ClosedAt))
	return a, err
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	a, err := s.scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return store.Account{}, fmt.Errorf("get account %s: %w", id, s.db.Translate(err))
	}
	return a, nil
}

// ListAccounts implements store.Accounts.
func (s *Store) ListAccounts(ctx context.Context, opt store.ListOptions) ([]store.Account, error) {
	q, args := s.exactPage("id", opt).query(`SELECT ` + accountColumns + ` FROM accounts WHERE true`)
	as, err := collect(ctx, s.db, s.scanAccount, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", s.db.Translate(err))
	}
	return as, nil
}

// SetAccountEmail implements store.Accounts.
func (s *Store) SetAccountEmail(ctx context.Context, id, email string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(store.Change{Kind: store.ChangeAccount, Account: id, Key: id})
		return Affected(tx.ExecContext(ctx, `UPDATE accounts SET email = ? WHERE id = ?`, email, id))
	})
	if err != nil {
		return fmt.Errorf("set email of account %s: %w", id, s.db.Translate(err))
	}
	return nil
}

// GetAccountByEmail implements store.Accounts; of several accounts with the
// address (which Organizations refuses to create) it returns the smallest id.
func (s *Store) GetAccountByEmail(ctx context.Context, email string) (store.Account, error) {
	a, err := s.scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+s.d.FoldOrder("email")+` = ?
		ORDER BY `+s.d.Order("id")+` LIMIT 1`, store.NameKey(email)))
	if err != nil {
		return store.Account{}, fmt.Errorf("get account by email: %w", s.db.Translate(err))
	}
	return a, nil
}

// renameKeys rewrites the list keys that memberships and attachments keep
// of the principal p (see 0004_list_keys) when its name key changes to that
// of newName. A principal has at most a few of them.
func (s *Store) renameKeys(ctx context.Context, tx Tx, p principal, newName string) error {
	key := store.NameKey(newName)
	if key == store.NameKey(p.name) {
		return nil
	}
	_, col, err := ownerTable(p.kind)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE attachments SET owner_key = ? WHERE `+col+` = ?`, key, p.pk); err != nil {
		return err
	}
	if p.kind == store.KindUser {
		_, err = tx.ExecContext(ctx, `UPDATE group_members SET user_key = ? WHERE user_pk = ?`, key, p.pk)
	}
	return err
}

// principal is the row of a user, group or role.
type principal struct {
	kind    store.PrincipalKind
	pk      int64 // internal key
	account string
	id      string // AIDA..., AGPA..., AROA...
	name    string // as stored
}

// change is the feed entry for a change of p.
func (p principal) change() store.Change {
	return store.Change{Kind: store.ChangeKind(p.kind), Account: p.account, Key: p.id, Name: p.name}
}

// principal looks a user, group or role up by name; ErrNotFound if it does
// not exist.
func (s *Store) principal(ctx context.Context, tx Tx, kind store.PrincipalKind, account, name string) (principal, error) {
	table, _, err := ownerTable(kind)
	if err != nil {
		return principal{}, err
	}
	p := principal{kind: kind, account: account}
	err = tx.QueryRowContext(ctx, `SELECT pk, id, name FROM `+table+` WHERE account = ? AND name = ?`, account, name).Scan(&p.pk, &p.id, &p.name)
	if err != nil {
		return principal{}, fmt.Errorf("%s %s: %w", kind, name, s.db.Translate(err))
	}
	return p, nil
}

// userPK returns the internal key of a user.
func (s *Store) userPK(ctx context.Context, tx Tx, account, name string) (int64, error) {
	p, err := s.principal(ctx, tx, store.KindUser, account, name)
	return p.pk, err
}

func (s *Store) groupPK(ctx context.Context, tx Tx, account, name string) (int64, error) {
	p, err := s.principal(ctx, tx, store.KindGroup, account, name)
	return p.pk, err
}

// renameChanges returns the changes of an update of p to newName: one with
// the new name and, if it differs, one with the old (for caches keyed by
// name).
func renameChanges(p principal, newName string) []store.Change {
	c := p.change()
	c.Name = newName
	if newName == p.name {
		return []store.Change{c}
	}
	return []store.Change{c, p.change()}
}

// idPrincipal looks a principal up by account and id, for updates.
func (s *Store) idPrincipal(ctx context.Context, tx Tx, kind store.PrincipalKind, account, id string) (principal, error) {
	table, _, err := ownerTable(kind)
	if err != nil {
		return principal{}, err
	}
	p := principal{kind: kind, account: account}
	err = tx.QueryRowContext(ctx, `SELECT pk, id, name FROM `+table+` WHERE account = ? AND id = ?`, account, id).Scan(&p.pk, &p.id, &p.name)
	if err != nil {
		return principal{}, fmt.Errorf("%s %s: %w", kind, id, s.db.Translate(err))
	}
	return p, nil
}

// attachedPolicyChanges returns a policy change for each managed policy
// attached to the principal p, in attachment order (for deletes, which
// remove the attachments).
func (s *Store) attachedPolicyChanges(ctx context.Context, tx Tx, p principal) ([]store.Change, error) {
	_, col, err := ownerTable(p.kind)
	if err != nil {
		return nil, err
	}
	return collect(ctx, tx, func(r Scanner) (store.Change, error) {
		c := store.Change{Kind: store.ChangePolicy}
		return c, r.Scan(&c.Account, &c.Key, &c.Name)
	}, `SELECT p.account, p.arn, p.name FROM attachments a JOIN managed_policies p ON p.pk = a.policy_pk WHERE a.`+col+` = ? ORDER BY a.pk`, p.pk)
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (account, id, name, path, created_at, boundary, tags) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.Account, u.ID, u.Name, u.Path, s.d.Time(u.CreatedAt), u.PermissionsBoundary, EncodeTags(u.Tags))
		c.add(store.Change{Kind: store.ChangeUser, Account: u.Account, Key: u.ID, Name: u.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return nil
}

const userColumns = `u.account, u.id, u.name, u.path, u.created_at, u.boundary, u.tags`

func (s *Store) scanUser(r Scanner) (store.User, error) {
	var u store.User
	err := r.Scan(&u.Account, &u.ID, &u.Name, &u.Path, s.d.ScanTime(&u.CreatedAt), &u.PermissionsBoundary, ScanTags(&u.Tags))
	return u, err
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, account, name string) (store.User, error) {
	u, err := s.scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.account = ? AND u.name = ?`, account, name))
	if err != nil {
		return store.User{}, fmt.Errorf("get user %s: %w", name, s.db.Translate(err))
	}
	return u, nil
}

// GetUserByID implements store.Users.
func (s *Store) GetUserByID(ctx context.Context, id string) (store.User, error) {
	u, err := s.scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("get user %s: %w", id, s.db.Translate(err))
	}
	return u, nil
}

// UpdateUser implements store.Users. Memberships, policies, attachments, keys
// and MFA devices follow a renamed user.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		old, err := s.idPrincipal(ctx, tx, store.KindUser, u.Account, u.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, path = ?, created_at = ?, boundary = ?, tags = ? WHERE pk = ?`,
			u.Name, u.Path, s.d.Time(u.CreatedAt), u.PermissionsBoundary, EncodeTags(u.Tags), old.pk); err != nil {
			return err
		}
		if err := s.renameKeys(ctx, tx, old, u.Name); err != nil {
			return err
		}
		c.add(renameChanges(old, u.Name)...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

// DeleteUser implements store.Users; see the package comment for dependents.
// Besides the user it records each access key it deletes, each MFA device it
// unassigns, each group it leaves and each policy attached to it.
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	var deletedKeys []string
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		u, err := s.principal(ctx, tx, store.KindUser, account, name)
		if err != nil {
			return err
		}
		c.add(u.change())
		keys, err := collect(ctx, tx, func(r Scanner) (store.Change, error) {
			k := store.Change{Kind: store.ChangeAccessKey, Name: u.name}
			return k, r.Scan(&k.Key, &k.Account)
		}, `SELECT id, account FROM access_keys WHERE user_pk = ? ORDER BY `+s.d.Order("id"), u.pk)
		if err != nil {
			return err
		}
		deletedKeys = deletedKeys[:0]
		for _, k := range keys {
			deletedKeys = append(deletedKeys, k.Key)
		}
		c.add(keys...)
		devices, err := collect(ctx, tx, func(r Scanner) (store.Change, error) {
			d := store.Change{Kind: store.ChangeMFADevice}
			return d, r.Scan(&d.Key, &d.Account)
		}, `SELECT serial, account FROM mfa_devices WHERE user_pk = ? ORDER BY `+s.d.Order("serial"), u.pk)
		if err != nil {
			return err
		}
		c.add(devices...)
		groups, err := collect(ctx, tx, func(r Scanner) (store.Change, error) {
			g := store.Change{Kind: store.ChangeGroup}
			return g, r.Scan(&g.Account, &g.Key, &g.Name)
		}, `SELECT g.account, g.id, g.name FROM groups g JOIN group_members m ON m.group_pk = g.pk WHERE m.user_pk = ? ORDER BY g.pk`, u.pk)
		if err != nil {
			return err
		}
		c.add(groups...)
		policies, err := s.attachedPolicyChanges(ctx, tx, u)
		if err != nil {
			return err
		}
		c.add(policies...)
		if _, err := tx.ExecContext(ctx, `UPDATE mfa_devices SET user_pk = NULL, enabled_at = NULL WHERE user_pk = ?`, u.pk); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_access WHERE principal_id = ?`, u.id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE pk = ?`, u.pk)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	s.touches.Forget(deletedKeys...)
	return nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, account string, opt store.ListOptions) ([]store.User, error) {
	q, args := s.namePage("u.name", "u.path", opt).query(`SELECT `+userColumns+` FROM `+s.listFrom("users", "u", opt)+` WHERE u.account = ?`, account)
	us, err := collect(ctx, s.db, s.scanUser, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", s.db.Translate(err))
	}
	return us, nil
}

// CreateGroup implements store.Groups.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO groups (account, id, name, path, created_at) VALUES (?, ?, ?, ?, ?)`,
			g.Account, g.ID, g.Name, g.Path, s.d.Time(g.CreatedAt))
		c.add(store.Change{Kind: store.ChangeGroup, Account: g.Account, Key: g.ID, Name: g.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.Name, err)
	}
	return nil
}

const groupColumns = `g.account, g.id, g.name, g.path, g.created_at`

func (s *Store) scanGroup(r Scanner) (store.Group, error) {
	var g store.Group
	err := r.Scan(&g.Account, &g.ID, &g.Name, &g.Path, s.d.ScanTime(&g.CreatedAt))
	return g, err
}

// GetGroup implements store.Groups.
func (s *Store) GetGroup(ctx context.Context, account, name string) (store.Group, error) {
	g, err := s.scanGroup(s.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups g WHERE g.account = ? AND g.name = ?`, account, name))
	if err != nil {
		return store.Group{}, fmt.Errorf("get group %s: %w", name, s.db.Translate(err))
	}
	return g, nil
}

// UpdateGroup implements store.Groups: it replaces the group with the same
// Account and ID; renames keep members, policies and attachments.
func (s *Store) UpdateGroup(ctx context.Context, g store.Group) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		old, err := s.idPrincipal(ctx, tx, store.KindGroup, g.Account, g.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE groups SET name = ?, path = ?, created_at = ? WHERE pk = ?`,
			g.Name, g.Path, s.d.Time(g.CreatedAt), old.pk); err != nil {
			return err
		}
		if err := s.renameKeys(ctx, tx, old, g.Name); err != nil {
			return err
		}
		c.add(renameChanges(old, g.Name)...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return nil
}

// DeleteGroup implements store.Groups; see the package comment for
// dependents. Besides the group it records each member and each policy
// attached to it.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		g, err := s.principal(ctx, tx, store.KindGroup, account, name)
		if err != nil {
			return err
		}
		c.add(g.change())
		members, err := collect(ctx, tx, func(r Scanner) (store.Change, error) {
			u := store.Change{Kind: store.ChangeUser}
			return u, r.Scan(&u.Account, &u.Key, &u.Name)
		}, `SELECT u.account, u.id, u.name FROM users u JOIN group_members m ON m.user_pk = u.pk WHERE m.group_pk = ? ORDER BY u.pk`, g.pk)
		if err != nil {
			return err
		}
		c.add(members...)
		policies, err := s.attachedPolicyChanges(ctx, tx, g)
		if err != nil {
			return err
		}
		c.add(policies...)
		_, err = tx.ExecContext(ctx, `DELETE FROM groups WHERE pk = ?`, g.pk)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", name, err)
	}
	return nil
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, account string, opt store.ListOptions) ([]store.Group, error) {
	q, args := s.namePage("g.name", "g.path", opt).query(`SELECT `+groupColumns+` FROM `+s.listFrom("groups", "g", opt)+` WHERE g.account = ?`, account)
	gs, err := collect(ctx, s.db, s.scanGroup, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", s.db.Translate(err))
	}
	return gs, nil
}

// AddUserToGroup implements store.Groups. It returns ErrNotFound if the group
// or the user does not exist. Adding a member again records no change.
func (s *Store) AddUserToGroup(ctx context.Context, account, group, user string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		g, err := s.principal(ctx, tx, store.KindGroup, account, group)
		if err != nil {
			return err
		}
		u, err := s.principal(ctx, tx, store.KindUser, account, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_pk, user_pk, user_key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			g.pk, u.pk, store.NameKey(u.name))
		if err := Affected(res, err); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil // already a member
			}
			return err
		}
		c.add(g.change(), u.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("add user %s to group %s: %w", user, group, err)
	}
	return nil
}

// RemoveUserFromGroup implements store.Groups. It returns ErrNotFound if the
// user is not a member.
func (s *Store) RemoveUserFromGroup(ctx context.Context, account, group, user string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		g, err := s.principal(ctx, tx, store.KindGroup, account, group)
		if err != nil {
			return err
		}
		u, err := s.principal(ctx, tx, store.KindUser, account, user)
		if err != nil {
			return err
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_pk = ? AND user_pk = ?`, g.pk, u.pk)); err != nil {
			return err
		}
		c.add(g.change(), u.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove user %s from group %s: %w", user, group, err)
	}
	return nil
}

// ListGroupsForUser implements store.Groups; ErrNotFound if the user does not exist.
func (s *Store) ListGroupsForUser(ctx context.Context, account, user string) ([]store.Group, error) {
	var gs []store.Group
	err := s.db.Read(ctx, func(tx Tx) error {
		upk, err := s.userPK(ctx, tx, account, user)
		if err != nil {
			return err
		}
		gs, err = collect(ctx, tx, s.scanGroup, `SELECT `+groupColumns+` FROM groups g JOIN group_members m ON m.group_pk = g.pk
			WHERE m.user_pk = ? ORDER BY `+s.d.NameOrder("g.name"), upk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list groups for user %s: %w", user, err)
	}
	return gs, nil
}

// ListGroupMembers implements store.Groups; ErrNotFound if the group does not exist.
func (s *Store) ListGroupMembers(ctx context.Context, account, group string, opt store.ListOptions) ([]store.User, error) {
	var us []store.User
	err := s.db.Read(ctx, func(tx Tx) error {
		gpk, err := s.groupPK(ctx, tx, account, group)
		if err != nil {
			return err
		}
		q, args := s.keyPage("m.user_key", opt).query(`SELECT `+userColumns+` FROM group_members m JOIN users u ON u.pk = m.user_pk
			WHERE m.group_pk = ?`, gpk)
		us, err = collect(ctx, tx, s.scanUser, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of group %s: %w", group, err)
	}
	return us, nil
}

// CreateRole implements store.Roles.
func (s *Store) CreateRole(ctx context.Context, r store.Role) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration,
			boundary, created_at, tags, last_used_at, last_used_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Account, r.ID, r.Name, r.Path, r.TrustPolicy, r.Description, r.MaxSessionDuration,
			r.PermissionsBoundary, s.d.Time(r.CreatedAt), EncodeTags(r.Tags), s.d.Time(r.LastUsedAt), r.LastUsedRegion)
		c.add(store.Change{Kind: store.ChangeRole, Account: r.Account, Key: r.ID, Name: r.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.Name, err)
	}
	return nil
}

const roleColumns = `r.account, r.id, r.name, r.path, r.trust_policy, r.description, r.max_session_duration,
	r.boundary, r.created_at, r.tags, r.last_used_at, r.last_used_region`

func (s *Store) scanRole(sc Scanner) (store.Role, error) {
	var r store.Role
	err := sc.Scan(&r.Account, &r.ID, &r.Name, &r.Path, &r.TrustPolicy, &r.Description, &r.MaxSessionDuration,
		&r.PermissionsBoundary, s.d.ScanTime(&r.CreatedAt), ScanTags(&r.Tags), s.d.ScanTime(&r.LastUsedAt), &r.LastUsedRegion)
	if err == nil {
		s.touches.OverlayRole(&r)
	}
	return r, err
}

// GetRole implements store.Roles.
func (s *Store) GetRole(ctx context.Context, account, name string) (store.Role, error) {
	r, err := s.scanRole(s.db.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.account = ? AND r.name = ?`, account, name))
	if err != nil {
		return store.Role{}, fmt.Errorf("get role %s: %w", name, s.db.Translate(err))
	}
	return r, nil
}

// GetRoleByID implements store.Roles.
func (s *Store) GetRoleByID(ctx context.Context, id string) (store.Role, error) {
	r, err := s.scanRole(s.db.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.id = ?`, id))
	if err != nil {
		return store.Role{}, fmt.Errorf("get role %s: %w", id, s.db.Translate(err))
	}
	return r, nil
}

// UpdateRole implements store.Roles: it replaces the role with the same
// Account and ID. An update that changes only LastUsedAt and LastUsedRegion
// records no change, so recording role use does not flush caches.
func (s *Store) UpdateRole(ctx context.Context, r store.Role) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		old, err := s.scanRole(tx.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles r WHERE r.account = ? AND r.id = ?`, r.Account, r.ID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, path = ?, trust_policy = ?, description = ?, max_session_duration = ?,
			boundary = ?, created_at = ?, tags = ?, last_used_at = ?, last_used_region = ? WHERE account = ? AND id = ?`,
			r.Name, r.Path, r.TrustPolicy, r.Description, r.MaxSessionDuration,
			r.PermissionsBoundary, s.d.Time(r.CreatedAt), EncodeTags(r.Tags), s.d.Time(r.LastUsedAt), r.LastUsedRegion, r.Account, r.ID); err != nil {
			return err
		}
		if store.NameKey(old.Name) != store.NameKey(r.Name) {
			if _, err := tx.ExecContext(ctx, `UPDATE attachments SET owner_key = ? WHERE role_pk = (SELECT pk FROM roles WHERE account = ? AND id = ?)`,
				store.NameKey(r.Name), r.Account, r.ID); err != nil {
				return err
			}
		}
		old.LastUsedAt, old.LastUsedRegion = r.LastUsedAt, r.LastUsedRegion
		if !roleEqual(old, r) {
			c.add(renameChanges(principal{kind: store.KindRole, account: old.Account, id: old.ID, name: old.Name}, r.Name)...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	return nil
}

func roleEqual(a, b store.Role) bool {
	if a.Name != b.Name || a.Path != b.Path || a.TrustPolicy != b.TrustPolicy || a.Description != b.Description ||
		a.MaxSessionDuration != b.MaxSessionDuration || a.PermissionsBoundary != b.PermissionsBoundary ||
		!a.CreatedAt.Equal(b.CreatedAt) || len(a.Tags) != len(b.Tags) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	return true
}

// DeleteRole implements store.Roles; see the package comment for
// dependents. Besides the role it records each policy attached to it.
func (s *Store) DeleteRole(ctx context.Context, account, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		r, err := s.principal(ctx, tx, store.KindRole, account, name)
		if err != nil {
			return err
		}
		c.add(r.change())
		policies, err := s.attachedPolicyChanges(ctx, tx, r)
		if err != nil {
			return err
		}
		c.add(policies...)
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_access WHERE principal_id = ?`, r.id); err != nil {
			return err
		}
		profiles, err := collect(ctx, tx, func(sc Scanner) (store.Change, error) {
			ch := store.Change{Kind: store.ChangeInstanceProfile, Account: account}
			return ch, sc.Scan(&ch.Key, &ch.Name)
		}, `SELECT id, name FROM instance_profiles WHERE role_pk = ?`, r.pk)
		if err != nil {
			return err
		}
		c.add(profiles...)
		_, err = tx.ExecContext(ctx, `DELETE FROM roles WHERE pk = ?`, r.pk)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	return nil
}

// ListRoles implements store.Roles.
func (s *Store) ListRoles(ctx context.Context, account string, opt store.ListOptions) ([]store.Role, error) {
	q, args := s.namePage("r.name", "r.path", opt).query(`SELECT `+roleColumns+` FROM `+s.listFrom("roles", "r", opt)+` WHERE r.account = ?`, account)
	rs, err := collect(ctx, s.db, s.scanRole, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", s.db.Translate(err))
	}
	return rs, nil
}

// Population is the highest user and role keys' sum (store.Store): two
// index lookups, where counting the rows reads the tables.
func (s *Store) Population(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(pk), 0) FROM users) + (SELECT COALESCE(MAX(pk), 0) FROM roles)`).Scan(&n)
	return n, err
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// nullUnit is a parent OU id as stored: NULL for the root ("").
func nullUnit(id string) sql.NullString { return sql.NullString{String: id, Valid: id != ""} }

// CreateOrgUnit implements store.OrgUnits.
func (s *Store) CreateOrgUnit(ctx context.Context, u store.OrgUnit) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(u.ID))
		_, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, name, parent_unit, created_at) VALUES (?, ?, ?, ?)`,
			u.ID, u.Name, nullUnit(u.ParentID), s.d.Time(u.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create organizational unit %s: %w", u.ID, err)
	}
	return nil
}

func (s *Store) scanOrgUnit(r Scanner) (store.OrgUnit, error) {
	var u store.OrgUnit
	var parent sql.NullString
	err := r.Scan(&u.ID, &u.Name, &parent, s.d.ScanTime(&u.CreatedAt))
	u.ParentID = parent.String
	return u, err
}

// GetOrgUnit implements store.OrgUnits.
func (s *Store) GetOrgUnit(ctx context.Context, id string) (store.OrgUnit, error) {
	u, err := s.scanOrgUnit(s.db.QueryRowContext(ctx, `SELECT id, name, parent_unit, created_at FROM org_units WHERE id = ?`, id))
	if err != nil {
		return store.OrgUnit{}, fmt.Errorf("get organizational unit %s: %w", id, s.db.Translate(err))
	}
	return u, nil
}

// RenameOrgUnit implements store.OrgUnits.
func (s *Store) RenameOrgUnit(ctx context.Context, id, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(id))
		return Affected(tx.ExecContext(ctx, `UPDATE org_units SET name = ? WHERE id = ?`, name, id))
	})
	if err != nil {
		return fmt.Errorf("rename organizational unit %s: %w", id, err)
	}
	return nil
}

// DeleteOrgUnit implements store.OrgUnits. The foreign keys refuse the
// delete while an OU or an account names the OU as parent.
func (s *Store) DeleteOrgUnit(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(id))
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM org_units WHERE parent_unit = ?) + (SELECT count(*) FROM org_account_parents WHERE parent_unit = ?)`, id, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d children: %w", n, store.ErrConflict)
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM org_units WHERE id = ?`, id)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM org_attachments WHERE target_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM org_tags WHERE resource_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete organizational unit %s: %w", id, s.db.Translate(err))
	}
	return nil
}

// ListOrgUnits implements store.OrgUnits.
func (s *Store) ListOrgUnits(ctx context.Context, parent string) ([]store.OrgUnit, error) {
	q := `SELECT id, name, parent_unit, created_at FROM org_units WHERE parent_unit = ? ORDER BY ` + s.d.Order("id")
	args := []any{parent}
	if parent == "" {
		q, args = `SELECT id, name, parent_unit, created_at FROM org_units WHERE parent_unit IS NULL ORDER BY `+s.d.Order("id"), nil
	}
	us, err := collect(ctx, s.db, s.scanOrgUnit, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list organizational units of %q: %w", parent, s.db.Translate(err))
	}
	return us, nil
}

// OrgAccountParent implements store.OrgUnits.
func (s *Store) OrgAccountParent(ctx context.Context, account string) (string, error) {
	var parent sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT p.parent_unit FROM accounts a LEFT JOIN org_account_parents p ON p.account_id = a.id WHERE a.id = ? AND a.standalone = ?`,
		account, s.d.Bool(false)).Scan(&parent)
	if err != nil {
		return "", fmt.Errorf("get parent of account %s: %w", account, s.db.Translate(err))
	}
	return parent.String, nil
}

// ListOrgAccountsInUnit implements store.OrgUnits.
func (s *Store) ListOrgAccountsInUnit(ctx context.Context, parent string) ([]string, error) {
	q := `SELECT account_id FROM org_account_parents WHERE parent_unit = ? ORDER BY ` + s.d.Order("account_id")
	args := []any{parent}
	if parent == "" {
		q, args = `SELECT a.id FROM accounts a WHERE a.standalone = ? AND NOT EXISTS (SELECT 1 FROM org_account_parents p WHERE p.account_id = a.id) ORDER BY `+s.d.Order("a.id"), []any{s.d.Bool(false)}
	}
	ids, err := collect(ctx, s.db, func(r Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list accounts in %q: %w", parent, s.db.Translate(err))
	}
	return ids, nil
}

// MoveOrgAccount implements store.OrgUnits. Each move is one conditional
// statement, so of two concurrent moves from the same parent one finds the
// account gone.
func (s *Store) MoveOrgAccount(ctx context.Context, account, from, to string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(account))
		switch {
		case from == "" && to == "":
			var n int
			return tx.QueryRowContext(ctx, `SELECT 1 FROM accounts a WHERE a.id = ? AND NOT EXISTS (SELECT 1 FROM org_account_parents p WHERE p.account_id = a.id)`, account).Scan(&n)
		case from == "":
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, account).Scan(&n); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO org_account_parents (account_id, parent_unit) VALUES (?, ?)`, account, to)
			if errors.Is(s.db.Translate(err), store.ErrAlreadyExists) {
				return fmt.Errorf("account is in an organizational unit: %w", store.ErrNotFound)
			}
			return err
		case to == "":
			return Affected(tx.ExecContext(ctx, `DELETE FROM org_account_parents WHERE account_id = ? AND parent_unit = ?`, account, from))
		default:
			return Affected(tx.ExecContext(ctx, `UPDATE org_account_parents SET parent_unit = ? WHERE account_id = ? AND parent_unit = ?`, to, account, from))
		}
	})
	if err != nil {
		return fmt.Errorf("move account %s to %q: %w", account, to, s.db.Translate(err))
	}
	return nil
}

// ListOrgTags implements store.OrgUnits.
func (s *Store) ListOrgTags(ctx context.Context, resource string) ([]store.OrgTag, error) {
	ts, err := collect(ctx, s.db, func(r Scanner) (store.OrgTag, error) {
		var t store.OrgTag
		return t, r.Scan(&t.Key, &t.Value)
	}, `SELECT key, value FROM org_tags WHERE resource_id = ? ORDER BY `+s.d.Order("key"), resource)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", resource, s.db.Translate(err))
	}
	return ts, nil
}

// TagOrgResource implements store.OrgUnits.
func (s *Store) TagOrgResource(ctx context.Context, resource string, tags []store.OrgTag, maxTags int) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(resource))
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO org_tags (resource_id, key, value) VALUES (?, ?, ?)
				ON CONFLICT (resource_id, key) DO UPDATE SET value = excluded.value`, resource, t.Key, t.Value); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM org_tags WHERE resource_id = ?`, resource).Scan(&n); err != nil {
			return err
		}
		if n > maxTags {
			return fmt.Errorf("%d tags, at most %d: %w", n, maxTags, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tag %s: %w", resource, err)
	}
	return nil
}

// UntagOrgResource implements store.OrgUnits.
func (s *Store) UntagOrgResource(ctx context.Context, resource string, keys []string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(resource))
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM org_tags WHERE resource_id = ? AND key = ?`, resource, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("untag %s: %w", resource, err)
	}
	return nil
}

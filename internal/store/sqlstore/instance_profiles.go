package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// instanceProfileColumns selects a profile (alias p) and its role's id
// (alias r, a LEFT JOIN on p.role_pk).
const instanceProfileColumns = `p.account, p.id, p.name, p.path, p.created_at, p.tags, coalesce(r.id, '')`

const instanceProfileFrom = ` LEFT JOIN roles r ON r.pk = p.role_pk`

func (s *Store) scanInstanceProfile(sc Scanner) (store.InstanceProfile, error) {
	var p store.InstanceProfile
	err := sc.Scan(&p.Account, &p.ID, &p.Name, &p.Path, s.d.ScanTime(&p.CreatedAt), ScanTags(&p.Tags), &p.RoleID)
	return p, err
}

func instanceProfileChange(account, id, name string) store.Change {
	return store.Change{Kind: store.ChangeInstanceProfile, Account: account, Key: id, Name: name}
}

// CreateInstanceProfile implements store.InstanceProfiles.
func (s *Store) CreateInstanceProfile(ctx context.Context, p store.InstanceProfile) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO instance_profiles (account, id, name, path, created_at, tags) VALUES (?, ?, ?, ?, ?, ?)`,
			p.Account, p.ID, p.Name, p.Path, s.d.Time(p.CreatedAt), EncodeTags(p.Tags))
		c.add(instanceProfileChange(p.Account, p.ID, p.Name))
		return err
	})
	if err != nil {
		return fmt.Errorf("create instance profile %s: %w", p.Name, err)
	}
	return nil
}

// instanceProfile reads a profile by name in tx.
func (s *Store) instanceProfile(ctx context.Context, q Querier, account, name string) (store.InstanceProfile, error) {
	p, err := s.scanInstanceProfile(q.QueryRowContext(ctx, `SELECT `+instanceProfileColumns+` FROM instance_profiles p`+instanceProfileFrom+
		` WHERE p.account = ? AND p.name = ?`, account, name))
	if err != nil {
		return store.InstanceProfile{}, s.db.Translate(err)
	}
	return p, nil
}

// GetInstanceProfile implements store.InstanceProfiles.
func (s *Store) GetInstanceProfile(ctx context.Context, account, name string) (store.InstanceProfile, error) {
	p, err := s.instanceProfile(ctx, s.db, account, name)
	if err != nil {
		return store.InstanceProfile{}, fmt.Errorf("get instance profile %s: %w", name, err)
	}
	return p, nil
}

// DeleteInstanceProfile implements store.InstanceProfiles.
func (s *Store) DeleteInstanceProfile(ctx context.Context, account, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		p, err := s.instanceProfile(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if p.RoleID != "" {
			return store.ErrConflict
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM instance_profiles WHERE account = ? AND id = ? AND role_pk IS NULL`, account, p.ID)); err != nil {
			return err
		}
		c.add(instanceProfileChange(account, p.ID, p.Name))
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete instance profile %s: %w", name, err)
	}
	return nil
}

// ListInstanceProfiles implements store.InstanceProfiles.
func (s *Store) ListInstanceProfiles(ctx context.Context, account string, opt store.ListOptions) ([]store.InstanceProfile, error) {
	q, args := s.namePage("p.name", "p.path", opt).query(`SELECT `+instanceProfileColumns+` FROM `+s.listFrom("instance_profiles", "p", opt)+
		instanceProfileFrom+` WHERE p.account = ?`, account)
	ps, err := collect(ctx, s.db, s.scanInstanceProfile, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list instance profiles: %w", s.db.Translate(err))
	}
	return ps, nil
}

// ListInstanceProfilesForRole implements store.InstanceProfiles.
func (s *Store) ListInstanceProfilesForRole(ctx context.Context, account, roleID string, opt store.ListOptions) ([]store.InstanceProfile, error) {
	opt.PathPrefix = ""
	q, args := s.namePage("p.name", "", opt).query(`SELECT `+instanceProfileColumns+` FROM instance_profiles p`+
		` JOIN roles r ON r.pk = p.role_pk WHERE r.account = ? AND r.id = ? AND p.account = ?`, account, roleID, account)
	ps, err := collect(ctx, s.db, s.scanInstanceProfile, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list instance profiles for role %s: %w", roleID, s.db.Translate(err))
	}
	return ps, nil
}

// SetInstanceProfileRole implements store.InstanceProfiles.
func (s *Store) SetInstanceProfileRole(ctx context.Context, account, name, roleID string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		p, err := s.instanceProfile(ctx, tx, account, name)
		if err != nil {
			return err
		}
		var rolePK int64
		if err := tx.QueryRowContext(ctx, `SELECT pk FROM roles WHERE account = ? AND id = ?`, account, roleID).Scan(&rolePK); err != nil {
			return s.db.Translate(err)
		}
		if p.RoleID != "" {
			return store.ErrConflict
		}
		if err := Affected(tx.ExecContext(ctx, `UPDATE instance_profiles SET role_pk = ? WHERE account = ? AND id = ? AND role_pk IS NULL`,
			rolePK, account, p.ID)); err != nil {
			return err
		}
		c.add(instanceProfileChange(account, p.ID, p.Name))
		return nil
	})
	if err != nil {
		return fmt.Errorf("add role %s to instance profile %s: %w", roleID, name, err)
	}
	return nil
}

// ClearInstanceProfileRole implements store.InstanceProfiles.
func (s *Store) ClearInstanceProfileRole(ctx context.Context, account, name, roleID string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		p, err := s.instanceProfile(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if p.RoleID == "" || p.RoleID != roleID {
			return store.ErrNotFound
		}
		if err := Affected(tx.ExecContext(ctx, `UPDATE instance_profiles SET role_pk = NULL WHERE account = ? AND id = ?`, account, p.ID)); err != nil {
			return err
		}
		c.add(instanceProfileChange(account, p.ID, p.Name))
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove role %s from instance profile %s: %w", roleID, name, err)
	}
	return nil
}

// SetInstanceProfileTags implements store.InstanceProfiles.
func (s *Store) SetInstanceProfileTags(ctx context.Context, account, name string, tags []store.Tag) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		p, err := s.instanceProfile(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if err := Affected(tx.ExecContext(ctx, `UPDATE instance_profiles SET tags = ? WHERE account = ? AND id = ?`, EncodeTags(tags), account, p.ID)); err != nil {
			return err
		}
		c.add(instanceProfileChange(account, p.ID, p.Name))
		return nil
	})
	if err != nil {
		return fmt.Errorf("tag instance profile %s: %w", name, err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// orgChange is the feed entry for a change of an Organizations policy or of
// the policies attached to a target, named by id.
func orgChange(id string) store.Change { return store.Change{Kind: store.ChangeOrg, Key: id} }

// CreateOrgPolicy implements store.Org. Ids and names are unique
// (Organizations' DuplicatePolicyException); names compare exactly.
func (s *Store) CreateOrgPolicy(ctx context.Context, p store.OrgPolicy) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(p.ID))
		_, err := tx.ExecContext(ctx, `INSERT INTO org_policies (id, name, description, type, content, aws_managed) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.Description, p.Type, p.Content, s.d.Bool(p.AWSManaged))
		return err
	})
	if err != nil {
		return fmt.Errorf("create org policy %s: %w", p.ID, err)
	}
	return nil
}

func (s *Store) scanOrgPolicy(r Scanner) (store.OrgPolicy, error) {
	var p store.OrgPolicy
	err := r.Scan(&p.ID, &p.Name, &p.Description, &p.Type, &p.Content, &p.AWSManaged)
	return p, err
}

// GetOrgPolicy implements store.Org.
func (s *Store) GetOrgPolicy(ctx context.Context, id string) (store.OrgPolicy, error) {
	p, err := s.scanOrgPolicy(s.db.QueryRowContext(ctx, `SELECT id, name, description, type, content, aws_managed FROM org_policies WHERE id = ?`, id))
	if err != nil {
		return store.OrgPolicy{}, fmt.Errorf("get org policy %s: %w", id, s.db.Translate(err))
	}
	return p, nil
}

// UpdateOrgPolicy implements store.Org: it replaces the policy with p.ID.
func (s *Store) UpdateOrgPolicy(ctx context.Context, p store.OrgPolicy) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(p.ID))
		return Affected(tx.ExecContext(ctx, `UPDATE org_policies SET name = ?, description = ?, type = ?, content = ?, aws_managed = ? WHERE id = ?`,
			p.Name, p.Description, p.Type, p.Content, s.d.Bool(p.AWSManaged), p.ID))
	})
	if err != nil {
		return fmt.Errorf("update org policy %s: %w", p.ID, err)
	}
	return nil
}

// DeleteOrgPolicy implements store.Org. It returns ErrConflict while the
// policy is attached (Organizations' PolicyInUseException).
func (s *Store) DeleteOrgPolicy(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(id))
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM org_attachments WHERE policy_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("attached %d times: %w", n, store.ErrConflict)
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM org_policies WHERE id = ?`, id)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM org_tags WHERE resource_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete org policy %s: %w", id, err)
	}
	return nil
}

const orgPolicyColumns = `p.id, p.name, p.description, p.type, p.content, p.aws_managed`

// ListOrgPolicies implements store.Org.
func (s *Store) ListOrgPolicies(ctx context.Context, typ string, opt store.ListOptions) ([]store.OrgPolicy, error) {
	// The position is (folded name, name): a range on the first, which the
	// index serves, and the second among the names that fold alike.
	var p page
	if opt.After != "" {
		op := " > ?"
		if opt.IncludeAfter {
			op = " >= ?"
		}
		fold, key := s.d.FoldOrder("p.name"), store.NameKey(opt.After)
		p.cond = " AND " + fold + " >= ? AND (" + fold + " > ? OR " + s.d.Order("p.name") + op + ")"
		p.args = []any{key, key, opt.After}
	}
	p.order = " ORDER BY " + s.d.FoldOrder("p.name") + ", " + s.d.Order("p.name")
	if opt.Limit > 0 {
		p.limit, p.n = " LIMIT ?", []any{opt.Limit}
	}
	q, args := p.query(`SELECT `+orgPolicyColumns+` FROM org_policies p WHERE p.type = ?`, typ)
	ps, err := collect(ctx, s.db, s.scanOrgPolicy, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list org policies: %w", s.db.Translate(err))
	}
	return ps, nil
}

// ListOrgPoliciesForTarget implements store.Org.
func (s *Store) ListOrgPoliciesForTarget(ctx context.Context, target string) ([]store.OrgPolicy, error) {
	ps, err := collect(ctx, s.db, s.scanOrgPolicy, `SELECT `+orgPolicyColumns+` FROM org_attachments a JOIN org_policies p ON p.id = a.policy_id
		WHERE `+s.d.Order("a.target_id")+` = ? ORDER BY `+s.d.FoldOrder("p.name")+`, `+s.d.Order("p.name"), target)
	if err != nil {
		return nil, fmt.Errorf("list org policies for target %s: %w", target, s.db.Translate(err))
	}
	return ps, nil
}

// ListOrgTargets implements store.Org.
func (s *Store) ListOrgTargets(ctx context.Context, policyID string, opt store.ListOptions) ([]string, error) {
	q, args := s.exactPage("target_id", opt).query(`SELECT target_id FROM org_attachments WHERE `+s.d.Order("policy_id")+` = ?`, policyID)
	ts, err := collect(ctx, s.db, func(r Scanner) (string, error) {
		var t string
		return t, r.Scan(&t)
	}, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list targets of org policy %s: %w", policyID, s.db.Translate(err))
	}
	return ts, nil
}

// AttachOrgPolicy implements store.Org. The policy must exist (ErrNotFound);
// the target is not checked. Attaching twice returns ErrAlreadyExists
// (Organizations' DuplicatePolicyAttachmentException).
func (s *Store) AttachOrgPolicy(ctx context.Context, a store.OrgAttachment) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(a.PolicyID), orgChange(a.TargetID))
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM org_policies WHERE id = ?`, a.PolicyID).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_attachments (policy_id, target_id) VALUES (?, ?)`, a.PolicyID, a.TargetID)
		return err
	})
	if err != nil {
		return fmt.Errorf("attach org policy %s to %s: %w", a.PolicyID, a.TargetID, err)
	}
	return nil
}

// DetachOrgPolicy implements store.Org; ErrNotFound if not attached.
func (s *Store) DetachOrgPolicy(ctx context.Context, a store.OrgAttachment) error {
	return s.deleteRow(ctx, "detach org policy "+a.PolicyID+" from "+a.TargetID, []store.Change{orgChange(a.PolicyID), orgChange(a.TargetID)},
		`DELETE FROM org_attachments WHERE policy_id = ? AND target_id = ?`, a.PolicyID, a.TargetID)
}

// ListOrgAttachments implements store.Org, sorted by policy id then target id.
func (s *Store) ListOrgAttachments(ctx context.Context) ([]store.OrgAttachment, error) {
	as, err := collect(ctx, s.db, func(r Scanner) (store.OrgAttachment, error) {
		var a store.OrgAttachment
		return a, r.Scan(&a.PolicyID, &a.TargetID)
	}, `SELECT policy_id, target_id FROM org_attachments ORDER BY `+s.d.Order("policy_id")+`, `+s.d.Order("target_id"))
	if err != nil {
		return nil, fmt.Errorf("list org attachments: %w", s.db.Translate(err))
	}
	return as, nil
}

// GetSetting implements store.Settings.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("get setting %s: %w", key, s.db.Translate(err))
	}
	return v, nil
}

// PutSettingIfAbsent implements store.Settings. It is atomic: of concurrent
// callers, exactly one value is stored and every caller gets that value back.
// Only the caller that stores records a change.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
		switch err := Affected(res, err); {
		case err == nil:
			c.add(store.Change{Kind: store.ChangeSetting, Key: key})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("put setting %s: %w", key, err)
	}
	return stored, nil
}

// PutSetting implements store.Settings. Storing the value a setting has
// records no change.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE settings.value <> excluded.value`, key, value)
		switch err := Affected(res, err); {
		case err == nil:
			c.add(store.Change{Kind: store.ChangeSetting, Key: key})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

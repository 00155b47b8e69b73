package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// ownerTable returns the table of a principal kind and the column that refers
// to it from inline_policies and attachments.
func ownerTable(kind store.PrincipalKind) (table, column string, err error) {
	switch kind {
	case store.KindUser:
		return "users", "user_pk", nil
	case store.KindGroup:
		return "groups", "group_pk", nil
	case store.KindRole:
		return "roles", "role_pk", nil
	}
	return "", "", fmt.Errorf("unknown principal kind %q: %w", kind, store.ErrNotFound)
}

// ownerPK resolves a principal; it returns its column in inline_policies
// and attachments, and its row.
func (s *Store) ownerPK(ctx context.Context, tx Tx, account string, kind store.PrincipalKind, owner string) (column string, p principal, err error) {
	_, column, err = ownerTable(kind)
	if err != nil {
		return "", principal{}, err
	}
	p, err = s.principal(ctx, tx, kind, account, owner)
	return column, p, err
}

// PutInlinePolicy implements store.Policies. It returns ErrNotFound if the
// owner does not exist. Replacing a policy keeps the name's first spelling;
// replacing it with the same document records no change.
func (s *Store) PutInlinePolicy(ctx context.Context, p store.InlinePolicy) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		col, o, err := s.ownerPK(ctx, tx, p.Account, p.Kind, p.Owner)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO inline_policies (`+col+`, name, document) VALUES (?, ?, ?)
			ON CONFLICT (`+col+`, name) DO UPDATE SET document = excluded.document WHERE inline_policies.document <> excluded.document`,
			o.pk, p.Name, p.Document)
		if err := Affected(res, err); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil // the same document
			}
			return err
		}
		c.add(o.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("put inline policy %s: %w", p.Name, err)
	}
	return nil
}

// GetInlinePolicy implements store.Policies.
func (s *Store) GetInlinePolicy(ctx context.Context, account string, kind store.PrincipalKind, owner, name string) (store.InlinePolicy, error) {
	p := store.InlinePolicy{Account: account, Kind: kind}
	table, col, err := ownerTable(kind)
	if err == nil {
		err = s.db.QueryRowContext(ctx, `SELECT o.name, p.name, p.document FROM inline_policies p JOIN `+table+` o ON o.pk = p.`+col+`
			WHERE o.account = ? AND o.name = ? AND p.name = ?`, account, owner, name).Scan(&p.Owner, &p.Name, &p.Document)
	}
	if err != nil {
		return store.InlinePolicy{}, fmt.Errorf("get inline policy %s of %s %s: %w", name, kind, owner, s.db.Translate(err))
	}
	return p, nil
}

// DeleteInlinePolicy implements store.Policies.
func (s *Store) DeleteInlinePolicy(ctx context.Context, account string, kind store.PrincipalKind, owner, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		col, o, err := s.ownerPK(ctx, tx, account, kind, owner)
		if err != nil {
			return err
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM inline_policies WHERE `+col+` = ? AND name = ?`, o.pk, name)); err != nil {
			return err
		}
		c.add(o.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete inline policy %s of %s %s: %w", name, kind, owner, err)
	}
	return nil
}

// ListInlinePolicies implements store.Policies; ErrNotFound if the owner does not exist.
func (s *Store) ListInlinePolicies(ctx context.Context, account string, kind store.PrincipalKind, owner string) ([]store.InlinePolicy, error) {
	var ps []store.InlinePolicy
	err := s.db.Read(ctx, func(tx Tx) error {
		col, o, err := s.ownerPK(ctx, tx, account, kind, owner)
		if err != nil {
			return err
		}
		ps, err = collect(ctx, tx, func(r Scanner) (store.InlinePolicy, error) {
			p := store.InlinePolicy{Account: account, Kind: kind, Owner: o.name}
			return p, r.Scan(&p.Name, &p.Document)
		}, `SELECT name, document FROM inline_policies WHERE `+col+` = ? ORDER BY `+s.d.NameOrder("name"), o.pk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list inline policies of %s %s: %w", kind, owner, err)
	}
	return ps, nil
}

// CreateManagedPolicy implements store.Policies. The version belongs to p
// whatever its PolicyARN; an empty VersionID is "v1", and an empty
// DefaultVersionID is the version's id.
func (s *Store) CreateManagedPolicy(ctx context.Context, p store.ManagedPolicy, v store.PolicyVersion) error {
	if v.VersionID == "" {
		v.VersionID = "v1"
	}
	if p.DefaultVersionID == "" {
		p.DefaultVersionID = v.VersionID
	}
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		var pk int64
		err := tx.QueryRowContext(ctx, `INSERT INTO managed_policies (account, id, name, path, arn, description, default_version_id,
			created_at, updated_at, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk`,
			p.Account, p.ID, p.Name, p.Path, p.ARN, p.Description, p.DefaultVersionID,
			s.d.Time(p.CreatedAt), s.d.Time(p.UpdatedAt), EncodeTags(p.Tags)).Scan(&pk)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_pk, version_id, document, created_at) VALUES (?, ?, ?, ?)`,
			pk, v.VersionID, v.Document, s.d.Time(v.CreatedAt))
		c.add(store.Change{Kind: store.ChangePolicy, Account: p.Account, Key: p.ARN, Name: p.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create managed policy %s: %w", p.ARN, err)
	}
	return nil
}

const managedPolicyColumns = `account, id, name, path, arn, description, default_version_id, created_at, updated_at, tags`

func (s *Store) scanManagedPolicy(r Scanner) (store.ManagedPolicy, error) {
	var p store.ManagedPolicy
	err := r.Scan(&p.Account, &p.ID, &p.Name, &p.Path, &p.ARN, &p.Description, &p.DefaultVersionID,
		s.d.ScanTime(&p.CreatedAt), s.d.ScanTime(&p.UpdatedAt), ScanTags(&p.Tags))
	return p, err
}

// GetManagedPolicy implements store.Policies. The ARN matches
// case-insensitively, like the policy name it contains.
func (s *Store) GetManagedPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	p, err := s.scanManagedPolicy(s.db.QueryRowContext(ctx, `SELECT `+managedPolicyColumns+` FROM managed_policies WHERE arn = ?`, arn))
	if err != nil {
		return store.ManagedPolicy{}, fmt.Errorf("get managed policy %s: %w", arn, s.db.Translate(err))
	}
	return p, nil
}

// managedRow is the row of a managed policy.
type managedRow struct {
	pk             int64
	account        string
	arn            string // as stored
	name           string
	defaultVersion string
}

// change is the feed entry for a change of p.
func (p managedRow) change() store.Change {
	return store.Change{Kind: store.ChangePolicy, Account: p.account, Key: p.arn, Name: p.name}
}

// policyPK resolves a managed policy ARN.
func (s *Store) policyPK(ctx context.Context, tx Tx, arn string) (managedRow, error) {
	var p managedRow
	err := tx.QueryRowContext(ctx, `SELECT pk, account, arn, name, default_version_id FROM managed_policies WHERE arn = ?`, arn).
		Scan(&p.pk, &p.account, &p.arn, &p.name, &p.defaultVersion)
	if err != nil {
		return managedRow{}, fmt.Errorf("managed policy %s: %w", arn, s.db.Translate(err))
	}
	return p, nil
}

// UpdateManagedPolicy implements store.Policies. It writes Description,
// DefaultVersionID, UpdatedAt and Tags of the policy with p.ARN; a managed
// policy's name, path, id and account never change. ErrNotFound if the
// default version does not exist.
func (s *Store) UpdateManagedPolicy(ctx context.Context, p store.ManagedPolicy) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		mp, err := s.policyPK(ctx, tx, p.ARN)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM policy_versions WHERE policy_pk = ? AND version_id = ?`, mp.pk, p.DefaultVersionID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("default version %s: %w", p.DefaultVersionID, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE managed_policies SET description = ?, default_version_id = ?, updated_at = ?, tags = ? WHERE pk = ?`,
			p.Description, p.DefaultVersionID, s.d.Time(p.UpdatedAt), EncodeTags(p.Tags), mp.pk)
		c.add(mp.change())
		return err
	})
	if err != nil {
		return fmt.Errorf("update managed policy %s: %w", p.ARN, err)
	}
	return nil
}

// DeleteManagedPolicy implements store.Policies.
func (s *Store) DeleteManagedPolicy(ctx context.Context, arn string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		mp, err := s.policyPK(ctx, tx, arn)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attachments WHERE policy_pk = ?`, mp.pk).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("attached %d times: %w", n, store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM managed_policies WHERE pk = ?`, mp.pk)
		c.add(mp.change())
		return err
	})
	if err != nil {
		return fmt.Errorf("delete managed policy %s: %w", arn, err)
	}
	return nil
}

// ListManagedPolicies implements store.Policies.
func (s *Store) ListManagedPolicies(ctx context.Context, account string, opt store.ListOptions) ([]store.ManagedPolicy, error) {
	q, args := s.namePage("name", "path", opt).query(`SELECT `+managedPolicyColumns+` FROM `+s.listFrom("managed_policies", "", opt)+` WHERE account = ?`, account)
	ps, err := collect(ctx, s.db, s.scanManagedPolicy, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list managed policies: %w", s.db.Translate(err))
	}
	return ps, nil
}

// CreatePolicyVersion implements store.Policies. It does not change the
// default version; ErrNotFound if the policy does not exist, ErrAlreadyExists
// if the version does. The limit of five versions is the caller's to enforce.
func (s *Store) CreatePolicyVersion(ctx context.Context, v store.PolicyVersion) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		mp, err := s.policyPK(ctx, tx, v.PolicyARN)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO policy_versions (policy_pk, version_id, document, created_at) VALUES (?, ?, ?, ?)`,
			mp.pk, v.VersionID, v.Document, s.d.Time(v.CreatedAt))
		c.add(mp.change())
		return err
	})
	if err != nil {
		return fmt.Errorf("create policy version %s %s: %w", v.PolicyARN, v.VersionID, err)
	}
	return nil
}

func (s *Store) scanPolicyVersion(r Scanner) (store.PolicyVersion, error) {
	var v store.PolicyVersion
	err := r.Scan(&v.PolicyARN, &v.VersionID, &v.Document, s.d.ScanTime(&v.CreatedAt))
	return v, err
}

// GetPolicyVersion implements store.Policies.
func (s *Store) GetPolicyVersion(ctx context.Context, policyARN, versionID string) (store.PolicyVersion, error) {
	v, err := s.scanPolicyVersion(s.db.QueryRowContext(ctx, `SELECT p.arn, v.version_id, v.document, v.created_at
		FROM policy_versions v JOIN managed_policies p ON p.pk = v.policy_pk WHERE p.arn = ? AND v.version_id = ?`, policyARN, versionID))
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("get policy version %s %s: %w", policyARN, versionID, s.db.Translate(err))
	}
	return v, nil
}

// ListPolicyVersions implements store.Policies, in version order (v1, v2, ...
// v10); ErrNotFound if the policy does not exist.
func (s *Store) ListPolicyVersions(ctx context.Context, policyARN string) ([]store.PolicyVersion, error) {
	var vs []store.PolicyVersion
	err := s.db.Read(ctx, func(tx Tx) error {
		mp, err := s.policyPK(ctx, tx, policyARN)
		if err != nil {
			return err
		}
		vs, err = collect(ctx, tx, s.scanPolicyVersion, `SELECT p.arn, v.version_id, v.document, v.created_at
			FROM policy_versions v JOIN managed_policies p ON p.pk = v.policy_pk WHERE v.policy_pk = ?
			ORDER BY length(v.version_id), `+s.d.Order("v.version_id"), mp.pk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list policy versions %s: %w", policyARN, err)
	}
	return vs, nil
}

// DeletePolicyVersion implements store.Policies. Deleting the default version
// returns ErrConflict, as AWS refuses it (DeleteConflict).
func (s *Store) DeletePolicyVersion(ctx context.Context, policyARN, versionID string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		mp, err := s.policyPK(ctx, tx, policyARN)
		if err != nil {
			return err
		}
		if mp.defaultVersion == versionID {
			return fmt.Errorf("version %s is the default: %w", versionID, store.ErrConflict)
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM policy_versions WHERE policy_pk = ? AND version_id = ?`, mp.pk, versionID)); err != nil {
			return err
		}
		c.add(mp.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete policy version %s %s: %w", policyARN, versionID, err)
	}
	return nil
}

// attachmentPKs resolves an attachment's owner (its column in attachments
// and row) and policy; ErrNotFound if either is missing.
func (s *Store) attachmentPKs(ctx context.Context, tx Tx, a store.Attachment) (col string, owner principal, policy managedRow, err error) {
	col, owner, err = s.ownerPK(ctx, tx, a.Account, a.Kind, a.Owner)
	if err != nil {
		return "", principal{}, managedRow{}, err
	}
	policy, err = s.policyPK(ctx, tx, a.PolicyARN)
	if err != nil {
		return "", principal{}, managedRow{}, err
	}
	return col, owner, policy, nil
}

// AttachPolicy implements store.Policies. ErrNotFound if the owner or the
// policy does not exist. Attaching again records no change.
func (s *Store) AttachPolicy(ctx context.Context, a store.Attachment) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		col, o, p, err := s.attachmentPKs(ctx, tx, a)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO attachments (`+col+`, policy_pk, account, owner_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			o.pk, p.pk, o.account, store.NameKey(o.name))
		if err := Affected(res, err); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil // already attached
			}
			return err
		}
		c.add(o.change(), p.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("attach policy %s to %s %s: %w", a.PolicyARN, a.Kind, a.Owner, err)
	}
	return nil
}

// DetachPolicy implements store.Policies; ErrNotFound if not attached.
func (s *Store) DetachPolicy(ctx context.Context, a store.Attachment) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		col, o, p, err := s.attachmentPKs(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := Affected(tx.ExecContext(ctx, `DELETE FROM attachments WHERE `+col+` = ? AND policy_pk = ?`, o.pk, p.pk)); err != nil {
			return err
		}
		c.add(o.change(), p.change())
		return nil
	})
	if err != nil {
		return fmt.Errorf("detach policy %s from %s %s: %w", a.PolicyARN, a.Kind, a.Owner, err)
	}
	return nil
}

// ListAttachments implements store.Policies, sorted by policy name then ARN;
// ErrNotFound if the owner does not exist.
func (s *Store) ListAttachments(ctx context.Context, account string, kind store.PrincipalKind, owner string) ([]store.Attachment, error) {
	var as []store.Attachment
	err := s.db.Read(ctx, func(tx Tx) error {
		col, o, err := s.ownerPK(ctx, tx, account, kind, owner)
		if err != nil {
			return err
		}
		as, err = collect(ctx, tx, func(r Scanner) (store.Attachment, error) {
			a := store.Attachment{Account: account, Kind: kind, Owner: o.name}
			return a, r.Scan(&a.PolicyARN)
		}, `SELECT p.arn FROM attachments a JOIN managed_policies p ON p.pk = a.policy_pk WHERE a.`+col+` = ?
			ORDER BY `+s.d.FoldOrder("p.name")+`, `+s.d.Order("p.arn"), o.pk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list attachments of %s %s: %w", kind, owner, err)
	}
	return as, nil
}

// ListPolicyAttachments implements store.Policies, sorted by account, kind
// and owner name; ErrNotFound if the policy does not exist.
func (s *Store) ListPolicyAttachments(ctx context.Context, policyARN string) ([]store.Attachment, error) {
	var as []store.Attachment
	err := s.db.Read(ctx, func(tx Tx) error {
		mp, err := s.policyPK(ctx, tx, policyARN)
		if err != nil {
			return err
		}
		as, err = collect(ctx, tx, func(r Scanner) (store.Attachment, error) {
			a := store.Attachment{PolicyARN: mp.arn}
			var kind string
			err := r.Scan(&a.Account, &kind, &a.Owner)
			a.Kind = store.PrincipalKind(kind)
			return a, err
		}, `SELECT coalesce(u.account, g.account, r.account),
				CASE WHEN a.user_pk IS NOT NULL THEN 'user' WHEN a.group_pk IS NOT NULL THEN 'group' ELSE 'role' END AS kind,
				coalesce(u.name, g.name, r.name) AS owner
			FROM attachments a
			LEFT JOIN users u ON u.pk = a.user_pk
			LEFT JOIN groups g ON g.pk = a.group_pk
			LEFT JOIN roles r ON r.pk = a.role_pk
			WHERE a.policy_pk = ? ORDER BY `+s.d.Order("coalesce(u.account, g.account, r.account)")+`, kind, `+
			s.d.NameOrder("coalesce(u.name, g.name, r.name)"), mp.pk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list attachments of policy %s: %w", policyARN, err)
	}
	return as, nil
}

// PolicyUsage implements store.Policies.
func (s *Store) PolicyUsage(ctx context.Context, account, arn string) (attachments, boundaries int, err error) {
	key := store.NameKey(arn)
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM attachments a JOIN managed_policies p ON p.pk = a.policy_pk
			LEFT JOIN users u ON u.pk = a.user_pk
			LEFT JOIN groups g ON g.pk = a.group_pk
			LEFT JOIN roles r ON r.pk = a.role_pk
			WHERE p.arn = ? AND coalesce(u.account, g.account, r.account) = ?),
		(SELECT count(*) FROM users WHERE account = ? AND `+s.d.FoldOrder("boundary")+` = ?) +
		(SELECT count(*) FROM roles WHERE account = ? AND `+s.d.FoldOrder("boundary")+` = ?)`,
		arn, account, account, key, account, key).Scan(&attachments, &boundaries)
	if err != nil {
		return 0, 0, fmt.Errorf("policy usage of %s: %w", arn, s.db.Translate(err))
	}
	return attachments, boundaries, nil
}

// ListPolicyEntities implements store.Policies. With both uses it reads a
// page of each and merges them.
func (s *Store) ListPolicyEntities(ctx context.Context, account, arn string, kind store.PrincipalKind, use store.PolicyUse, opt store.ListOptions) ([]store.PolicyEntity, error) {
	table, col, err := ownerTable(kind)
	if err != nil {
		return nil, fmt.Errorf("list entities for policy %s: %w", arn, err)
	}
	scan := func(r Scanner) (store.PolicyEntity, error) {
		e := store.PolicyEntity{Kind: kind}
		return e, r.Scan(&e.ID, &e.Name, &e.Path)
	}
	var attached, bounded []store.PolicyEntity
	err = s.db.Read(ctx, func(tx Tx) error {
		if use&store.UseAttached != 0 {
			p := s.keyPage("a.owner_key", opt)
			cond, args := s.pathPrefix("x.path", opt.PathPrefix)
			p.cond, p.args = cond+p.cond, append(args, p.args...)
			q, args := p.query(`SELECT x.id, x.name, x.path FROM attachments a JOIN `+table+` x ON x.pk = a.`+col+`
				WHERE a.policy_pk = (SELECT pk FROM managed_policies WHERE arn = ?) AND a.account = ? AND a.`+col+` IS NOT NULL`, arn, account)
			if attached, err = collect(ctx, tx, scan, q, args...); err != nil {
				return err
			}
		}
		if use&store.UseBoundary != 0 && kind != store.KindGroup {
			q, args := s.namePage("x.name", "x.path", opt).query(`SELECT x.id, x.name, x.path FROM `+table+` x
				WHERE x.account = ? AND `+s.d.FoldOrder("x.boundary")+` = ?`, account, store.NameKey(arn))
			if bounded, err = collect(ctx, tx, scan, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list entities for policy %s: %w", arn, err)
	}
	return mergeEntities(attached, bounded, opt.Limit), nil
}

// mergeEntities merges two lists of entities sorted by name key into one,
// each entity once, at most limit long if limit is positive.
func mergeEntities(a, b []store.PolicyEntity, limit int) []store.PolicyEntity {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]store.PolicyEntity, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var next store.PolicyEntity
		switch {
		case len(b) == 0:
			next, a = a[0], a[1:]
		case len(a) == 0:
			next, b = b[0], b[1:]
		default:
			ka, kb := store.NameKey(a[0].Name), store.NameKey(b[0].Name)
			switch {
			case ka < kb:
				next, a = a[0], a[1:]
			case kb < ka:
				next, b = b[0], b[1:]
			default: // names are unique per kind and account: the same entity
				next, a, b = a[0], a[1:], b[1:]
			}
		}
		out = append(out, next)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

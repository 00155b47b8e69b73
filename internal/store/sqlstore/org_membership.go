package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// accountChanges are the feed entries of a change of an account's
// membership: the account itself and the SCPs that apply to it.
func accountChanges(id string) []store.Change {
	return []store.Change{{Kind: store.ChangeAccount, Account: id, Key: id}, orgChange(id)}
}

// RemoveOrgAccount implements store.OrgMembership.
func (s *Store) RemoveOrgAccount(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(accountChanges(id)...)
		if err := Affected(tx.ExecContext(ctx, `UPDATE accounts SET standalone = ? WHERE id = ? AND standalone = ?`,
			s.d.Bool(true), id, s.d.Bool(false))); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM org_account_parents WHERE account_id = ?`,
			`DELETE FROM org_attachments WHERE target_id = ?`,
			`DELETE FROM org_tags WHERE resource_id = ?`,
			`DELETE FROM org_delegated_admins WHERE account_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove account %s from the organization: %w", id, s.db.Translate(err))
	}
	return nil
}

// JoinOrgAccount implements store.OrgMembership.
func (s *Store) JoinOrgAccount(ctx context.Context, id, method string, at time.Time) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(accountChanges(id)...)
		var standalone bool
		if err := tx.QueryRowContext(ctx, `SELECT standalone FROM accounts WHERE id = ?`, id).Scan(&standalone); err != nil {
			return err
		}
		if !standalone {
			return fmt.Errorf("already a member: %w", store.ErrConflict)
		}
		return Affected(tx.ExecContext(ctx, `UPDATE accounts SET standalone = ?, joined_method = ?, joined_at = ? WHERE id = ? AND standalone = ?`,
			s.d.Bool(false), method, s.d.Time(at), id, s.d.Bool(true)))
	})
	if err != nil {
		return fmt.Errorf("join account %s to the organization: %w", id, s.db.Translate(err))
	}
	return nil
}

// CloseOrgAccount implements store.OrgMembership.
func (s *Store) CloseOrgAccount(ctx context.Context, id string, at time.Time) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(accountChanges(id)...)
		var closed sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT CASE WHEN closed_at IS NULL THEN NULL ELSE 'closed' END FROM accounts WHERE id = ? AND standalone = ?`,
			id, s.d.Bool(false)).Scan(&closed); err != nil {
			return err
		}
		if closed.Valid {
			return fmt.Errorf("already closed: %w", store.ErrConflict)
		}
		return Affected(tx.ExecContext(ctx, `UPDATE accounts SET closed_at = ? WHERE id = ? AND closed_at IS NULL`, s.d.Time(at), id))
	})
	if err != nil {
		return fmt.Errorf("close account %s: %w", id, s.db.Translate(err))
	}
	return nil
}

// DeleteOrg implements store.OrgMembership. OUs are unlinked from their
// parents first, so that deleting them all passes the foreign key.
func (s *Store) DeleteOrg(ctx context.Context) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(store.Change{Kind: store.ChangeSetting, Key: "org.id"}, orgChange(""))
		for _, q := range []string{
			`DELETE FROM settings WHERE key LIKE 'org.%'`,
			`DELETE FROM org_account_parents`,
			`UPDATE org_units SET parent_unit = NULL WHERE parent_unit IS NOT NULL`,
			`DELETE FROM org_units`,
			`DELETE FROM org_attachments`,
			`DELETE FROM org_tags`,
			`DELETE FROM org_handshakes`,
			`DELETE FROM org_delegated_admins`,
			`DELETE FROM org_service_access`,
			`DELETE FROM org_account_failures`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM org_policies WHERE aws_managed = ?`, s.d.Bool(false))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete organization: %w", s.db.Translate(err))
	}
	return nil
}

const handshakeColumns = `id, org_id, action, state, master, target_type, target, target_account, notes, tags, requested_at, expires_at`

func (s *Store) scanHandshake(r Scanner) (store.OrgHandshake, error) {
	var h store.OrgHandshake
	var tags string
	err := r.Scan(&h.ID, &h.OrgID, &h.Action, &h.State, &h.Master, &h.TargetType, &h.Target, &h.TargetAcct, &h.Notes, &tags,
		s.d.ScanTime(&h.RequestedAt), s.d.ScanTime(&h.ExpiresAt))
	if err == nil && tags != "" {
		if err := json.Unmarshal([]byte(tags), &h.Tags); err != nil {
			return h, fmt.Errorf("handshake %s tags: %w", h.ID, err)
		}
	}
	return h, err
}

// CreateOrgHandshake implements store.OrgMembership. Handshakes change no
// authorization decision and record no change.
func (s *Store) CreateOrgHandshake(ctx context.Context, h store.OrgHandshake) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		tags := ""
		if len(h.Tags) > 0 {
			b, err := json.Marshal(h.Tags)
			if err != nil {
				return err
			}
			tags = string(b)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_handshakes (`+handshakeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.OrgID, h.Action, h.State, h.Master, h.TargetType, h.Target, h.TargetAcct, h.Notes, tags,
			s.d.Time(h.RequestedAt), s.d.Time(h.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create handshake %s: %w", h.ID, s.db.Translate(err))
	}
	return nil
}

// GetOrgHandshake implements store.OrgMembership.
func (s *Store) GetOrgHandshake(ctx context.Context, id string) (store.OrgHandshake, error) {
	h, err := s.scanHandshake(s.db.QueryRowContext(ctx, `SELECT `+handshakeColumns+` FROM org_handshakes WHERE id = ?`, id))
	if err != nil {
		return store.OrgHandshake{}, fmt.Errorf("get handshake %s: %w", id, s.db.Translate(err))
	}
	return h, nil
}

// SetOrgHandshakeState implements store.OrgMembership.
func (s *Store) SetOrgHandshakeState(ctx context.Context, id, from, to string) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM org_handshakes WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if state != from {
			return fmt.Errorf("handshake is %s, not %s: %w", state, from, store.ErrConflict)
		}
		return Affected(tx.ExecContext(ctx, `UPDATE org_handshakes SET state = ? WHERE id = ? AND state = ?`, to, id, from))
	})
	if err != nil {
		return fmt.Errorf("set handshake %s %s: %w", id, to, s.db.Translate(err))
	}
	return nil
}

// ListOrgHandshakes implements store.OrgMembership.
func (s *Store) ListOrgHandshakes(ctx context.Context, org, target string) ([]store.OrgHandshake, error) {
	q := `SELECT ` + handshakeColumns + ` FROM org_handshakes WHERE true`
	var args []any
	if org != "" {
		q += ` AND org_id = ?`
		args = append(args, org)
	}
	if target != "" {
		q += ` AND target_account = ?`
		args = append(args, target)
	}
	hs, err := collect(ctx, s.db, s.scanHandshake, q+` ORDER BY `+s.d.Order("id"), args...)
	if err != nil {
		return nil, fmt.Errorf("list handshakes: %w", s.db.Translate(err))
	}
	return hs, nil
}

// RegisterOrgDelegatedAdmin implements store.OrgMembership. It records
// ChangeOrg (Key: the account id).
func (s *Store) RegisterOrgDelegatedAdmin(ctx context.Context, d store.OrgDelegatedAdmin) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(d.Account))
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, d.Account).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_delegated_admins (account_id, service_principal, delegated_at) VALUES (?, ?, ?)`,
			d.Account, d.ServicePrincipal, s.d.Time(d.DelegatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("register delegated administrator %s for %s: %w", d.Account, d.ServicePrincipal, s.db.Translate(err))
	}
	return nil
}

// DeregisterOrgDelegatedAdmin implements store.OrgMembership.
func (s *Store) DeregisterOrgDelegatedAdmin(ctx context.Context, account, servicePrincipal string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(orgChange(account))
		return Affected(tx.ExecContext(ctx, `DELETE FROM org_delegated_admins WHERE account_id = ? AND service_principal = ?`, account, servicePrincipal))
	})
	if err != nil {
		return fmt.Errorf("deregister delegated administrator %s for %s: %w", account, servicePrincipal, s.db.Translate(err))
	}
	return nil
}

// ListOrgDelegatedAdmins implements store.OrgMembership.
func (s *Store) ListOrgDelegatedAdmins(ctx context.Context) ([]store.OrgDelegatedAdmin, error) {
	ds, err := collect(ctx, s.db, func(r Scanner) (store.OrgDelegatedAdmin, error) {
		var d store.OrgDelegatedAdmin
		return d, r.Scan(&d.Account, &d.ServicePrincipal, s.d.ScanTime(&d.DelegatedAt))
	}, `SELECT account_id, service_principal, delegated_at FROM org_delegated_admins ORDER BY `+s.d.Order("account_id")+`, `+s.d.Order("service_principal"))
	if err != nil {
		return nil, fmt.Errorf("list delegated administrators: %w", s.db.Translate(err))
	}
	return ds, nil
}

// EnableOrgServiceAccess implements store.OrgMembership. It records
// ChangeOrg (Key: the service principal) when it stores.
func (s *Store) EnableOrgServiceAccess(ctx context.Context, a store.OrgServiceAccess) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO org_service_access (service_principal, enabled_at) VALUES (?, ?) ON CONFLICT (service_principal) DO NOTHING`,
			a.ServicePrincipal, s.d.Time(a.EnabledAt))
		switch err := Affected(res, err); {
		case err == nil:
			c.add(orgChange(a.ServicePrincipal))
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enable service access for %s: %w", a.ServicePrincipal, s.db.Translate(err))
	}
	return nil
}

// DisableOrgServiceAccess implements store.OrgMembership. It records
// ChangeOrg (Key: the service principal) when it deletes.
func (s *Store) DisableOrgServiceAccess(ctx context.Context, servicePrincipal string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		switch err := Affected(tx.ExecContext(ctx, `DELETE FROM org_service_access WHERE service_principal = ?`, servicePrincipal)); {
		case err == nil:
			c.add(orgChange(servicePrincipal))
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("disable service access for %s: %w", servicePrincipal, s.db.Translate(err))
	}
	return nil
}

// ListOrgServiceAccess implements store.OrgMembership.
func (s *Store) ListOrgServiceAccess(ctx context.Context) ([]store.OrgServiceAccess, error) {
	as, err := collect(ctx, s.db, func(r Scanner) (store.OrgServiceAccess, error) {
		var a store.OrgServiceAccess
		return a, r.Scan(&a.ServicePrincipal, s.d.ScanTime(&a.EnabledAt))
	}, `SELECT service_principal, enabled_at FROM org_service_access ORDER BY `+s.d.Order("service_principal"))
	if err != nil {
		return nil, fmt.Errorf("list service access: %w", s.db.Translate(err))
	}
	return as, nil
}

// CreateOrgAccountFailure implements store.OrgMembership; it records no
// change.
func (s *Store) CreateOrgAccountFailure(ctx context.Context, f store.OrgAccountFailure) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO org_account_failures (id, account_name, reason, requested_at) VALUES (?, ?, ?, ?)`,
			f.ID, f.AccountName, f.Reason, s.d.Time(f.RequestedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create account failure %s: %w", f.ID, s.db.Translate(err))
	}
	return nil
}

func (s *Store) scanAccountFailure(r Scanner) (store.OrgAccountFailure, error) {
	var f store.OrgAccountFailure
	return f, r.Scan(&f.ID, &f.AccountName, &f.Reason, s.d.ScanTime(&f.RequestedAt))
}

// GetOrgAccountFailure implements store.OrgMembership.
func (s *Store) GetOrgAccountFailure(ctx context.Context, id string) (store.OrgAccountFailure, error) {
	f, err := s.scanAccountFailure(s.db.QueryRowContext(ctx, `SELECT id, account_name, reason, requested_at FROM org_account_failures WHERE id = ?`, id))
	if err != nil {
		return store.OrgAccountFailure{}, fmt.Errorf("get account failure %s: %w", id, s.db.Translate(err))
	}
	return f, nil
}

// ListOrgAccountFailures implements store.OrgMembership.
func (s *Store) ListOrgAccountFailures(ctx context.Context, opt store.ListOptions) ([]store.OrgAccountFailure, error) {
	q, args := s.exactPage("id", opt).query(`SELECT id, account_name, reason, requested_at FROM org_account_failures WHERE true`)
	fs, err := collect(ctx, s.db, s.scanAccountFailure, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list account failures: %w", s.db.Translate(err))
	}
	return fs, nil
}

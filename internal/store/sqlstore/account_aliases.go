package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// PutAccountAlias implements store.AccountAliases.
func (s *Store) PutAccountAlias(ctx context.Context, account, alias string) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT account FROM account_aliases WHERE alias = ?`, alias).Scan(&owner)
		switch err = s.db.Translate(err); {
		case err == nil && owner == account:
			return nil
		case err == nil:
			return store.ErrAlreadyExists
		case !store.IsNotFound(err):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO account_aliases (account, alias) VALUES (?, ?)
			ON CONFLICT (account) DO UPDATE SET alias = excluded.alias`, account, alias)
		return err
	})
	if err != nil {
		return fmt.Errorf("put account alias %s: %w", alias, err)
	}
	return nil
}

// DeleteAccountAlias implements store.AccountAliases.
func (s *Store) DeleteAccountAlias(ctx context.Context, account, alias string) error {
	return s.deleteRow(ctx, "delete account alias "+alias, nil, `DELETE FROM account_aliases WHERE account = ? AND alias = ?`, account, alias)
}

// ListAccountAliases implements store.AccountAliases.
func (s *Store) ListAccountAliases(ctx context.Context, account string) ([]string, error) {
	as, err := collect(ctx, s.db, func(sc Scanner) (string, error) {
		var a string
		return a, sc.Scan(&a)
	}, `SELECT alias FROM account_aliases WHERE account = ?`, account)
	if err != nil {
		return nil, fmt.Errorf("list account aliases: %w", s.db.Translate(err))
	}
	return as, nil
}

// AccountSummary implements store.AccountAliases.
func (s *Store) AccountSummary(ctx context.Context, account string) (store.AccountSummary, error) {
	var sum store.AccountSummary
	counts := []struct {
		dst   *int
		query string
	}{
		{&sum.Users, `SELECT count(*) FROM users WHERE account = ?`},
		{&sum.Groups, `SELECT count(*) FROM groups WHERE account = ?`},
		{&sum.Roles, `SELECT count(*) FROM roles WHERE account = ?`},
		{&sum.Policies, `SELECT count(*) FROM managed_policies WHERE account = ?`},
		{&sum.PolicyVersionsInUse, `SELECT count(*) FROM policy_versions v JOIN managed_policies p ON p.pk = v.policy_pk WHERE p.account = ?`},
		{&sum.InstanceProfiles, `SELECT count(*) FROM instance_profiles WHERE account = ?`},
		{&sum.MFADevices, `SELECT count(*) FROM mfa_devices WHERE account = ?`},
		{&sum.MFADevicesInUse, `SELECT count(*) FROM mfa_devices WHERE account = ? AND enabled_at IS NOT NULL`},
		{&sum.RootMFADevices, `SELECT count(*) FROM mfa_devices WHERE account = ? AND user_pk IS NULL AND enabled_at IS NOT NULL`},
		{&sum.RootAccessKeys, `SELECT count(*) FROM access_keys WHERE account = ? AND user_pk IS NULL`},
		{&sum.ServerCertificates, `SELECT count(*) FROM server_certificates WHERE account = ?`},
		{&sum.Providers, `SELECT (SELECT count(*) FROM saml_providers WHERE account = ?) + (SELECT count(*) FROM oidc_providers WHERE account = ?)`},
	}
	for _, c := range counts {
		args := []any{account}
		if c.dst == &sum.Providers {
			args = append(args, account)
		}
		if err := s.db.QueryRowContext(ctx, c.query, args...).Scan(c.dst); err != nil {
			return store.AccountSummary{}, fmt.Errorf("account summary: %w", s.db.Translate(err))
		}
	}
	return sum, nil
}

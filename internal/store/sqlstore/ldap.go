package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

const ldapProviderColumns = `account, name, arn, url, start_tls, allow_insecure, ca_certificates, bind_dn, bind_password,
	user_search_base, user_filter, group_mode, group_search_base, group_filter, created_at, updated_at`

// CreateLDAPProvider implements store.LDAPProviders.
func (s *Store) CreateLDAPProvider(ctx context.Context, p store.LDAPProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ldap_providers (`+ldapProviderColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Account, p.Name, p.ARN, p.URL, s.d.Bool(p.StartTLS), s.d.Bool(p.AllowInsecure), p.CACertificates, p.BindDN, nonNil(p.SealedBindPassword),
			p.UserSearchBase, p.UserFilter, p.GroupMode, p.GroupSearchBase, p.GroupFilter, s.d.Time(p.CreatedAt), s.d.Time(p.UpdatedAt))
		c.add(store.Change{Kind: store.ChangeLDAPProvider, Account: p.Account, Key: p.ARN, Name: p.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create ldap provider %s: %w", p.Name, s.db.Translate(err))
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) scanLDAPProvider(r Scanner) (store.LDAPProvider, error) {
	var p store.LDAPProvider
	err := r.Scan(&p.Account, &p.Name, &p.ARN, &p.URL, &p.StartTLS, &p.AllowInsecure, &p.CACertificates, &p.BindDN, &p.SealedBindPassword,
		&p.UserSearchBase, &p.UserFilter, &p.GroupMode, &p.GroupSearchBase, &p.GroupFilter, s.d.ScanTime(&p.CreatedAt), s.d.ScanTime(&p.UpdatedAt))
	return p, err
}

// GetLDAPProvider implements store.LDAPProviders.
func (s *Store) GetLDAPProvider(ctx context.Context, account, name string) (store.LDAPProvider, error) {
	p, err := s.scanLDAPProvider(s.db.QueryRowContext(ctx, `SELECT `+ldapProviderColumns+` FROM ldap_providers WHERE account = ? AND name = ?`, account, name))
	if err != nil {
		return store.LDAPProvider{}, fmt.Errorf("get ldap provider %s: %w", name, s.db.Translate(err))
	}
	return p, nil
}

// ldapProviderChange returns the feed entry for a change of the stored
// provider; ErrNotFound if there is none.
func (s *Store) ldapProviderChange(ctx context.Context, tx Tx, account, name string) (store.Change, error) {
	c := store.Change{Kind: store.ChangeLDAPProvider, Account: account}
	if err := tx.QueryRowContext(ctx, `SELECT arn, name FROM ldap_providers WHERE account = ? AND name = ?`, account, name).Scan(&c.Key, &c.Name); err != nil {
		return store.Change{}, s.db.Translate(err)
	}
	return c, nil
}

// UpdateLDAPProvider implements store.LDAPProviders.
func (s *Store) UpdateLDAPProvider(ctx context.Context, p store.LDAPProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.ldapProviderChange(ctx, tx, p.Account, p.Name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ldap_providers SET url = ?, start_tls = ?, allow_insecure = ?, ca_certificates = ?,
			bind_dn = ?, bind_password = ?, user_search_base = ?, user_filter = ?, group_mode = ?, group_search_base = ?, group_filter = ?,
			updated_at = ? WHERE account = ? AND name = ?`,
			p.URL, s.d.Bool(p.StartTLS), s.d.Bool(p.AllowInsecure), p.CACertificates, p.BindDN, nonNil(p.SealedBindPassword),
			p.UserSearchBase, p.UserFilter, p.GroupMode, p.GroupSearchBase, p.GroupFilter, s.d.Time(p.UpdatedAt), p.Account, p.Name); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update ldap provider %s: %w", p.Name, s.db.Translate(err))
	}
	return nil
}

// DeleteLDAPProvider implements store.LDAPProviders.
func (s *Store) DeleteLDAPProvider(ctx context.Context, account, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.ldapProviderChange(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ldap_providers WHERE account = ? AND name = ?`, account, name); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete ldap provider %s: %w", name, s.db.Translate(err))
	}
	return nil
}

// ListLDAPProviders implements store.LDAPProviders.
func (s *Store) ListLDAPProviders(ctx context.Context, account string) ([]store.LDAPProvider, error) {
	ps, err := collect(ctx, s.db, s.scanLDAPProvider, `SELECT `+ldapProviderColumns+` FROM ldap_providers WHERE account = ? ORDER BY `+s.d.NameOrder("name"), account)
	if err != nil {
		return nil, fmt.Errorf("list ldap providers: %w", s.db.Translate(err))
	}
	return ps, nil
}

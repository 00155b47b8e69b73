package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

func encodeStrings(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// stringList scans a JSON array of strings.
type stringList struct{ p *[]string }

func (l stringList) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("scan string list: unexpected %T", v)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	if len(out) == 0 {
		out = nil
	}
	*l.p = out
	return nil
}

// CreateOIDCProvider implements store.OIDCProviders.
func (s *Store) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_providers (account, name, client_ids, thumbprints, tags, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.Account, p.Name, encodeStrings(p.ClientIDs), encodeStrings(p.Thumbprints), EncodeTags(p.Tags), s.d.Time(p.CreatedAt))
		c.add(store.Change{Kind: store.ChangeOIDCProvider, Account: p.Account, Key: p.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create oidc provider %s: %w", p.Name, err)
	}
	return nil
}

const oidcColumns = `account, name, client_ids, thumbprints, tags, created_at`

func (s *Store) scanOIDCProvider(r Scanner) (store.OIDCProvider, error) {
	var p store.OIDCProvider
	err := r.Scan(&p.Account, &p.Name, stringList{&p.ClientIDs}, stringList{&p.Thumbprints}, ScanTags(&p.Tags), s.d.ScanTime(&p.CreatedAt))
	return p, err
}

// GetOIDCProvider implements store.OIDCProviders.
func (s *Store) GetOIDCProvider(ctx context.Context, account, name string) (store.OIDCProvider, error) {
	p, err := s.scanOIDCProvider(s.db.QueryRowContext(ctx, `SELECT `+oidcColumns+` FROM oidc_providers WHERE account = ? AND name = ?`, account, name))
	if err != nil {
		return store.OIDCProvider{}, fmt.Errorf("get oidc provider %s: %w", name, s.db.Translate(err))
	}
	return p, nil
}

// UpdateOIDCProvider implements store.OIDCProviders.
func (s *Store) UpdateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		if err := Affected(tx.ExecContext(ctx, `UPDATE oidc_providers SET client_ids = ?, thumbprints = ?, tags = ? WHERE account = ? AND name = ?`,
			encodeStrings(p.ClientIDs), encodeStrings(p.Thumbprints), EncodeTags(p.Tags), p.Account, p.Name)); err != nil {
			return err
		}
		c.add(store.Change{Kind: store.ChangeOIDCProvider, Account: p.Account, Key: p.Name})
		return nil
	})
	if err != nil {
		return fmt.Errorf("update oidc provider %s: %w", p.Name, err)
	}
	return nil
}

// DeleteOIDCProvider implements store.OIDCProviders.
func (s *Store) DeleteOIDCProvider(ctx context.Context, account, name string) error {
	return s.deleteRow(ctx, "delete oidc provider "+name, []store.Change{{Kind: store.ChangeOIDCProvider, Account: account, Key: name}},
		`DELETE FROM oidc_providers WHERE account = ? AND name = ?`, account, name)
}

// ListOIDCProviders implements store.OIDCProviders.
func (s *Store) ListOIDCProviders(ctx context.Context, account string) ([]store.OIDCProvider, error) {
	ps, err := collect(ctx, s.db, s.scanOIDCProvider, `SELECT `+oidcColumns+` FROM oidc_providers WHERE account = ? ORDER BY `+s.d.Order("name"), account)
	if err != nil {
		return nil, fmt.Errorf("list oidc providers: %w", s.db.Translate(err))
	}
	return ps, nil
}

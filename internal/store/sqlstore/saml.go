package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// CreateSAMLProvider implements store.SAMLProviders.
func (s *Store) CreateSAMLProvider(ctx context.Context, p store.SAMLProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO saml_providers (account, name, arn, metadata, created_at, valid_until, tags)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.Account, p.Name, p.ARN, p.MetadataDocument, s.d.Time(p.CreatedAt), s.d.Time(p.ValidUntil), EncodeTags(p.Tags))
		c.add(store.Change{Kind: store.ChangeSAMLProvider, Account: p.Account, Key: p.ARN, Name: p.Name})
		return err
	})
	if err != nil {
		return fmt.Errorf("create saml provider %s: %w", p.Name, s.db.Translate(err))
	}
	return nil
}

const samlProviderColumns = `account, name, arn, metadata, created_at, valid_until, tags`

func (s *Store) scanSAMLProvider(r Scanner) (store.SAMLProvider, error) {
	var p store.SAMLProvider
	err := r.Scan(&p.Account, &p.Name, &p.ARN, &p.MetadataDocument, s.d.ScanTime(&p.CreatedAt), s.d.ScanTime(&p.ValidUntil), ScanTags(&p.Tags))
	return p, err
}

// GetSAMLProvider implements store.SAMLProviders.
func (s *Store) GetSAMLProvider(ctx context.Context, account, name string) (store.SAMLProvider, error) {
	p, err := s.scanSAMLProvider(s.db.QueryRowContext(ctx, `SELECT `+samlProviderColumns+` FROM saml_providers WHERE account = ? AND name = ?`, account, name))
	if err != nil {
		return store.SAMLProvider{}, fmt.Errorf("get saml provider %s: %w", name, s.db.Translate(err))
	}
	return p, nil
}

// samlProviderChange returns the feed entry for a change of the stored
// provider; ErrNotFound if there is none.
func (s *Store) samlProviderChange(ctx context.Context, tx Tx, account, name string) (store.Change, error) {
	c := store.Change{Kind: store.ChangeSAMLProvider, Account: account}
	if err := tx.QueryRowContext(ctx, `SELECT arn, name FROM saml_providers WHERE account = ? AND name = ?`, account, name).Scan(&c.Key, &c.Name); err != nil {
		return store.Change{}, s.db.Translate(err)
	}
	return c, nil
}

// UpdateSAMLProvider implements store.SAMLProviders.
func (s *Store) UpdateSAMLProvider(ctx context.Context, p store.SAMLProvider) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.samlProviderChange(ctx, tx, p.Account, p.Name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE saml_providers SET metadata = ?, valid_until = ?, tags = ? WHERE account = ? AND name = ?`,
			p.MetadataDocument, s.d.Time(p.ValidUntil), EncodeTags(p.Tags), p.Account, p.Name); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update saml provider %s: %w", p.Name, s.db.Translate(err))
	}
	return nil
}

// DeleteSAMLProvider implements store.SAMLProviders.
func (s *Store) DeleteSAMLProvider(ctx context.Context, account, name string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.samlProviderChange(ctx, tx, account, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM saml_providers WHERE account = ? AND name = ?`, account, name); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete saml provider %s: %w", name, err)
	}
	return nil
}

// ListSAMLProviders implements store.SAMLProviders.
func (s *Store) ListSAMLProviders(ctx context.Context, account string) ([]store.SAMLProvider, error) {
	ps, err := collect(ctx, s.db, s.scanSAMLProvider, `SELECT `+samlProviderColumns+` FROM saml_providers WHERE account = ? ORDER BY `+s.d.NameOrder("name"), account)
	if err != nil {
		return nil, fmt.Errorf("list saml providers: %w", s.db.Translate(err))
	}
	return ps, nil
}

// RecordSAMLAssertion implements store.SAMLAssertions with one upsert that
// replaces only an expired entry: a row it neither inserts nor updates is a
// live entry, a replay. Expiries are Unix milliseconds.
func (s *Store) RecordSAMLAssertion(ctx context.Context, key []byte, expires, now time.Time) error {
	err := s.db.Write(ctx, func(tx Tx) error {
		return Affected(tx.ExecContext(ctx, `INSERT INTO saml_assertions (key, expires_ms) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET expires_ms = excluded.expires_ms WHERE saml_assertions.expires_ms <= ?`,
			key, expires.UnixMilli(), now.UnixMilli()))
	})
	if store.IsNotFound(err) {
		return fmt.Errorf("record saml assertion: %w", store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("record saml assertion: %w", s.db.Translate(err))
	}
	return nil
}

// PruneSAMLAssertions implements store.SAMLAssertions.
func (s *Store) PruneSAMLAssertions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM saml_assertions WHERE expires_ms < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune saml assertions: %w", s.db.Translate(err))
	}
	return n, nil
}

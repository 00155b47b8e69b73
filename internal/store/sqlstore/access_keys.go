package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// CreateAccessKey implements store.AccessKeys. A key with a UserName belongs
// to that user, who must exist (ErrNotFound otherwise); an empty UserID is
// filled in from the user. A key without a UserName is a root key.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		var (
			upk    sql.NullInt64
			uname  string
			userID = k.UserID // not k.UserID =: a retried run reads the user again
		)
		if k.UserName != "" {
			u, err := s.principal(ctx, tx, store.KindUser, k.Account, k.UserName)
			if err != nil {
				return err
			}
			upk = sql.NullInt64{Int64: u.pk, Valid: true}
			uname = u.name
			if userID == "" {
				userID = u.id
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (id, account, user_pk, user_id, secret, status, created_at,
			last_used_at, last_used_service, last_used_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Account, upk, userID, k.Secret, k.Status, s.d.Time(k.CreatedAt),
			s.d.Time(k.LastUsedAt), k.LastUsedService, k.LastUsedRegion)
		c.add(store.Change{Kind: store.ChangeAccessKey, Account: k.Account, Key: k.ID, Name: uname})
		return err
	})
	if err != nil {
		return fmt.Errorf("create access key %s: %w", k.ID, err)
	}
	return nil
}

const accessKeyColumns = `k.id, k.account, coalesce(u.name, ''), k.user_id, k.secret, k.status, k.created_at,
	k.last_used_at, k.last_used_service, k.last_used_region`

func (s *Store) scanAccessKey(r Scanner) (store.AccessKey, error) {
	var k store.AccessKey
	err := r.Scan(&k.ID, &k.Account, &k.UserName, &k.UserID, &k.Secret, &k.Status, s.d.ScanTime(&k.CreatedAt),
		s.d.ScanTime(&k.LastUsedAt), &k.LastUsedService, &k.LastUsedRegion)
	return k, err
}

// GetAccessKey implements store.AccessKeys. Its last-used fields include
// TouchAccessKey calls not yet written to the database.
func (s *Store) GetAccessKey(ctx context.Context, id string) (store.AccessKey, error) {
	k, err := s.scanAccessKey(s.db.QueryRowContext(ctx, `SELECT `+accessKeyColumns+`
		FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk WHERE k.id = ?`, id))
	if err != nil {
		return store.AccessKey{}, fmt.Errorf("get access key %s: %w", id, s.db.Translate(err))
	}
	s.touches.Overlay(&k)
	return k, nil
}

// accessKeyChange returns the feed entry for a change of the stored access
// key id; ErrNotFound if there is none.
func (s *Store) accessKeyChange(ctx context.Context, tx Tx, id string) (store.Change, error) {
	c := store.Change{Kind: store.ChangeAccessKey}
	err := tx.QueryRowContext(ctx, `SELECT k.id, k.account, coalesce(u.name, '') FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk
		WHERE k.id = ?`, id).Scan(&c.Key, &c.Account, &c.Name)
	if err != nil {
		return store.Change{}, s.db.Translate(err)
	}
	return c, nil
}

// UpdateAccessKey implements store.AccessKeys. It writes Status and Secret;
// the owner cannot change, and the last-used fields are written only by
// TouchAccessKey.
func (s *Store) UpdateAccessKey(ctx context.Context, k store.AccessKey) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.accessKeyChange(ctx, tx, k.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE access_keys SET status = ?, secret = ? WHERE id = ?`, k.Status, k.Secret, k.ID); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update access key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteAccessKey implements store.AccessKeys.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.accessKeyChange(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	s.touches.Forget(id)
	return nil
}

// ListAccessKeys implements store.AccessKeys, oldest first. It returns
// ErrNotFound if user is not empty and does not exist.
func (s *Store) ListAccessKeys(ctx context.Context, account, user string) ([]store.AccessKey, error) {
	var ks []store.AccessKey
	err := s.db.Read(ctx, func(tx Tx) error {
		const q = `SELECT ` + accessKeyColumns + ` FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk WHERE k.account = ? AND `
		if user == "" {
			var err error
			ks, err = collect(ctx, tx, s.scanAccessKey, q+`k.user_pk IS NULL ORDER BY k.created_at, `+s.d.Order("k.id"), account)
			return err
		}
		upk, err := s.userPK(ctx, tx, account, user)
		if err != nil {
			return err
		}
		ks, err = collect(ctx, tx, s.scanAccessKey, q+`k.user_pk = ? ORDER BY k.created_at, `+s.d.Order("k.id"), account, upk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list access keys of %q: %w", user, err)
	}
	for i := range ks {
		s.touches.Overlay(&ks[i])
	}
	return ks, nil
}

// TouchAccessKey implements store.AccessKeys. It only records the use in
// memory; a background goroutine writes pending uses once per touch interval
// (one second) in one transaction, and Close writes what is left. The latest
// use wins; an older use never overwrites a newer one. Touching an unknown or
// deleted key is not an error: the use is dropped, as is a zero time. It
// records no change.
func (s *Store) TouchAccessKey(ctx context.Context, id string, at time.Time, service, region string) error {
	if at.IsZero() {
		return nil
	}
	if s.touches.Direct {
		return s.touches.Write(ctx, map[string]Touch{id: {At: at, Service: service, Region: region}})
	}
	if !s.touches.Record(id, Touch{At: at, Service: service, Region: region}) {
		return fmt.Errorf("touch access key %s: %w", id, ErrClosed)
	}
	return nil
}

// TouchRole implements store.Store: as TouchAccessKey, for a role's
// RoleLastUsed (date and region).
func (s *Store) TouchRole(ctx context.Context, id string, at time.Time, region string) error {
	if at.IsZero() {
		return nil
	}
	u := Touch{At: at, Region: region}
	if s.touches.Direct {
		return s.touches.Write(ctx, map[string]Touch{RolePrefix + id: u})
	}
	if !s.touches.RecordRole(id, u) {
		return fmt.Errorf("touch role %s: %w", id, ErrClosed)
	}
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// mfaUserPK resolves the user an MFA device is assigned to; "" is none.
func (s *Store) mfaUserPK(ctx context.Context, tx Tx, account, user string) (sql.NullInt64, error) {
	if user == "" {
		return sql.NullInt64{}, nil
	}
	pk, err := s.userPK(ctx, tx, account, user)
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: pk, Valid: true}, nil
}

// CreateMFADevice implements store.MFADevices. The serial number and the
// name are each unique case-insensitively; a UserName must name an existing
// user of the account (ErrNotFound otherwise).
func (s *Store) CreateMFADevice(ctx context.Context, d store.MFADevice) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		upk, err := s.mfaUserPK(ctx, tx, d.Account, d.UserName)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mfa_devices (serial, account, name, path, seed, user_pk, enabled_at, created_at, tags, last_counter)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.SerialNumber, d.Account, d.Name, d.Path, d.Seed, upk, s.d.Time(d.EnabledAt), s.d.Time(d.CreatedAt), EncodeTags(d.Tags), d.LastCounter)
		c.add(store.Change{Kind: store.ChangeMFADevice, Account: d.Account, Key: d.SerialNumber})
		return err
	})
	if err != nil {
		return fmt.Errorf("create mfa device %s: %w", d.SerialNumber, err)
	}
	return nil
}

const mfaColumns = `d.account, d.serial, d.name, d.path, d.seed, coalesce(u.name, ''), d.enabled_at, d.created_at, d.tags, d.last_counter`

func (s *Store) scanMFADevice(r Scanner) (store.MFADevice, error) {
	var d store.MFADevice
	err := r.Scan(&d.Account, &d.SerialNumber, &d.Name, &d.Path, &d.Seed, &d.UserName,
		s.d.ScanTime(&d.EnabledAt), s.d.ScanTime(&d.CreatedAt), ScanTags(&d.Tags), &d.LastCounter)
	return d, err
}

// GetMFADevice implements store.MFADevices; the serial number matches case-insensitively.
func (s *Store) GetMFADevice(ctx context.Context, serial string) (store.MFADevice, error) {
	d, err := s.scanMFADevice(s.db.QueryRowContext(ctx, `SELECT `+mfaColumns+` FROM mfa_devices d LEFT JOIN users u ON u.pk = d.user_pk
		WHERE d.serial = ?`, serial))
	if err != nil {
		return store.MFADevice{}, fmt.Errorf("get mfa device %s: %w", serial, s.db.Translate(err))
	}
	return d, nil
}

// UpdateMFADevice implements store.MFADevices. It writes Seed, UserName,
// EnabledAt and Tags of the device with d.SerialNumber (its account, name and
// path are part of the serial number and never change). LastCounter only
// moves forward: the stored value becomes the greater of the two, so an
// update never re-opens a used code.
func (s *Store) UpdateMFADevice(ctx context.Context, d store.MFADevice) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.mfaChange(ctx, tx, d.SerialNumber)
		if err != nil {
			return err
		}
		upk, err := s.mfaUserPK(ctx, tx, ch.Account, d.UserName)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mfa_devices SET seed = ?, user_pk = ?, enabled_at = ?, tags = ?, last_counter = `+s.d.Greatest("last_counter", "?")+`
			WHERE serial = ?`, d.Seed, upk, s.d.Time(d.EnabledAt), EncodeTags(d.Tags), d.LastCounter, d.SerialNumber)
		c.add(ch)
		return err
	})
	if err != nil {
		return fmt.Errorf("update mfa device %s: %w", d.SerialNumber, err)
	}
	return nil
}

// mfaChange returns the feed entry for a change of the stored MFA device
// serial; ErrNotFound if there is none.
func (s *Store) mfaChange(ctx context.Context, tx Tx, serial string) (store.Change, error) {
	c := store.Change{Kind: store.ChangeMFADevice}
	if err := tx.QueryRowContext(ctx, `SELECT serial, account FROM mfa_devices WHERE serial = ?`, serial).Scan(&c.Key, &c.Account); err != nil {
		return store.Change{}, s.db.Translate(err)
	}
	return c, nil
}

// DeleteMFADevice implements store.MFADevices.
func (s *Store) DeleteMFADevice(ctx context.Context, serial string) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.mfaChange(ctx, tx, serial)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_devices WHERE serial = ?`, serial); err != nil {
			return err
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete mfa device %s: %w", serial, err)
	}
	return nil
}

// ListMFADevices implements store.MFADevices.
func (s *Store) ListMFADevices(ctx context.Context, account string, assignment store.MFAAssignment, opt store.ListOptions) ([]store.MFADevice, error) {
	from, cond := "mfa_devices d"+s.d.IndexedBy("mfa_devices_list"), ""
	switch assignment {
	case store.MFAAssigned:
		from, cond = "mfa_devices d"+s.d.IndexedBy("mfa_devices_assigned"), " AND d.enabled_at IS NOT NULL"
	case store.MFAUnassigned:
		from, cond = "mfa_devices d"+s.d.IndexedBy("mfa_devices_unassigned"), " AND d.enabled_at IS NULL"
	}
	q, args := s.namePage("d.serial", "", opt).query(`SELECT `+mfaColumns+` FROM `+from+` LEFT JOIN users u ON u.pk = d.user_pk
		WHERE d.account = ?`+cond, account)
	ds, err := collect(ctx, s.db, s.scanMFADevice, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list mfa devices: %w", s.db.Translate(err))
	}
	return ds, nil
}

// ListUserMFADevices implements store.MFADevices.
func (s *Store) ListUserMFADevices(ctx context.Context, account, user string) ([]store.MFADevice, error) {
	q, args := `SELECT `+mfaColumns+` FROM mfa_devices d JOIN users u ON u.pk = d.user_pk
		WHERE u.account = ? AND u.name = ?`, []any{account, user}
	if user == "" {
		q, args = `SELECT `+mfaColumns+` FROM mfa_devices d`+s.d.IndexedBy("mfa_devices_root")+` LEFT JOIN users u ON u.pk = d.user_pk
			WHERE d.account = ? AND d.user_pk IS NULL AND d.enabled_at IS NOT NULL`, []any{account}
	}
	ds, err := collect(ctx, s.db, s.scanMFADevice, q+` ORDER BY `+s.d.FoldOrder("d.serial"), args...)
	if err != nil {
		return nil, fmt.Errorf("list mfa devices of user %s: %w", user, s.db.Translate(err))
	}
	return ds, nil
}

// AdvanceMFACounter implements store.MFADevices. When it advances the
// counter it records an mfa-device change, so that the replay state can
// reach other nodes through the feed; a replay (ErrConflict) records nothing.
// That costs one more statement and the feed's counter row on a write that
// happens once per accepted MFA code.
func (s *Store) AdvanceMFACounter(ctx context.Context, serial string, counter int64) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch := store.Change{Kind: store.ChangeMFADevice}
		err := tx.QueryRowContext(ctx, `UPDATE mfa_devices SET last_counter = ? WHERE serial = ? AND last_counter < ? RETURNING serial, account`,
			counter, serial, counter).Scan(&ch.Key, &ch.Account)
		if err == nil {
			c.add(ch)
			return nil
		}
		if err := s.db.Translate(err); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT last_counter FROM mfa_devices WHERE serial = ?`, serial).Scan(&last); err != nil {
			return err
		}
		return fmt.Errorf("counter %d not above %d: %w", counter, last, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("advance mfa counter %s: %w", serial, err)
	}
	return nil
}

// ResyncMFADevice implements store.MFADevices with one conditional
// update of the seed and the counter: a whole-row write of the device as
// read would put back the assignment a DeactivateMFADevice made at the same
// time removed, or an old seed over a device re-created under the serial.
func (s *Store) ResyncMFADevice(ctx context.Context, was store.MFADevice, seed []byte, counter int64) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		ch, err := s.mfaChange(ctx, tx, was.SerialNumber)
		if err != nil {
			return err
		}
		upk, err := s.mfaUserPK(ctx, tx, ch.Account, was.UserName)
		if errors.Is(s.db.Translate(err), store.ErrNotFound) {
			return fmt.Errorf("user %s is gone: %w", was.UserName, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		enabled := `enabled_at IS NULL`
		args := []any{seed, counter, ch.Key, was.Seed, upk.Int64, counter}
		if !was.EnabledAt.IsZero() {
			enabled = `enabled_at = ?`
			args = append(args, s.d.Time(was.EnabledAt))
		}
		res, err := tx.ExecContext(ctx, `UPDATE mfa_devices SET seed = ?, last_counter = ?
			WHERE serial = ? AND seed = ? AND coalesce(user_pk, 0) = ? AND last_counter < ? AND `+enabled, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return err
			}
			return fmt.Errorf("changed since it was read: %w", store.ErrConflict)
		}
		c.add(ch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("resync mfa device %s: %w", was.SerialNumber, err)
	}
	return nil
}

// keyTable is a table of signing keys: the session keyring's or the web
// identity issuer's, which hold the same rows.
type keyTable struct {
	table, what string
	kind        store.ChangeKind
}

var (
	sessionKeyTable = keyTable{"signing_keys", "signing key", store.ChangeSigningKey}
	issuerKeyTable  = keyTable{"issuer_keys", "issuer key", store.ChangeIssuerKey}
)

func (s *Store) putKey(ctx context.Context, t keyTable, k store.SigningKey) error {
	err := s.write(ctx, func(tx Tx, c *changeList) error {
		c.add(store.Change{Kind: t.kind, Key: k.ID})
		_, err := tx.ExecContext(ctx, `INSERT INTO `+t.table+` (id, algorithm, public, private, created_at, sign_until, verify_until, revoked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, public = excluded.public, private = excluded.private,
				created_at = excluded.created_at, sign_until = excluded.sign_until, verify_until = excluded.verify_until,
				revoked = excluded.revoked`,
			k.ID, k.Algorithm, k.Public, k.Private, s.d.Time(k.CreatedAt), s.d.Time(k.SignUntil), s.d.Time(k.VerifyUntil), s.d.Bool(k.Revoked))
		return err
	})
	if err != nil {
		return fmt.Errorf("put %s %s: %w", t.what, k.ID, err)
	}
	return nil
}

func (s *Store) deleteKey(ctx context.Context, t keyTable, id string) error {
	return s.deleteRow(ctx, "delete "+t.what+" "+id, []store.Change{{Kind: t.kind, Key: id}},
		`DELETE FROM `+t.table+` WHERE id = ?`, id)
}

// listKeys lists a key table, oldest first.
func (s *Store) listKeys(ctx context.Context, t keyTable) ([]store.SigningKey, error) {
	ks, err := collect(ctx, s.db, func(r Scanner) (store.SigningKey, error) {
		var k store.SigningKey
		err := r.Scan(&k.ID, &k.Algorithm, &k.Public, &k.Private, s.d.ScanTime(&k.CreatedAt), s.d.ScanTime(&k.SignUntil), s.d.ScanTime(&k.VerifyUntil), &k.Revoked)
		return k, err
	}, `SELECT id, algorithm, public, private, created_at, sign_until, verify_until, revoked FROM `+t.table+` ORDER BY created_at, `+s.d.Order("id"))
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", t.what, s.db.Translate(err))
	}
	return ks, nil
}

// PutSigningKey implements store.SigningKeys.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	return s.putKey(ctx, sessionKeyTable, k)
}

// DeleteSigningKey implements store.SigningKeyDeleter.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.deleteKey(ctx, sessionKeyTable, id)
}

// ListSigningKeys implements store.SigningKeys, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return s.listKeys(ctx, sessionKeyTable)
}

// PutIssuerKey implements store.IssuerKeys.
func (s *Store) PutIssuerKey(ctx context.Context, k store.SigningKey) error {
	return s.putKey(ctx, issuerKeyTable, k)
}

// DeleteIssuerKey implements store.IssuerKeys.
func (s *Store) DeleteIssuerKey(ctx context.Context, id string) error {
	return s.deleteKey(ctx, issuerKeyTable, id)
}

// ListIssuerKeys implements store.IssuerKeys, oldest first.
func (s *Store) ListIssuerKeys(ctx context.Context) ([]store.SigningKey, error) {
	return s.listKeys(ctx, issuerKeyTable)
}

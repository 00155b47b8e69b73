package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// CreateLoginProfile implements store.LoginProfiles.
func (s *Store) CreateLoginProfile(ctx context.Context, p store.LoginProfile) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, p.Account, p.UserName)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_profiles (user_pk, password_hash, reset_required, created_at, changed_at, previous) VALUES (?, ?, ?, ?, ?, ?)`,
			pk, p.PasswordHash, s.d.Bool(p.PasswordResetRequired), s.d.Time(p.CreatedAt), s.d.Time(p.PasswordChangedAt), encodeStrings(p.PreviousHashes))
		return err
	})
	if err != nil {
		return fmt.Errorf("create login profile of %s: %w", p.UserName, err)
	}
	return nil
}

// GetLoginProfile implements store.LoginProfiles.
func (s *Store) GetLoginProfile(ctx context.Context, account, user string) (store.LoginProfile, error) {
	p := store.LoginProfile{Account: account}
	err := s.db.QueryRowContext(ctx, `SELECT u.name, l.password_hash, l.reset_required, l.created_at, l.changed_at, l.previous
		FROM login_profiles l JOIN users u ON u.pk = l.user_pk WHERE u.account = ? AND u.name = ?`, account, user).
		Scan(&p.UserName, &p.PasswordHash, &p.PasswordResetRequired, s.d.ScanTime(&p.CreatedAt), s.d.ScanTime(&p.PasswordChangedAt), stringList{&p.PreviousHashes})
	if err != nil {
		return store.LoginProfile{}, fmt.Errorf("get login profile of %s: %w", user, s.db.Translate(err))
	}
	return p, nil
}

// UpdateLoginProfile implements store.LoginProfiles.
func (s *Store) UpdateLoginProfile(ctx context.Context, p store.LoginProfile) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, p.Account, p.UserName)
		if err != nil {
			return err
		}
		return Affected(tx.ExecContext(ctx, `UPDATE login_profiles SET password_hash = ?, reset_required = ?, changed_at = ?, previous = ? WHERE user_pk = ?`,
			p.PasswordHash, s.d.Bool(p.PasswordResetRequired), s.d.Time(p.PasswordChangedAt), encodeStrings(p.PreviousHashes), pk))
	})
	if err != nil {
		return fmt.Errorf("update login profile of %s: %w", p.UserName, err)
	}
	return nil
}

// DeleteLoginProfile implements store.LoginProfiles.
func (s *Store) DeleteLoginProfile(ctx context.Context, account, user string) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, account, user)
		if err != nil {
			return err
		}
		return Affected(tx.ExecContext(ctx, `DELETE FROM login_profiles WHERE user_pk = ?`, pk))
	})
	if err != nil {
		return fmt.Errorf("delete login profile of %s: %w", user, err)
	}
	return nil
}

// GetPasswordPolicy implements store.LoginProfiles.
func (s *Store) GetPasswordPolicy(ctx context.Context, account string) (store.PasswordPolicy, error) {
	var doc string
	if err := s.db.QueryRowContext(ctx, `SELECT policy FROM password_policies WHERE account = ?`, account).Scan(&doc); err != nil {
		return store.PasswordPolicy{}, fmt.Errorf("get password policy of %s: %w", account, s.db.Translate(err))
	}
	var p store.PasswordPolicy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return store.PasswordPolicy{}, fmt.Errorf("get password policy of %s: %w", account, err)
	}
	return p, nil
}

// PutPasswordPolicy implements store.LoginProfiles.
func (s *Store) PutPasswordPolicy(ctx context.Context, account string, p store.PasswordPolicy) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put password policy of %s: %w", account, err)
	}
	err = s.write(ctx, func(tx Tx, _ *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO password_policies (account, policy) VALUES (?, ?)
			ON CONFLICT (account) DO UPDATE SET policy = excluded.policy`, account, string(doc))
		return err
	})
	if err != nil {
		return fmt.Errorf("put password policy of %s: %w", account, err)
	}
	return nil
}

// DeletePasswordPolicy implements store.LoginProfiles.
func (s *Store) DeletePasswordPolicy(ctx context.Context, account string) error {
	return s.deleteRow(ctx, "delete password policy of "+account, nil, `DELETE FROM password_policies WHERE account = ?`, account)
}

package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

const userCredentialColumns = `u.account, u.name, c.kind, c.id, c.status, c.created_at, c.expires_at, c.body, c.fingerprint, c.service_name, c.service_user_name, c.secret`

func (s *Store) scanUserCredential(sc Scanner) (store.UserCredential, error) {
	var c store.UserCredential
	err := sc.Scan(&c.Account, &c.UserName, &c.Kind, &c.ID, &c.Status, s.d.ScanTime(&c.CreatedAt), s.d.ScanTime(&c.ExpiresAt), &c.Body, &c.Fingerprint,
		&c.ServiceName, &c.ServiceUserName, &c.Secret)
	return c, err
}

// CreateUserCredential implements store.UserCredentials.
func (s *Store) CreateUserCredential(ctx context.Context, c store.UserCredential, max int) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, c.Account, c.UserName)
		if err != nil {
			return err
		}
		if max > 0 {
			// The user's row lock (PostgreSQL; SQLite has one writer)
			// orders concurrent creations for the user, so that each
			// counts what the others inserted.
			if _, err := tx.ExecContext(ctx, `UPDATE users SET name = name WHERE pk = ?`, pk); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM user_credentials WHERE user_pk = ? AND kind = ? AND service_name = ?`,
				pk, string(c.Kind), c.ServiceName).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return fmt.Errorf("%d of at most %d: %w", n, max, store.ErrConflict)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_credentials (id, user_pk, kind, status, created_at, expires_at, body, fingerprint, service_name, service_user_name, secret)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, pk, string(c.Kind), c.Status, s.d.Time(c.CreatedAt), s.d.Time(c.ExpiresAt), c.Body, c.Fingerprint, c.ServiceName, c.ServiceUserName, c.Secret)
		return err
	})
	if err != nil {
		return fmt.Errorf("create %s %s of %s: %w", c.Kind, c.ID, c.UserName, err)
	}
	return nil
}

// GetUserCredential implements store.UserCredentials.
func (s *Store) GetUserCredential(ctx context.Context, account, user string, kind store.CredentialKind, id string) (store.UserCredential, error) {
	c, err := s.scanUserCredential(s.db.QueryRowContext(ctx, `SELECT `+userCredentialColumns+` FROM user_credentials c JOIN users u ON u.pk = c.user_pk
		WHERE u.account = ? AND u.name = ? AND c.kind = ? AND c.id = ?`, account, user, string(kind), id))
	if err != nil {
		return store.UserCredential{}, fmt.Errorf("get %s %s of %s: %w", kind, id, user, s.db.Translate(err))
	}
	return c, nil
}

// ListUserCredentials implements store.UserCredentials.
func (s *Store) ListUserCredentials(ctx context.Context, account, user string, kind store.CredentialKind) ([]store.UserCredential, error) {
	cs, err := collect(ctx, s.db, s.scanUserCredential, `SELECT `+userCredentialColumns+` FROM user_credentials c JOIN users u ON u.pk = c.user_pk
		WHERE u.account = ? AND u.name = ? AND c.kind = ? ORDER BY c.created_at, `+s.d.Order("c.id"), account, user, string(kind))
	if err != nil {
		return nil, fmt.Errorf("list %s of %s: %w", kind, user, s.db.Translate(err))
	}
	return cs, nil
}

// UpdateUserCredential implements store.UserCredentials.
func (s *Store) UpdateUserCredential(ctx context.Context, c store.UserCredential) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, c.Account, c.UserName)
		if err != nil {
			return err
		}
		return Affected(tx.ExecContext(ctx, `UPDATE user_credentials SET status = ?, secret = ? WHERE user_pk = ? AND kind = ? AND id = ?`,
			c.Status, c.Secret, pk, string(c.Kind), c.ID))
	})
	if err != nil {
		return fmt.Errorf("update %s %s of %s: %w", c.Kind, c.ID, c.UserName, err)
	}
	return nil
}

// DeleteUserCredential implements store.UserCredentials.
func (s *Store) DeleteUserCredential(ctx context.Context, account, user string, kind store.CredentialKind, id string) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		pk, err := s.userPK(ctx, tx, account, user)
		if err != nil {
			return err
		}
		return Affected(tx.ExecContext(ctx, `DELETE FROM user_credentials WHERE user_pk = ? AND kind = ? AND id = ?`, pk, string(kind), id))
	})
	if err != nil {
		return fmt.Errorf("delete %s %s of %s: %w", kind, id, user, err)
	}
	return nil
}

const serverCertificateColumns = `c.account, c.id, c.name, c.path, c.body, c.chain, c.private_key, c.uploaded_at, c.expires_at, c.tags`

func (s *Store) scanServerCertificate(sc Scanner) (store.ServerCertificate, error) {
	var c store.ServerCertificate
	err := sc.Scan(&c.Account, &c.ID, &c.Name, &c.Path, &c.Body, &c.Chain, &c.PrivateKey, s.d.ScanTime(&c.UploadedAt), s.d.ScanTime(&c.Expiration), ScanTags(&c.Tags))
	return c, err
}

// CreateServerCertificate implements store.ServerCertificates.
func (s *Store) CreateServerCertificate(ctx context.Context, c store.ServerCertificate) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO server_certificates (account, id, name, path, body, chain, private_key, uploaded_at, expires_at, tags)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Account, c.ID, c.Name, c.Path, c.Body, c.Chain, c.PrivateKey, s.d.Time(c.UploadedAt), s.d.Time(c.Expiration), EncodeTags(c.Tags))
		return err
	})
	if err != nil {
		return fmt.Errorf("create server certificate %s: %w", c.Name, err)
	}
	return nil
}

// GetServerCertificate implements store.ServerCertificates.
func (s *Store) GetServerCertificate(ctx context.Context, account, name string) (store.ServerCertificate, error) {
	c, err := s.scanServerCertificate(s.db.QueryRowContext(ctx, `SELECT `+serverCertificateColumns+` FROM server_certificates c WHERE c.account = ? AND c.name = ?`, account, name))
	if err != nil {
		return store.ServerCertificate{}, fmt.Errorf("get server certificate %s: %w", name, s.db.Translate(err))
	}
	return c, nil
}

// ListServerCertificates implements store.ServerCertificates.
func (s *Store) ListServerCertificates(ctx context.Context, account string, opt store.ListOptions) ([]store.ServerCertificate, error) {
	q, args := s.namePage("c.name", "c.path", opt).query(`SELECT `+serverCertificateColumns+` FROM `+s.listFrom("server_certificates", "c", opt)+` WHERE c.account = ?`, account)
	cs, err := collect(ctx, s.db, s.scanServerCertificate, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list server certificates: %w", s.db.Translate(err))
	}
	return cs, nil
}

// RenameServerCertificate implements store.ServerCertificates.
func (s *Store) RenameServerCertificate(ctx context.Context, account, name, newName, newPath string) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		return Affected(tx.ExecContext(ctx, `UPDATE server_certificates SET name = ?, path = ? WHERE account = ? AND name = ?`, newName, newPath, account, name))
	})
	if err != nil {
		return fmt.Errorf("update server certificate %s: %w", name, err)
	}
	return nil
}

// SetServerCertificateTags implements store.ServerCertificates.
func (s *Store) SetServerCertificateTags(ctx context.Context, account, name string, tags []store.Tag) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		return Affected(tx.ExecContext(ctx, `UPDATE server_certificates SET tags = ? WHERE account = ? AND name = ?`, EncodeTags(tags), account, name))
	})
	if err != nil {
		return fmt.Errorf("tag server certificate %s: %w", name, err)
	}
	return nil
}

// DeleteServerCertificate implements store.ServerCertificates.
func (s *Store) DeleteServerCertificate(ctx context.Context, account, name string) error {
	return s.deleteRow(ctx, "delete server certificate "+name, nil, `DELETE FROM server_certificates WHERE account = ? AND name = ?`, account, name)
}

// PutCredentialReport implements store.IAMTasks.
func (s *Store) PutCredentialReport(ctx context.Context, r store.CredentialReport) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO credential_reports (account, generated_at, content) VALUES (?, ?, ?)
			ON CONFLICT (account) DO UPDATE SET generated_at = excluded.generated_at, content = excluded.content`,
			r.Account, s.d.Time(r.GeneratedAt), r.Content)
		return err
	})
	if err != nil {
		return fmt.Errorf("put credential report of %s: %w", r.Account, err)
	}
	return nil
}

// GetCredentialReport implements store.IAMTasks.
func (s *Store) GetCredentialReport(ctx context.Context, account string) (store.CredentialReport, error) {
	r := store.CredentialReport{Account: account}
	err := s.db.QueryRowContext(ctx, `SELECT generated_at, content FROM credential_reports WHERE account = ?`, account).
		Scan(s.d.ScanTime(&r.GeneratedAt), &r.Content)
	if err != nil {
		return store.CredentialReport{}, fmt.Errorf("get credential report of %s: %w", account, s.db.Translate(err))
	}
	return r, nil
}

// PutRoleDeletionTask implements store.IAMTasks.
func (s *Store) PutRoleDeletionTask(ctx context.Context, t store.RoleDeletionTask) error {
	err := s.write(ctx, func(tx Tx, _ *changeList) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO role_deletion_tasks (id, account, role_name, status, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.Account, t.RoleName, t.Status, t.Reason, s.d.Time(t.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put role deletion task %s: %w", t.ID, err)
	}
	return nil
}

// GetRoleDeletionTask implements store.IAMTasks.
func (s *Store) GetRoleDeletionTask(ctx context.Context, account, id string) (store.RoleDeletionTask, error) {
	t := store.RoleDeletionTask{Account: account, ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT role_name, status, reason, created_at FROM role_deletion_tasks WHERE account = ? AND id = ?`, account, id).
		Scan(&t.RoleName, &t.Status, &t.Reason, s.d.ScanTime(&t.CreatedAt))
	if err != nil {
		return store.RoleDeletionTask{}, fmt.Errorf("get role deletion task %s: %w", id, s.db.Translate(err))
	}
	return t, nil
}

package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// Files in the data directory.
const (
	masterKeyFile       = "master.key"
	rootCredentialsFile = "root-credentials"
	managementSetting   = "management.account"
)

// Bootstrap describes the management account.
type Bootstrap struct {
	AccountID       string
	RootAccessKeyID string
	// Created is true when this start created the account.
	Created bool
	// CredentialsFile is where generated root credentials were written.
	CredentialsFile string
}

// ensureDataDir creates the data directory with mode 0700, or makes an
// existing one 0700: it holds the database and may hold the master key and
// the root credentials, which only the server's user may read (the files
// in it are 0600 already, but a listable directory shows what is there).
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory %s: make it mode 0700: %w", dir, err)
		}
	}
	return nil
}

// loadMasterKey takes the key from the config (OPENSTS_MASTER_KEY), from
// --master-key-file, or from the data directory, generating it there (0600,
// with a warning) on first start.
func loadMasterKey(cfg config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.MasterKey != nil {
		return cfg.MasterKey, nil
	}
	path := cfg.MasterKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, masterKeyFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			k := make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return nil, err
			}
			if err := writeNew(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n")); err != nil {
				return nil, fmt.Errorf("write master key: %w", err)
			}
			log.Warn("generated a master key in the data directory; anyone who can read both it and the database can read the secrets at rest; set OPENSTS_MASTER_KEY or --master-key-file to keep it elsewhere", "file", path)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("master key file %s must hold 32 bytes in base64", path)
	}
	return k, nil
}

// writeNew creates path with mode 0600; it fails if the file exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// setManagementEmail gives the management account the configured e-mail
// address if it has none (a data directory made before the setting).
func setManagementEmail(ctx context.Context, s *Server, id string) error {
	if s.cfg.AccountEmail == "" {
		return nil
	}
	a, err := s.store.GetAccount(ctx, id)
	if err != nil {
		return fmt.Errorf("management account %s: %w", id, err)
	}
	if a.Email != "" {
		return nil
	}
	if err := s.store.SetAccountEmail(ctx, id, s.cfg.AccountEmail); err != nil {
		return fmt.Errorf("management account %s: %w", id, err)
	}
	return nil
}

// bootstrap creates the management account, its root key, the organization
// root and the AWS managed policies on the first start of an empty data
// directory; later starts keep what is stored.
func bootstrap(ctx context.Context, s *Server, random io.Reader, announce io.Writer) (Bootstrap, error) {
	if err := s.iam.SeedManagedPolicies(ctx); err != nil {
		return Bootstrap{}, err
	}
	if err := bindTrustPolicies(ctx, s); err != nil {
		return Bootstrap{}, err
	}
	if id, err := s.store.GetSetting(ctx, managementSetting); err == nil {
		keys, err := s.store.ListAccessKeys(ctx, id, "")
		if err != nil {
			return Bootstrap{}, err
		}
		b := Bootstrap{AccountID: id}
		if err := setManagementEmail(ctx, s, id); err != nil {
			return Bootstrap{}, err
		}
		if len(keys) > 0 {
			b.RootAccessKeyID = keys[0].ID
		}
		if err := s.org.Bootstrap(ctx, b.AccountID); err != nil {
			return Bootstrap{}, err
		}
		return b, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Bootstrap{}, err
	}

	cfg := s.cfg
	b := Bootstrap{AccountID: cfg.AccountID, Created: true}
	if b.AccountID == "" {
		b.AccountID = randomAccountID(random)
	}
	err := s.store.CreateAccount(ctx, store.Account{ID: b.AccountID, Name: "management", Email: cfg.AccountEmail,
		CreatedAt: s.now().UTC().Truncate(time.Second), Management: true})
	if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return Bootstrap{}, fmt.Errorf("create management account: %w", err)
	}
	akid, secret := cfg.RootAccessKeyID, cfg.RootSecretAccessKey
	if akid == "" {
		if akid, err = session.NewAccessKeyID("AKIA", b.AccountID, random); err != nil {
			return Bootstrap{}, err
		}
		if secret, err = session.NewSecretAccessKey(random); err != nil {
			return Bootstrap{}, err
		}
		b.CredentialsFile = filepath.Join(cfg.DataDir, rootCredentialsFile)
		content := fmt.Sprintf("# OpenSTS root credentials of account %s, written once at first start.\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", b.AccountID, akid, secret)
		if err := writeNew(b.CredentialsFile, []byte(content)); err != nil {
			return Bootstrap{}, fmt.Errorf("write root credentials: %w", err)
		}
	}
	if err := s.iam.CreateRootAccessKey(ctx, b.AccountID, akid, secret); err != nil {
		return Bootstrap{}, fmt.Errorf("create root access key: %w", err)
	}
	b.RootAccessKeyID = akid
	// The setting is written last: a start that failed halfway retries.
	if err := s.store.PutSetting(ctx, managementSetting, b.AccountID); err != nil {
		return Bootstrap{}, err
	}
	if err := s.org.Bootstrap(ctx, b.AccountID); err != nil {
		return Bootstrap{}, err
	}
	msg := fmt.Sprintf("opensts: created management account %s with root access key %s", b.AccountID, akid)
	if b.CredentialsFile != "" {
		msg += fmt.Sprintf("; its secret is in %s (mode 0600), shown nowhere else", b.CredentialsFile)
	}
	if announce != nil {
		fmt.Fprintln(announce, msg)
	} else {
		s.log.Info(msg)
	}
	return b, nil
}

func randomAccountID(r io.Reader) string {
	n, err := rand.Int(r, big.NewInt(900_000_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%012d", n.Int64()+100_000_000_000)
}

// principalsBoundSetting records that every stored trust policy names its
// users and roles by unique id.
const principalsBoundSetting = "iam.principals-bound"

// bindTrustPolicies binds the principals of trust policies stored before
// binding existed, once per data store.
func bindTrustPolicies(ctx context.Context, s *Server) error {
	if _, err := s.store.GetSetting(ctx, principalsBoundSetting); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	unbound, err := s.iam.BindTrustPolicies(ctx)
	if err != nil {
		return fmt.Errorf("bind trust policy principals: %w", err)
	}
	for _, u := range unbound {
		s.log.Warn("a trust policy named a user or role that no longer exists; it now names an id that matches nobody, as AWS shows a deleted principal; review it", "principal", u)
	}
	return s.store.PutSetting(ctx, principalsBoundSetting, "1")
}

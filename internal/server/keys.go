package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
)

// OpenKeyring opens the data directory's session keyring for the `opensts
// keys` commands, without starting a server. Running servers pick up changes
// within their refresh interval. cfg is validated first, so a bad one
// writes nothing. The caller must call close.
func OpenKeyring(ctx context.Context, cfg config.Config, log *slog.Logger) (m *session.Manager, closeFn func() error, err error) {
	if log == nil {
		log = slog.Default()
	}
	// Before anything is written: an unknown --store has no backend.
	if err := validate(cfg); err != nil {
		return nil, nil, err
	}
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, nil, err
	}
	mk, err := loadMasterKey(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := seal.New(mk, rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	st, err := backends[cfg.Store].open(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	m, err = session.NewManager(ctx, session.Config{Keys: st, Sealer: sealer, RotateEvery: cfg.KeyRotation,
		TokenVersion: cfg.SessionTokenVersion})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return m, st.Close, nil
}

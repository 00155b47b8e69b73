package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the session token signing keys"}
	cmd.AddCommand(
		keyringCmd("rotate", "Start signing with a new key; older keys keep verifying until their last token expires", cobra.NoArgs,
			func(cmd *cobra.Command, _ []string, m *session.Manager) error {
				id, err := m.Rotate(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s; running servers use it within their refresh interval\n", id)
				return nil
			}),
		keyringCmd("list", "List the signing keys (no secrets) as JSON", cobra.NoArgs,
			func(cmd *cobra.Command, _ []string, m *session.Manager) error {
				type key struct {
					ID          string    `json:"id"`
					Created     time.Time `json:"created"`
					SignUntil   time.Time `json:"signUntil"`
					VerifyUntil time.Time `json:"verifyUntil"`
					Revoked     bool      `json:"revoked"`
					Signing     bool      `json:"signing"`
				}
				var out []key
				for _, k := range m.Keys() {
					out = append(out, key{k.ID, k.CreatedAt, k.SignUntil, k.VerifyUntil, k.Revoked, k.Signing})
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}),
		keyringCmd("revoke KEY_ID", "Stop trusting a signing key at once (a leaked one): every token it signed is refused; "+
			"if it was signing, a new key replaces it in the same command", cobra.ExactArgs(1), revokeKey),
	)
	return cmd
}

// revokeKey marks a signing key revoked in the store. Tokens it signed are
// refused at once by anything that reloads the keyring, and by running
// servers within their refresh interval. A key that was signing is replaced
// by a new one in the same command (session.Manager.Revoke), so that no
// node keeps signing with a key it no longer trusts and none is left
// without a key.
func revokeKey(cmd *cobra.Command, args []string, m *session.Manager) error {
	id := args[0]
	var target *session.KeyInfo
	signers := map[string]bool{}
	for _, k := range m.Keys() {
		if k.ID == id {
			target = &k
		}
		if k.Signing {
			signers[k.ID] = true
		}
	}
	out := cmd.OutOrStdout()
	if target != nil && target.Revoked {
		fmt.Fprintf(out, "signing key %s was already revoked\n", id)
		return nil
	}
	if err := m.Revoke(cmd.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("keys revoke: no signing key %s (see opensts keys list)", id)
		}
		return err
	}
	fmt.Fprintf(out, "revoked signing key %s: tokens it signed are refused; running servers stop accepting them within their refresh interval\n", id)
	for _, k := range m.Keys() {
		if k.Signing && !signers[k.ID] {
			fmt.Fprintf(out, "new signing key %s replaces it\n", k.ID)
		}
	}
	return nil
}

// keyringCmd is a `keys` subcommand that opens the data directory's keyring
// (without a server) and runs fn on it.
func keyringCmd(use, short string, args cobra.PositionalArgs, fn func(*cobra.Command, []string, *session.Manager) error) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return err
			}
			m, closeFn, err := server.OpenKeyring(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := closeFn(); err == nil && cerr != nil {
					err = fmt.Errorf("close store: %w", cerr)
				}
			}()
			return fn(cmd, args, m)
		},
	}
	bindServerFlags(cmd, &cfg)
	return cmd
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/internal/session"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the session token signing keys"}
	cmd.AddCommand(
		keyringCmd("rotate", "Start signing with a new key; older keys keep verifying until their last token expires",
			func(cmd *cobra.Command, m *session.Manager) error {
				id, err := m.Rotate(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s; running servers use it within their refresh interval\n", id)
				return nil
			}),
		keyringCmd("list", "List the signing keys (no secrets) as JSON",
			func(cmd *cobra.Command, m *session.Manager) error {
				type key struct {
					ID          string    `json:"id"`
					Created     time.Time `json:"created"`
					SignUntil   time.Time `json:"signUntil"`
					VerifyUntil time.Time `json:"verifyUntil"`
					Revoked     bool      `json:"revoked"`
				}
				var out []key
				for _, k := range m.Keys() {
					out = append(out, key{k.ID, k.CreatedAt, k.SignUntil, k.VerifyUntil, k.Revoked})
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}),
	)
	return cmd
}

// keyringCmd is a `keys` subcommand that opens the data directory's keyring
// (without a server) and runs fn on it.
func keyringCmd(use, short string, fn func(*cobra.Command, *session.Manager) error) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return err
			}
			m, closeFn, err := server.OpenKeyring(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			defer closeFn()
			return fn(cmd, m)
		},
	}
	bindServerFlags(cmd, &cfg)
	return cmd
}

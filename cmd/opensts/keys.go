package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the session token signing keys"}
	cmd.AddCommand(newKeysRotateCmd(), newKeysListCmd())
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Start signing with a new key; older keys keep verifying until their last token expires",
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
			id, err := m.Rotate(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s; running servers use it within their refresh interval\n", id)
			return nil
		},
	}
	bindServerFlags(cmd, &cfg)
	return cmd
}

func newKeysListCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys (no secrets) as JSON",
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
		},
	}
	bindServerFlags(cmd, &cfg)
	return cmd
}

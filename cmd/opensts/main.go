// Command opensts is the OpenSTS server and its operator tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "opensts:", err)
		}
		os.Exit(1)
	}
}

// exitError makes main exit 1 without printing again (the command already did).
type exitError struct{ error }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "opensts",
		Short:         "OpenSTS: a self-hosted Security Token Service that speaks the AWS STS and IAM APIs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newPolicyCmd(), newKeysCmd(), newAuditCmd(), newCredentialsCmd(), newAlertsCmd(), newRevokeCmd(), newReportCmd(), newStoreCmd(), newGatewayCmd())
	return root
}

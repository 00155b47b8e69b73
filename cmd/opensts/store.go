package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/server"
)

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Move a deployment's data between store backends"}
	var from, to, fromDir, toURL string
	cp := &cobra.Command{
		Use:   "copy --from SOURCE --to TARGET",
		Short: "Copy every table of one store into an empty one (a data directory or a postgres:// URL, either way)",
		Long: `Copy every table of one store into another: a SQLite data directory onto PostgreSQL
(--from DIR --to postgres://...), back (--from postgres://... --to NEW_DIR), or between
two of a kind. The target must be empty. Keys, sealed secrets, signing keys, revocations
and the change feed's position move as stored: start the target's nodes with the
source's master key (OPENSTS_MASTER_KEY or --master-key-file; a generated one is
DIR/master.key). Stop the servers on the source first. The audit trail is not moved:
a data directory's trail files stay in it, PostgreSQL's audit_events table stays in
that database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fromDir != "" {
				if from != "" {
					return errors.New("give one of --from and --from-data-dir")
				}
				from = fromDir
			}
			if toURL != "" {
				if to != "" {
					return errors.New("give one of --to and --to-database-url")
				}
				to = toURL
			}
			if from == "" || to == "" {
				return errors.New("--from and --to are required")
			}
			src, err := server.ParseStoreLocation(from)
			if err != nil {
				return err
			}
			dst, err := server.ParseStoreLocation(to)
			if err != nil {
				return err
			}
			rep, err := server.CopyStore(cmd.Context(), src, dst)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tables := make([]string, 0, len(rep.Rows))
			var total int64
			for t, n := range rep.Rows {
				tables = append(tables, t)
				total += n
			}
			sort.Strings(tables)
			for _, t := range tables {
				fmt.Fprintf(out, "%-20s %d\n", t, rep.Rows[t])
			}
			fmt.Fprintf(out, "copied %d rows from %s to %s (change feed at %d)\n", total, src, dst, rep.ChangeSeq)
			if rep.AuditEvents > 0 {
				fmt.Fprintf(out, "not copied: %d audit events (they stay in the source's audit_events table)\n", rep.AuditEvents)
			}
			fmt.Fprintln(out, "start the target's nodes with the source's master key")
			return nil
		},
	}
	cp.Flags().StringVar(&from, "from", "", "the source: a data directory or a postgres:// URL")
	cp.Flags().StringVar(&to, "to", "", "the target (empty): a new data directory or a postgres:// URL")
	cp.Flags().StringVar(&fromDir, "from-data-dir", "", "the source data directory (same as --from DIR)")
	cp.Flags().StringVar(&toURL, "to-database-url", "", "the target database (same as --to URL)")
	cmd.AddCommand(cp)
	return cmd
}

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/audit/pgsink"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check and search the audit trail offline"}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditQueryCmd(), newAuditHeadCmd())
	return cmd
}

// bindAuditDir binds the flags that locate a trail.
func bindAuditDir(cmd *cobra.Command, cfg *config.Config) {
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory")
	cmd.Flags().StringVar(&cfg.AuditDir, "audit-dir", "", "audit trail directory (default DATA_DIR/audit)")
}

func newAuditVerifyCmd() *cobra.Command {
	cfg := config.Default()
	var pubFile string
	var sealed, trustTrail, noAnchor bool
	var head, node string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the trail's hash chain and signed digests; exit 1 naming the first bad record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return err
			}
			dir := server.AuditDir(cfg)
			pub, from, err := verifyKey(cfg, dir, pubFile, trustTrail)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError{err}
			}
			var opts audit.Options
			if head != "" {
				if opts.HeadSeq, opts.HeadHash, err = audit.ParseHead(head); err != nil {
					return err
				}
			}
			sum, err := audit.VerifyWith(dir, pub, opts)
			if err == nil && sealed && sum.Open != "" {
				err = &audit.VerifyError{File: sum.Open, Reason: "has no signed digest (truncated, or the server still writes it)"}
			}
			var anchorNote string
			if err == nil && !noAnchor {
				anchorNote, err = checkAnchoredHead(cmd.Context(), cfg, dir, node, pub)
			}
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "audit verify: FAILED:", err)
				return exitError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d files (%d sealed), %d records; key %s (%s)\n", sum.Files, sum.Sealed, sum.Records, audit.KeyID(pub), from)
			if sum.Open != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "note: %q is not sealed yet; its records chain but no digest signs them\n", sum.Open)
			}
			for _, f := range sum.Recovered {
				fmt.Fprintf(cmd.OutOrStdout(), "note: %q was sealed on restart after a crash (signed recovered mark)\n", f)
			}
			if sum.Unattested > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "note: %d records come after the last signature of a file that is open or was sealed after a crash: whoever could write the trail could have changed them (only --head, or a copy a sink sent away, proves them)\n", sum.Unattested)
			}
			if sum.PrunedThrough > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "note: retention removed files 1..%d (signed prune record)\n", sum.PrunedThrough)
			}
			if anchorNote != "" {
				fmt.Fprintln(cmd.OutOrStdout(), anchorNote)
			}
			if head == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "note: without --head, records dropped after the anchored head (the last checkpoint, at most some 10 seconds of events) cannot be detected; head now %d:%s\n", sum.HeadSeq, sum.HeadHash)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "head %s present; trail now ends at %d:%s\n", head, sum.HeadSeq, sum.HeadHash)
			}
			return nil
		},
	}
	bindAuditDir(cmd, &cfg)
	cmd.Flags().StringVar(&cfg.MasterKeyFile, "master-key-file", "", "file holding the base64 master key (default: OPENSTS_MASTER_KEY, else DATA_DIR/master.key if present)")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "file holding the base64 Ed25519 digest public key, kept apart from the trail (default: derived from the master key)")
	cmd.Flags().BoolVar(&trustTrail, "trust-trail-key", false, "without --public-key or the master key, check against "+audit.PublicKeyFile+" in the trail directory (proves nothing against whoever can write the trail)")
	cmd.Flags().StringVar(&head, "head", "", "SEQ:HASH recorded earlier (opensts audit head, or the server log's \"file sealed\" head): fail if that record is not in the trail as recorded (the newest records were removed)")
	cmd.Flags().BoolVar(&sealed, "sealed", false, "also require the last file to be sealed (after the server stopped)")
	cmd.Flags().StringVar(&cfg.Store, "store", cfg.Store, "the store holding the trail's anchored head: sqlite (the data directory's), or postgres (OPENSTS_DATABASE_URL)")
	cmd.Flags().StringVar(&node, "node", "", "with --store postgres, the node whose trail this is (default: the id in DATA_DIR/node-id, which the server makes)")
	cmd.Flags().BoolVar(&noAnchor, "no-anchor", false, "do not check the trail against the head the server anchored in the store (a copy of a trail checked away from its store)")
	return cmd
}

// checkAnchoredHead checks the trail in dir against the head the server
// anchored in the store (audit.Anchor): an error when the trail does not
// hold it, else a note of what was checked (or why nothing was: no store
// here, no head stored yet).
func checkAnchoredHead(ctx context.Context, cfg config.Config, dir, node string, pub ed25519.PublicKey) (string, error) {
	if node == "" && cfg.Store == "postgres" {
		var err error
		if node, err = server.AuditNode(cfg, false); err != nil {
			return "", fmt.Errorf("the node whose trail this is (%s in the data directory, or --node): %w (--no-anchor to check the files alone)", server.AuditNodeFile, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	seq, hash, err := server.ReadAuditHead(ctx, cfg, node)
	var was string
	if err == nil && seq == 0 && cfg.Store == "postgres" {
		// The trail's checkpoints may say it was anchored as another
		// node (its node id changed beside it): check against that one's.
		if prev := audit.SignedNode(dir, pub); prev != "" && prev != node {
			was = prev
			seq, hash, err = server.ReadAuditHead(ctx, cfg, prev)
		}
	}
	switch {
	case err != nil:
		hint := ""
		if cfg.Store != "postgres" {
			hint = "; --store postgres for a PostgreSQL deployment"
		}
		return "", fmt.Errorf("cannot read the trail's anchored head from the store: %w (--no-anchor to check the files alone%s)", err, hint)
	case seq == 0:
		return "note: the store holds no anchored head for this trail yet (the server anchors one at each checkpoint and seal)", nil
	}
	if err := audit.CheckAnchored(dir, seq, hash); err != nil {
		return "", err
	}
	if was != "" {
		return fmt.Sprintf("head %d:%s anchored in the store (setting %s) present; note: the trail's checkpoints name node %s, the data directory %s", seq, hash, server.AuditHeadSetting(cfg, was), was, node), nil
	}
	return fmt.Sprintf("head %d:%s anchored in the store (setting %s) present", seq, hash, server.AuditHeadSetting(cfg, node)), nil
}

// verifyKey finds the digest public key the trail is checked against: a
// file given apart from the trail, else one derived from the master key
// when the command can read it (never generated). The copy beside the trail
// is used only with trustTrail: whoever can rewrite the trail can replace
// it and re-sign every digest, so that check proves nothing against them
// (said in the output). Without any of them it fails.
func verifyKey(cfg config.Config, dir, pubFile string, trustTrail bool) (ed25519.PublicKey, string, error) {
	if pubFile != "" {
		b, err := os.ReadFile(pubFile)
		if err != nil {
			return nil, "", err
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, "", fmt.Errorf("%q is not a base64 Ed25519 public key", pubFile)
		}
		return k, fmt.Sprintf("%q", pubFile), nil
	}
	mk := cfg.MasterKey
	if mk == nil {
		path := cfg.MasterKeyFile
		if path == "" {
			path = filepath.Join(cfg.DataDir, "master.key")
		}
		if b, err := os.ReadFile(path); err == nil {
			mk, _ = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		} else if cfg.MasterKeyFile != "" {
			return nil, "", err
		}
	}
	if len(mk) == 32 {
		key, err := audit.DeriveKey(mk)
		if err != nil {
			return nil, "", err
		}
		pub := key.Public().(ed25519.PublicKey)
		if onDisk, err := audit.ReadPublicKey(dir); err == nil && subtle.ConstantTimeCompare(onDisk, pub) != 1 {
			return nil, "", errors.New("audit verify: FAILED: " + audit.PublicKeyFile + " is not the master key's digest key (replaced)")
		}
		return pub, "derived from the master key", nil
	}
	if !trustTrail {
		return nil, "", errors.New("audit verify: no trusted key: pass --public-key FILE (kept apart from the trail), or the master key (OPENSTS_MASTER_KEY, --master-key-file); " +
			"--trust-trail-key checks against " + audit.PublicKeyFile + " in the trail directory, which whoever can write the trail can replace")
	}
	pub, err := audit.ReadPublicKey(dir)
	if err != nil {
		return nil, "", err
	}
	return pub, audit.PublicKeyFile + " in the trail directory (--trust-trail-key): whoever can write the trail could have replaced it and re-signed every digest", nil
}

func newAuditHeadCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "head",
		Short: "Print the trail's head (SEQ:HASH of its last record) to keep apart, for audit verify --head",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return err
			}
			seq, hash, err := audit.Head(server.AuditDir(cfg))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d:%s\n", seq, hash)
			return nil
		},
	}
	bindAuditDir(cmd, &cfg)
	return cmd
}

func newAuditQueryCmd() *cobra.Command {
	cfg := config.Default()
	var f audit.Filter
	var attr, start, end, dbURL string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Print the trail's records that match, oldest first, as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if attr != "" {
				k, v, ok := strings.Cut(attr, "=")
				known := false
				for _, a := range audit.Attributes {
					known = known || a == k
				}
				if !ok || !known {
					return fmt.Errorf("--lookup-attribute %q: want KEY=VALUE with KEY one of %s", attr, strings.Join(audit.Attributes, ", "))
				}
				f.Attribute, f.Value = k, v
			}
			var err error
			for _, p := range []struct {
				s string
				t *time.Time
			}{{start, &f.Start}, {end, &f.End}} {
				if p.s != "" {
					if *p.t, err = time.Parse(time.RFC3339, p.s); err != nil {
						return fmt.Errorf("time %q: want RFC 3339: %w", p.s, err)
					}
				}
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			emit := func(line []byte) error {
				if _, err := w.Write(line); err != nil {
					return err
				}
				return w.WriteByte('\n')
			}
			if dbURL != "" {
				return pgsink.Query(cmd.Context(), dbURL, f, emit)
			}
			return audit.Query(server.AuditDir(cfg), f, emit)
		},
	}
	bindAuditDir(cmd, &cfg)
	cmd.Flags().StringVar(&attr, "lookup-attribute", "", "KEY=VALUE, KEY one of "+strings.Join(audit.Attributes, ", "))
	cmd.Flags().StringVar(&f.Account, "account", "", "only events recorded for this account")
	cmd.Flags().StringVar(&start, "start-time", "", "RFC 3339 time")
	cmd.Flags().StringVar(&end, "end-time", "", "RFC 3339 time")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "read every node's events from PostgreSQL's audit_events (a DSN) instead of the trail's files")
	return cmd
}

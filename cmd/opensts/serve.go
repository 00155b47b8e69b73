package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// bindServerFlags binds the flags every command that opens the data directory shares.
func bindServerFlags(cmd *cobra.Command, cfg *config.Config) {
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (SQLite database, generated keys)")
	f.StringVar(&cfg.Store, "store", cfg.Store, "storage backend: sqlite, or postgres (with OPENSTS_DATABASE_URL) for several nodes")
	f.StringVar(&cfg.LDAPDefaultProvider, "ldap-default-provider", "", "LDAP provider ARN for AssumeRoleWithLDAPIdentity requests that name no role (MinIO clients); default OPENSTS_LDAP_DEFAULT_PROVIDER")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "file holding the base64 32-byte master key (default: OPENSTS_MASTER_KEY, else generated in the data directory)")
	f.IntVar(&cfg.SessionTokenVersion, "session-token-version", cfg.SessionTokenVersion,
		"session token format to mint, and to create signing keys for: 3 (sealed) or 2 (readable; only while nodes of a release before sealed tokens still serve this store)")
}

func newServeCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the STS and IAM endpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return err
			}
			limitSet := tuneGC()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			srv, err := server.New(cmd.Context(), cfg, server.Options{Logger: log, Stderr: os.Stderr})
			if err != nil {
				ln.Close()
				return err
			}
			defer srv.Close()
			if limitSet {
				go followMappings(cmd.Context(), time.Second, srv.MappedBytes, runtimeFloor)
			}
			scheme := "http"
			if cfg.TLSCert != "" {
				scheme = "https"
			}
			log.Info("opensts listening", "endpoint", scheme+"://"+ln.Addr().String(), "account", srv.Bootstrap.AccountID, "region", cfg.Region)
			if cfg.MetricsListen != "" {
				mln, err := net.Listen("tcp", cfg.MetricsListen)
				if err != nil {
					ln.Close()
					return fmt.Errorf("metrics listen: %w", err)
				}
				log.Info("opensts metrics listening", "endpoint", "http://"+mln.Addr().String()+"/metrics")
				go func() {
					if err := srv.ServeMetrics(cmd.Context(), mln); err != nil {
						log.Error("metrics listener stopped", "error", err)
					}
				}()
			}
			return srv.Serve(cmd.Context(), ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve GET /metrics (Prometheus) only on this address, not on --listen")
	f.StringVar(&cfg.Region, "region", cfg.Region, "region this endpoint serves")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	f.DurationVar(&cfg.KeyRotation, "key-rotation", cfg.KeyRotation, "rotate the session signing key when the newest is older than this")
	f.StringVar(&cfg.WebIdentityIssuer, "web-identity-issuer", "", "https URL of this server as an OIDC issuer: GetWebIdentityToken signs tokens with it as iss, and its discovery document and JWKS are served under it")
	f.DurationVar(&cfg.OIDCTimeout, "oidc-timeout", cfg.OIDCTimeout, "bound on fetching an OIDC provider's discovery document and keys (AssumeRoleWithWebIdentity answers IDPCommunicationError past it)")
	f.DurationVar(&cfg.OIDCMinRefresh, "oidc-min-refresh", cfg.OIDCMinRefresh, "least time between two fetches of one OIDC provider's keys (tokens naming unknown keys)")
	f.BoolVar(&cfg.Audit, "audit", cfg.Audit, "record every API request in the audit trail under --audit-dir (--audit=false turns it off)")
	f.StringVar(&cfg.AuditDir, "audit-dir", "", "audit trail directory (default DATA_DIR/audit)")
	f.Int64Var(&cfg.AuditMaxBytes, "audit-max-bytes", cfg.AuditMaxBytes, "close (and sign) an audit file once it holds this many bytes")
	f.DurationVar(&cfg.AuditMaxAge, "audit-max-age", cfg.AuditMaxAge, "close (and sign) an audit file once it is this old")
	f.DurationVar(&cfg.AuditRetention, "audit-retention", 0, "remove closed audit files older than this (0: keep all)")
	f.Int64Var(&cfg.AuditIndexBytes, "audit-index-bytes", 0, "size of the index of the newest audit events, which LookupEvents searches (default 24 MiB, some 120,000 AssumeRole events; at most 200,000 events; on Unix-like systems all but its newest 830 KiB is kept in an unlinked scratch file in the audit directory); older events are in the files, for opensts audit query")
	f.BoolVar(&cfg.AuditStrict, "audit-strict", false, "fail a request with ServiceUnavailable (retryable) when its audit event cannot be written, instead of dropping the event")
	f.BoolVar(&cfg.Detect, "detect", cfg.Detect, "run the detection rules over every request's audit event and raise alerts (audit events of type OpenSTSAlert)")
	f.StringVar(&cfg.AlertRules, "alert-rules", "", "detection rules file, YAML or JSON: thresholds, windows, responses, rules switched off (default: the built-in rules)")
	f.StringVar(&cfg.AuditWebhookURL, "audit-webhook-url", "", "also POST audit records in batches to this http(s) URL (body {\"Records\":[...]})")
	f.StringArrayVar(&cfg.AuditWebhookHeaders, "audit-webhook-header", nil, "header sent with each webhook POST, 'Name: value' (repeatable; never logged; OPENSTS_AUDIT_WEBHOOK_HEADERS keeps it off the command line)")
	f.Int64Var(&cfg.AuditWebhookBufferBytes, "audit-webhook-buffer-bytes", 0, "bound on audit records waiting for the webhook (default 16 MiB); beyond it records are dropped and counted")
	f.BoolVar(&cfg.AuditDatabase, "audit-database", cfg.AuditDatabase, "with --store postgres, also write audit events to the audit_events table and answer LookupEvents from it (every node's events)")
	bindServerFlags(cmd, &cfg)
	return cmd
}

// tuneGC trades memory, of which the server needs little beside its caches
// (a live heap of a few MiB, and the caches' first tiers bounded at 10 MiB
// in all beside the session cache, see internal/server), for CPU under
// load: the collector runs when the heap reaches 11x the live heap instead
// of 2x, and a soft limit (memoryLimit) makes it run sooner when that
// would be too much. AssumeRole allocates about 9 KiB a request; under wrk
// at 32 connections this gave 2-3 points more of a bare handler's requests
// per second than GOGC=400. The caches' second tiers and the audit index
// are kept in scratch files in the data directory (their indexes and
// write buffers mapped outside the Go heap). GOGC and GOMEMLIMIT, when
// set, win; limitSet reports that the limit is serve's, which
// followMappings then moves.
func tuneGC() (limitSet bool) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(1000)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
		return true
	}
	return false
}

// memoryLimit is serve's soft memory limit, less twice what the caches'
// tiers read through mappings of their files may hold resident
// (server.Server.MappedBytes), down to minMemoryLimit. With reads of the
// tiers' files through mappings instead of pread (three system calls of
// some 3 µs each a request across 100,000 roles), the pages they read
// count toward the process's resident memory, and the Go heap gives way
// for them: twice, as reads also map the pages about theirs that the page
// cache holds (fault-around), and the collector lags behind a soft limit
// under load. At 100,000 entities (internal/tools/scale) the mappings
// hold some 34 MiB and the limit is its floor, 44 MiB, or runtimeFloor
// where that is higher. The floor was 40 MiB, and there on PostgreSQL
// (some MB more of live heap: its connections' statement caches,
// detection's reads in flight) the collector's goal came down to the live
// heap, and it ran without pause: one role's requests took 250 µs of CPU
// against 74 under 48 (2026-12-07); runtimeFloor, added since, keeps the
// limit above the live heap by half of it. Under 44 instead of 48
// (2026-12-08, three runs of internal/tools/scale at 100,000 on SQLite
// and one on PostgreSQL, against four and one): peak RSS 148.9-151.9 MiB
// against 152.5-155.3 on SQLite, 149.7 against 152.4 on PostgreSQL, for
// the same CPU a request (34-38 µs with one role, 41-44 across). With
// few entities (the tiers hold little) the limit is 80 MiB, as before,
// and past some 140,000 too (the tiers leave their mappings and read with
// pread).
const (
	memoryLimit    = 80 << 20
	minMemoryLimit = 44 << 20
)

// followMappings sets the soft memory limit from mapped at every tick of
// every until ctx ends (see memoryLimit), when it moved by 1 MiB or more;
// never below floor (runtimeFloor) up to memoryLimit: the mappings never
// take it under what the heap needs, and a floor raised by memory a
// client holds for a while (large request bodies in flight) never lifts
// it above what it is without mappings. Past it, the limit would outlive
// the load it was raised for: the floor counts the live heap of the last
// collection, and under a limit of 1.5 times it with GOGC at 1000 none
// comes until the heap grows by half again or the runtime forces one,
// every two minutes (150 slow requests of 1 MiB bodies held the process
// at 199 MiB for those two minutes, against 86 MiB 3 s after them under
// the cap).
func followMappings(ctx context.Context, every time.Duration, mapped, floor func() int64) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := int64(memoryLimit)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if limit := max(memoryLimit-2*mapped(), minMemoryLimit, min(floor(), memoryLimit)); limit-last >= 1<<20 || last-limit >= 1<<20 {
			debug.SetMemoryLimit(limit)
			last = limit
		}
	}
}

// runtimeFloor is the least soft memory limit that leaves the collector
// room to work: what the runtime holds beside the heap's objects (stacks,
// its own structures, the unused parts of spans in use; not the free
// pages, which the scavenger gives back under the limit), plus the live
// heap, plus half of it and 4 MiB for what is allocated between two
// cycles. Under a limit at the live heap the collector's goal comes
// down to it and it runs without pause, and the fixed floor
// (minMemoryLimit) held only for the live heap it was measured with: at
// 100,000 entities on PostgreSQL, some MB more of live heap than on SQLite
// took 40 MiB into that (one role's requests 250 µs of CPU against 74).
// At 100,000 entities on SQLite (internal/tools/scale) it is 43-49 MiB
// while AssumeRole runs across them, about the fixed floor, and 50-63 MiB
// in the first sweep over them (more live heap: the stores' writes of
// first uses), when the mappings hold little yet.
func runtimeFloor() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0 // a runtime without them: the fixed floor
		}
	}
	total, released, free, objects, live := s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64(), s[4].Value.Uint64()
	overhead := int64(total) - int64(released) - int64(free) - int64(objects)
	return max(overhead, 0) + int64(live) + int64(live)/2 + 4<<20
}

package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/audit/pgsink"
	"github.com/opensts/opensts/internal/audit/webhook"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/postgres"
)

// CloudTrailPrefix is the X-Amz-Target prefix of CloudTrail.
const CloudTrailPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"

// CloudTrailShortPrefix is the prefix newer SDKs send (aws-sdk-go-v2's
// CloudTrail client since its 2024 models); AWS answers both.
const CloudTrailShortPrefix = "CloudTrail_20131101"

// cloudtrailRoutes are the CloudTrail actions, by X-Amz-Target action name.
func cloudtrailRoutes(s *audit.Service) map[string]jsonHandler {
	return map[string]jsonHandler{
		"LookupEvents": bindJSON(s.LookupEvents),
	}
}

// AuditDir is the trail's directory for cfg.
func AuditDir(cfg config.Config) string {
	if cfg.AuditDir != "" {
		return cfg.AuditDir
	}
	return filepath.Join(cfg.DataDir, "audit")
}

// auditSinks are where the trail's records go besides its files.
type auditSinks struct {
	webhook  *webhook.Sink // nil without --audit-webhook-url
	database *pgsink.Sink  // nil unless the store is postgres and --audit-database
}

// sinkCloseWait bounds how long Close lets the sinks deliver what they hold.
const sinkCloseWait = 5 * time.Second

// validateSinks checks the sinks' flags before anything starts.
func validateSinks(cfg config.Config) error {
	if cfg.AuditWebhookURL == "" {
		if len(cfg.AuditWebhookHeaders) > 0 {
			return fmt.Errorf("--audit-webhook-header needs --audit-webhook-url")
		}
		return nil
	}
	if _, err := webhook.ParseURL(cfg.AuditWebhookURL); err != nil {
		return err
	}
	for _, v := range cfg.AuditWebhookHeaders {
		if err := webhook.ParseHeader(http.Header{}, v); err != nil {
			return err
		}
	}
	return nil
}

// openSinks starts the sinks cfg asks for.
func openSinks(ctx context.Context, cfg config.Config, masterKey []byte, log *slog.Logger) (auditSinks, error) {
	var s auditSinks
	if cfg.AuditWebhookURL != "" {
		h := http.Header{}
		for _, v := range cfg.AuditWebhookHeaders {
			if err := webhook.ParseHeader(h, v); err != nil {
				return s, err
			}
		}
		var err error
		if s.webhook, err = webhook.New(webhook.Config{URL: cfg.AuditWebhookURL, Header: h, BufferBytes: cfg.AuditWebhookBufferBytes, Log: log}); err != nil {
			return s, err
		}
	}
	if cfg.Store == "postgres" && cfg.AuditDatabase {
		m := hmac.New(sha256.New, masterKey)
		m.Write([]byte("opensts-audit-lookup-token"))
		node, _ := os.Hostname()
		var err error
		if s.database, err = pgsink.Open(ctx, pgsink.Config{DSN: cfg.DatabaseURL, Node: node, Retention: cfg.AuditRetention, TokenKey: m.Sum(nil), ScratchDir: cfg.DataDir, Log: log}); err != nil {
			s.close()
			return auditSinks{}, fmt.Errorf("audit database sink: %w", err)
		}
	}
	return s, nil
}

// sink is the audit.Config.Sink handing each record to every sink, nil
// without any.
func (s auditSinks) sink() func(line, attrs []byte) {
	if s.webhook == nil && s.database == nil {
		return nil
	}
	return s.write
}

func (s auditSinks) write(line, attrs []byte) {
	if s.webhook != nil {
		s.webhook.Write(line)
	}
	if s.database != nil {
		s.database.WriteWith(line, attrs)
	}
}

func (s auditSinks) close() {
	ctx, cancel := context.WithTimeout(context.Background(), sinkCloseWait)
	defer cancel()
	if s.webhook != nil {
		s.webhook.Close(ctx)
	}
	if s.database != nil {
		s.database.Close(ctx)
	}
}

// openTrail opens the audit trail, its digests signed with a key derived
// from the master key, handing each record to sink and anchoring its head
// in settings (AuditHeadSetting).
func openTrail(cfg config.Config, masterKey []byte, account string, now func() time.Time, log *slog.Logger, sink func(line, attrs []byte), settings store.Settings) (*audit.Trail, error) {
	key, err := audit.DeriveKey(masterKey)
	if err != nil {
		return nil, err
	}
	var node string
	if cfg.Store == "postgres" {
		// One store, several nodes: each anchors under its own id.
		if node, err = AuditNode(cfg, true); err != nil {
			return nil, fmt.Errorf("audit: node id: %w", err)
		}
	}
	return audit.Open(audit.Config{
		Anchor: storeAnchor{store: settings, cfg: cfg}, Node: node,
		Dir: AuditDir(cfg), MaxBytes: cfg.AuditMaxBytes, MaxAge: cfg.AuditMaxAge, Retention: cfg.AuditRetention,
		Strict: cfg.AuditStrict, IndexBytes: cfg.AuditIndexBytes, Key: key, Now: now, Log: log, Sink: sink,
		Build: audit.BuildConfig{Region: cfg.Region, Account: account},
	})
}

// AuditWebhook is the webhook sink (for metrics: Backlog, BacklogBytes,
// Dropped, Sent, Failures, WriteLatency), nil without one.
func (s *Server) AuditWebhook() *webhook.Sink { return s.sinks.webhook }

// AuditDatabase is the database sink (for metrics: Backlog, Dropped,
// Inserted, Failures, WriteLatency), nil without one.
func (s *Server) AuditDatabase() *pgsink.Sink { return s.sinks.database }

// sinkStats is what every audit sink reports.
type sinkStats interface {
	Backlog() int64
	Dropped() uint64
	Failures() uint64
	WriteLatency() time.Duration
}

// registerSinkMetrics exports the webhook's and the database sink's
// backlog, drops, failures and last write latency, labelled by sink.
func (s *Server) registerSinkMetrics() {
	sinks := map[string]sinkStats{}
	if s.sinks.webhook != nil {
		sinks["webhook"] = s.sinks.webhook
	}
	if s.sinks.database != nil {
		sinks["database"] = s.sinks.database
	}
	for name, st := range sinks {
		labels := prometheus.Labels{"sink": name}
		s.metrics.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_audit_sink_backlog_events", Help: "Audit records waiting for the sink.", ConstLabels: labels},
				func() float64 { return float64(st.Backlog()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "opensts_audit_sink_dropped_events_total", Help: "Audit records the sink dropped (buffer full, or refused).", ConstLabels: labels},
				func() float64 { return float64(st.Dropped()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "opensts_audit_sink_failures_total", Help: "Failed deliveries of the sink (retried).", ConstLabels: labels},
				func() float64 { return float64(st.Failures()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_audit_sink_write_seconds", Help: "Duration of the sink's last write.", ConstLabels: labels},
				func() float64 { return st.WriteLatency().Seconds() }))
	}
}

// AuditHeadSetting is the store setting that anchors a node's audit trail
// (audit.Anchor): its head as of the last checkpoint or seal, "SEQ:HASH".
// A SQLite store serves one node; with PostgreSQL each node's trail has
// its own, under the node's name (AuditNode).
func AuditHeadSetting(cfg config.Config, node string) string {
	if cfg.Store != "postgres" {
		return "audit.head"
	}
	return "audit.head." + node
}

// AuditNodeFile is the file, in the data directory, that names the node
// whose audit trail is there among the nodes of one PostgreSQL store (AuditHeadSetting): an
// id the server makes once. Host names change when a container is made
// again (an upgrade), which lost the trail's anchored head; a node id
// removed or changed finds no head, which the restart records as an alert.
const AuditNodeFile = "node-id"

// AuditNode reads the node's id (AuditNodeFile); create makes one when
// there is none.
func AuditNode(cfg config.Config, create bool) (string, error) {
	path := filepath.Join(cfg.DataDir, AuditNodeFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !nodeID.MatchString(id) {
			return "", fmt.Errorf("%s: not a node id", path)
		}
		return id, nil
	}
	if !create || !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

var nodeID = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)

// storeAnchor keeps a trail's head in a store setting (AuditHeadSetting).
type storeAnchor struct {
	store store.Settings
	cfg   config.Config
}

func (a storeAnchor) LoadHead(ctx context.Context, node string) (uint64, string, error) {
	return LoadAuditHead(ctx, a.store, AuditHeadSetting(a.cfg, node))
}

func (a storeAnchor) StoreHead(ctx context.Context, node string, seq uint64, hash string) error {
	return a.store.PutSetting(ctx, AuditHeadSetting(a.cfg, node), fmt.Sprintf("%d:%s", seq, hash))
}

// LoadAuditHead reads the head anchored under key: seq 0 when none is.
func LoadAuditHead(ctx context.Context, s store.Settings, key string) (uint64, string, error) {
	v, err := s.GetSetting(ctx, key)
	if store.IsNotFound(err) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	seq, hash, err := audit.ParseHead(v)
	if err != nil {
		return 0, "", fmt.Errorf("setting %s: %w", key, err)
	}
	return seq, hash, nil
}

// ReadAuditHead reads node's anchored audit head from the store cfg names
// (the data directory's database, or PostgreSQL with --store postgres),
// for `opensts audit verify`: seq 0 when none is stored.
func ReadAuditHead(ctx context.Context, cfg config.Config, node string) (uint64, string, error) {
	key := AuditHeadSetting(cfg, node)
	if cfg.Store == "postgres" {
		if err := backends["postgres"].check(cfg); err != nil {
			return 0, "", err
		}
		// Without migrating: verify only reads.
		p, err := postgres.OpenExisting(ctx, cfg.DatabaseURL)
		if err != nil {
			return 0, "", err
		}
		defer func() { _ = p.Close() }()
		return LoadAuditHead(ctx, p, key)
	}
	s, closeStore, err := StoreLocation{DataDir: cfg.DataDir}.open(ctx, false)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = closeStore() }()
	return LoadAuditHead(ctx, s, key)
}

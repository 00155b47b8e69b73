// Package config gathers flags, environment variables and defaults into one
// Config and validates it. It has no side effects: it reads nothing from disk
// and creates nothing.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultListen  = "127.0.0.1:7780"
	DefaultDataDir = "./opensts-data"
	DefaultRegion  = "us-east-1"
	// DefaultMaxBodyBytes bounds a request body: the largest IAM policy
	// document is 131072 characters, URL-encoded up to three times that.
	DefaultMaxBodyBytes = 1 << 20
)

// Config is everything the server needs to start.
type Config struct {
	Listen string
	// MetricsListen, when set, serves GET /metrics on its own listener
	// (plain HTTP) and not on Listen.
	MetricsListen string
	DataDir       string
	Region        string
	TLSCert       string
	TLSKey        string

	// MasterKey is the 32-byte key that seals secrets at rest, from
	// OPENSTS_MASTER_KEY; MasterKeyFile names a file holding it (base64).
	// With neither, the server generates one into the data directory.
	MasterKey     []byte
	MasterKeyFile string

	// Bootstrap of an empty data directory.
	AccountID string // OPENSTS_ACCOUNT_ID
	// AccountEmail is the management account's e-mail address
	// (OPENSTS_ACCOUNT_EMAIL): set on the first start, or on a later start
	// of a deployment whose management account has none.
	AccountEmail string
	// LDAPDefaultProvider is the LDAP provider (its ARN) of
	// AssumeRoleWithLDAPIdentity requests that name no role and no
	// provider, as MinIO's clients send them (--ldap-default-provider,
	// OPENSTS_LDAP_DEFAULT_PROVIDER).
	LDAPDefaultProvider string
	RootAccessKeyID     string // OPENSTS_ROOT_ACCESS_KEY_ID
	RootSecretAccessKey string // OPENSTS_ROOT_SECRET_ACCESS_KEY

	// Store names the backend: "sqlite" (default, in the data directory)
	// or "postgres" (DatabaseURL, from OPENSTS_DATABASE_URL), which several
	// nodes can share.
	Store       string
	DatabaseURL string

	MaxBodyBytes int64
	// KeyRotation is how old the newest session signing key may get before
	// a new one replaces it.
	KeyRotation time.Duration
	// SessionTokenVersion is the session token format minted: 3 (sealed,
	// the default) or 2 (readable by the holder) while a rolling upgrade
	// has nodes of the release before sealed tokens, which cannot read
	// version 3 (see session.Config.TokenVersion).
	SessionTokenVersion int
	// RefreshInterval bounds how long a change made through another node
	// (policies, keys) takes to reach this one.
	RefreshInterval time.Duration

	// OIDCTimeout bounds one fetch of an OIDC provider's discovery
	// document and keys (AssumeRoleWithWebIdentity answers
	// IDPCommunicationError past it); OIDCMinRefresh is the least time
	// between two fetches for one provider (a flood of tokens naming
	// unknown keys costs the provider one request per interval).
	OIDCTimeout    time.Duration
	OIDCMinRefresh time.Duration
	// OIDCVerifiedCacheBytes bounds the cache of web identity tokens whose
	// signature verified (0: 4 MiB; negative: none).
	OIDCVerifiedCacheBytes int

	// WebIdentityIssuer, when set, makes OpenSTS an OIDC issuer
	// (GetWebIdentityToken): the https URL that is every token's iss and
	// under which this server answers /.well-known/openid-configuration
	// and /.well-known/jwks.json (--web-identity-issuer). Without it
	// GetWebIdentityToken answers
	// OutboundWebIdentityFederationDisabledException.
	WebIdentityIssuer string

	// Audit trail (internal/audit): on unless Audit is cleared (--audit=false). AuditDir
	// defaults to DATA_DIR/audit. A file is closed and signed once it
	// holds AuditMaxBytes or is AuditMaxAge old; closed files older than
	// AuditRetention are removed (0 keeps them). AuditStrict fails a
	// request (ServiceUnavailable) whose event cannot be written, instead
	// of counting it as dropped. AuditIndexBytes bounds the index
	// LookupEvents answers from (0: audit.DefaultIndexBytes).
	Audit           bool
	AuditDir        string
	AuditMaxBytes   int64
	AuditMaxAge     time.Duration
	AuditRetention  time.Duration
	AuditStrict     bool
	AuditIndexBytes int64

	// Detection (internal/detect): rules and baselines over the audit
	// events, on unless Detect is cleared (--detect=false); AlertRules is
	// a YAML or JSON rules file (--alert-rules; built-in defaults when
	// empty).
	Detect     bool
	AlertRules string
	// Audit sinks (internal/audit/webhook, internal/audit/pgsink): a
	// webhook POSTs records in batches to AuditWebhookURL with
	// AuditWebhookHeaders ("Name: value", from --audit-webhook-header and
	// OPENSTS_AUDIT_WEBHOOK_HEADERS, one a line) and a buffer of
	// AuditWebhookBufferBytes (0: 16 MiB). AuditDatabase (default true)
	// writes every node's events to PostgreSQL's audit_events, from which
	// LookupEvents then answers, when the store is postgres.
	AuditWebhookURL         string
	AuditWebhookHeaders     []string
	AuditWebhookBufferBytes int64
	AuditDatabase           bool
}

// Default returns a Config with every default set.
func Default() Config {
	return Config{
		Listen:              DefaultListen,
		DataDir:             DefaultDataDir,
		Region:              DefaultRegion,
		Store:               "sqlite",
		MaxBodyBytes:        DefaultMaxBodyBytes,
		KeyRotation:         24 * time.Hour,
		SessionTokenVersion: 3,
		RefreshInterval:     time.Second,
		OIDCTimeout:         5 * time.Second,
		OIDCMinRefresh:      30 * time.Second,
		Audit:               true,
		Detect:              true,
		AuditMaxBytes:       64 << 20,
		AuditMaxAge:         time.Hour,
		AuditDatabase:       true,
	}
}

// ApplyEnv reads the OPENSTS_* environment variables through getenv.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if v := getenv("OPENSTS_AUDIT_WEBHOOK_HEADERS"); v != "" {
		for h := range strings.Lines(v) {
			if h = strings.TrimSpace(h); h != "" {
				c.AuditWebhookHeaders = append(c.AuditWebhookHeaders, h)
			}
		}
	}
	if v := getenv("OPENSTS_MASTER_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("OPENSTS_MASTER_KEY: not base64: %w", err)
		}
		c.MasterKey = k
	}
	if v := getenv("OPENSTS_DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	c.AccountID = getenv("OPENSTS_ACCOUNT_ID")
	c.AccountEmail = getenv("OPENSTS_ACCOUNT_EMAIL")
	if v := getenv("OPENSTS_LDAP_DEFAULT_PROVIDER"); v != "" {
		c.LDAPDefaultProvider = v
	}
	c.RootAccessKeyID = getenv("OPENSTS_ROOT_ACCESS_KEY_ID")
	c.RootSecretAccessKey = getenv("OPENSTS_ROOT_SECRET_ACCESS_KEY")
	return nil
}

// emailPattern is the Organizations model's shape of an e-mail address.
var emailPattern = regexp.MustCompile(`^[^\s@]{1,58}@[^\s@]+\.[^\s@]+$`)

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("--metrics-listen %q: %w", c.MetricsListen, err)
		}
	}
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if c.SessionTokenVersion != 0 && c.SessionTokenVersion != 2 && c.SessionTokenVersion != 3 {
		return fmt.Errorf("--session-token-version %d: want 2 or 3", c.SessionTokenVersion)
	}
	if c.Region == "" {
		return errors.New("--region must not be empty")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.MasterKey != nil && len(c.MasterKey) != 32 {
		return fmt.Errorf("OPENSTS_MASTER_KEY must decode to 32 bytes, got %d", len(c.MasterKey))
	}
	if c.AccountID != "" && (len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "") {
		return fmt.Errorf("OPENSTS_ACCOUNT_ID must be 12 digits")
	}
	if c.AccountEmail != "" && !emailPattern.MatchString(c.AccountEmail) {
		return errors.New("OPENSTS_ACCOUNT_EMAIL must be an e-mail address of 6-64 characters")
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		return errors.New("OPENSTS_ROOT_ACCESS_KEY_ID and OPENSTS_ROOT_SECRET_ACCESS_KEY go together")
	}
	if c.RootAccessKeyID != "" {
		if len(c.RootAccessKeyID) < 16 || len(c.RootAccessKeyID) > 128 || strings.Trim(c.RootAccessKeyID, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return errors.New("OPENSTS_ROOT_ACCESS_KEY_ID must be 16-128 upper-case letters and digits")
		}
		if strings.HasPrefix(c.RootAccessKeyID, "ASIA") {
			return errors.New("OPENSTS_ROOT_ACCESS_KEY_ID must not start with ASIA (reserved for temporary credentials)")
		}
		if len(c.RootSecretAccessKey) < 16 {
			return errors.New("OPENSTS_ROOT_SECRET_ACCESS_KEY is too short")
		}
	}
	// The store backend is checked against the server's registry of
	// backends (server.validate), the one place that lists them.
	if c.Audit && (c.AuditMaxBytes < 4096 || c.AuditMaxAge < time.Second || c.AuditRetention < 0) {
		return errors.New("--audit-max-bytes must be at least 4096, --audit-max-age at least 1s, --audit-retention not negative")
	}
	if c.AuditWebhookBufferBytes != 0 && c.AuditWebhookBufferBytes < 64<<10 {
		return errors.New("--audit-webhook-buffer-bytes must be at least 65536")
	}
	if c.MaxBodyBytes <= 0 {
		return errors.New("max body bytes must be positive")
	}
	return nil
}

package server

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/config"
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

// openTrail opens the audit trail, its digests signed with a key derived
// from the master key.
func openTrail(cfg config.Config, masterKey []byte, account string, now func() time.Time, log *slog.Logger) (*audit.Trail, error) {
	key, err := audit.DeriveKey(masterKey)
	if err != nil {
		return nil, err
	}
	return audit.Open(audit.Config{
		Dir: AuditDir(cfg), MaxBytes: cfg.AuditMaxBytes, MaxAge: cfg.AuditMaxAge, Retention: cfg.AuditRetention,
		Strict: cfg.AuditStrict, Key: key, Now: now, Log: log,
		Build: audit.BuildConfig{Region: cfg.Region, Account: account},
	})
}

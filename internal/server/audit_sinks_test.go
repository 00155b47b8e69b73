package server

import (
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/config"
)

// TestAuditSinkFlagsChecked: bad webhook flags stop the server before it
// touches anything, with a message naming the flag.
func TestAuditSinkFlagsChecked(t *testing.T) {
	for _, c := range []struct {
		url     string
		headers []string
		want    string
	}{
		{"ftp://hooks.example", nil, "--audit-webhook-url"},
		{"hooks.example:443", nil, "--audit-webhook-url"},
		{"https://hooks.example", []string{"Authorization"}, "--audit-webhook-header"},
		{"https://hooks.example", []string{"X-Bad\r\nName: v"}, "--audit-webhook-header"},
		{"", []string{"Authorization: Bearer x"}, "needs --audit-webhook-url"},
	} {
		cfg := config.Default()
		cfg.AuditWebhookURL, cfg.AuditWebhookHeaders = c.url, c.headers
		if err := validateSinks(cfg); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Bearer") {
			t.Errorf("%q %q: %v", c.url, c.headers, err)
		}
	}
	cfg := config.Default()
	cfg.AuditWebhookURL, cfg.AuditWebhookHeaders = "https://hooks.example/x?k=1", []string{"Authorization: Bearer x", "X-Team: sec"}
	if err := validateSinks(cfg); err != nil {
		t.Fatal(err)
	}
}

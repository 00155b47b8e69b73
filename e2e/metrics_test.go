package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// scrape reads /metrics and returns the raw exposition and its families.
func (e *env) scrape(t *testing.T) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(e.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return string(b), fams
}

// counter is the value of the series of family name whose labels include want.
func counter(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		sum += m.GetCounter().GetValue()
	}
	return sum
}

// histogramCount is the sample count of the histograms of family name
// whose labels include want.
func histogramCount(fams map[string]*dto.MetricFamily, name string, want map[string]string) uint64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var n uint64
next:
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "alice")
	roleARN := e.role(t, "app", "/team/", trustAccount)
	alice := e.sts(akid, secret, "")
	_, before := e.scrape(t)

	_, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("metrics-session-name")})
	wantCode(t, err, "AccessDenied")
	e.userPolicy(t, "alice", "assume", allow("sts:AssumeRole", roleARN))
	out := must[*sts.AssumeRoleOutput](t)(alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("metrics-session-name")}))
	gst := must[*sts.GetSessionTokenOutput](t)(alice.GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
	_, err = e.sts(akid, "wrongwrongwrongwrongwrongwrongwrongwrong", "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "SignatureDoesNotMatch")

	text, after := e.scrape(t)
	delta := func(name string, labels map[string]string) float64 {
		return counter(after, name, labels) - counter(before, name, labels)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"opensts_requests_total", map[string]string{"service": "sts", "action": "AssumeRole", "error_code": "AccessDenied"}, 1},
		{"opensts_requests_total", map[string]string{"service": "sts", "action": "AssumeRole", "error_code": "none"}, 1},
		{"opensts_requests_total", map[string]string{"service": "sts", "action": "GetSessionToken", "error_code": "none"}, 1},
		{"opensts_requests_total", map[string]string{"service": "sts", "action": "GetCallerIdentity", "error_code": "SignatureDoesNotMatch"}, 1},
		{"opensts_sessions_issued_total", map[string]string{"account": "123456789012", "role": "app", "kind": "assume_role"}, 1},
		{"opensts_authz_denials_total", map[string]string{"policy_kind": "identity", "effect": "implicit"}, 1},
		{"opensts_sessions_issued_total", map[string]string{"account": "123456789012", "role": "", "kind": "session_token"}, 1},
	} {
		if got := delta(c.name, c.labels); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The user policy above was a write; reading alice's key and the
	// role when first used were reads.
	for _, op := range []string{"read", "write"} {
		if n := histogramCount(after, "opensts_store_duration_seconds", map[string]string{"op": op}) -
			histogramCount(before, "opensts_store_duration_seconds", map[string]string{"op": op}); n < 1 {
			t.Errorf("opensts_store_duration_seconds{op=%q} counted %d operations", op, n)
		}
	}
	if f := after["opensts_request_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("opensts_request_duration_seconds is not a histogram: %v", f)
	}
	for _, name := range []string{"opensts_signing_key_age_seconds", "opensts_audit_backlog_events", "opensts_audit_dropped_events_total", "opensts_cache_mapped_bytes", "go_goroutines", "process_cpu_seconds_total"} {
		if after[name] == nil || len(after[name].GetMetric()) == 0 {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	for _, secret := range []string{akid, secret, "metrics-session-name", *out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey,
		*out.Credentials.SessionToken, *gst.Credentials.AccessKeyId, *gst.Credentials.SecretAccessKey, *gst.Credentials.SessionToken} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics holds a secret or an unbounded value: %.12s...", secret)
		}
	}
}

func TestMetricsListen(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config, _ *server.Options) { c.MetricsListen = "127.0.0.1:0" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.ServeMetrics(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("metrics listener: %v", err)
		}
	})

	must[*sts.GetCallerIdentityOutput](t)(e.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	resp, err := http.Get(e.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("main listener GET /metrics = %d, want 404", resp.StatusCode)
	}
	other := &env{endpoint: "http://" + ln.Addr().String()}
	_, fams := other.scrape(t)
	if got := counter(fams, "opensts_requests_total", map[string]string{"service": "sts", "action": "GetCallerIdentity", "error_code": "none"}); got != 1 {
		t.Errorf("metrics listener: GetCallerIdentity count = %v, want 1", got)
	}
}

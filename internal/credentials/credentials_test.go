package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeAssume mints numbered credentials that live for life.
func fakeAssume(clk *testClock, life time.Duration, n *atomic.Int32) AssumeFunc {
	return func(context.Context) (aws.Credentials, error) {
		i := n.Add(1)
		return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIA%016d", i), SecretAccessKey: fmt.Sprintf("secret-%d", i),
			SessionToken: fmt.Sprintf("token-%d", i), CanExpire: true, Expires: clk.Now().Add(life)}, nil
	}
}

func TestSourceNeverServesExpired(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	var n atomic.Int32
	s := NewSource(Config{RoleARN: "arn:aws:iam::123456789012:role/path/app", Assume: fakeAssume(clk, time.Hour, &n), Now: clk.Now})
	if _, _, err := s.Get(); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("before the first refresh: %v", err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.RoleName() != "app" {
		t.Errorf("role name %q", s.RoleName())
	}
	// A quarter of an hour before expiry it is due.
	if got, want := s.due(), clk.Now().Add(45*time.Minute); !got.Equal(want) {
		t.Errorf("due %v, want %v", got, want)
	}
	clk.Add(time.Hour)
	if _, _, err := s.Get(); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("expired credentials served: %v", err)
	}
	// A failed refresh is reported by Get once nothing valid is left.
	s.cfg.Assume = func(context.Context) (aws.Credentials, error) { return aws.Credentials{}, errors.New("AccessDenied") }
	if err := s.Refresh(context.Background()); err == nil {
		t.Fatal("refresh did not fail")
	}
	if _, _, err := s.Get(); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Get: %v", err)
	}
}

func TestSourceRunRefreshesBeforeExpiry(t *testing.T) {
	var n atomic.Int32
	// Real clock, credentials that live 1.2 s with a 1 s margin: Run must
	// replace them about every 0.2 s (at most once a second, its floor).
	s := NewSource(Config{RoleARN: "arn:aws:iam::123456789012:role/app", Margin: time.Second,
		Assume: func(context.Context) (aws.Credentials, error) {
			i := n.Add(1)
			return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIA%d", i), CanExpire: true, Expires: time.Now().Add(1200 * time.Millisecond)}, nil
		}})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for n.Load() < 3 && time.Now().Before(deadline) {
		if _, _, err := s.Get(); err != nil {
			t.Fatalf("no valid credentials between refreshes: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if n.Load() < 3 {
		t.Fatalf("%d refreshes", n.Load())
	}
}

func newTestSource(t *testing.T) (*Source, *testClock) {
	clk := &testClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	var n atomic.Int32
	s := NewSource(Config{RoleARN: "arn:aws:iam::123456789012:role/app", Assume: fakeAssume(clk, time.Hour, &n), Now: clk.Now})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestContainerToken(t *testing.T) {
	s, _ := newTestSource(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &Container{Source: s, TokenFile: file}
	get := func(auth, method string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/creds", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, auth := range []string{"", "s3cr3t-toke", "s3cr3t-token2", "Bearer s3cr3t-token"} {
		w := get(auth, "GET")
		if w.Code != 401 || strings.Contains(w.Body.String(), "secret-") || strings.Contains(w.Body.String(), "s3cr3t") {
			t.Errorf("Authorization %q: %d %s", auth, w.Code, w.Body)
		}
	}
	if w := get("s3cr3t-token", "POST"); w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
	w := get("s3cr3t-token", "GET")
	var c containerCredentials
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if c.AccessKeyID != "ASIA0000000000000001" || c.SecretAccessKey != "secret-1" || c.Token != "token-1" ||
		c.Expiration != "2026-12-04T13:00:00Z" || c.RoleArn != "arn:aws:iam::123456789012:role/app" {
		t.Errorf("%+v", c)
	}
	// The file is read on every request: a rotated token applies at once,
	// and an unreadable or empty one lets nothing through.
	if err := os.WriteFile(file, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := get("s3cr3t-token", "GET"); w.Code != 401 {
		t.Errorf("old token after rotation: %d", w.Code)
	}
	if w := get("rotated", "GET"); w.Code != 200 {
		t.Errorf("new token: %d", w.Code)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if w := get("", "GET"); w.Code != 401 {
		t.Errorf("empty token file: %d", w.Code)
	}
	os.Remove(file)
	if w := get("rotated", "GET"); w.Code != 500 || strings.Contains(w.Body.String(), "secret-") {
		t.Errorf("missing token file: %d %s", w.Code, w.Body)
	}
}

func TestIMDS(t *testing.T) {
	s, clk := newTestSource(t)
	m := NewIMDS(s)
	do := func(method, path string, h map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.Host = "169.254.169.254"
		for k, v := range h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		return w
	}
	for _, ttl := range []string{"", "0", "21601", "-5", "x"} {
		if w := do("PUT", "/latest/api/token", map[string]string{tokenTTLHeader: ttl}); w.Code != 400 {
			t.Errorf("ttl %q: %d", ttl, w.Code)
		}
	}
	if w := do("GET", "/latest/api/token", map[string]string{tokenTTLHeader: "60"}); w.Code != 405 {
		t.Errorf("GET token: %d", w.Code)
	}
	if w := do("PUT", "/latest/api/token", map[string]string{tokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.9"}); w.Code != 403 {
		t.Errorf("proxied token request: %d", w.Code)
	}
	w := do("PUT", "/latest/api/token", map[string]string{tokenTTLHeader: "60"})
	tok := w.Body.String()
	if w.Code != 200 || tok == "" || w.Header().Get(tokenTTLHeader) != "60" {
		t.Fatalf("token: %d %q", w.Code, tok)
	}
	// IMDSv1 (no token), and forged, tampered or truncated tokens.
	forged := NewIMDS(s).mint(clk.Now().Add(time.Hour))
	tampered := []byte(tok)
	tampered[3] ^= 1
	for _, bad := range []string{"", forged, string(tampered), tok[:len(tok)-2], tok + "AA"} {
		if w := do("GET", credsPath+"app", map[string]string{tokenHeader: bad}); w.Code != 401 || strings.Contains(w.Body.String(), "secret") {
			t.Errorf("token %q: %d", bad, w.Code)
		}
	}
	h := map[string]string{tokenHeader: tok}
	if w := do("GET", credsPath, h); w.Code != 200 || w.Body.String() != "app" {
		t.Errorf("role list: %d %q", w.Code, w.Body)
	}
	if w := do("GET", credsPath+"other", h); w.Code != 404 {
		t.Errorf("other role: %d", w.Code)
	}
	if w := do("GET", "/latest/meta-data/iam/security-credentials-extended/app", h); w.Code != 404 {
		t.Errorf("unknown path: %d", w.Code)
	}
	w = do("GET", credsPath+"app", h)
	var c map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if c["Code"] != "Success" || c["Type"] != "AWS-HMAC" || c["AccessKeyId"] != "ASIA0000000000000001" || c["Token"] != "token-1" ||
		c["Expiration"] != "2026-12-04T13:00:00Z" || c["LastUpdated"] != "2026-12-04T12:00:00Z" {
		t.Errorf("%v", c)
	}
	// Tokens expire after their TTL.
	clk.Add(61 * time.Second)
	if w := do("GET", credsPath+"app", h); w.Code != 401 {
		t.Errorf("expired token: %d", w.Code)
	}
}

// The hop limit is the TTL of what the listener's connections send.
func TestListenerHopLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := Listener{Listener: ln, Hops: 1}
	got := make(chan int, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		h, err := Hops(c)
		if err != nil {
			h = -1
		}
		got <- h
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if h := <-got; h != 1 {
		t.Fatalf("server side TTL %d, want 1", h)
	}
	// A fresh connection has the system default.
	if h, err := Hops(c); err != nil || h <= 1 {
		t.Fatalf("client TTL %d %v", h, err)
	}
}

func TestProcessOutput(t *testing.T) {
	s, _ := newTestSource(t)
	b, err := ProcessOutput(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":1,"AccessKeyId":"ASIA0000000000000001","SecretAccessKey":"secret-1","SessionToken":"token-1","Expiration":"2026-12-04T13:00:00Z"}`
	if string(b) != want {
		t.Errorf("%s", b)
	}
}

// Without a token file the container endpoint's address is its only guard,
// and IMDS has no secret a page lacks: a request naming any other host (a
// page whose name was rebound to the address, DNS rebinding) gets nothing.
func TestCredentialsRefuseRebinding(t *testing.T) {
	s, _ := newTestSource(t)
	m := NewIMDS(s)
	c := &Container{Source: s}
	serve := func(h http.Handler, method, host, path string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.Host = host
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, host := range []string{"attacker.example:9911", "attacker.example", "127.0.0.1.attacker.example", "localhost.attacker.example:80", ""} {
		if w := serve(c, "GET", host, "/", nil); w.Code != 403 || strings.Contains(w.Body.String(), "secret-") {
			t.Errorf("container, Host %q: %d %s", host, w.Code, w.Body)
		}
		if w := serve(m, "PUT", host, "/latest/api/token", map[string]string{tokenTTLHeader: "60"}); w.Code != 403 || w.Body.Len() != 0 {
			t.Errorf("IMDS token, Host %q: %d %s", host, w.Code, w.Body)
		}
	}
	for _, host := range []string{"127.0.0.1:9911", "localhost:9911", "LOCALHOST", "169.254.170.2", "[fd00:ec2::23]:80", "[::1]:9911"} {
		if w := serve(c, "GET", host, "/", nil); w.Code != 200 || !strings.Contains(w.Body.String(), "secret-") {
			t.Errorf("container, Host %q: %d %s", host, w.Code, w.Body)
		}
	}
	tok := serve(m, "PUT", "169.254.169.254", "/latest/api/token", map[string]string{tokenTTLHeader: "60"}).Body.String()
	if w := serve(m, "GET", "attacker.example", credsPath+"app", map[string]string{tokenHeader: tok}); w.Code != 403 {
		t.Errorf("IMDS credentials with a token, foreign Host: %d", w.Code)
	}
	if w := serve(m, "GET", "169.254.169.254", credsPath+"app", map[string]string{tokenHeader: tok}); w.Code != 200 {
		t.Errorf("IMDS credentials: %d", w.Code)
	}
	// With a token file the token guards the endpoint, whatever the host.
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := serve(&Container{Source: s, TokenFile: file}, "GET", "creds.internal:9911", "/", map[string]string{"Authorization": "tok"}); w.Code != 200 {
		t.Errorf("token file, named host: %d", w.Code)
	}
}

// Package e2e drives a real OpenSTS server over HTTP with the clients users
// have: aws-sdk-go-v2 in process, and the AWS CLI and boto3 as programs.
package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

const (
	testAccount    = "123456789012"
	testRootKeyID  = "AKIAOPENSTSTESTROOT1"
	testRootSecret = "rootSecretKeyForTestsOnly/0123456789abcd"
	testMasterKey  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, tests only
)

// env is one running server.
type env struct {
	t        testing.TB
	endpoint string
	srv      *server.Server
	dataDir  string
	cancel   context.CancelFunc
	served   chan error
	// transport is the env's own (http.DefaultTransport is shared with
	// every test of the package, and each httptest.Server.Close closes its
	// idle connections), its connections traced (conntrace_test.go).
	transport *http.Transport
}

type envOption func(*config.Config, *server.Options)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func withClock(c *clock) envOption {
	return func(_ *config.Config, o *server.Options) { o.Now = c.Now }
}

// start runs a server on a loopback port with fixed bootstrap credentials.
func start(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return startIn(t, t.TempDir(), opts...)
}

func startIn(t *testing.T, dataDir string, opts ...envOption) *env {
	t.Helper()
	return startTB(t, dataDir, opts...)
}

func startTB(t testing.TB, dataDir string, opts ...envOption) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Listen = "127.0.0.1:0"
	mk, _ := base64.StdEncoding.DecodeString(testMasterKey)
	cfg.MasterKey = mk
	cfg.AccountID = testAccount
	cfg.RootAccessKeyID = testRootKeyID
	cfg.RootSecretAccessKey = testRootSecret
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opt := server.Options{Logger: log, Stderr: io.Discard}
	for _, o := range opts {
		o(&cfg, &opt)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, opt)
	if err != nil {
		ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, endpoint: "http://" + ln.Addr().String(), srv: srv, dataDir: dataDir, cancel: cancel, served: make(chan error, 1),
		transport: http.DefaultTransport.(*http.Transport).Clone()}
	e.transport.DialContext = tracedDial
	t.Cleanup(e.transport.CloseIdleConnections)
	go func() { e.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	if err := <-e.served; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
		e.t.Errorf("serve: %v", err)
	}
	if err := e.srv.Close(); err != nil {
		e.t.Errorf("close server: %v", err)
	}
	e.cancel = nil
}

// roundTripper is the env's transport, or the shared one for an env made
// around a server started otherwise (a process of the binary).
func (e *env) roundTripper() http.RoundTripper {
	if e.transport == nil {
		return http.DefaultTransport
	}
	return e.transport
}

func (e *env) awsConfig(akid, secret, token string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint: aws.String(e.endpoint),
		Retryer:      clientRetryer,
		HTTPClient:   &http.Client{Timeout: 30 * time.Second, Transport: e.roundTripper()},
	}
}

func (e *env) sts(akid, secret, token string) *sts.Client {
	return sts.NewFromConfig(e.awsConfig(akid, secret, token))
}

func (e *env) iam(akid, secret, token string) *iam.Client {
	return iam.NewFromConfig(e.awsConfig(akid, secret, token))
}

func (e *env) rootSTS() *sts.Client { return e.sts(testRootKeyID, testRootSecret, "") }
func (e *env) rootIAM() *iam.Client { return e.iam(testRootKeyID, testRootSecret, "") }

// apiCode returns the AWS error code of err, failing the test when err is
// not an API error.
func apiCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apiCode(t, err); got != code {
		t.Fatalf("error code = %s, want %s (%v)", got, code, err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/sigv4"
)

// The handler benchmarks run one signed request through Server.Handler in
// process, without a network: what the server adds per request on top of
// net/http. BenchmarkServeAssumeRoleParallel is the shape of the HTTP load
// test (concurrent requests, batched token signing).
//
//	go test ./internal/server -run '^$' -bench ServeAssumeRole -benchmem

const (
	benchAccount = "123456789012"
	benchRootKey = "AKIAOPENSTSBENCH0001"
	benchRootSec = "benchRootSecretForBenchmarksOnly01234567"
)

func benchServer(b testing.TB, opts ...func(*config.Config)) *Server {
	b.Helper()
	return benchServerWith(b, Options{}, opts...)
}

// benchServerWith is benchServer with more options (opt's Logger and Stderr
// are replaced).
func benchServerWith(b testing.TB, opt Options, opts ...func(*config.Config)) *Server {
	b.Helper()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
	for _, o := range opts {
		o(&cfg)
	}
	opt.Logger, opt.Stderr = slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard
	s, err := New(context.Background(), cfg, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	lastBenchServer = s
	return s
}

// lastBenchServer is the server benchServer made last (benchmarks that
// reach into it after benchAssumeRole).
var lastBenchServer *Server

// signedRequest builds a signed Query request for service with form.
func signedRequest(b testing.TB, service, key, secret string, form url.Values) (*http.Request, []byte) {
	b.Helper()
	body := []byte(form.Encode())
	req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.Sign(req, body, key, secret, "", "us-east-1", service, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
	return req, body
}

// call runs one request and returns the body, failing on a non-200 answer.
func call(b *testing.B, h http.Handler, service, key, secret string, form url.Values) []byte {
	b.Helper()
	req, _ := signedRequest(b, service, key, secret, form)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("%s: %d %s", form.Get("Action"), rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// benchAssumeRole creates a user with a key and a role trusting it and
// returns the handler and one signed AssumeRole request (body and header).
func benchAssumeRole(b *testing.B, opts ...func(*config.Config)) (http.Handler, []byte, http.Header) {
	s := benchServer(b, opts...)
	h := s.Handler()
	iamCall := func(form url.Values) []byte {
		form.Set("Version", "2010-05-08")
		return call(b, h, "iam", benchRootKey, benchRootSec, form)
	}
	iamCall(url.Values{"Action": {"CreateUser"}, "UserName": {"bench"}})
	var key struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(iamCall(url.Values{"Action": {"CreateAccessKey"}, "UserName": {"bench"}}), &key); err != nil {
		b.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + benchAccount + `:user/bench"},"Action":"sts:AssumeRole"}]}`
	iamCall(url.Values{"Action": {"CreateRole"}, "RoleName": {"bench-role"}, "AssumeRolePolicyDocument": {trust}})
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + benchAccount + ":role/bench-role"}, "RoleSessionName": {"bench"}, "DurationSeconds": {"900"}}
	req, body := signedRequest(b, "sts", key.ID, key.Secret, form)
	out := call(b, h, "sts", key.ID, key.Secret, form)
	if !bytes.Contains(out, []byte("<SessionToken>")) {
		b.Fatalf("AssumeRole: %s", out)
	}
	return h, body, req.Header
}

// discardWriter is a reusable ResponseWriter that keeps the status and the
// size of the body.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(p)
	return len(p), nil
}

// replay serves the request repeatedly, as a load generator replays it.
func replay(b *testing.B, h http.Handler, body []byte, header http.Header, loop func(func() bool)) {
	loop(func() bool {
		req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		req.Header = header.Clone()
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != 200 || w.n < 500 {
			b.Errorf("AssumeRole: status %d, %d bytes", w.status, w.n)
			return false
		}
		return true
	})
}

func BenchmarkServeAssumeRole(b *testing.B) {
	h, body, header := benchAssumeRole(b)
	b.ReportAllocs()
	b.ResetTimer()
	replay(b, h, body, header, func(f func() bool) {
		for b.Loop() {
			if !f() {
				return
			}
		}
	})
}

func BenchmarkServeAssumeRoleParallel(b *testing.B) {
	h, body, header := benchAssumeRole(b)
	b.ReportAllocs()
	b.SetParallelism(16) // 32 goroutines on 2 CPUs, as 32 connections
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		replay(b, h, body, header, func(f func() bool) {
			for pb.Next() {
				if !f() {
					return
				}
			}
		})
	})
}

// BenchmarkServeAssumeRoleAudit compares AssumeRole throughput with the
// audit trail off, on (the default file sink) and strict, in one run:
//
//	go test ./internal/server -run '^$' -bench ServeAssumeRoleAudit -benchmem -count 5
func BenchmarkServeAssumeRoleAudit(b *testing.B) {
	for _, mode := range []struct {
		name string
		set  func(*config.Config)
	}{
		{"off", func(c *config.Config) { c.Audit = false }},
		{"file", func(c *config.Config) { c.Audit = true }},
		{"strict", func(c *config.Config) { c.Audit, c.AuditStrict = true, true }},
	} {
		b.Run(mode.name, func(b *testing.B) {
			h, body, header := benchAssumeRole(b, mode.set)
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				replay(b, h, body, header, func(f func() bool) {
					for pb.Next() {
						if !f() {
							return
						}
					}
				})
			})
			// The process's CPU time per request (the trail's writer
			// included): steadier than ns/op on a shared machine.
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/opensts/opensts/internal/config"
)

// BenchmarkAssumeRoleWithWebIdentity runs AssumeRoleWithWebIdentity (RS256
// token, warm JWKS cache, unsigned request) through Server.Handler, next to
// the AssumeRole benchmarks. The same token is presented again and again,
// as a workload does with its token file: its signature is verified once
// (the verified-token cache), its claims and the trust policy on every
// call. The Uncached variants verify the signature on every call, as for a
// new token each time.
//
//	go test ./internal/server -run '^$' -bench AssumeRoleWithWebIdentity -benchmem
func BenchmarkAssumeRoleWithWebIdentity(b *testing.B) {
	h, body := benchWebIdentity(b, 0)
	b.ReportAllocs()
	b.ResetTimer()
	replayUnsigned(b, h, body, func(f func() bool) {
		for b.Loop() {
			if !f() {
				return
			}
		}
	})
}

func BenchmarkAssumeRoleWithWebIdentityParallel(b *testing.B) {
	benchWebIdentityParallel(b, 0)
}

func BenchmarkAssumeRoleWithWebIdentityUncached(b *testing.B) {
	h, body := benchWebIdentity(b, -1)
	b.ReportAllocs()
	b.ResetTimer()
	replayUnsigned(b, h, body, func(f func() bool) {
		for b.Loop() {
			if !f() {
				return
			}
		}
	})
}

func BenchmarkAssumeRoleWithWebIdentityUncachedParallel(b *testing.B) {
	benchWebIdentityParallel(b, -1)
}

func benchWebIdentityParallel(b *testing.B, verifiedCache int) {
	h, body := benchWebIdentity(b, verifiedCache)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		replayUnsigned(b, h, body, func(f func() bool) {
			for pb.Next() {
				if !f() {
					return
				}
			}
		})
	})
}

// benchWebIdentity starts an IdP (httptest TLS, pinned by the thumbprint
// of its self-signed certificate), registers it, creates a role trusting it
// and returns the handler and one request body, after a first call that
// warms the JWKS cache.
func benchWebIdentity(b *testing.B, verifiedCache int) (http.Handler, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	var issuer string
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/jwks"})
		case "/jwks":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	b.Cleanup(idp.Close)
	issuer = idp.URL
	sum := sha1.Sum(idp.Certificate().Raw)

	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
	cfg.OIDCVerifiedCacheBytes = verifiedCache
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	h := s.Handler()
	iamCall := func(form url.Values) []byte {
		form.Set("Version", "2010-05-08")
		return call(b, h, "iam", benchRootKey, benchRootSec, form)
	}
	iamCall(url.Values{"Action": {"CreateOpenIDConnectProvider"}, "Url": {issuer}, "ClientIDList.member.1": {"bench"}, "ThumbprintList.member.1": {hex.EncodeToString(sum[:])}})
	name := issuer[len("https://"):]
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + benchAccount + `:oidc-provider/` + name + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + name + `:aud":"bench","` + name + `:sub":"workload"}}}]}`
	iamCall(url.Values{"Action": {"CreateRole"}, "RoleName": {"web"}, "AssumeRolePolicyDocument": {trust}})

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"iss": issuer, "sub": "workload", "aud": "bench", "iat": now, "exp": now + 3600})
	jws, err := signer.Sign(payload)
	if err != nil {
		b.Fatal(err)
	}
	token, _ := jws.CompactSerialize()
	body := []byte(url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + benchAccount + ":role/web"},
		"RoleSessionName": {"bench"}, "DurationSeconds": {"900"}, "WebIdentityToken": {token}}.Encode())
	ok := false
	replayUnsigned(b, h, body, func(f func() bool) { ok = f() })
	if !ok {
		b.FailNow()
	}
	return h, body
}

// replayUnsigned serves an unsigned request repeatedly.
func replayUnsigned(b *testing.B, h http.Handler, body []byte, loop func(func() bool)) {
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	loop(func() bool {
		req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		req.Header = header.Clone()
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != 200 || w.n < 500 {
			b.Errorf("AssumeRoleWithWebIdentity: status %d, %d bytes", w.status, w.n)
			return false
		}
		return true
	})
}

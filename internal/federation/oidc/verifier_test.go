package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// fakeIdP serves discovery and a JWKS over TLS (httptest's self-signed
// certificate, which the tests pin by thumbprint).
type fakeIdP struct {
	srv     *httptest.Server
	mu      sync.Mutex
	jwks    jose.JSONWebKeySet
	fetches atomic.Int64
	hang    chan struct{}
	down    atomic.Bool
}

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{hang: make(chan struct{})}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			select {
			case <-f.hang:
			case <-r.Context().Done():
			}
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/keys"})
		case "/keys":
			f.fetches.Add(1)
			f.mu.Lock()
			defer f.mu.Unlock()
			_ = json.NewEncoder(w).Encode(f.jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(f.hang); f.srv.Close() })
	return f
}

func (f *fakeIdP) thumbprint() string {
	s := sha1.Sum(f.srv.Certificate().Raw)
	return hex.EncodeToString(s[:])
}

func (f *fakeIdP) provider() Provider {
	return Provider{URL: f.srv.URL, ClientIDs: []string{"app"}, Thumbprints: []string{f.thumbprint()}}
}

func (f *fakeIdP) publish(keys ...jose.JSONWebKey) {
	f.mu.Lock()
	f.jwks.Keys = keys
	f.mu.Unlock()
}

type testKey struct {
	priv any
	pub  jose.JSONWebKey
	alg  jose.SignatureAlgorithm
}

func rsaKey(t *testing.T, kid string) testKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: k, pub: jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}, alg: jose.RS256}
}

func ecKey(t *testing.T, kid string) testKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: k, pub: jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig"}, alg: jose.ES256}
}

func sign(t *testing.T, k testKey, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k.priv}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(claims)
	jws, err := s.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func claimsAt(iss string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "sub": "s1", "aud": "app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func verify(v *Verifier, p Provider, tok string) (*Claims, error) {
	t, err := Parse(tok)
	if err != nil {
		return nil, err
	}
	return v.Verify(context.Background(), t, p)
}

func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	if got := KindOf(err); got != k {
		t.Fatalf("error kind %d, want %d (%v)", got, k, err)
	}
}

func TestClaims(t *testing.T) {
	p := Provider{URL: "https://idp.example.com", ClientIDs: []string{"app", "cli"}}
	base := func() map[string]any { return claimsAt(p.URL, t0) }
	with := func(kv ...any) map[string]any {
		c := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	tests := []struct {
		name   string
		claims map[string]any
		now    time.Time
		kind   Kind
		client string
	}{
		{"ok", base(), t0, 0, "app"},
		{"aud array, second listed", with("aud", []string{"x", "cli"}), t0, 0, "cli"},
		{"azp listed wins", with("aud", []string{"x"}, "azp", "cli"), t0, 0, "cli"},
		{"azp unlisted, aud listed", with("azp", "x"), t0, 0, "app"},
		{"aud unlisted", with("aud", "x"), t0, Invalid, ""},
		{"aud missing", with("aud", nil), t0, Invalid, ""},
		{"aud not strings", with("aud", []any{1}), t0, Invalid, ""},
		{"wrong iss", with("iss", "https://idp.example.com/"), t0, Invalid, ""},
		{"exp missing", with("exp", nil), t0, Invalid, ""},
		{"exp a string", with("exp", "1"), t0, Invalid, ""},
		{"exp past, within skew", base(), t0.Add(time.Hour + Skew - time.Second), 0, "app"},
		{"exp past skew", base(), t0.Add(time.Hour + Skew), Expired, ""},
		{"nbf within skew", with("nbf", t0.Add(Skew).Unix()), t0, 0, "app"},
		{"nbf beyond skew", with("nbf", t0.Add(Skew+time.Second).Unix()), t0, Invalid, ""},
		{"iat beyond skew", with("iat", t0.Add(Skew+time.Second).Unix()), t0, Invalid, ""},
		{"exp fractional", with("exp", float64(t0.Add(time.Hour).Unix())+0.5), t0, 0, "app"},
		{"sub missing", with("sub", nil), t0, Rejected, ""},
		{"sub too long", with("sub", strings.Repeat("s", 256)), t0, Rejected, ""},
		{"tags malformed", with(tagsClaim, "x"), t0, Rejected, ""},
		{"tag with two values", with(tagsClaim, map[string]any{"principal_tags": map[string]any{"k": []string{"a", "b"}}}), t0, Rejected, ""},
		{"source identity not a string", with(sourceIdentityClaim, 1), t0, Rejected, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(tc.claims)
			raw, err := decodeClaims(b)
			if err != nil {
				t.Fatal(err)
			}
			c, err := checkClaims(raw, p, tc.now)
			wantKind(t, err, tc.kind)
			if err == nil && c.ClientID != tc.client {
				t.Errorf("client %q, want %q", c.ClientID, tc.client)
			}
		})
	}
	t.Run("expired message", func(t *testing.T) {
		b, _ := json.Marshal(base())
		raw, _ := decodeClaims(b)
		_, err := checkClaims(raw, p, t0.Add(2*time.Hour))
		want := "Token expired: current date/time 1767330245 must be before the expiration date/time1767326645"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
	t.Run("tags and source identity", func(t *testing.T) {
		b, _ := json.Marshal(with(tagsClaim, map[string]any{"principal_tags": map[string]any{"b": []string{"2"}, "a": "1"}, "transitive_tag_keys": []string{"a"}}, sourceIdentityClaim, "alice", "amr", []string{"pwd", "mfa"}))
		raw, _ := decodeClaims(b)
		c, err := checkClaims(raw, p, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tags) != 2 || c.Tags[0] != (Tag{"a", "1"}) || c.Tags[1] != (Tag{"b", "2"}) || strings.Join(c.TransitiveTagKeys, ",") != "a" || c.SourceIdentity != "alice" || strings.Join(c.AMR, ",") != "pwd,mfa" {
			t.Errorf("%+v", c)
		}
		if got := c.Strings["amr"]; strings.Join(got, ",") != "pwd,mfa" {
			t.Errorf("amr strings %v", got)
		}
	})
}

func TestVerifyRefetchIsRateLimited(t *testing.T) {
	f := newFakeIdP(t)
	k1, k2 := rsaKey(t, "k1"), ecKey(t, "k2")
	f.publish(k1.pub)
	clk := &fakeClock{now: time.Now()}
	v := New(Config{Now: clk.Now, MinRefresh: 30 * time.Second, TTL: time.Hour, Timeout: 2 * time.Second})
	p := f.provider()

	if _, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := f.fetches.Load(); n != 1 {
		t.Fatalf("fetches %d", n)
	}
	// Known kid: from the cache.
	for range 5 {
		if _, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now()))); err != nil {
			t.Fatal(err)
		}
	}
	// The provider rotates to k2; a token of k2 inside the interval is
	// refused without asking the provider.
	f.publish(k2.pub)
	_, err := verify(v, p, sign(t, k2, jose.ES256, "k2", claimsAt(p.URL, clk.Now())))
	wantKind(t, err, Invalid)
	for i := range 50 {
		_, err := verify(v, p, sign(t, k2, jose.ES256, "unknown"+string(rune('a'+i%26)), claimsAt(p.URL, clk.Now())))
		wantKind(t, err, Invalid)
	}
	if n := f.fetches.Load(); n != 1 {
		t.Fatalf("unknown kids inside the interval fetched %d times", n-1)
	}
	clk.Add(31 * time.Second)
	if _, err := verify(v, p, sign(t, k2, jose.ES256, "k2", claimsAt(p.URL, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := f.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d, want 2", n)
	}
	// The old key still verifies from the cache until the TTL ends.
	if _, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now()))); err == nil {
		t.Log("k1 was dropped by the refetch")
	}
}

func TestVerifyStaleKeysWhileProviderDown(t *testing.T) {
	f := newFakeIdP(t)
	k1 := rsaKey(t, "k1")
	f.publish(k1.pub)
	clk := &fakeClock{now: time.Now()}
	v := New(Config{Now: clk.Now, MinRefresh: time.Second, TTL: time.Minute, Timeout: 300 * time.Millisecond})
	p := f.provider()
	if _, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	clk.Add(90 * time.Second) // past TTL, within 2×TTL: served stale
	start := time.Now()
	if _, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now()))); err != nil {
		t.Fatalf("stale keys: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	clk.Add(2 * time.Minute) // past 2×TTL
	_, err := verify(v, p, sign(t, k1, jose.RS256, "k1", claimsAt(p.URL, clk.Now())))
	wantKind(t, err, Communication)
}

func TestVerifyTimeout(t *testing.T) {
	f := newFakeIdP(t)
	f.down.Store(true)
	v := New(Config{Timeout: 300 * time.Millisecond})
	p := f.provider()
	start := time.Now()
	_, err := verify(v, p, sign(t, rsaKey(t, "k"), jose.RS256, "k", claimsAt(p.URL, time.Now())))
	wantKind(t, err, Communication)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("hanging provider held verification %v", d)
	}
}

func TestTLSPinning(t *testing.T) {
	f := newFakeIdP(t)
	k := rsaKey(t, "k")
	f.publish(k.pub)
	tok := func(p Provider) string { return sign(t, k, jose.RS256, "k", claimsAt(p.URL, time.Now())) }
	tests := []struct {
		name string
		p    Provider
		kind Kind
	}{
		{"pinned", f.provider(), 0},
		{"pinned, upper-case thumbprint", Provider{URL: f.srv.URL, ClientIDs: []string{"app"}, Thumbprints: []string{strings.ToUpper(f.thumbprint())}}, 0},
		{"no thumbprint, not a system root", Provider{URL: f.srv.URL, ClientIDs: []string{"app"}}, Communication},
		{"other thumbprint", Provider{URL: f.srv.URL, ClientIDs: []string{"app"}, Thumbprints: []string{strings.Repeat("0", 40)}}, Communication},
		// The pinned certificate does not name localhost: pinning never
		// skips the host name check.
		{"pinned, wrong host", Provider{URL: strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1), ClientIDs: []string{"app"}, Thumbprints: []string{f.thumbprint()}}, Communication},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Config{Timeout: 2 * time.Second})
			tk, err := Parse(tok(tc.p))
			if err != nil {
				t.Fatal(err)
			}
			tk.Issuer = tc.p.URL
			_, err = v.Verify(context.Background(), tk, tc.p)
			if tc.name == "pinned, wrong host" {
				// The discovery document names 127.0.0.1 as issuer; either
				// TLS or the issuer check refuses it, never success.
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			wantKind(t, err, tc.kind)
		})
	}
}

func TestCacheBoundedInBytes(t *testing.T) {
	f := newFakeIdP(t)
	k := rsaKey(t, "k")
	f.publish(k.pub)
	v := New(Config{MaxCacheBytes: 2000, Timeout: 2 * time.Second})
	for i := range 10 {
		// The same IdP as ten providers (thumbprint lists differ).
		p := f.provider()
		p.Thumbprints = append(p.Thumbprints, strings.Repeat(string(rune('a'+i)), 40))
		if _, err := verify(v, p, sign(t, k, jose.RS256, "k", claimsAt(p.URL, time.Now()))); err != nil {
			t.Fatal(err)
		}
		if b := v.CachedBytes(); b > 2000 {
			t.Fatalf("cache holds %d bytes, bound 2000", b)
		}
	}
}

func TestKeyAlgorithmBinding(t *testing.T) {
	rk, ek := rsaKey(t, "r"), ecKey(t, "e")
	claims := claimsAt("https://x", time.Now())
	// A JWK naming RS256 is not used for PS256, though the key is RSA.
	tok, err := ParseJWS(sign(t, rk, jose.PS256, "r", claims))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignature(tok, []jose.JSONWebKey{rk.pub}); err == nil {
		t.Error("PS256 token verified with an RS256 JWK")
	}
	// Without alg, an RSA key allows PS256; a P-256 key only ES256.
	pub := rk.pub
	pub.Algorithm = ""
	if _, err := VerifySignature(tok, []jose.JSONWebKey{pub}); err != nil {
		t.Errorf("PS256 with an RSA JWK without alg: %v", err)
	}
	tok, _ = ParseJWS(sign(t, ek, jose.ES256, "e", claims))
	if _, err := VerifySignature(tok, []jose.JSONWebKey{rk.pub, ek.pub}); err != nil {
		t.Errorf("ES256: %v", err)
	}
	// HS256 and none never parse.
	for _, alg := range []string{"HS256", "none"} {
		h := b64url(`{"alg":"` + alg + `"}`)
		if _, err := ParseJWS(h + "." + b64url(`{"iss":"https://x"}`) + ".c2ln"); KindOf(err) != Invalid {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	rk := rsaKey(t, "r")
	good, _ := json.Marshal(rk.pub)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK, _ := json.Marshal(jose.JSONWebKey{Key: &small.PublicKey, KeyID: "small"})
	doc := `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"},{"kty":"weird"},` + string(smallJWK) + `,` + string(good) + `]}`
	keys, err := ParseJWKS([]byte(doc))
	if err != nil || len(keys) != 1 || keys[0].KeyID != "r" {
		t.Fatalf("%v %v", keys, err)
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)); err == nil {
		t.Error("a JWKS of only a symmetric key was accepted")
	}
}

func b64url(s string) string {
	return strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(base64Std(s)), "=")
}

// TestVerifiedCache: a token verified once is not verified again while the
// provider's keys stay the same, but its claims are checked on every call;
// a refetch of the keys sends it through full verification again; tokens
// that fail are not remembered.
func TestVerifiedCache(t *testing.T) {
	f := newFakeIdP(t)
	k1, k2 := rsaKey(t, "k1"), rsaKey(t, "k2")
	f.publish(k1.pub)
	clk := &fakeClock{now: time.Now()}
	v := New(Config{Now: clk.Now, MinRefresh: time.Second, TTL: time.Hour, Timeout: 2 * time.Second})
	p := f.provider()
	c := claimsAt(p.URL, clk.Now())
	c["exp"] = clk.Now().Add(2 * time.Minute).Unix()
	raw := sign(t, k1, jose.RS256, "k1", c)
	run := func() (*Token, error) {
		tok, err := v.Parse(raw)
		if err != nil {
			return nil, err
		}
		_, err = v.Verify(context.Background(), tok, p)
		return tok, err
	}
	if tok, err := run(); err != nil || tok.cached != nil {
		t.Fatalf("first: cached=%v %v", tok != nil && tok.cached != nil, err)
	}
	if tok, err := run(); err != nil || tok.cached == nil {
		t.Fatalf("second: cached=%v %v", tok != nil && tok.cached != nil, err)
	}
	// Claims are checked on every call, cached or not.
	clk.Add(5 * time.Minute)
	if _, err := run(); KindOf(err) != Expired {
		t.Fatalf("expired cached token: %v", err)
	}
	clk.Add(-5 * time.Minute)
	// The provider drops k1; once the keys are fetched again the cached
	// token is verified again, and refused.
	f.publish(k2.pub)
	clk.Add(2 * time.Second)
	if _, err := verify(v, p, sign(t, k2, jose.RS256, "k2", claimsAt(p.URL, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	if _, err := run(); KindOf(err) != Invalid {
		t.Fatalf("token of a dropped key after a refetch: %v", err)
	}
	// A bad token is never cached.
	bad := raw[:len(raw)-4] + "AAAA"
	for range 2 {
		tok, err := v.Parse(bad)
		if err != nil {
			t.Fatal(err)
		}
		if tok.cached != nil {
			t.Fatal("a token that failed verification was cached")
		}
		if _, err := v.Verify(context.Background(), tok, p); err == nil {
			t.Fatal("tampered token verified")
		}
	}
}

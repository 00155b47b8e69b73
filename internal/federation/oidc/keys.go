package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/opensts/opensts/internal/cache"
)

// Config configures a Verifier. Zero values take the defaults.
type Config struct {
	Now func() time.Time
	// RootCAs verifies TLS to providers; nil means the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds one fetch of the discovery document and JWKS
	// together (default 5 s): no provider holds a request longer.
	Timeout time.Duration
	// TTL is how long fetched keys are used before they are fetched again
	// (default 1 h; a failed refresh keeps the old keys until 2×TTL).
	TTL time.Duration
	// MinRefresh is the least time between two fetches for one provider
	// (default 30 s): a flood of tokens with unknown key ids, or a
	// provider that is down, costs the provider at most one request per
	// MinRefresh.
	MinRefresh time.Duration
	// MaxCacheBytes bounds the cached JWKS documents (default 8 MiB); the
	// least recently fetched entries go first.
	MaxCacheBytes int
	// Transport, when set, replaces the HTTP transport (tests). TLS
	// verification (roots, thumbprints) is then the transport's.
	Transport http.RoundTripper
	// VerifiedCacheBytes bounds the cache of tokens whose signature
	// verified (default 4 MiB; negative: no cache). A workload presents the
	// same token until it rotates it; its signature is then checked once
	// per key set, its claims (time, audience) on every call.
	VerifiedCacheBytes int
	// Observe, if set, receives each fetch from a provider: what was
	// fetched ("discovery" or "jwks"), how long it took and its error
	// (metrics).
	Observe func(what string, took time.Duration, err error)
}

const (
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 256 << 10
	maxKeys           = 100
)

// Verifier verifies tokens against providers' published keys. It is safe
// for concurrent use.
type Verifier struct {
	cfg Config

	verified *cache.Cache[*verifiedToken] // nil: no cache

	mu      sync.RWMutex
	entries map[string]*entry
	bytes   int
	stored  uint64 // counts account calls, for entry.order
}

// entry is the key cache of one provider (URL and thumbprints).
type entry struct {
	// snap is what the lock-free fast path reads: the keys and when they
	// were fetched.
	snap atomic.Pointer[snapshot]

	mu        sync.Mutex // held during a fetch: one fetch per provider at a time
	attempted time.Time  // end of the last fetch, successful or not

	// size and order are guarded by Verifier.mu: the bytes of the cached
	// JWKS, and when it was stored (eviction takes the oldest first).
	size  int
	order uint64
	err   error // the last fetch's failure, while it is the newest news
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 30 * time.Second
	}
	if cfg.MaxCacheBytes <= 0 {
		cfg.MaxCacheBytes = 8 << 20
	}
	v := &Verifier{cfg: cfg, entries: map[string]*entry{}}
	if cfg.VerifiedCacheBytes == 0 {
		cfg.VerifiedCacheBytes = 4 << 20
	}
	if cfg.VerifiedCacheBytes > 0 {
		v.verified = cache.New(cache.Config[*verifiedToken]{MaxBytes: cfg.VerifiedCacheBytes,
			Cost: func(vt *verifiedToken) (int, []cache.Shared) { return vt.size, nil }})
	}
	return v
}

func cacheKey(p Provider) string {
	return p.URL + "\x00" + strings.Join(p.Thumbprints, ",")
}

func (v *Verifier) entry(p Provider) *entry {
	k := cacheKey(p)
	v.mu.RLock()
	e, ok := v.entries[k]
	v.mu.RUnlock()
	if ok {
		return e
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok = v.entries[k]
	if !ok {
		e = &entry{}
		v.entries[k] = e
	}
	return e
}

// account records e's new size and evicts the oldest entries over budget.
func (v *Verifier) account(p Provider, e *entry, size int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.bytes += size - e.size
	e.size = size
	v.stored++
	e.order = v.stored
	for v.bytes > v.cfg.MaxCacheBytes && len(v.entries) > 1 {
		var oldK string
		var old *entry
		for k, x := range v.entries {
			if x != e && (old == nil || x.order < old.order) {
				oldK, old = k, x
			}
		}
		if old == nil {
			break
		}
		v.bytes -= old.size
		delete(v.entries, oldK)
	}
	_ = p
}

// CachedBytes reports the bytes of JWKS documents held (tests, metrics).
func (v *Verifier) CachedBytes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.bytes
}

type snapshot struct {
	keys    []jose.JSONWebKey
	fetched time.Time
}

// keys returns the keys for kid, and the snapshot they come from,
// fetching the JWKS when it is stale or does not name kid, at most once per
// MinRefresh.
func (v *Verifier) keys(ctx context.Context, p Provider, kid string) ([]jose.JSONWebKey, *snapshot, error) {
	e := v.entry(p)
	if sn := e.snap.Load(); sn != nil && v.cfg.Now().Sub(sn.fetched) < v.cfg.TTL {
		if found := match(sn.keys, kid); len(found) > 0 {
			return found, sn, nil // fresh keys name kid: no lock
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := v.cfg.Now()
	sn := e.snap.Load()
	var found []jose.JSONWebKey
	usable := false // sn is young enough to serve while a refresh fails
	if sn != nil {
		found = match(sn.keys, kid)
		if len(found) > 0 && now.Sub(sn.fetched) < v.cfg.TTL {
			return found, sn, nil
		}
		usable = len(found) > 0 && now.Sub(sn.fetched) < 2*v.cfg.TTL
	}
	if !e.attempted.IsZero() && now.Sub(e.attempted) < v.cfg.MinRefresh {
		// Rate limited: answer from what we have.
		if usable {
			return found, sn, nil
		}
		if e.err != nil && sn == nil {
			return nil, nil, e.err
		}
		return nil, nil, invalid("The web identity token names a key the provider does not publish")
	}
	keys, size, err := v.fetch(ctx, p)
	// The interval runs from the end of the fetch: a provider that hangs
	// is asked again only MinRefresh after it last timed out.
	e.attempted = v.cfg.Now()
	if err != nil {
		e.err = err
		if usable {
			return found, sn, nil // serve stale keys while the provider is down
		}
		return nil, nil, err
	}
	e.err = nil
	sn = &snapshot{keys: keys, fetched: now}
	e.snap.Store(sn)
	v.account(p, e, size)
	if found = match(keys, kid); len(found) == 0 {
		return nil, nil, invalid("The web identity token names a key the provider does not publish")
	}
	return found, sn, nil
}

// match returns the keys a token with kid may be verified with: those with
// that kid, or every key when the token names none.
func match(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		return keys
	}
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

func commErr(msg string, cause error) *Error {
	return &Error{Kind: Communication, Message: msg, Cause: cause}
}

// fetch reads discovery and the JWKS within Timeout.
func (v *Verifier) fetch(ctx context.Context, p Provider) ([]jose.JSONWebKey, int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.Timeout)
	defer cancel()
	client, closeIdle := v.client(p)
	defer closeIdle()

	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	body, err := v.get(ctx, client, "discovery", strings.TrimSuffix(p.URL, "/")+"/.well-known/openid-configuration", maxDiscoveryBytes)
	if err != nil {
		return nil, 0, commErr("Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements", err)
	}
	if err := json.Unmarshal(body, &disc); err != nil {
		return nil, 0, commErr("The identity provider's discovery document is not valid JSON", err)
	}
	if disc.Issuer != p.URL {
		return nil, 0, commErr("The identity provider's discovery document names another issuer", nil)
	}
	u, err := url.Parse(disc.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, 0, commErr("The identity provider's jwks_uri is not an https URL", err)
	}
	body, err = v.get(ctx, client, "jwks", u.String(), maxJWKSBytes)
	if err != nil {
		return nil, 0, commErr("Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements", err)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, 0, commErr("The identity provider's JWKS is not usable", err)
	}
	return keys, len(body), nil
}

// ParseJWKS parses a JWK Set and keeps the public signature keys it can
// use: RSA (at least 2048 bits, without the ROCA fingerprint), EC P-256/384/521 and Ed25519. Symmetric
// keys, encryption keys and keys of unknown types are skipped, so one odd
// key does not make a provider's whole set unusable.
func ParseJWKS(b []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if len(set.Keys) > maxKeys {
		return nil, fmt.Errorf("jwks has %d keys, more than %d", len(set.Keys), maxKeys)
	}
	var out []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var ops struct {
			KeyOps []string `json:"key_ops"`
		}
		if json.Unmarshal(raw, &ops) == nil && ops.KeyOps != nil && !slices.Contains(ops.KeyOps, "verify") {
			continue
		}
		pub := k.Public()
		if !pub.Valid() {
			continue
		}
		switch pk := pub.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 || rocaVulnerable(pk.N) {
				continue
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, errors.New("jwks has no usable signature key")
	}
	return out, nil
}

// keyAllows reports whether k may verify a signature made with alg: the
// algorithm the JWK names, when it names one, else those its type and
// curve allow.
func keyAllows(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" {
		return k.Algorithm == alg
	}
	switch pk := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch pk.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// get is get, told to the Observe hook as what.
func (v *Verifier) get(ctx context.Context, c *http.Client, what, u string, limit int64) ([]byte, error) {
	if v.cfg.Observe == nil {
		return get(ctx, c, u, limit)
	}
	begin := time.Now()
	body, err := get(ctx, c, u, limit)
	v.cfg.Observe(what, time.Since(begin), err)
	return body, err
}

func get(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", u, limit)
	}
	return b, nil
}

// client returns an HTTP client for p: TLS verified against the roots, or
// chaining to one of p's thumbprints, always for the host dialled; no
// redirects to plain HTTP.
func (v *Verifier) client(p Provider) (*http.Client, func()) {
	redirect := func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" || len(via) >= 3 {
			return errors.New("redirect refused")
		}
		return nil
	}
	if v.cfg.Transport != nil {
		return &http.Client{Transport: v.cfg.Transport, CheckRedirect: redirect}, func() {}
	}
	roots, thumbprints, timeout := v.cfg.RootCAs, p.Thumbprints, v.cfg.Timeout
	dialer := &net.Dialer{Timeout: timeout}
	t := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		// Through an HTTP proxy (CONNECT), the transport's own handshake,
		// whose host name VerifyConnection reads from the handshake.
		TLSClientConfig: pinnedTLS(roots, thumbprints, ""),
		// Straight to the provider, the certificate is verified for the
		// host dialled: a handshake with an IP address carries no server
		// name (SNI), so the handshake's says nothing to check it against.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := tls.Client(raw, pinnedTLS(roots, thumbprints, host))
			hctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := c.HandshakeContext(hctx); err != nil {
				raw.Close()
				return nil, err
			}
			return c, nil
		},
	}
	return &http.Client{Transport: t, CheckRedirect: redirect}, t.CloseIdleConnections
}

// pinnedTLS verifies the server's chain for host (when "", the server name
// of the handshake; none is refused) against roots (nil: the system's)
// or, failing that, against the certificates of the presented chain whose
// SHA-1 fingerprint is listed, as AWS does with an OIDC provider's
// thumbprints. The standard verification is replaced, not skipped:
// VerifyConnection does it for every handshake.
func pinnedTLS(roots *x509.CertPool, thumbprints []string, host string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: true, // verified in VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			h := host
			if h == "" {
				h = cs.ServerName
			}
			return verifyChain(cs.PeerCertificates, h, roots, thumbprints)
		},
	}
}

func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool, thumbprints []string) error {
	if len(certs) == 0 {
		return errors.New("tls: no server certificate")
	}
	if host == "" {
		// x509 checks no name for an empty one: any certificate a trusted
		// root issued, for any name, would do.
		return errors.New("tls: no host name to verify the server's certificate for")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}
	_, err := certs[0].Verify(opts)
	if err == nil || len(thumbprints) == 0 {
		return err
	}
	pinned := x509.NewCertPool()
	n := 0
	for _, c := range certs {
		sum := sha1.Sum(c.Raw)
		fp := hex.EncodeToString(sum[:])
		for _, t := range thumbprints {
			if strings.EqualFold(t, fp) {
				pinned.AddCert(c)
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("tls: %w, and no certificate of the chain matches a thumbprint of the provider", err)
	}
	opts.Roots = pinned
	_, err = certs[0].Verify(opts)
	return err
}

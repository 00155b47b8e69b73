// Package issuer makes OpenSTS an OpenID Connect issuer for workloads
// (GetWebIdentityToken): it signs JWTs with its own keys, RS256 (RSA 2048)
// and ES384 (P-384), and publishes their public halves as a JWKS and a
// discovery document, so that any system that trusts OIDC providers can
// trust OpenSTS identities.
//
// The keys are not the session keyring's: they live in their own store
// table (store.IssuerKeys), their private halves sealed like every other
// secret, and rotate on the same plan as the session keys: a new key is
// published for Propagation before it signs, signs for at most
// 2*RotateEvery, and stays in the JWKS until the last token it signed has
// expired. It imports store and seal of OpenSTS, and go-jose.
package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// The signing algorithms GetWebIdentityToken offers (the model's
// SigningAlgorithm).
const (
	RS256 = "RS256"
	ES384 = "ES384"
)

// Algorithms are the algorithms the issuer signs with.
var Algorithms = []string{RS256, ES384}

// MaxLifetime is the longest token Sign issues (GetWebIdentityToken's
// DurationSeconds is at most 3600).
const MaxLifetime = time.Hour

// Defaults.
const (
	DefaultRotateEvery = 24 * time.Hour
	DefaultPropagation = 10 * time.Minute
	// DefaultRefreshEvery is how stale the loaded key set may be: a key
	// another node created is published by this one within it.
	DefaultRefreshEvery = 10 * time.Second
	// verifyMargin keeps a key in the JWKS this long after its last token
	// expired, for clocks that run behind and caches that refresh late.
	verifyMargin = time.Hour
	// pruneAfter deletes a key's record this long after it left the JWKS.
	pruneAfter = 24 * time.Hour
)

// Config configures an Issuer.
type Config struct {
	Keys   store.IssuerKeys // required
	Sealer *seal.Sealer     // required
	// URL is the issuer, "https://host[/path]": the iss of every token and
	// the base of the discovery document and JWKS.
	URL  string
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // nil: crypto/rand
	// RotateEvery is the age of the newest key of an algorithm after which
	// Run creates a new one (default DefaultRotateEvery).
	RotateEvery time.Duration
	// Propagation is how long a new key is published before it signs
	// (default DefaultPropagation; negative: at once). Set it above the
	// JWKS cache time of the systems that trust the issuer.
	Propagation time.Duration
	// RefreshEvery bounds how stale the loaded keys may be (default
	// DefaultRefreshEvery).
	RefreshEvery time.Duration
	Logger       *slog.Logger
}

// Issuer signs tokens and publishes its keys. It is safe for concurrent use.
type Issuer struct {
	cfg  Config
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger
	prop time.Duration

	mu     sync.Mutex
	keys   []*key // newest first
	recs   map[string]store.SigningKey
	loaded time.Time
}

type key struct {
	id          string
	alg         string
	pub         crypto.PublicKey
	priv        crypto.Signer // nil for revoked keys
	created     time.Time
	signUntil   time.Time
	verifyUntil time.Time
	revoked     bool
}

// ValidURL reports whether u can be an issuer URL: https, a host, no
// query, fragment or user information, no trailing slash.
func ValidURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return err
	case p.Scheme != "https" || p.Host == "":
		return errors.New("want an https URL with a host")
	case p.RawQuery != "" || p.Fragment != "" || p.User != nil || p.Opaque != "":
		return errors.New("an issuer URL has no query, fragment or user information")
	case strings.HasSuffix(u, "/"):
		return errors.New("an issuer URL does not end with a slash")
	}
	return nil
}

// New loads the keys and creates one for each algorithm that has none
// able to sign.
func New(ctx context.Context, cfg Config) (*Issuer, error) {
	if cfg.Keys == nil || cfg.Sealer == nil {
		return nil, errors.New("new issuer: Keys and Sealer are required")
	}
	if err := ValidURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("new issuer: URL %q: %w", cfg.URL, err)
	}
	if cfg.RotateEvery <= 0 {
		cfg.RotateEvery = DefaultRotateEvery
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = DefaultRefreshEvery
	}
	i := &Issuer{cfg: cfg, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger, prop: cfg.Propagation}
	if i.now == nil {
		i.now = time.Now
	}
	if i.rand == nil {
		i.rand = rand.Reader
	}
	if i.log == nil {
		i.log = slog.Default()
	}
	switch {
	case i.prop == 0:
		i.prop = DefaultPropagation
	case i.prop < 0:
		i.prop = 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.refreshLocked(ctx); err != nil {
		return nil, fmt.Errorf("new issuer: %w", err)
	}
	now := i.now()
	for _, alg := range Algorithms {
		if i.signerLocked(alg, now) == nil {
			if err := i.createLocked(ctx, alg, now); err != nil {
				return nil, fmt.Errorf("new issuer: %w", err)
			}
		}
	}
	return i, nil
}

// URL returns the issuer URL.
func (i *Issuer) URL() string { return i.cfg.URL }

// JWKSURL is where the JWKS is served.
func (i *Issuer) JWKSURL() string { return i.cfg.URL + "/.well-known/jwks.json" }

// DiscoveryURL is where the discovery document is served.
func (i *Issuer) DiscoveryURL() string { return i.cfg.URL + "/.well-known/openid-configuration" }

// Discovery is the OpenID Provider metadata the issuer publishes.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// Discovery returns the discovery document.
func (i *Issuer) Discovery() Discovery {
	return Discovery{
		Issuer:                           i.cfg.URL,
		JWKSURI:                          i.JWKSURL(),
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: slices.Clone(Algorithms),
		ScopesSupported:                  []string{"openid"},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "iat", "nbf", "exp", "jti", Namespace},
	}
}

// JWKS returns the public keys of every key that may still have a valid
// token out (not revoked, before VerifyUntil), newest first.
func (i *Issuer) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.maybeRefreshLocked(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := i.now()
	var set jose.JSONWebKeySet
	for _, k := range i.keys {
		if k.revoked || !now.Before(k.verifyUntil) {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: k.alg, Use: "sig"})
	}
	return set, nil
}

// Namespace is the claim under which AWS nests its own claims.
const Namespace = "https://sts.amazonaws.com/"

// ErrAlgorithm is returned by Sign for an algorithm the issuer does not
// sign with.
var ErrAlgorithm = errors.New("unsupported signing algorithm")

// Sign signs claims (a JSON object) as a compact JWS with the current key
// of alg, naming the key in kid and typ JWT. The caller sets iss, exp and
// the rest; Sign does not look at the claims.
func (i *Issuer) Sign(ctx context.Context, alg string, claims map[string]any) (string, error) {
	if !slices.Contains(Algorithms, alg) {
		return "", ErrAlgorithm
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign web identity token: %w", err)
	}
	return i.SignPayload(ctx, alg, payload)
}

// SignPayload signs payload, JSON claims, as Sign does.
func (i *Issuer) SignPayload(ctx context.Context, alg string, payload []byte) (string, error) {
	i.mu.Lock()
	if err := i.maybeRefreshLocked(ctx); err != nil {
		i.log.WarnContext(ctx, "issuer key refresh failed; signing with the loaded keys", "err", err)
	}
	now := i.now()
	k := i.signerLocked(alg, now)
	if k == nil {
		if err := i.createLocked(ctx, alg, now); err != nil {
			i.mu.Unlock()
			return "", fmt.Errorf("sign web identity token: %w", err)
		}
		k = i.signerLocked(alg, now)
	}
	i.mu.Unlock()
	if k == nil {
		return "", errors.New("sign web identity token: no signing key")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.id)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: k.priv}, opts)
	if err != nil {
		return "", fmt.Errorf("sign web identity token: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign web identity token: %w", err)
	}
	return jws.CompactSerialize()
}

// signerLocked returns the key of alg to sign with at now: the newest that
// may sign and has been published for Propagation, else the newest that may
// sign at all.
func (i *Issuer) signerLocked(alg string, now time.Time) *key {
	var fallback *key
	for _, k := range i.keys {
		if k.alg != alg || k.revoked || k.priv == nil || !now.Before(k.signUntil) {
			continue
		}
		if !now.Before(k.created.Add(i.prop)) {
			return k
		}
		if fallback == nil {
			fallback = k
		}
	}
	return fallback
}

func (i *Issuer) maybeRefreshLocked(ctx context.Context) error {
	if now := i.now(); now.Before(i.loaded.Add(i.cfg.RefreshEvery)) && !now.Before(i.loaded) {
		return nil
	}
	return i.refreshLocked(ctx)
}

// Refresh reloads the keys from the store.
func (i *Issuer) Refresh(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.refreshLocked(ctx)
}

func (i *Issuer) refreshLocked(ctx context.Context) error {
	recs, err := i.cfg.Keys.ListIssuerKeys(ctx)
	if err != nil {
		return fmt.Errorf("refresh issuer keys: %w", err)
	}
	now := i.now()
	next := make(map[string]store.SigningKey, len(recs))
	keys := make([]*key, 0, len(recs))
	old := map[string]*key{}
	for _, k := range i.keys {
		old[k.id] = k
	}
	var errs []error
	for _, r := range recs {
		if now.After(r.VerifyUntil.Add(pruneAfter)) {
			continue
		}
		if prev, ok := i.recs[r.ID]; ok && sameRecord(prev, r) && old[r.ID] != nil {
			next[r.ID] = r
			keys = append(keys, old[r.ID])
			continue
		}
		k, err := i.load(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("issuer key %s: %w", r.ID, err))
			continue
		}
		next[r.ID] = r
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b *key) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	i.keys, i.recs, i.loaded = keys, next, now
	return errors.Join(errs...)
}

func sameRecord(a, b store.SigningKey) bool {
	return a.ID == b.ID && a.Algorithm == b.Algorithm && a.Revoked == b.Revoked && string(a.Public) == string(b.Public) &&
		string(a.Private) == string(b.Private) && a.CreatedAt.Equal(b.CreatedAt) && a.SignUntil.Equal(b.SignUntil) && a.VerifyUntil.Equal(b.VerifyUntil)
}

func keyAAD(id string) []byte { return []byte("opensts/issuer-key/v1/" + id) }

var errKeyRecord = errors.New("malformed issuer key record")

// load builds a key from its record, unsealing the private half and
// checking that it matches the public one.
func (i *Issuer) load(r store.SigningKey) (*key, error) {
	k := &key{id: r.ID, alg: r.Algorithm, created: r.CreatedAt, signUntil: r.SignUntil, verifyUntil: r.VerifyUntil, revoked: r.Revoked}
	if !slices.Contains(Algorithms, r.Algorithm) {
		return nil, errKeyRecord
	}
	if r.Revoked {
		return k, nil
	}
	pub, err := x509.ParsePKIXPublicKey(r.Public)
	if err != nil {
		return nil, errKeyRecord
	}
	der, err := i.cfg.Sealer.Open(r.Private, keyAAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	defer clear(der)
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errKeyRecord
	}
	signer, ok := priv.(crypto.Signer)
	if !ok || !algMatches(r.Algorithm, signer) {
		return nil, errKeyRecord
	}
	if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return nil, errKeyRecord
	}
	k.pub, k.priv = pub, signer
	return k, nil
}

func algMatches(alg string, s crypto.Signer) bool {
	switch p := s.(type) {
	case *rsa.PrivateKey:
		return alg == RS256 && p.N.BitLen() >= 2048
	case *ecdsa.PrivateKey:
		return alg == ES384 && p.Curve == elliptic.P384()
	}
	return false
}

// createLocked creates, stores and loads a key of alg.
func (i *Issuer) createLocked(ctx context.Context, alg string, now time.Time) error {
	var idb [8]byte
	if _, err := io.ReadFull(i.rand, idb[:]); err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	id := hex.EncodeToString(idb[:])
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(i.rand, 2048)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), i.rand)
	default:
		return ErrAlgorithm
	}
	if err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	defer clear(der)
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	sealed, err := i.cfg.Sealer.Seal(der, keyAAD(id))
	if err != nil {
		return fmt.Errorf("create issuer key: seal: %w", err)
	}
	now = time.Unix(now.Unix(), 0).UTC()
	signUntil := now.Add(2 * i.cfg.RotateEvery)
	rec := store.SigningKey{ID: id, Algorithm: alg, Public: pub, Private: sealed, CreatedAt: now, SignUntil: signUntil,
		VerifyUntil: signUntil.Add(MaxLifetime + verifyMargin)}
	if err := i.cfg.Keys.PutIssuerKey(ctx, rec); err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	// Older keys of alg stop signing once the new one has propagated.
	stop := now.Add(i.prop)
	recs, err := i.cfg.Keys.ListIssuerKeys(ctx)
	if err != nil {
		return fmt.Errorf("create issuer key: %w", err)
	}
	for _, r := range recs {
		if r.ID == id || r.Algorithm != alg || r.Revoked || !r.SignUntil.After(stop) {
			continue
		}
		r.SignUntil = stop
		r.VerifyUntil = stop.Add(MaxLifetime + verifyMargin)
		if err := i.cfg.Keys.PutIssuerKey(ctx, r); err != nil {
			return fmt.Errorf("create issuer key: retire %s: %w", r.ID, err)
		}
	}
	return i.refreshLocked(ctx)
}

// Rotate creates a new key for every algorithm.
func (i *Issuer) Rotate(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.now()
	for _, alg := range Algorithms {
		if err := i.createLocked(ctx, alg, now); err != nil {
			return err
		}
	}
	return nil
}

// Revoke marks a key revoked: it leaves the JWKS and signs nothing more on
// this node at once, on others within RefreshEvery. A new key of its
// algorithm is created when none can sign. An unknown id gives an error
// wrapping store.ErrNotFound.
func (i *Issuer) Revoke(ctx context.Context, id string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	recs, err := i.cfg.Keys.ListIssuerKeys(ctx)
	if err != nil {
		return fmt.Errorf("revoke issuer key %s: %w", id, err)
	}
	for _, r := range recs {
		if r.ID != id {
			continue
		}
		r.Revoked = true
		if err := i.cfg.Keys.PutIssuerKey(ctx, r); err != nil {
			return fmt.Errorf("revoke issuer key %s: %w", id, err)
		}
		if err := i.refreshLocked(ctx); err != nil {
			return fmt.Errorf("revoke issuer key %s: %w", id, err)
		}
		if now := i.now(); i.signerLocked(r.Algorithm, now) == nil {
			return i.createLocked(ctx, r.Algorithm, now)
		}
		return nil
	}
	return fmt.Errorf("revoke issuer key %s: %w", id, store.ErrNotFound)
}

// Run refreshes the keys every interval, rotates an algorithm whose newest
// key is older than RotateEvery and deletes records long past
// VerifyUntil, until ctx is done. Errors are logged and retried.
func (i *Issuer) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		i.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (i *Issuer) tick(ctx context.Context) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.refreshLocked(ctx); err != nil {
		i.log.ErrorContext(ctx, "issuer key refresh failed", "err", err)
	}
	now := i.now()
	for _, alg := range Algorithms {
		var newest *key
		for _, k := range i.keys {
			if k.alg == alg && !k.revoked {
				newest = k
				break
			}
		}
		if newest == nil || !now.Before(newest.created.Add(i.cfg.RotateEvery)) {
			if err := i.createLocked(ctx, alg, now); err != nil {
				i.log.ErrorContext(ctx, "issuer key rotation failed", "alg", alg, "err", err)
			}
		}
	}
	recs, err := i.cfg.Keys.ListIssuerKeys(ctx)
	if err != nil {
		return
	}
	for _, r := range recs {
		if now.After(r.VerifyUntil.Add(pruneAfter)) {
			if err := i.cfg.Keys.DeleteIssuerKey(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				i.log.ErrorContext(ctx, "issuer key prune failed", "key_id", r.ID, "err", err)
			}
		}
	}
}

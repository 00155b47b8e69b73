package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // PS384, PS512
	"encoding/base64"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// verifiedToken is a token whose signature verified with a key of snap.
type verifiedToken struct {
	snap   *snapshot
	claims map[string]any // read-only once cached
	issuer string
	size   int
}

// Parse is the package's Parse, but a token this Verifier verified before
// is returned from its cache of verified tokens without being parsed again
// (Verify then skips the signature while the provider's keys are the ones
// it was verified with).
func (v *Verifier) Parse(raw string) (*Token, error) {
	var sum [sha256.Size]byte
	if v.verified != nil && len(raw) <= MaxTokenSize {
		sum = sha256.Sum256([]byte(raw))
		if vt, ok := v.verified.Get(sum[:]); ok {
			return &Token{raw: raw, sum: sum, hashed: true, claims: vt.claims, Issuer: vt.issuer, cached: vt}, nil
		}
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	t.sum, t.hashed = sum, v.verified != nil
	return t, nil
}

// Verify checks t's signature with p's published keys and its claims, and
// returns the claims. t.Issuer must be p.URL (the caller found p by it).
// The claims are checked on every call, the signature only when the token
// is not in the cache of verified tokens with the provider's current keys.
func (v *Verifier) Verify(ctx context.Context, t *Token, p Provider) (*Claims, error) {
	if t.Issuer != p.URL {
		return nil, invalid("The issuer of the web identity token does not match the provider")
	}
	now := v.cfg.Now()
	if vt := t.cached; vt != nil {
		if sn := v.entry(p).snap.Load(); sn == vt.snap && now.Sub(sn.fetched) < v.cfg.TTL {
			return checkClaims(vt.claims, p, now.UTC())
		}
		// The keys changed since: verify again, from the start.
		full, err := Parse(t.raw)
		if err != nil {
			return nil, err
		}
		full.sum, full.hashed = t.sum, t.hashed
		t = full
	}
	keys, sn, err := v.keys(ctx, p, t.KeyID)
	if err != nil {
		return nil, err
	}
	payload, err := VerifySignature(t, keys)
	if err != nil {
		return nil, err
	}
	raw := t.claims
	if raw == nil || !bytes.Equal(payload, t.jws.UnsafePayloadWithoutVerification()) {
		if raw, err = decodeClaims(payload); err != nil {
			return nil, err
		}
	}
	c, err := checkClaims(raw, p, now.UTC())
	if err == nil && t.hashed {
		// Only tokens that pass are remembered: a flood of bad tokens
		// cannot evict good ones.
		v.verified.Put(string(t.sum[:]), &verifiedToken{snap: sn, claims: raw, issuer: t.Issuer, size: 2 * len(t.raw)})
	}
	return c, err
}

// VerifySignature verifies t with the first of keys that allows its
// algorithm and returns the payload.
func VerifySignature(t *Token, keys []jose.JSONWebKey) ([]byte, error) {
	for _, k := range keys {
		if !keyAllows(k, t.Algorithm) {
			continue
		}
		if payload, err := t.jws.Verify(k.Key); err == nil && strictPSS(t, k) {
			return payload, nil
		}
	}
	return nil, invalid("The web identity token's signature is invalid")
}

// strictPSS checks, for PS256/384/512, that the salt is as long as the
// hash, as RFC 7518 §3.5 requires; go-jose accepts any salt length.
func strictPSS(t *Token, k jose.JSONWebKey) bool {
	var h crypto.Hash
	switch t.Algorithm {
	case "PS256":
		h = crypto.SHA256
	case "PS384":
		h = crypto.SHA384
	case "PS512":
		h = crypto.SHA512
	default:
		return true
	}
	pub, ok := k.Key.(*rsa.PublicKey)
	i := strings.LastIndexByte(t.raw, '.')
	if !ok || i < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(t.raw[i+1:])
	if err != nil {
		return false
	}
	return verifyPSS(pub, h, []byte(t.raw[:i]), sig)
}

// verifyPSS verifies an RSASSA-PSS signature of msg with MGF1 and the salt
// as long as the hash h.
func verifyPSS(pub *rsa.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	d := h.New()
	d.Write(msg)
	return rsa.VerifyPSS(pub, h, d.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
}

package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha512" // PS384, PS512
	"encoding/base64"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Verify checks t's signature with p's published keys and its claims, and
// returns the claims. t.Issuer must be p.URL (the caller found p by it).
func (v *Verifier) Verify(ctx context.Context, t *Token, p Provider) (*Claims, error) {
	if t.Issuer != p.URL {
		return nil, invalid("The issuer of the web identity token does not match the provider")
	}
	keys, err := v.keys(ctx, p, t.KeyID)
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
	return checkClaims(raw, p, v.cfg.Now().UTC())
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

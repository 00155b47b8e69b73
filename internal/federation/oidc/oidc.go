// Package oidc verifies OpenID Connect tokens for AssumeRoleWithWebIdentity:
// it parses a compact JWS, fetches the provider's discovery document and
// JWKS over verified TLS (system roots, or the provider's pinned SHA-1
// thumbprints), caches the keys bounded in bytes, refetches them when a token
// names an unknown key id (at most once per MinRefresh per provider), checks
// the signature with go-jose and then the claims (iss, aud/azp, exp, nbf,
// iat) by hand.
//
// It imports only internal/cache of OpenSTS: the caller looks the provider up,
// maps the error Kinds to API errors and decides, with the trust policy,
// whether the identity may assume a role. No token or claim is logged.
package oidc

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Provider is what verification needs of an IAM OIDC provider.
type Provider struct {
	// URL is the issuer, "https://host[/path]": the token's iss must equal it.
	URL string
	// ClientIDs are the accepted audiences.
	ClientIDs []string
	// Thumbprints are lowercase hex SHA-1 fingerprints of certificates
	// (the top intermediate CA, or a self-signed server certificate) that
	// TLS to the provider may chain to instead of a system root.
	Thumbprints []string
}

// Name is the provider's URL without "https://": the ARN resource suffix
// and the prefix of its condition keys.
func (p Provider) Name() string { return strings.TrimPrefix(p.URL, "https://") }

// Kind classifies a verification failure; each maps to one AWS error code.
type Kind uint8

// Failure kinds.
const (
	// Invalid: malformed token, bad signature, unknown key, wrong issuer or
	// audience, nbf/iat in the future (InvalidIdentityToken).
	Invalid Kind = iota + 1
	// Expired: exp is past (ExpiredTokenException).
	Expired
	// Rejected: a claim the session needs is missing or unusable
	// (IDPRejectedClaim).
	Rejected
	// Communication: the provider could not be reached, or answered
	// with something unusable, within the time bound (IDPCommunicationError).
	Communication
)

// Error is a verification failure. Message is safe to return to the client:
// it never contains the token.
type Error struct {
	Kind    Kind
	Message string
	Cause   error // for the log; never sent to the client
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

func invalid(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns err's Kind, or 0 when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Skew is the clock difference tolerated on nbf and iat (and on exp, in the
// token's favour).
const Skew = 60 * time.Second

// MaxTokenSize is the largest token accepted (the model's clientTokenType).
const MaxTokenSize = 20000

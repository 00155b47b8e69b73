// Package authn authenticates AWS SigV4-signed requests: it checks the
// credential scope's region, finds the signing secret (a long-term access
// key's, or a session token's), verifies the signature and builds the
// authz.Caller. The server, the gateway and the public verifier use it as
// it is, each with its own key source and session verifier.
//
// It imports authz (Caller), policy (principal types), session (the session
// a token carries), sigv4 and apierr; never a server, a store backend or a
// protocol package. What it needs from outside comes through the small
// interfaces declared here.
package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// ErrUnknownKey is what a KeySource returns (possibly wrapped) for an access
// key id it does not know.
var ErrUnknownKey = errors.New("authn: unknown access key")

// Key is a long-term access key as authentication needs it. A KeySource
// returns shared values: callers must not modify them.
type Key struct {
	Active bool
	// Secret is the secret access key. A source that keeps it sealed
	// until a request needs it leaves it nil and sets Signing, whose
	// Secret opens it.
	Secret []byte
	// Caller is the identity the key authenticates (account, type, ARN,
	// user id and name, access key id); the request fields are unset.
	Caller authz.Caller
	// Signing, when set, is the source's memory of the key's SigV4 signing
	// keys: a request whose credential scope it holds is checked with that
	// key, neither opening the secret nor deriving one.
	Signing SigningKeys
}

// SigningKeys is what a KeySource keeps of one access key's SigV4 signing
// keys (each good for one day, region and service, and from which the
// secret cannot be recovered).
type SigningKeys interface {
	// SigningKey returns the signing key of the scope, when held.
	SigningKey(date, region, service string) (*[sha256.Size]byte, bool)
	// Secret returns the secret access key, opened now: new memory, which
	// the caller clears once done with it. An error wrapping ErrUnknownKey
	// says the key is gone since the source found it.
	Secret(ctx context.Context) ([]byte, error)
	// Derived hands over the signing key of a scope a request of it was
	// just verified with (so never one an unauthenticated request chose).
	Derived(date, region, service string, key *[sha256.Size]byte)
}

// secret returns k's secret access key, and whether it is new memory the
// caller is to clear. Errors are ErrUnknownAccessKey (the key is gone) or
// internal, which a key without a secret is: never the empty secret's
// signing key.
func (k *Key) secret(ctx context.Context) ([]byte, bool, error) {
	secret, own, err := k.Secret, false, error(nil)
	if secret == nil && k.Signing != nil {
		own = true
		secret, err = k.Signing.Secret(ctx)
	}
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, false, ErrUnknownAccessKey
	case err == nil && len(secret) == 0:
		err = errors.New("authn: access key " + k.Caller.AccessKeyID + " has no secret")
	}
	if err != nil {
		return nil, false, apierr.Internal(err)
	}
	return secret, own, nil
}

// KeySource finds long-term access keys.
type KeySource interface {
	// Key returns the key with id as of now, or an error wrapping
	// ErrUnknownKey when there is none.
	Key(ctx context.Context, id string, now time.Time) (*Key, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context, id string, now time.Time) (*Key, error)

// Key implements KeySource.
func (f KeySourceFunc) Key(ctx context.Context, id string, now time.Time) (*Key, error) {
	return f(ctx, id, now)
}

// SessionVerifier checks a session token for a temporary access key id and
// returns the session and its secret access key (session.Manager, or a
// verifier with only public keys). It returns session.ErrExpired for an
// expired token and another error for anything else it refuses.
type SessionVerifier interface {
	Verify(accessKeyID, token string) (*session.Session, []byte, error)
}

// Toucher records that a long-term key was used (last-used tracking).
type Toucher interface {
	TouchAccessKey(ctx context.Context, id string, at time.Time, service, region string) error
}

// Config configures an Authenticator.
type Config struct {
	Keys     KeySource
	Sessions SessionVerifier
	SigV4    *sigv4.Verifier
	// Region is the region the endpoint serves, besides the us-east-1 of
	// AWS's global endpoints.
	Region string
	// Touch, if set, records each use of a long-term key.
	Touch Toucher
	// Revoked, if set, reports whether the revocation set refuses a
	// session (session.Revocations.Revoked): such a request gets
	// InvalidClientTokenId, as an unknown token does.
	Revoked func(s *session.Session, now time.Time) bool
}

// Authenticator authenticates requests. It is safe for concurrent use.
type Authenticator struct{ cfg Config }

// New returns an Authenticator.
func New(cfg Config) *Authenticator { return &Authenticator{cfg: cfg} }

// Errors as AWS answers them: unknown keys, bad tokens and tokens that do
// not belong to the key are all InvalidClientTokenId; only expiry is told
// apart.
var (
	ErrInvalidToken = apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid.")
	ErrExpiredToken = apierr.New(apierr.ExpiredToken, "The security token included in the request is expired")
	// ErrUnknownAccessKey is ErrInvalidToken's twin for a long-term
	// access key id that is unknown or inactive: the same code and
	// message on the wire, told apart with errors.Is by callers that
	// answer in another service's words (S3's InvalidAccessKeyId).
	ErrUnknownAccessKey = apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid.")
)

// realCredential wraps the failure of a request whose credential exists:
// a key or session token that resolved, and then whose signature did not
// verify, or that expired or was revoked. The wire answer is the wrapped
// error's; detection tells these apart from credentials a request may have
// made up (RealCredential).
type realCredential struct{ error }

func (e realCredential) Unwrap() error { return e.error }

// RealCredential reports whether err is an authentication failure about a
// credential that exists (realCredential): anyone can make up key ids, not
// these.
func RealCredential(err error) bool {
	var r realCredential
	return errors.As(err, &r)
}

// GlobalRegion is the region AWS's global endpoints (iam.amazonaws.com,
// organizations, sts.amazonaws.com) are signed for.
const GlobalRegion = "us-east-1"

// RequestRegion checks the credential scope's region and returns the region
// the request is made in: aws:RequestedRegion, and the access key's
// last-used region.
//
// The endpoint serves its configured region and, as AWS's global endpoints
// do, us-east-1: SDKs and the CLI pointed at a custom endpoint sign with the
// client's region, which is the server's region or the us-east-1 of global
// services. Any other region is refused with AWS's answer. An STS request is
// made in the region it is signed for (the regional endpoint or the global
// one, as in AWS); IAM and Organizations are global services, whose requests
// are made in us-east-1 whichever of the two regions signed them.
func (a *Authenticator) RequestRegion(sr *sigv4.Request) (string, error) {
	if sr.Region != a.cfg.Region && sr.Region != GlobalRegion {
		region := sr.Region
		if len(region) > 64 {
			region = region[:64] + "..."
		}
		// AWS's text, trailing space included.
		return "", apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'. ", region)
	}
	if sr.Service == "sts" {
		return sr.Region, nil
	}
	return GlobalRegion, nil
}

// Authenticate verifies a parsed SigV4 request and returns its caller, with
// the request's environment (region, time, user agent, source address,
// transport) filled in. A credential scope for a region the endpoint does
// not serve gets SignatureDoesNotMatch before anything else is looked at.
// now is the request's time (read once per request).
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time) (*authz.Caller, error) {
	region, err := a.RequestRegion(sr)
	if err != nil {
		return nil, err
	}
	c, _, err := a.authenticate(ctx, r, sr, now, region)
	return c, err
}

// AuthenticateIn is Authenticate for a request made to another service in
// region (a resource server's): the credential scope must name region
// exactly, which is then the caller's aws:RequestedRegion.
func (a *Authenticator) AuthenticateIn(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time, region string) (*authz.Caller, error) {
	if sr.Region != region {
		scope := sr.Region
		if len(scope) > 64 {
			scope = scope[:64] + "..."
		}
		return nil, apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'. ", scope)
	}
	c, _, err := a.authenticate(ctx, r, sr, now, region)
	return c, err
}

// authenticate authenticates sr and returns its caller and the signing key
// of its credential scope; on an error, no key (a refused request learns
// nothing of the key it did not sign with).
func (a *Authenticator) authenticate(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time, region string) (*authz.Caller, [sha256.Size]byte, error) {
	c, key, err := a.authenticateKey(ctx, r, sr, now, region)
	if err != nil {
		clear(key[:])
		return nil, [sha256.Size]byte{}, err
	}
	return c, key, nil
}

func (a *Authenticator) authenticateKey(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time, region string) (*authz.Caller, [sha256.Size]byte, error) {
	var key [sha256.Size]byte
	c := &authz.Caller{}
	temporary := strings.HasPrefix(sr.AccessKeyID, "ASIA")
	switch {
	case temporary || sr.SecurityToken != "":
		if !temporary || sr.SecurityToken == "" {
			return nil, key, ErrInvalidToken
		}
		sess, sec, err := a.cfg.Sessions.Verify(sr.AccessKeyID, sr.SecurityToken)
		switch {
		case errors.Is(err, session.ErrExpired):
			return nil, key, realCredential{ErrExpiredToken}
		case err != nil:
			return nil, key, ErrInvalidToken
		}
		key = a.cfg.SigV4.SigningKey(sr, sec)
		if err := a.cfg.SigV4.VerifyKey(sr, &key); err != nil {
			return nil, key, realCredential{err}
		}
		SessionCaller(c, sess)
	default:
		k, err := a.cfg.Keys.Key(ctx, sr.AccessKeyID, now)
		if errors.Is(err, ErrUnknownKey) {
			return nil, key, ErrUnknownAccessKey
		}
		if err != nil {
			return nil, key, apierr.Internal(err)
		}
		if !k.Active {
			return nil, key, ErrUnknownAccessKey
		}
		if key, err = a.verifyKey(ctx, k, sr); err != nil {
			return nil, key, err
		}
		*c = k.Caller
	}
	// Checked once the signature proved the caller holds the session's
	// secret: a revoked session then learns no more than an invalid one.
	if c.Session != nil && a.cfg.Revoked != nil && a.cfg.Revoked(c.Session, now) {
		return nil, key, realCredential{ErrInvalidToken}
	}
	if !temporary && a.cfg.Touch != nil {
		// Last-used tracking; the store coalesces these writes, and a
		// failure to record it does not fail the request.
		_ = a.cfg.Touch.TouchAccessKey(ctx, sr.AccessKeyID, now, sr.Service, region)
	}
	c.Region = region
	c.Now = now
	c.UserAgent = r.UserAgent()
	c.SecureTransport = r.TLS != nil
	if host, ok := remoteHost(r.RemoteAddr); ok {
		c.SourceIP = host
	}
	return c, key, nil
}

// verifyKey checks sr's signature with long-term key k and returns the
// signing key of its scope: the one k's source holds for the scope, or one
// derived from the secret, which the source is then given.
func (a *Authenticator) verifyKey(ctx context.Context, k *Key, sr *sigv4.Request) ([sha256.Size]byte, error) {
	if k.Signing != nil {
		if held, ok := k.Signing.SigningKey(sr.Date, sr.Region, sr.Service); ok {
			key := *held
			if err := a.cfg.SigV4.VerifyKey(sr, &key); err != nil {
				clear(key[:])
				return key, realCredential{err}
			}
			return key, nil
		}
	}
	secret, own, err := k.secret(ctx)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	key := a.cfg.SigV4.SigningKey(sr, secret)
	if own {
		clear(secret)
	}
	if err := a.cfg.SigV4.VerifyKey(sr, &key); err != nil {
		clear(key[:])
		return key, realCredential{err}
	}
	if k.Signing != nil {
		k.Signing.Derived(sr.Date, sr.Region, sr.Service, &key)
	}
	return key, nil
}

// remoteHost is net.SplitHostPort's host, with a fast path for the common
// "ipv4:port" form (one colon, no brackets).
func remoteHost(addr string) (string, bool) {
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 && !strings.ContainsAny(addr, "[]") {
		return addr[:i], true
	}
	host, _, err := net.SplitHostPort(addr)
	return host, err == nil
}

// SessionCaller fills c with the identity of a verified session.
func SessionCaller(c *authz.Caller, s *session.Session) {
	c.Account, c.AccessKeyID, c.Session = s.Account, s.AccessKeyID, s
	c.ARN, c.UserID = s.ARN, s.PrincipalID
	switch s.Type {
	case session.AssumedRole, session.WebIdentity, session.SAML, session.LDAP:
		c.Type = policy.AssumedRole
	case session.FederatedUser:
		c.Type, c.UserName = policy.FederatedUser, s.UserName
	case session.SessionToken:
		if s.UserName == "" {
			c.Type = policy.Root
		} else {
			c.Type, c.UserName = policy.User, s.UserName
		}
	}
}

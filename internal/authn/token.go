package authn

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// Token authenticates temporary credentials by their session token alone,
// without a request signature: the token must be valid (issued by this
// deployment's keyring, not expired, not revoked) and belong to
// accessKeyID. It proves that the holder has the token, not the secret
// access key, so it serves only callers that authenticated the request
// some other way and vouch for it (the authorize API's Principal input).
// Errors are ErrInvalidToken and ErrExpiredToken.
func (a *Authenticator) Token(accessKeyID, token string, now time.Time) (*authz.Caller, error) {
	if !strings.HasPrefix(accessKeyID, "ASIA") || token == "" {
		return nil, ErrInvalidToken
	}
	sess, _, err := a.cfg.Sessions.Verify(accessKeyID, token)
	switch {
	case errors.Is(err, session.ErrExpired):
		return nil, ErrExpiredToken
	case err != nil:
		return nil, ErrInvalidToken
	}
	if a.cfg.Revoked != nil && a.cfg.Revoked(sess, now) {
		return nil, ErrInvalidToken
	}
	c := &authz.Caller{}
	SessionCaller(c, sess)
	c.Now = now
	return c, nil
}

// Secret returns the caller an access key authenticates and its secret,
// with every check Authenticate makes but the signature's: a session
// token must be valid, belong to accessKeyID, be unexpired and not
// revoked; a long-term key must exist and be active. It serves whoever
// derives a signing key from the secret for a party that checks
// signatures without holding it (the authorize API's local verifier
// data); the secret must not leave the process. Errors are
// Authenticate's: ErrInvalidToken, ErrExpiredToken, ErrUnknownAccessKey,
// or an internal error. The caller's request fields are unset but Now.
func (a *Authenticator) Secret(ctx context.Context, accessKeyID, token string, now time.Time) (*authz.Caller, []byte, error) {
	c := &authz.Caller{}
	temporary := strings.HasPrefix(accessKeyID, "ASIA")
	if temporary || token != "" {
		if !temporary || token == "" {
			return nil, nil, ErrInvalidToken
		}
		sess, secret, err := a.cfg.Sessions.Verify(accessKeyID, token)
		switch {
		case errors.Is(err, session.ErrExpired):
			return nil, nil, ErrExpiredToken
		case err != nil:
			return nil, nil, ErrInvalidToken
		}
		if a.cfg.Revoked != nil && a.cfg.Revoked(sess, now) {
			return nil, nil, ErrInvalidToken
		}
		SessionCaller(c, sess)
		c.Now = now
		return c, secret, nil
	}
	k, err := a.cfg.Keys.Key(ctx, accessKeyID, now)
	if errors.Is(err, ErrUnknownKey) {
		return nil, nil, ErrUnknownAccessKey
	}
	if err != nil {
		return nil, nil, apierr.Internal(err)
	}
	if !k.Active {
		return nil, nil, ErrUnknownAccessKey
	}
	secret, own, err := k.secret(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !own {
		// A copy: KeySource values are shared, and the caller clears its copy.
		secret = append([]byte(nil), secret...)
	}
	*c = k.Caller
	c.Now = now
	return c, secret, nil
}

package authn

import (
	"errors"
	"strings"
	"time"

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

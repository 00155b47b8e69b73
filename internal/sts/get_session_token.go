package sts

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// GetSessionTokenInput is the GetSessionToken request.
type GetSessionTokenInput struct {
	DurationSeconds *int32 `min:"900" max:"129600"`
	SerialNumber    string `min:"9" max:"256" pattern:"[\\w+=/:,.@-]*"`
	TokenCode       string `min:"6" max:"6" pattern:"[\\d]*" sensitive:"true"`
}

// GetSessionTokenOutput is the GetSessionToken result.
type GetSessionTokenOutput struct {
	Credentials *Credentials `xml:"Credentials"`
}

// GetSessionToken returns temporary credentials for an IAM user or the root,
// with the caller's own permissions (reference §3.10). Long-term credentials only.
func (s *Service) GetSessionToken(ctx context.Context, c *authz.Caller, in *GetSessionTokenInput) (*GetSessionTokenOutput, error) {
	duration := int32(43200)
	if c.IsRoot() {
		// Root sessions are capped at one hour, silently (reference §10.1).
		duration = 3600
	}
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
		if c.IsRoot() && duration > 3600 {
			duration = 3600
		}
	}
	now := s.time()
	sess := session.Session{
		Type:              session.SessionToken,
		Account:           c.Account,
		ARN:               c.ARN,
		PrincipalID:       c.UserID,
		UserName:          c.UserName,
		UserID:            c.UserID,
		IssuedAt:          now,
		Expires:           now.Add(secondsDuration(duration)),
		SourceAccessKeyID: c.AccessKeyID,
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := s.checkMFA(ctx, c, in.SerialNumber, in.TokenCode); err != nil {
			return nil, err
		}
		sess.MFA, sess.MFAAuthTime = true, now
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "get session token: mint")
	}
	return &GetSessionTokenOutput{Credentials: credentials(creds)}, nil
}

package sts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/mfa"
)

// MFAChecker verifies an MFA code for a user ("" for the account root) of an
// account; *mfa.Checker implements it. It returns mfa.ErrUnknownDevice,
// mfa.ErrInvalidCode or mfa.ErrThrottled for a refused code.
type MFAChecker interface {
	Check(ctx context.Context, account, userName, serial, code string, now time.Time) error
}

// MFACheckerFunc adapts a function to MFAChecker.
type MFACheckerFunc func(ctx context.Context, account, userName, serial, code string, now time.Time) error

// Check calls f.
func (f MFACheckerFunc) Check(ctx context.Context, account, userName, serial, code string, now time.Time) error {
	return f(ctx, account, userName, serial, code, now)
}

const (
	msgMFAUnknown   = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
	msgMFAInvalid   = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	msgMFAThrottled = "MultiFactorAuthentication failed: too many invalid MFA one time pass codes for this device; try again later."
)

// checkMFA validates an MFA code for the caller: an IAM user (or its
// GetSessionToken session) or the account root. Other callers (role
// sessions) have no MFA device of their own. Without a checker every code
// fails closed.
func (s *Service) checkMFA(ctx context.Context, c *authz.Caller, serial, code string) error {
	if serial == "" || code == "" || s.mfa == nil {
		return apierr.New(apierr.AccessDenied, msgMFAUnknown)
	}
	userName := c.UserName
	if !c.IsRoot() && userName == "" {
		return apierr.New(apierr.AccessDenied, msgMFAUnknown)
	}
	if c.IsRoot() {
		userName = ""
	}
	err := s.mfa.Check(ctx, c.Account, userName, serial, code, s.now())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mfa.ErrUnknownDevice):
		return apierr.New(apierr.AccessDenied, msgMFAUnknown)
	case errors.Is(err, mfa.ErrInvalidCode):
		return apierr.New(apierr.AccessDenied, msgMFAInvalid)
	case errors.Is(err, mfa.ErrThrottled):
		return apierr.New(apierr.AccessDenied, msgMFAThrottled)
	}
	return apierr.Internal(fmt.Errorf("check mfa: %w", err))
}

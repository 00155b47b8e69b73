package sts

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// checkMFA validates an MFA code for the caller. Virtual MFA devices arrive
// with the MFA issue; until then any MFA code fails closed.
func (s *Service) checkMFA(_ context.Context, _ *authz.Caller, serial, code string) error {
	if serial == "" || code == "" {
		return apierr.New(apierr.AccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.")
	}
	return apierr.New(apierr.AccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.")
}

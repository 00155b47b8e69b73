package sts

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// GetCallerIdentityInput is the GetCallerIdentity request (no parameters).
type GetCallerIdentityInput struct{}

// GetCallerIdentityOutput is the GetCallerIdentity result.
type GetCallerIdentityOutput struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	ARN     string `xml:"Arn"`
}

// GetCallerIdentity returns who the caller is; it needs no permission and
// cannot be denied (reference §3.7).
func (s *Service) GetCallerIdentity(_ context.Context, c *authz.Caller, _ *GetCallerIdentityInput) (*GetCallerIdentityOutput, error) {
	return &GetCallerIdentityOutput{UserID: c.UserID, Account: c.Account, ARN: c.ARN}, nil
}

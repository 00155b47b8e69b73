package sts

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// GetAccessKeyInfoInput is the GetAccessKeyInfo request.
type GetAccessKeyInfoInput struct {
	AccessKeyId string `required:"true" min:"16" max:"128" pattern:"[\\w]*"`
}

// GetAccessKeyInfoOutput is the GetAccessKeyInfo result.
type GetAccessKeyInfoOutput struct {
	Account string `xml:"Account"`
}

// GetAccessKeyInfo returns the account an access key id belongs to. Stored
// long-term keys answer from the store (an operator may have chosen any
// AKIA id); temporary keys, which are never stored, carry their account in
// the id, as in AWS, so the answer needs no lookup.
func (s *Service) GetAccessKeyInfo(ctx context.Context, c *authz.Caller, in *GetAccessKeyInfoInput) (*GetAccessKeyInfoOutput, error) {
	if err := s.authz.Check(ctx, c, "sts:GetAccessKeyInfo", "*"); err != nil {
		return nil, err
	}
	k, err := s.keys.GetAccessKey(ctx, in.AccessKeyId)
	if err == nil {
		return &GetAccessKeyInfoOutput{Account: k.Account}, nil
	}
	if !isNotFound(err) {
		return nil, internal(err, "get access key info")
	}
	if acct, ok := session.AccountForAccessKeyID(in.AccessKeyId); ok {
		return &GetAccessKeyInfoOutput{Account: acct}, nil
	}
	return nil, apierr.New(apierr.InvalidParameterValue, "The access key ID %s is not valid", in.AccessKeyId)
}

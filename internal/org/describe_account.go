package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// DescribeAccountInput is the DescribeAccount request.
type DescribeAccountInput struct {
	AccountID string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
}

// DescribeAccountOutput is the DescribeAccount result.
type DescribeAccountOutput struct {
	Account Account `json:"Account"`
}

func errAccountNotFound() *apierr.Error {
	return apierr.New(apierr.AccountNotFoundException, "You specified an account that doesn't exist.")
}

// DescribeAccount describes one account of the organization.
func (s *Service) DescribeAccount(ctx context.Context, c *authz.Caller, in *DescribeAccountInput) (*DescribeAccountOutput, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	o, err := s.authorize(ctx, c, "DescribeAccount", accountResource(in.AccountID))
	if err != nil {
		return nil, err
	}
	a, err := s.getMember(ctx, in.AccountID)
	if err != nil {
		return nil, err
	}
	out, err := s.accountOut(ctx, o, a)
	if err != nil {
		return nil, err
	}
	return &DescribeAccountOutput{Account: out}, nil
}

package org

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// DescribeCreateAccountStatusInput is the DescribeCreateAccountStatus request.
type DescribeCreateAccountStatusInput struct {
	CreateAccountRequestID string `json:"CreateAccountRequestId" max:"36" pattern:"^car-[a-z0-9]{8,32}$"`
}

// DescribeCreateAccountStatusOutput is the DescribeCreateAccountStatus result.
type DescribeCreateAccountStatusOutput struct {
	CreateAccountStatus CreateAccountStatus `json:"CreateAccountStatus"`
}

// DescribeCreateAccountStatus returns the status of a CreateAccount request.
func (s *Service) DescribeCreateAccountStatus(ctx context.Context, c *authz.Caller, in *DescribeCreateAccountStatusInput) (*DescribeCreateAccountStatusOutput, error) {
	if !carIDPattern.MatchString(in.CreateAccountRequestID) {
		return nil, invalidInput("You specified an invalid value for createAccountRequestId.")
	}
	o, err := s.authorize(ctx, c, "DescribeCreateAccountStatus")
	if err != nil {
		return nil, err
	}
	notFound := apierr.New(apierr.CreateAccountStatusNotFoundException, "We can't find an create account request with the CreateAccountRequestId that you specified.")
	id := strings.TrimPrefix(in.CreateAccountRequestID, carPrefix)
	if accountIDPattern.MatchString(id) && id != o.mgmt {
		a, err := s.store.GetAccount(ctx, id)
		if err == nil {
			return &DescribeCreateAccountStatusOutput{CreateAccountStatus: succeeded(a)}, nil
		}
		if !isNotFound(err) {
			return nil, internal(err, "describe create account status")
		}
	}
	f, err := s.store.GetOrgAccountFailure(ctx, in.CreateAccountRequestID)
	if isNotFound(err) {
		return nil, notFound
	}
	if err != nil {
		return nil, internal(err, "describe create account status")
	}
	return &DescribeCreateAccountStatusOutput{CreateAccountStatus: failed(f)}, nil
}

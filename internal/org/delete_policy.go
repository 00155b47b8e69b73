package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// DeletePolicyInput is the DeletePolicy request.
type DeletePolicyInput struct {
	PolicyID string `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
}

// DeletePolicyOutput is the (empty) DeletePolicy result.
type DeletePolicyOutput struct{}

// DeletePolicy deletes a customer managed policy that is attached nowhere.
func (s *Service) DeletePolicy(ctx context.Context, c *authz.Caller, in *DeletePolicyInput) (*DeletePolicyOutput, error) {
	_, p, err := s.authPolicy(ctx, c, "DeletePolicy", in.PolicyID)
	if err != nil {
		return nil, err
	}
	if p.AWSManaged {
		return nil, errAWSManaged()
	}
	if err := s.store.DeleteOrgPolicy(ctx, p.ID); err != nil {
		switch {
		case isConflict(err):
			return nil, apierr.New(apierr.PolicyInUseException, "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
		case isNotFound(err):
			return nil, errPolicyNotFound()
		}
		return nil, internal(err, "delete policy "+p.ID)
	}
	return &DeletePolicyOutput{}, nil
}

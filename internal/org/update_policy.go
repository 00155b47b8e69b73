package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// UpdatePolicyInput is the UpdatePolicy request; absent members keep their value.
type UpdatePolicyInput struct {
	PolicyID    string  `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
	Name        *string `json:"Name" min:"1" max:"128"`
	Description *string `json:"Description" max:"512"`
	Content     *string `json:"Content" min:"1" max:"1000000"`
}

// UpdatePolicy changes a customer managed policy's name, description or
// content. A content change applies at once to every principal under the
// policy's targets.
func (s *Service) UpdatePolicy(ctx context.Context, c *authz.Caller, in *UpdatePolicyInput) (*PolicyOutput, error) {
	o, p, err := s.authPolicy(ctx, c, "UpdatePolicy", in.PolicyID)
	if err != nil {
		return nil, err
	}
	if p.AWSManaged {
		return nil, errAWSManaged()
	}
	if in.Name != nil {
		if err := checkPolicyName(*in.Name); err != nil {
			return nil, err
		}
		p.Name = *in.Name
	}
	if in.Description != nil {
		if err := checkPolicyDescription(*in.Description); err != nil {
			return nil, err
		}
		p.Description = *in.Description
	}
	if in.Content != nil {
		if err := s.checkTypedContent(p.Type, *in.Content); err != nil {
			return nil, err
		}
		p.Content = *in.Content
	}
	if err := s.store.UpdateOrgPolicy(ctx, p); err != nil {
		switch {
		case isExists(err):
			return nil, apierr.New(apierr.DuplicatePolicyException, "A policy with the same name already exists.")
		case isNotFound(err):
			return nil, errPolicyNotFound()
		}
		return nil, internal(err, "update policy "+p.ID)
	}
	return &PolicyOutput{Policy: o.policy(p)}, nil
}

package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// CreateOrganizationInput is the CreateOrganization request.
type CreateOrganizationInput struct {
	FeatureSet string `json:"FeatureSet"`
}

// CreateOrganizationOutput is the CreateOrganization result (never returned:
// the organization exists from the first start).
type CreateOrganizationOutput struct {
	Organization Organization `json:"Organization"`
}

// CreateOrganization answers as AWS does for an account that already belongs
// to an organization: every account of a deployment does. A caller without
// organizations:CreateOrganization learns nothing of that.
func (s *Service) CreateOrganization(ctx context.Context, c *authz.Caller, _ *CreateOrganizationInput) (*CreateOrganizationOutput, error) {
	o, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, o, "CreateOrganization"); err != nil {
		return nil, err
	}
	return nil, apierr.New(apierr.AlreadyInOrganizationException, "This account is already a member of an organization.")
}

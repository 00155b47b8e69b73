package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// CreateOrganizationInput is the CreateOrganization request.
type CreateOrganizationInput struct {
	FeatureSet string `json:"FeatureSet" enum:"ALL,CONSOLIDATED_BILLING"`
}

// CreateOrganizationOutput is the CreateOrganization result.
type CreateOrganizationOutput struct {
	Organization Organization `json:"Organization"`
}

// CreateOrganization makes the deployment's organization, with the
// management account (the one created at first start) as its management
// account: feature set ALL (the default; SCPs enabled, FullAWSAccess
// attached to the root and every account) or CONSOLIDATED_BILLING (no
// policy types). Every other account of a deployment is a member, so it,
// and the management account once the organization exists, gets
// AlreadyInOrganizationException; a caller without
// organizations:CreateOrganization learns nothing of that.
func (s *Service) CreateOrganization(ctx context.Context, c *authz.Caller, in *CreateOrganizationInput) (*CreateOrganizationOutput, error) {
	fs := in.FeatureSet
	switch fs {
	case "":
		fs = featureAll
	case featureAll, featureConsolidatedBilling:
	default:
		return nil, invalidInput("You specified an invalid value.")
	}
	s.mu.RLock()
	mgmt := s.mgmt
	s.mu.RUnlock()
	if mgmt == "" {
		return nil, errDenied()
	}
	if err := s.check(ctx, c, org{mgmt: mgmt}, "CreateOrganization"); err != nil {
		return nil, err
	}
	if c.Account != mgmt {
		return nil, errAlreadyIn()
	}
	// One creation at a time on this node; across nodes the organization
	// id, written last and only if absent, decides.
	s.create1.Lock()
	defer s.create1.Unlock()
	if _, err := s.load(ctx); err == nil {
		return nil, errAlreadyIn()
	} else if e, ok := apierr.As(err); !ok || e.Code != apierr.OrganizationsNotInUseException {
		return nil, err
	}
	won, err := s.create(ctx, fs)
	if err != nil {
		return nil, internal(err, "create organization")
	}
	if !won {
		return nil, errAlreadyIn()
	}
	o, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.describe(ctx, o)
	if err != nil {
		return nil, err
	}
	return &CreateOrganizationOutput{Organization: out}, nil
}

func errAlreadyIn() *apierr.Error {
	return apierr.New(apierr.AlreadyInOrganizationException, "This account is already a member of an organization.")
}

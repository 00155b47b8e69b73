package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// DescribeOrganizationInput is the (empty) DescribeOrganization request.
type DescribeOrganizationInput struct{}

// DescribeOrganizationOutput is the DescribeOrganization result.
type DescribeOrganizationOutput struct {
	Organization Organization `json:"Organization"`
}

// DescribeOrganization describes the deployment's organization: all
// features, SCPs enabled, the management account as its master.
func (s *Service) DescribeOrganization(ctx context.Context, c *authz.Caller, _ *DescribeOrganizationInput) (*DescribeOrganizationOutput, error) {
	o, err := s.authorize(ctx, c, "DescribeOrganization")
	if err != nil {
		return nil, err
	}
	out, err := s.describe(ctx, o)
	if err != nil {
		return nil, err
	}
	return &DescribeOrganizationOutput{Organization: out}, nil
}

// describe is the organization as DescribeOrganization shows it.
func (s *Service) describe(ctx context.Context, o org) (Organization, error) {
	mgmt, err := s.store.GetAccount(ctx, o.mgmt)
	if err != nil {
		return Organization{}, internal(err, "describe organization")
	}
	return Organization{
		ID: o.id, ARN: o.arn(), FeatureSet: o.featureSet,
		MasterAccountARN: o.accountARN(o.mgmt), MasterAccountEmail: mgmt.Email, MasterAccountID: o.mgmt,
		AvailablePolicyTypes: o.policyTypes(),
	}, nil
}

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
	mgmt, err := s.store.GetAccount(ctx, o.mgmt)
	if err != nil {
		return nil, internal(err, "describe organization")
	}
	return &DescribeOrganizationOutput{Organization: Organization{
		ID: o.id, ARN: o.arn(), FeatureSet: "ALL",
		MasterAccountARN: o.accountARN(o.mgmt), MasterAccountEmail: mgmt.Email, MasterAccountID: o.mgmt,
		AvailablePolicyTypes: enabledSCP,
	}}, nil
}

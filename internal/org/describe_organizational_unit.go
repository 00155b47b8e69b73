package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// DescribeOrganizationalUnitInput is the DescribeOrganizationalUnit request.
type DescribeOrganizationalUnitInput struct {
	OrganizationalUnitID string `json:"OrganizationalUnitId" max:"68" pattern:"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"`
}

// DescribeOrganizationalUnitOutput is the DescribeOrganizationalUnit result.
type DescribeOrganizationalUnitOutput struct {
	OrganizationalUnit OrganizationalUnit `json:"OrganizationalUnit"`
}

// DescribeOrganizationalUnit describes an OU.
func (s *Service) DescribeOrganizationalUnit(ctx context.Context, c *authz.Caller, in *DescribeOrganizationalUnitInput) (*DescribeOrganizationalUnitOutput, error) {
	o, u, err := s.authOU(ctx, c, "DescribeOrganizationalUnit", in.OrganizationalUnitID)
	if err != nil {
		return nil, err
	}
	return &DescribeOrganizationalUnitOutput{OrganizationalUnit: o.ou(u)}, nil
}

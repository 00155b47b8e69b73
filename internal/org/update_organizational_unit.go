package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// UpdateOrganizationalUnitInput is the UpdateOrganizationalUnit request.
type UpdateOrganizationalUnitInput struct {
	OrganizationalUnitID string `json:"OrganizationalUnitId" max:"68" pattern:"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"`
	Name                 string `json:"Name" min:"1" max:"128"`
}

// UpdateOrganizationalUnitOutput is the UpdateOrganizationalUnit result.
type UpdateOrganizationalUnitOutput struct {
	OrganizationalUnit OrganizationalUnit `json:"OrganizationalUnit"`
}

// UpdateOrganizationalUnit renames an OU (the only thing it changes; an
// empty Name leaves it as it is).
func (s *Service) UpdateOrganizationalUnit(ctx context.Context, c *authz.Caller, in *UpdateOrganizationalUnitInput) (*UpdateOrganizationalUnitOutput, error) {
	o, u, err := s.authOU(ctx, c, "UpdateOrganizationalUnit", in.OrganizationalUnitID)
	if err != nil {
		return nil, err
	}
	if in.Name == "" || in.Name == u.Name {
		return &UpdateOrganizationalUnitOutput{OrganizationalUnit: o.ou(u)}, nil
	}
	if err := checkOUName(in.Name); err != nil {
		return nil, err
	}
	if err := s.store.RenameOrgUnit(ctx, u.ID, in.Name); err != nil {
		switch {
		case isExists(err):
			return nil, apierr.New(apierr.DuplicateOrganizationalUnitException, "An OU with the same name already exists.")
		case isNotFound(err):
			return nil, errOUNotFound()
		}
		return nil, internal(err, "update organizational unit "+u.ID)
	}
	u.Name = in.Name
	return &UpdateOrganizationalUnitOutput{OrganizationalUnit: o.ou(u)}, nil
}

package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// DeleteOrganizationalUnitInput is the DeleteOrganizationalUnit request.
type DeleteOrganizationalUnitInput struct {
	OrganizationalUnitID string `json:"OrganizationalUnitId" max:"68" pattern:"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"`
}

// DeleteOrganizationalUnitOutput is the (empty) DeleteOrganizationalUnit result.
type DeleteOrganizationalUnitOutput struct{}

// DeleteOrganizationalUnit deletes an OU that holds no accounts and no OUs
// (OrganizationalUnitNotEmptyException otherwise), with its policy
// attachments and tags.
func (s *Service) DeleteOrganizationalUnit(ctx context.Context, c *authz.Caller, in *DeleteOrganizationalUnitInput) (*DeleteOrganizationalUnitOutput, error) {
	_, u, err := s.authOU(ctx, c, "DeleteOrganizationalUnit", in.OrganizationalUnitID)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteOrgUnit(ctx, u.ID); err != nil {
		switch {
		case isConflict(err):
			return nil, apierr.New(apierr.OrganizationalUnitNotEmptyException, "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.")
		case isNotFound(err):
			return nil, errOUNotFound()
		}
		return nil, internal(err, "delete organizational unit "+u.ID)
	}
	return &DeleteOrganizationalUnitOutput{}, nil
}

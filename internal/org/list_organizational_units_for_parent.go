package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// ListOrganizationalUnitsForParentInput is the ListOrganizationalUnitsForParent request.
type ListOrganizationalUnitsForParentInput struct {
	ParentID   string `json:"ParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListOrganizationalUnitsForParentOutput is the ListOrganizationalUnitsForParent result.
type ListOrganizationalUnitsForParentOutput struct {
	OrganizationalUnits []OrganizationalUnit `json:"OrganizationalUnits"`
	NextToken           string               `json:"NextToken,omitempty"`
}

// ListOrganizationalUnitsForParent lists the OUs in a root or OU, by id.
func (s *Service) ListOrganizationalUnitsForParent(ctx context.Context, c *authz.Caller, in *ListOrganizationalUnitsForParentInput) (*ListOrganizationalUnitsForParentOutput, error) {
	o, err := s.authParent(ctx, c, "ListOrganizationalUnitsForParent", "parentId", in.ParentID)
	if err != nil {
		return nil, err
	}
	parent, err := s.resolveParent(ctx, o, in.ParentID, errParentNotFound)
	if err != nil {
		return nil, err
	}
	us, err := s.store.ListOrgUnits(ctx, parent)
	if err != nil {
		return nil, internal(err, "list organizational units")
	}
	pg, next, err := page(us, func(u store.OrgUnit) string { return u.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListOrganizationalUnitsForParentOutput{OrganizationalUnits: make([]OrganizationalUnit, 0, len(pg)), NextToken: next}
	for _, u := range pg {
		out.OrganizationalUnits = append(out.OrganizationalUnits, o.ou(u))
	}
	return out, nil
}

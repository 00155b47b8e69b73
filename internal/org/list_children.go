package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListChildrenInput is the ListChildren request.
type ListChildrenInput struct {
	ParentID   string `json:"ParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	ChildType  string `json:"ChildType" enum:"ACCOUNT,ORGANIZATIONAL_UNIT"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListChildrenOutput is the ListChildren result.
type ListChildrenOutput struct {
	Children  []Child `json:"Children"`
	NextToken string  `json:"NextToken,omitempty"`
}

// ListChildren lists the accounts or the OUs (ChildType) in a root or OU, by id.
func (s *Service) ListChildren(ctx context.Context, c *authz.Caller, in *ListChildrenInput) (*ListChildrenOutput, error) {
	o, err := s.authParent(ctx, c, "ListChildren", "parentId", in.ParentID)
	if err != nil {
		return nil, err
	}
	if in.ChildType != "ACCOUNT" && in.ChildType != "ORGANIZATIONAL_UNIT" {
		return nil, invalidInput("You specified an invalid value for childType.")
	}
	parent, err := s.resolveParent(ctx, o, in.ParentID, errParentNotFound)
	if err != nil {
		return nil, err
	}
	var children []Child
	if in.ChildType == "ACCOUNT" {
		ids, err := s.store.ListOrgAccountsInUnit(ctx, parent)
		if err != nil {
			return nil, internal(err, "list accounts for parent")
		}
		for _, id := range ids {
			children = append(children, Child{ID: id, Type: "ACCOUNT"})
		}
	} else {
		us, err := s.store.ListOrgUnits(ctx, parent)
		if err != nil {
			return nil, internal(err, "list organizational units")
		}
		for _, u := range us {
			children = append(children, Child{ID: u.ID, Type: "ORGANIZATIONAL_UNIT"})
		}
	}
	pg, next, err := page(children, func(ch Child) string { return ch.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListChildrenOutput{Children: pg, NextToken: next}, nil
}

package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// ListParentsInput is the ListParents request.
type ListParentsInput struct {
	ChildID    string `json:"ChildId" max:"100" pattern:"^(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListParentsOutput is the ListParents result: the one immediate parent.
type ListParentsOutput struct {
	Parents   []Parent `json:"Parents"`
	NextToken string   `json:"NextToken,omitempty"`
}

// ListParents lists the root or OU that holds an account or OU (exactly one).
func (s *Service) ListParents(ctx context.Context, c *authz.Caller, in *ListParentsInput) (*ListParentsOutput, error) {
	o, err := s.member(ctx, c, "ListParents")
	if err != nil {
		return nil, err
	}
	if !childIDPattern.MatchString(in.ChildID) {
		return nil, invalidInput("You specified an invalid value for childId.")
	}
	res := ouResource(in.ChildID)
	if accountIDPattern.MatchString(in.ChildID) {
		res = accountResource(in.ChildID)
	}
	if err := s.check(ctx, c, o, "ListParents", res); err != nil {
		return nil, err
	}
	var parent string
	if accountIDPattern.MatchString(in.ChildID) {
		parent, err = s.store.OrgAccountParent(ctx, in.ChildID)
	} else {
		var u, gerr = s.store.GetOrgUnit(ctx, in.ChildID)
		parent, err = u.ParentID, gerr
	}
	if isNotFound(err) {
		return nil, apierr.New(apierr.ChildNotFoundException, "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
	}
	if err != nil {
		return nil, internal(err, "list parents of "+in.ChildID)
	}
	p := Parent{ID: o.wireParent(parent), Type: "ORGANIZATIONAL_UNIT"}
	if parent == "" {
		p.Type = "ROOT"
	}
	pg, next, err := page([]Parent{p}, func(p Parent) string { return p.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListParentsOutput{Parents: pg, NextToken: next}, nil
}

package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListRootsInput is the ListRoots request.
type ListRootsInput struct {
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListRootsOutput is the ListRoots result.
type ListRootsOutput struct {
	Roots     []Root `json:"Roots"`
	NextToken string `json:"NextToken,omitempty"`
}

// ListRoots lists the organization's one root, with SCPs enabled.
func (s *Service) ListRoots(ctx context.Context, c *authz.Caller, in *ListRootsInput) (*ListRootsOutput, error) {
	o, err := s.authorize(ctx, c, "ListRoots")
	if err != nil {
		return nil, err
	}
	roots := []Root{{ID: o.root, ARN: o.rootARN(), Name: "Root", PolicyTypes: o.policyTypes()}}
	pg, next, err := page(roots, func(r Root) string { return r.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListRootsOutput{Roots: pg, NextToken: next}, nil
}

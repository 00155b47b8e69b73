package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListTargetsForPolicyInput is the ListTargetsForPolicy request.
type ListTargetsForPolicyInput struct {
	PolicyID   string `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListTargetsForPolicyOutput is the ListTargetsForPolicy result.
type ListTargetsForPolicyOutput struct {
	Targets   []PolicyTargetSummary `json:"Targets"`
	NextToken string                `json:"NextToken,omitempty"`
}

// ListTargetsForPolicy lists the roots and accounts a policy is attached to,
// by target id.
func (s *Service) ListTargetsForPolicy(ctx context.Context, c *authz.Caller, in *ListTargetsForPolicyInput) (*ListTargetsForPolicyOutput, error) {
	o, p, err := s.authPolicy(ctx, c, "ListTargetsForPolicy", in.PolicyID)
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	ids, err := s.store.ListOrgTargets(ctx, p.ID, req.options()) // by target id
	if err != nil {
		return nil, internal(err, "list targets for policy "+p.ID)
	}
	// The token is the last target id of the page; a target that no longer
	// exists is left out of the page, not out of the position.
	ids, next := cut(req, ids, func(id string) string { return id })
	targets := make([]PolicyTargetSummary, 0, len(ids))
	for _, id := range ids {
		t, err := s.resolveTarget(ctx, o, id)
		if err != nil {
			continue // an account or root that no longer exists
		}
		targets = append(targets, PolicyTargetSummary{TargetID: t.ID, ARN: t.ARN, Name: t.Name, Type: t.Type})
	}
	return &ListTargetsForPolicyOutput{Targets: targets, NextToken: next}, nil
}

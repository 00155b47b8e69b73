package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListTargetsForPolicyInput is the ListTargetsForPolicy request.
type ListTargetsForPolicyInput struct {
	PolicyID   string `json:"PolicyId"`
	NextToken  string `json:"NextToken"`
	MaxResults *int32 `json:"MaxResults"`
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
	atts, err := s.store.ListOrgAttachments(ctx) // sorted by policy id, then target id
	if err != nil {
		return nil, internal(err, "list targets for policy "+p.ID)
	}
	var targets []PolicyTargetSummary
	for _, a := range atts {
		if a.PolicyID != p.ID {
			continue
		}
		t, err := s.resolveTarget(ctx, o, a.TargetID)
		if err != nil {
			continue // an account or root that no longer exists
		}
		targets = append(targets, PolicyTargetSummary{TargetID: t.ID, ARN: t.ARN, Name: t.Name, Type: t.Type})
	}
	pg, next, err := page(targets, func(t PolicyTargetSummary) string { return t.TargetID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListTargetsForPolicyOutput{Targets: pg, NextToken: next}, nil
}

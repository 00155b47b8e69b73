package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// ListPoliciesForTargetInput is the ListPoliciesForTarget request.
type ListPoliciesForTargetInput struct {
	TargetID   string `json:"TargetId"`
	Filter     string `json:"Filter"`
	NextToken  string `json:"NextToken"`
	MaxResults *int32 `json:"MaxResults"`
}

// ListPoliciesForTarget lists the policies of type Filter attached directly
// to the root or an account, by name.
func (s *Service) ListPoliciesForTarget(ctx context.Context, c *authz.Caller, in *ListPoliciesForTargetInput) (*PoliciesOutput, error) {
	if !policyTypes[in.Filter] {
		return nil, invalidInput("You specified an invalid value for filter.")
	}
	o, err := s.member(ctx, c)
	if err != nil {
		return nil, err
	}
	t, err := s.resolveTarget(ctx, o, in.TargetID)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, o, "ListPoliciesForTarget", func(org) string { return t.ARN }); err != nil {
		return nil, err
	}
	ids, err := s.attachedTo(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	ps := make([]store.OrgPolicy, 0, len(ids))
	for _, id := range ids {
		p, err := s.store.GetOrgPolicy(ctx, id)
		if isNotFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, internal(err, "list policies for target "+t.ID)
		}
		ps = append(ps, p)
	}
	return o.policyPage(ps, in.Filter, in.NextToken, in.MaxResults)
}

package org

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// ListPoliciesInput is the ListPolicies request.
type ListPoliciesInput struct {
	Filter     string `json:"Filter"`
	NextToken  string `json:"NextToken"`
	MaxResults *int32 `json:"MaxResults"`
}

// PoliciesOutput is the result of ListPolicies and ListPoliciesForTarget.
type PoliciesOutput struct {
	Policies  []PolicySummary `json:"Policies"`
	NextToken string          `json:"NextToken,omitempty"`
}

// ListPolicies lists the policies of type Filter, by name. Types other than
// SERVICE_CONTROL_POLICY have none.
func (s *Service) ListPolicies(ctx context.Context, c *authz.Caller, in *ListPoliciesInput) (*PoliciesOutput, error) {
	if !policyTypes[in.Filter] {
		return nil, invalidInput("You specified an invalid value for filter.")
	}
	o, err := s.authorize(ctx, c, "ListPolicies")
	if err != nil {
		return nil, err
	}
	var ps []store.OrgPolicy
	if in.Filter == scpType {
		if ps, err = s.store.ListOrgPolicies(ctx); err != nil {
			return nil, internal(err, "list policies")
		}
	}
	return o.policyPage(ps, in.Filter, in.NextToken, in.MaxResults)
}

// policyPage sorts policies of type typ by name and returns one page.
func (o org) policyPage(ps []store.OrgPolicy, typ, token string, maxResults *int32) (*PoliciesOutput, error) {
	out := &PoliciesOutput{Policies: []PolicySummary{}}
	var keep []store.OrgPolicy
	for _, p := range ps {
		if p.Type == typ {
			keep = append(keep, p)
		}
	}
	key := func(p store.OrgPolicy) string { return strings.ToLower(p.Name) + "\x00" + p.Name + "\x00" + p.ID }
	slicesSortBy(keep, key)
	pg, next, err := page(keep, key, token, maxResults)
	if err != nil {
		return nil, err
	}
	for _, p := range pg {
		out.Policies = append(out.Policies, o.summary(p))
	}
	out.NextToken = next
	return out, nil
}

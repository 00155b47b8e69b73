package org

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// ListPoliciesInput is the ListPolicies request.
type ListPoliciesInput struct {
	Filter     string `json:"Filter" enum:"SERVICE_CONTROL_POLICY,RESOURCE_CONTROL_POLICY,DECLARATIVE_POLICY_EC2,BACKUP_POLICY,TAG_POLICY,CHATBOT_POLICY,AISERVICES_OPT_OUT_POLICY,SECURITYHUB_POLICY"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// PoliciesOutput is the result of ListPolicies and ListPoliciesForTarget.
type PoliciesOutput struct {
	Policies  []PolicySummary `json:"Policies"`
	NextToken string          `json:"NextToken,omitempty"`
}

// ListPolicies lists the policies of type Filter, by name.
func (s *Service) ListPolicies(ctx context.Context, c *authz.Caller, in *ListPoliciesInput) (*PoliciesOutput, error) {
	if !policyTypes[in.Filter] {
		return nil, invalidInput("You specified an invalid value for filter.")
	}
	o, err := s.member(ctx, c, "ListPolicies")
	if err == nil {
		err = s.checkKeys(ctx, c, o, "ListPolicies", policyTypeKey(in.Filter))
	}
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	var ps []store.OrgPolicy
	{
		opt := req.options()
		// The token is the last policy's name; one from policyPage (before
		// the store paged this list) is its key, which holds the name.
		if _, rest, ok := strings.Cut(opt.After, "\x00"); ok {
			opt.After, _, _ = strings.Cut(rest, "\x00")
		}
		if ps, err = s.store.ListOrgPolicies(ctx, in.Filter, opt); err != nil {
			return nil, internal(err, "list policies")
		}
	}
	pg, next := cut(req, ps, func(p store.OrgPolicy) string { return p.Name })
	out := &PoliciesOutput{Policies: make([]PolicySummary, 0, len(pg)), NextToken: next}
	for _, p := range pg {
		out.Policies = append(out.Policies, o.summary(p))
	}
	return out, nil
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

package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListPoliciesForTargetInput is the ListPoliciesForTarget request.
type ListPoliciesForTargetInput struct {
	TargetID   string `json:"TargetId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	Filter     string `json:"Filter" enum:"SERVICE_CONTROL_POLICY,RESOURCE_CONTROL_POLICY,DECLARATIVE_POLICY_EC2,BACKUP_POLICY,TAG_POLICY,CHATBOT_POLICY,AISERVICES_OPT_OUT_POLICY,SECURITYHUB_POLICY"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListPoliciesForTarget lists the policies of type Filter attached directly
// to the root or an account, by name.
func (s *Service) ListPoliciesForTarget(ctx context.Context, c *authz.Caller, in *ListPoliciesForTargetInput) (*PoliciesOutput, error) {
	if !policyTypes[in.Filter] {
		return nil, invalidInput("You specified an invalid value for filter.")
	}
	o, err := s.member(ctx, c, "ListPoliciesForTarget")
	if err != nil {
		return nil, err
	}
	t, err := s.resolveTarget(ctx, o, in.TargetID)
	if err != nil {
		return nil, err
	}
	if err := s.checkKeys(ctx, c, o, "ListPoliciesForTarget", policyTypeKey(in.Filter), func(org) string { return t.ARN }); err != nil {
		return nil, err
	}
	// A target has at most maxSCPsPerTarget policies, so the page is cut
	// from all of them.
	ps, err := s.store.ListOrgPoliciesForTarget(ctx, t.ID)
	if err != nil {
		return nil, internal(err, "list policies for target "+t.ID)
	}
	return o.policyPage(ps, in.Filter, in.NextToken, in.MaxResults)
}

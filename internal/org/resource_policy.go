package org

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
)

// The organization's resource policy lives in one setting, as JSON
// {"id": "rp-...", "content": "..."}; an empty value is no policy. It
// delegates Organizations actions to principals of member accounts:
// member admits a caller of another account of the organization when the
// policy allows it the action and its own policies do too, as for any
// cross-account access.
const resourcePolicySetting = "org.resource-policy"

const maxResourcePolicyBytes = 40000

type storedResourcePolicy struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

// ResourcePolicySummary names the resource policy.
type ResourcePolicySummary struct {
	ID  string `json:"Id"`
	ARN string `json:"Arn"`
}

// ResourcePolicy is the resource policy on the wire.
type ResourcePolicy struct {
	ResourcePolicySummary ResourcePolicySummary `json:"ResourcePolicySummary"`
	Content               string                `json:"Content"`
}

// ResourcePolicyOutput is the result of PutResourcePolicy and
// DescribeResourcePolicy.
type ResourcePolicyOutput struct {
	ResourcePolicy ResourcePolicy `json:"ResourcePolicy"`
}

// PutResourcePolicyInput is the PutResourcePolicy request.
type PutResourcePolicyInput struct {
	Content string `json:"Content" min:"1" max:"40000"`
	Tags    []Tag  `json:"Tags"`
}

func errResourcePolicyNotFound() *apierr.Error {
	return apierr.New(apierr.ResourcePolicyNotFoundException, "We can't find a resource policy request with the parameter that you specified.")
}

func (o org) resourcePolicyARN(id string) string {
	return "arn:aws:organizations::" + o.mgmt + ":resourcepolicy/" + o.id + "/" + id
}

// resourcePolicy returns the stored policy; ok is false when there is none.
func (s *Service) resourcePolicy(ctx context.Context) (storedResourcePolicy, bool, error) {
	v, err := s.store.GetSetting(ctx, resourcePolicySetting)
	if isNotFound(err) || err == nil && v == "" {
		return storedResourcePolicy{}, false, nil
	}
	if err != nil {
		return storedResourcePolicy{}, false, internal(err, "load resource policy")
	}
	var rp storedResourcePolicy
	if err := json.Unmarshal([]byte(v), &rp); err != nil {
		return storedResourcePolicy{}, false, internal(err, "decode resource policy")
	}
	return rp, true, nil
}

// PutResourcePolicy creates or replaces the organization's resource
// policy: a resource-based policy (with Principal) of Organizations
// actions. Tags are refused: OpenSTS keeps none on the policy.
func (s *Service) PutResourcePolicy(ctx context.Context, c *authz.Caller, in *PutResourcePolicyInput) (*ResourcePolicyOutput, error) {
	o, err := s.authorize(ctx, c, "PutResourcePolicy")
	if err != nil {
		return nil, err
	}
	if n := len(in.Content); n < 1 || n > maxResourcePolicyBytes {
		return nil, invalidInput("You provided a value that does not match the required pattern: Content must be 1 to %d characters.", maxResourcePolicyBytes)
	}
	if len(in.Tags) > 0 {
		return nil, invalidInput("You can't tag the resource policy in this deployment.")
	}
	if _, err := s.policies.Compile(policy.Resource, in.Content); err != nil {
		return nil, apierr.New(apierr.MalformedPolicyDocumentException, "The provided policy document doesn't meet the requirements of the specified policy type: %s", err)
	}
	rp, ok, err := s.resourcePolicy(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		id, err := s.randomString(lowerDigits, 12)
		if err != nil {
			return nil, err
		}
		rp.ID = "rp-" + id
	}
	rp.Content = in.Content
	b, err := json.Marshal(rp)
	if err != nil {
		return nil, internal(err, "encode resource policy")
	}
	if err := s.store.PutSetting(ctx, resourcePolicySetting, string(b)); err != nil {
		return nil, internal(err, "put resource policy")
	}
	return &ResourcePolicyOutput{ResourcePolicy: ResourcePolicy{ResourcePolicySummary: ResourcePolicySummary{ID: rp.ID, ARN: o.resourcePolicyARN(rp.ID)}, Content: rp.Content}}, nil
}

// DescribeResourcePolicy returns the resource policy;
// ResourcePolicyNotFoundException when there is none.
func (s *Service) DescribeResourcePolicy(ctx context.Context, c *authz.Caller, _ *Empty) (*ResourcePolicyOutput, error) {
	o, err := s.authorize(ctx, c, "DescribeResourcePolicy")
	if err != nil {
		return nil, err
	}
	rp, ok, err := s.resourcePolicy(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errResourcePolicyNotFound()
	}
	return &ResourcePolicyOutput{ResourcePolicy: ResourcePolicy{ResourcePolicySummary: ResourcePolicySummary{ID: rp.ID, ARN: o.resourcePolicyARN(rp.ID)}, Content: rp.Content}}, nil
}

// DeleteResourcePolicy deletes the resource policy;
// ResourcePolicyNotFoundException when there is none.
func (s *Service) DeleteResourcePolicy(ctx context.Context, c *authz.Caller, _ *Empty) (*Empty, error) {
	if _, err := s.authorize(ctx, c, "DeleteResourcePolicy"); err != nil {
		return nil, err
	}
	_, ok, err := s.resourcePolicy(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errResourcePolicyNotFound()
	}
	if err := s.store.PutSetting(ctx, resourcePolicySetting, ""); err != nil {
		return nil, internal(err, "delete resource policy")
	}
	return &Empty{}, nil
}

// delegable are the actions the resource policy may delegate to member
// accounts: reading the organization and managing its policies, as AWS
// allows; never accounts, the organization itself or the resource policy.
func delegable(action string) bool {
	switch action {
	case "CreatePolicy", "UpdatePolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy", "TagResource", "UntagResource":
		return true
	case "DescribeResourcePolicy":
		return false
	}
	return strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "List")
}

// delegatedMember reports whether c is a principal of a member account of
// the organization (not closed) while it has a resource policy: one that
// delegated may then let it call a delegable action.
func (s *Service) delegatedMember(ctx context.Context, c *authz.Caller) (bool, error) {
	acct, err := s.store.GetAccount(ctx, c.Account)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, internal(err, "get account "+c.Account)
	}
	if acct.Standalone || !acct.ClosedAt.IsZero() {
		return false, nil
	}
	_, ok, err := s.resourcePolicy(ctx)
	return ok, err
}

// delegated reports whether the organization's resource policy lets c, a
// principal of a member account (member admitted it: delegatedMember),
// call action on each of resources with keys in the request's context: the
// policy must allow it and so must c's own policies (cross-account
// access). A Deny of the resource policy on a resource (a policy's ARN,
// say, or a type by organizations:PolicyType) denies. The policy is read
// and compiled once for all the resources.
func (s *Service) delegated(ctx context.Context, c *authz.Caller, o org, action string, resources []string, keys []authz.Key) (bool, error) {
	rp, ok, err := s.resourcePolicy(ctx)
	if err != nil || !ok {
		return false, err
	}
	p, err := s.policies.Compile(policy.Resource, rp.Content)
	if err != nil {
		return false, internal(err, "compile resource policy")
	}
	named := []policy.Named{{ID: rp.ID, Policy: p, Source: policy.Source{Type: policy.SourceResource}, Doc: rp.Content}}
	for _, r := range resources {
		d, err := s.authz.Decide(ctx, c, &authz.Request{Action: "organizations:" + action, Resource: r, ResourceAccount: o.mgmt, Keys: keys, ResourcePolicy: named})
		if err != nil {
			return false, internal(err, "authorize delegated organizations:"+action)
		}
		if d.Effect != policy.Allow {
			return false, nil
		}
	}
	return true, nil
}

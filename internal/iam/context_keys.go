package iam

import (
	"context"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
)

// GetContextKeysForCustomPolicy and GetContextKeysForPrincipalPolicy: the
// condition keys (and policy variables in condition values) that policies
// name, as the policy engine parsed them (policy.Policy.ContextKeys).

// ContextKeysOutput is the output of both GetContextKeysFor... actions.
type ContextKeysOutput struct {
	ContextKeyNames []string `xml:"ContextKeyNames>member"`
}

// mergeContextKeys unions the context keys of policies, compared
// case-insensitively (first spelling kept), sorted case-insensitively.
func mergeContextKeys(policies []*policy.Policy) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, p := range policies {
		for _, k := range p.ContextKeys() {
			if f := strings.ToLower(k); !seen[f] {
				seen[f] = true
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// parseInputs parses the documents of PolicyInputList as identity policies.
func parseInputs(docs []string) ([]*policy.Policy, error) {
	if err := checkDocuments(map[string][]string{"policyInputList": docs}); err != nil {
		return nil, err
	}
	out := make([]*policy.Policy, 0, len(docs))
	for _, doc := range docs {
		p, err := parsePolicy(policy.Identity, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// GetContextKeysForCustomPolicyInput is the input of GetContextKeysForCustomPolicy.
type GetContextKeysForCustomPolicyInput struct {
	PolicyInputList []string `required:"true" memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// GetContextKeysForCustomPolicy lists the context keys the given policies
// reference. It reads nothing of the account; like AWS it needs no
// permission beyond an authenticated caller, but is still authorized as
// iam:GetContextKeysForCustomPolicy on "*" so that a deny can block it.
func (s *Service) GetContextKeysForCustomPolicy(ctx context.Context, c *authz.Caller, in *GetContextKeysForCustomPolicyInput) (*ContextKeysOutput, error) {
	if err := s.check(ctx, c, "iam:GetContextKeysForCustomPolicy", "*"); err != nil {
		return nil, err
	}
	ps, err := parseInputs(in.PolicyInputList)
	if err != nil {
		return nil, err
	}
	return &ContextKeysOutput{ContextKeyNames: mergeContextKeys(ps)}, nil
}

// GetContextKeysForPrincipalPolicyInput is the input of GetContextKeysForPrincipalPolicy.
type GetContextKeysForPrincipalPolicyInput struct {
	PolicySourceARN string   `query:"PolicySourceArn" required:"true" min:"20" max:"2048"`
	PolicyInputList []string `memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// GetContextKeysForPrincipalPolicy lists the context keys referenced by
// the identity policies of a user (with its groups'), group or role of the
// caller's account, and by any policies passed in. It needs
// iam:GetContextKeysForPrincipalPolicy on the entity; as for
// SimulatePrincipalPolicy, an ARN that names no entity is authorized as
// given and then answered NoSuchEntity.
func (s *Service) GetContextKeysForPrincipalPolicy(ctx context.Context, c *authz.Caller, in *GetContextKeysForPrincipalPolicyInput) (*ContextKeysOutput, error) {
	src, err := parseSourceARN(in.PolicySourceARN)
	if err != nil {
		return nil, err
	}
	var e entity
	found := false
	if src.account == c.Account && src.session == "" {
		if e, found, err = s.load(ctx, c.Account, src.kind, src.name); err != nil {
			return nil, err
		}
	}
	found = found && orRoot(e.path) == src.path
	resource := in.PolicySourceARN
	if found {
		resource = e.arn
	}
	if err := s.check(ctx, c, "iam:GetContextKeysForPrincipalPolicy", resource); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchEntity(src.kind, src.name)
	}
	inputs, err := parseInputs(in.PolicyInputList)
	if err != nil {
		return nil, err
	}
	named, err := s.identityPolicies(ctx, c.Account, e)
	if err != nil {
		return nil, internal(err, "load policies of "+in.PolicySourceARN)
	}
	ps := make([]*policy.Policy, 0, len(named)+len(inputs))
	for _, n := range named {
		ps = append(ps, n.Policy)
	}
	ps = append(ps, inputs...)
	return &ContextKeysOutput{ContextKeyNames: mergeContextKeys(ps)}, nil
}

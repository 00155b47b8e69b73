package iam

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
)

// ListPoliciesGrantingServiceAccessInput is the input of ListPoliciesGrantingServiceAccess.
type ListPoliciesGrantingServiceAccessInput struct {
	Marker            string   `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	ARN               string   `query:"Arn" required:"true" min:"20" max:"2048"`
	ServiceNamespaces []string `required:"true" min:"1" max:"200" memberMin:"1" memberMax:"64" pattern:"[\\w-]*"`
}

// PolicyGrantingServiceAccess is the PolicyGrantingServiceAccess shape:
// EntityType and EntityName name the user, group or role of an inline
// policy, PolicyArn a managed one.
type PolicyGrantingServiceAccess struct {
	PolicyName string `xml:"PolicyName"`
	PolicyType string `xml:"PolicyType"`
	PolicyArn  string `xml:"PolicyArn,omitempty"`
	EntityType string `xml:"EntityType,omitempty"`
	EntityName string `xml:"EntityName,omitempty"`
}

// ServicePolicies is the ListPoliciesGrantingServiceAccessEntry shape.
type ServicePolicies struct {
	ServiceNamespace string                        `xml:"ServiceNamespace"`
	Policies         []PolicyGrantingServiceAccess `xml:"Policies>member"`
}

// ListPoliciesGrantingServiceAccessOutput is the output of ListPoliciesGrantingServiceAccess.
type ListPoliciesGrantingServiceAccessOutput struct {
	PoliciesGrantingServiceAccess []ServicePolicies `xml:"PoliciesGrantingServiceAccess>member"`
	Page
}

// ListPoliciesGrantingServiceAccess lists, per service namespace, the
// identity policies of a user (with its groups'), group or role that have an
// Allow statement for some action of the service (policy.Policy.Grants:
// resources and conditions are not considered, as in AWS). The answer is
// one page: a marker is refused.
func (s *Service) ListPoliciesGrantingServiceAccess(ctx context.Context, c *authz.Caller, in *ListPoliciesGrantingServiceAccessInput) (*ListPoliciesGrantingServiceAccessOutput, error) {
	src, err := parseSourceARN(in.ARN)
	if err != nil || src.session != "" {
		return nil, apierr.New(apierr.InvalidInput, "Invalid ARN: %s", in.ARN)
	}
	for _, ns := range in.ServiceNamespaces {
		if !validNamespace(ns) {
			return nil, apierr.Validation("Value '" + ns + "' at 'serviceNamespaces' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]*")
		}
	}
	var e entity
	found := false
	if src.account == c.Account {
		if e, found, err = s.load(ctx, c.Account, src.kind, src.name); err != nil {
			return nil, err
		}
	}
	found = found && orRoot(e.path) == src.path
	resource := in.ARN
	if found {
		resource = e.arn
	}
	if err := s.check(ctx, c, "iam:ListPoliciesGrantingServiceAccess", resource); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchEntity(src.kind, src.name)
	}
	if in.Marker != "" {
		return nil, apierr.New(apierr.InvalidInput, "Invalid Marker.")
	}
	named, err := s.identityPolicies(ctx, c.Account, e)
	if err != nil {
		return nil, internal(err, "load policies of "+in.ARN)
	}
	out := &ListPoliciesGrantingServiceAccessOutput{PoliciesGrantingServiceAccess: make([]ServicePolicies, 0, len(in.ServiceNamespaces))}
	for _, ns := range in.ServiceNamespaces {
		entry := ServicePolicies{ServiceNamespace: ns, Policies: []PolicyGrantingServiceAccess{}}
		seen := map[string]bool{}
		for _, n := range named {
			if n.Policy == nil || !n.Policy.Grants(ns) {
				continue
			}
			p, ok := grantingPolicy(n.Source)
			if !ok || seen[p.PolicyArn+"\x00"+p.EntityType+"\x00"+p.EntityName+"\x00"+p.PolicyName] {
				continue
			}
			seen[p.PolicyArn+"\x00"+p.EntityType+"\x00"+p.EntityName+"\x00"+p.PolicyName] = true
			entry.Policies = append(entry.Policies, p)
		}
		out.PoliciesGrantingServiceAccess = append(out.PoliciesGrantingServiceAccess, entry)
	}
	return out, nil
}

// grantingPolicy describes an identity policy by where it came from.
func grantingPolicy(src policy.Source) (PolicyGrantingServiceAccess, bool) {
	switch src.Type {
	case policy.SourceManaged:
		return PolicyGrantingServiceAccess{PolicyName: src.Name, PolicyType: "MANAGED", PolicyArn: src.ARN}, true
	case policy.SourceUserInline:
		return PolicyGrantingServiceAccess{PolicyName: src.Name, PolicyType: "INLINE", EntityType: "USER", EntityName: src.Owner}, true
	case policy.SourceGroupInline:
		return PolicyGrantingServiceAccess{PolicyName: src.Name, PolicyType: "INLINE", EntityType: "GROUP", EntityName: src.Owner}, true
	case policy.SourceRoleInline:
		return PolicyGrantingServiceAccess{PolicyName: src.Name, PolicyType: "INLINE", EntityType: "ROLE", EntityName: src.Owner}, true
	}
	return PolicyGrantingServiceAccess{}, false
}

// validNamespace reports whether ns matches [\w-]{1,64}.
func validNamespace(ns string) bool {
	if ns == "" || len(ns) > 64 {
		return false
	}
	for _, r := range ns {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

package iam

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Managed policy attachments to users, groups and roles share one
// implementation; the exported methods are the wire actions.

func notAttachable(arn string) error {
	return apierr.New(apierr.NoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

// authAttachment validates a policy ARN and authorizes
// iam:{verb}{User,Group,Role}Policy on the entity, with the policy's
// stored ARN as iam:PolicyARN.
func (s *Service) authAttachment(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, verb, owner, arn string) (entity, error) {
	if _, _, _, ok := parsePolicyARN(arn); !ok {
		return entity{}, invalidARN(arn)
	}
	stored, err := s.canonicalPolicyARN(ctx, c.Account, arn)
	if err != nil {
		return entity{}, err
	}
	return s.authEntity(ctx, c, kind, "iam:"+verb+actionKind(kind)+"Policy", owner, authz.Key{Name: "iam:PolicyARN", Values: []string{stored}})
}

func (s *Service) attach(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, arn string) error {
	e, err := s.authAttachment(ctx, c, kind, "Attach", owner, arn)
	if err != nil {
		return err
	}
	if err := changeable(kind, e); err != nil {
		return err
	}
	mp, found, err := s.getPolicy(ctx, c.Account, arn)
	if err != nil {
		return err
	}
	if !found {
		return notAttachable(arn)
	}
	atts, err := s.store.ListAttachments(ctx, c.Account, kind, e.name)
	if err != nil {
		return internal(err, "list attached policies")
	}
	for _, a := range atts {
		if strings.EqualFold(a.PolicyARN, mp.ARN) {
			return nil
		}
	}
	if len(atts) >= maxAttachedPolicies {
		return apierr.New(apierr.LimitExceeded, "Cannot exceed quota for PoliciesPer%s: %d", actionKind(kind), maxAttachedPolicies)
	}
	if err := s.store.AttachPolicy(ctx, store.Attachment{Account: c.Account, Kind: kind, Owner: e.name, PolicyARN: mp.ARN}); err != nil {
		return internal(err, "attach policy "+mp.ARN)
	}
	return nil
}

func (s *Service) detach(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, arn string) error {
	e, err := s.authAttachment(ctx, c, kind, "Detach", owner, arn)
	if err != nil {
		return err
	}
	if err := changeable(kind, e); err != nil {
		return err
	}
	atts, err := s.store.ListAttachments(ctx, c.Account, kind, e.name)
	if err != nil {
		return internal(err, "list attached policies")
	}
	for _, a := range atts {
		if !strings.EqualFold(a.PolicyARN, arn) {
			continue
		}
		if err := s.store.DetachPolicy(ctx, a); err != nil {
			if isNotFound(err) {
				return noSuchPolicy(arn)
			}
			return internal(err, "detach policy "+arn)
		}
		return nil
	}
	return noSuchPolicy(arn)
}

// ListAttachedPoliciesOutput is the output of ListAttached{User,Group,Role}Policies.
type ListAttachedPoliciesOutput struct {
	AttachedPolicies []AttachedPolicy `xml:"AttachedPolicies>member"`
	Page
}

func (s *Service) listAttached(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, pathPrefix, marker string, maxItems *int32) (*ListAttachedPoliciesOutput, error) {
	prefix, err := checkPathPrefix(pathPrefix)
	if err != nil {
		return nil, err
	}
	e, err := s.authEntity(ctx, c, kind, "iam:ListAttached"+actionKind(kind)+"Policies", owner)
	if err != nil {
		return nil, err
	}
	atts, err := s.store.ListAttachments(ctx, c.Account, kind, e.name)
	if err != nil {
		return nil, internal(err, "list attached policies")
	}
	list := make([]AttachedPolicy, 0, len(atts))
	for _, a := range atts {
		_, path, name, ok := parsePolicyARN(a.PolicyARN)
		if !ok || !underPath(path, prefix) {
			continue
		}
		list = append(list, AttachedPolicy{PolicyName: name, PolicyARN: a.PolicyARN})
	}
	page, p, err := paginate(list, func(a AttachedPolicy) string { return nameKey(a.PolicyName) + "\x00" + strings.ToLower(a.PolicyARN) }, marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &ListAttachedPoliciesOutput{AttachedPolicies: page, Page: p}, nil
}

// AttachUserPolicyInput is the input of AttachUserPolicy.
type AttachUserPolicyInput struct {
	UserName  string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// AttachUserPolicyOutput is the (empty) output of AttachUserPolicy.
type AttachUserPolicyOutput struct{}

// AttachUserPolicy attaches a managed policy to a user (idempotent; at most 10).
func (s *Service) AttachUserPolicy(ctx context.Context, c *authz.Caller, in *AttachUserPolicyInput) (*AttachUserPolicyOutput, error) {
	return done[AttachUserPolicyOutput](s.attach(ctx, c, store.KindUser, in.UserName, in.PolicyARN))
}

// DetachUserPolicyInput is the input of DetachUserPolicy.
type DetachUserPolicyInput struct {
	UserName  string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// DetachUserPolicyOutput is the (empty) output of DetachUserPolicy.
type DetachUserPolicyOutput struct{}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, c *authz.Caller, in *DetachUserPolicyInput) (*DetachUserPolicyOutput, error) {
	return done[DetachUserPolicyOutput](s.detach(ctx, c, store.KindUser, in.UserName, in.PolicyARN))
}

// ListAttachedUserPoliciesInput is the input of ListAttachedUserPolicies.
type ListAttachedUserPoliciesInput struct {
	UserName   string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PathPrefix string `min:"1" max:"512" pattern:"((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, c *authz.Caller, in *ListAttachedUserPoliciesInput) (*ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, store.KindUser, in.UserName, in.PathPrefix, in.Marker, in.MaxItems)
}

// AttachGroupPolicyInput is the input of AttachGroupPolicy.
type AttachGroupPolicyInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// AttachGroupPolicyOutput is the (empty) output of AttachGroupPolicy.
type AttachGroupPolicyOutput struct{}

// AttachGroupPolicy attaches a managed policy to a group.
func (s *Service) AttachGroupPolicy(ctx context.Context, c *authz.Caller, in *AttachGroupPolicyInput) (*AttachGroupPolicyOutput, error) {
	return done[AttachGroupPolicyOutput](s.attach(ctx, c, store.KindGroup, in.GroupName, in.PolicyARN))
}

// DetachGroupPolicyInput is the input of DetachGroupPolicy.
type DetachGroupPolicyInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// DetachGroupPolicyOutput is the (empty) output of DetachGroupPolicy.
type DetachGroupPolicyOutput struct{}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, c *authz.Caller, in *DetachGroupPolicyInput) (*DetachGroupPolicyOutput, error) {
	return done[DetachGroupPolicyOutput](s.detach(ctx, c, store.KindGroup, in.GroupName, in.PolicyARN))
}

// ListAttachedGroupPoliciesInput is the input of ListAttachedGroupPolicies.
type ListAttachedGroupPoliciesInput struct {
	GroupName  string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PathPrefix string `min:"1" max:"512" pattern:"((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, c *authz.Caller, in *ListAttachedGroupPoliciesInput) (*ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, store.KindGroup, in.GroupName, in.PathPrefix, in.Marker, in.MaxItems)
}

// AttachRolePolicyInput is the input of AttachRolePolicy.
type AttachRolePolicyInput struct {
	RoleName  string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// AttachRolePolicyOutput is the (empty) output of AttachRolePolicy.
type AttachRolePolicyOutput struct{}

// AttachRolePolicy attaches a managed policy to a role.
func (s *Service) AttachRolePolicy(ctx context.Context, c *authz.Caller, in *AttachRolePolicyInput) (*AttachRolePolicyOutput, error) {
	return done[AttachRolePolicyOutput](s.attach(ctx, c, store.KindRole, in.RoleName, in.PolicyARN))
}

// DetachRolePolicyInput is the input of DetachRolePolicy.
type DetachRolePolicyInput struct {
	RoleName  string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// DetachRolePolicyOutput is the (empty) output of DetachRolePolicy.
type DetachRolePolicyOutput struct{}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, c *authz.Caller, in *DetachRolePolicyInput) (*DetachRolePolicyOutput, error) {
	return done[DetachRolePolicyOutput](s.detach(ctx, c, store.KindRole, in.RoleName, in.PolicyARN))
}

// ListAttachedRolePoliciesInput is the input of ListAttachedRolePolicies.
type ListAttachedRolePoliciesInput struct {
	RoleName   string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PathPrefix string `min:"1" max:"512" pattern:"((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, c *authz.Caller, in *ListAttachedRolePoliciesInput) (*ListAttachedPoliciesOutput, error) {
	return s.listAttached(ctx, c, store.KindRole, in.RoleName, in.PathPrefix, in.Marker, in.MaxItems)
}

// ListEntitiesForPolicyInput is the input of ListEntitiesForPolicy.
type ListEntitiesForPolicyInput struct {
	PolicyARN         string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	EntityFilter      string `enum:"User,Role,Group,LocalManagedPolicy,AWSManagedPolicy"` // User | Role | Group | LocalManagedPolicy | AWSManagedPolicy
	PathPrefix        string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	PolicyUsageFilter string `enum:"PermissionsPolicy,PermissionsBoundary"` // PermissionsPolicy | PermissionsBoundary
	Marker            string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems          *int32 `min:"1" max:"1000"`
}

// PolicyGroup, PolicyUser and PolicyRole name an entity a policy applies to.
type (
	PolicyGroup struct {
		GroupName string `xml:"GroupName"`
		GroupID   string `xml:"GroupId"`
	}
	PolicyUser struct {
		UserName string `xml:"UserName"`
		UserID   string `xml:"UserId"`
	}
	PolicyRole struct {
		RoleName string `xml:"RoleName"`
		RoleID   string `xml:"RoleId"`
	}
)

// ListEntitiesForPolicyOutput is the output of ListEntitiesForPolicy.
type ListEntitiesForPolicyOutput struct {
	PolicyGroups []PolicyGroup `xml:"PolicyGroups>member"`
	PolicyUsers  []PolicyUser  `xml:"PolicyUsers>member"`
	PolicyRoles  []PolicyRole  `xml:"PolicyRoles>member"`
	Page
}

// ListEntitiesForPolicy lists the users, groups and roles of the caller's
// account that a managed policy is attached to (or, with PolicyUsageFilter
// PermissionsBoundary, that use it as their boundary). One page spans the
// three lists: groups, then users, then roles.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, c *authz.Caller, in *ListEntitiesForPolicyInput) (*ListEntitiesForPolicyOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	switch in.EntityFilter {
	case "", "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
	default:
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]", in.EntityFilter))
	}
	if err := checkUsageFilter(in.PolicyUsageFilter); err != nil {
		return nil, err
	}
	mp, err := s.authPolicy(ctx, c, "iam:ListEntitiesForPolicy", in.PolicyARN, false)
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	use := store.UseAttached | store.UseBoundary
	switch in.PolicyUsageFilter {
	case "PermissionsPolicy":
		use = store.UseAttached
	case "PermissionsBoundary":
		use = store.UseBoundary
	}
	// One page spans the three lists, in entityKinds' order; the marker is
	// the kind's digit and the name key of the page's last entity.
	start, after := 0, ""
	if req.after != "" {
		start = strings.IndexByte("123", req.after[0])
		if start < 0 {
			return nil, apierr.New(apierr.InvalidInput, "Invalid Marker.")
		}
		after = req.after[1:]
	}
	var entities []store.PolicyEntity
	for i := start; i < len(entityKinds) && len(entities) <= req.size; i++ {
		kind := entityKinds[i]
		if !entityFilterKeeps(in.EntityFilter, kind, mp.Account) {
			continue
		}
		opt := store.ListOptions{PathPrefix: prefix, Limit: req.size + 1 - len(entities)}
		if i == start {
			opt.After = after
		}
		es, err := s.store.ListPolicyEntities(ctx, c.Account, mp.ARN, kind, use, opt)
		if err != nil {
			return nil, internal(err, "list entities for policy")
		}
		entities = append(entities, es...)
	}
	page, p := cut(req, entities, func(e store.PolicyEntity) string {
		return strconv.Itoa(slices.Index(entityKinds, e.Kind)+1) + nameKey(e.Name)
	})
	out := &ListEntitiesForPolicyOutput{PolicyGroups: []PolicyGroup{}, PolicyUsers: []PolicyUser{}, PolicyRoles: []PolicyRole{}, Page: p}
	for _, e := range page {
		switch e.Kind {
		case store.KindGroup:
			out.PolicyGroups = append(out.PolicyGroups, PolicyGroup{GroupName: e.Name, GroupID: e.ID})
		case store.KindUser:
			out.PolicyUsers = append(out.PolicyUsers, PolicyUser{UserName: e.Name, UserID: e.ID})
		case store.KindRole:
			out.PolicyRoles = append(out.PolicyRoles, PolicyRole{RoleName: e.Name, RoleID: e.ID})
		}
	}
	return out, nil
}

// entityKinds is the order of ListEntitiesForPolicy's lists.
var entityKinds = []store.PrincipalKind{store.KindGroup, store.KindUser, store.KindRole}

func entityFilterKeeps(filter string, kind store.PrincipalKind, policyOwner string) bool {
	switch filter {
	case "User":
		return kind == store.KindUser
	case "Group":
		return kind == store.KindGroup
	case "Role":
		return kind == store.KindRole
	case "LocalManagedPolicy":
		return policyOwner != awsManagedPolicyOwner
	case "AWSManagedPolicy":
		return policyOwner == awsManagedPolicyOwner
	}
	return true
}

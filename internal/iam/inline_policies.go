package iam

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Inline policies of users, groups and roles share one implementation; the
// exported methods are the wire actions.

// inlineSizeLimit is the aggregate size quota of an entity's inline
// policies (characters, white space not counted).
func inlineSizeLimit(kind store.PrincipalKind) int {
	switch kind {
	case store.KindUser:
		return maxUserInlineSize
	case store.KindGroup:
		return maxGroupInlineSize
	}
	return maxRoleInlineSize
}

// actionKind is "User", "Group" or "Role" as action names spell it.
func actionKind(kind store.PrincipalKind) string {
	switch kind {
	case store.KindUser:
		return "User"
	case store.KindGroup:
		return "Group"
	}
	return "Role"
}

func (s *Service) putInline(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, name, doc string) error {
	e, err := s.authEntity(ctx, c, kind, "iam:Put"+actionKind(kind)+"Policy", owner)
	if err != nil {
		return err
	}
	if err := changeable(kind, e); err != nil {
		return err
	}
	if err := s.compile(policy.Identity, doc); err != nil {
		return err
	}
	existing, err := s.store.ListInlinePolicies(ctx, c.Account, kind, e.name)
	if err != nil {
		return internal(err, "list inline policies")
	}
	size := policySize(doc)
	for _, p := range existing {
		if !strings.EqualFold(p.Name, name) {
			size += policySize(p.Document)
		}
	}
	if limit := inlineSizeLimit(kind); size > limit {
		return apierr.New(apierr.LimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, kind, e.name)
	}
	p := store.InlinePolicy{Account: c.Account, Kind: kind, Owner: e.name, Name: name, Document: doc}
	if err := s.store.PutInlinePolicy(ctx, p); err != nil {
		return internal(err, "put inline policy "+name)
	}
	return nil
}

func noSuchInline(kind store.PrincipalKind, name string) error {
	return apierr.New(apierr.NoSuchEntity, "The %s policy with name %s cannot be found.", kind, name)
}

func (s *Service) getInline(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, name string) (entity, store.InlinePolicy, error) {
	e, err := s.authEntity(ctx, c, kind, "iam:Get"+actionKind(kind)+"Policy", owner)
	if err != nil {
		return entity{}, store.InlinePolicy{}, err
	}
	p, err := s.store.GetInlinePolicy(ctx, c.Account, kind, e.name, name)
	if isNotFound(err) {
		return entity{}, store.InlinePolicy{}, noSuchInline(kind, name)
	}
	if err != nil {
		return entity{}, store.InlinePolicy{}, internal(err, "get inline policy "+name)
	}
	return e, p, nil
}

func (s *Service) deleteInline(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, name string) error {
	e, err := s.authEntity(ctx, c, kind, "iam:Delete"+actionKind(kind)+"Policy", owner)
	if err != nil {
		return err
	}
	if err := changeable(kind, e); err != nil {
		return err
	}
	if err := s.store.DeleteInlinePolicy(ctx, c.Account, kind, e.name, name); err != nil {
		if isNotFound(err) {
			return noSuchInline(kind, name)
		}
		return internal(err, "delete inline policy "+name)
	}
	return nil
}

func (s *Service) listInline(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, owner, marker string, maxItems *int32) (*ListPolicyNamesOutput, error) {
	e, err := s.authEntity(ctx, c, kind, "iam:List"+actionKind(kind)+"Policies", owner)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListInlinePolicies(ctx, c.Account, kind, e.name)
	if err != nil {
		return nil, internal(err, "list inline policies")
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	page, pg, err := paginate(names, nameKey, marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &ListPolicyNamesOutput{PolicyNames: page, Page: pg}, nil
}

// ListPolicyNamesOutput is the output of List{User,Group,Role}Policies.
type ListPolicyNamesOutput struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	Page
}

// Inputs shared by the user, group and role variants.

// PutUserPolicyInput is the input of PutUserPolicy.
type PutUserPolicyInput struct {
	UserName       string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName     string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// PutUserPolicyOutput is the (empty) output of PutUserPolicy.
type PutUserPolicyOutput struct{}

// PutUserPolicy creates or replaces an inline policy of a user.
func (s *Service) PutUserPolicy(ctx context.Context, c *authz.Caller, in *PutUserPolicyInput) (*PutUserPolicyOutput, error) {
	return done[PutUserPolicyOutput](s.putInline(ctx, c, store.KindUser, in.UserName, in.PolicyName, in.PolicyDocument))
}

// GetUserPolicyInput is the input of GetUserPolicy.
type GetUserPolicyInput struct {
	UserName   string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetUserPolicyOutput is the output of GetUserPolicy; PolicyDocument is
// URL-encoded.
type GetUserPolicyOutput struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// GetUserPolicy returns an inline policy of a user.
func (s *Service) GetUserPolicy(ctx context.Context, c *authz.Caller, in *GetUserPolicyInput) (*GetUserPolicyOutput, error) {
	e, p, err := s.getInline(ctx, c, store.KindUser, in.UserName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &GetUserPolicyOutput{UserName: e.name, PolicyName: p.Name, PolicyDocument: encodeDocument(p.Document)}, nil
}

// DeleteUserPolicyInput is the input of DeleteUserPolicy.
type DeleteUserPolicyInput struct {
	UserName   string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteUserPolicyOutput is the (empty) output of DeleteUserPolicy.
type DeleteUserPolicyOutput struct{}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Service) DeleteUserPolicy(ctx context.Context, c *authz.Caller, in *DeleteUserPolicyInput) (*DeleteUserPolicyOutput, error) {
	return done[DeleteUserPolicyOutput](s.deleteInline(ctx, c, store.KindUser, in.UserName, in.PolicyName))
}

// ListUserPoliciesInput is the input of ListUserPolicies.
type ListUserPoliciesInput struct {
	UserName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, c *authz.Caller, in *ListUserPoliciesInput) (*ListPolicyNamesOutput, error) {
	return s.listInline(ctx, c, store.KindUser, in.UserName, in.Marker, in.MaxItems)
}

// PutGroupPolicyInput is the input of PutGroupPolicy.
type PutGroupPolicyInput struct {
	GroupName      string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName     string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// PutGroupPolicyOutput is the (empty) output of PutGroupPolicy.
type PutGroupPolicyOutput struct{}

// PutGroupPolicy creates or replaces an inline policy of a group.
func (s *Service) PutGroupPolicy(ctx context.Context, c *authz.Caller, in *PutGroupPolicyInput) (*PutGroupPolicyOutput, error) {
	return done[PutGroupPolicyOutput](s.putInline(ctx, c, store.KindGroup, in.GroupName, in.PolicyName, in.PolicyDocument))
}

// GetGroupPolicyInput is the input of GetGroupPolicy.
type GetGroupPolicyInput struct {
	GroupName  string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetGroupPolicyOutput is the output of GetGroupPolicy.
type GetGroupPolicyOutput struct {
	GroupName      string `xml:"GroupName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// GetGroupPolicy returns an inline policy of a group.
func (s *Service) GetGroupPolicy(ctx context.Context, c *authz.Caller, in *GetGroupPolicyInput) (*GetGroupPolicyOutput, error) {
	e, p, err := s.getInline(ctx, c, store.KindGroup, in.GroupName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &GetGroupPolicyOutput{GroupName: e.name, PolicyName: p.Name, PolicyDocument: encodeDocument(p.Document)}, nil
}

// DeleteGroupPolicyInput is the input of DeleteGroupPolicy.
type DeleteGroupPolicyInput struct {
	GroupName  string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteGroupPolicyOutput is the (empty) output of DeleteGroupPolicy.
type DeleteGroupPolicyOutput struct{}

// DeleteGroupPolicy deletes an inline policy of a group.
func (s *Service) DeleteGroupPolicy(ctx context.Context, c *authz.Caller, in *DeleteGroupPolicyInput) (*DeleteGroupPolicyOutput, error) {
	return done[DeleteGroupPolicyOutput](s.deleteInline(ctx, c, store.KindGroup, in.GroupName, in.PolicyName))
}

// ListGroupPoliciesInput is the input of ListGroupPolicies.
type ListGroupPoliciesInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker    string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems  *int32 `min:"1" max:"1000"`
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, c *authz.Caller, in *ListGroupPoliciesInput) (*ListPolicyNamesOutput, error) {
	return s.listInline(ctx, c, store.KindGroup, in.GroupName, in.Marker, in.MaxItems)
}

// PutRolePolicyInput is the input of PutRolePolicy.
type PutRolePolicyInput struct {
	RoleName       string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyName     string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// PutRolePolicyOutput is the (empty) output of PutRolePolicy.
type PutRolePolicyOutput struct{}

// PutRolePolicy creates or replaces an inline policy of a role.
func (s *Service) PutRolePolicy(ctx context.Context, c *authz.Caller, in *PutRolePolicyInput) (*PutRolePolicyOutput, error) {
	return done[PutRolePolicyOutput](s.putInline(ctx, c, store.KindRole, in.RoleName, in.PolicyName, in.PolicyDocument))
}

// GetRolePolicyInput is the input of GetRolePolicy.
type GetRolePolicyInput struct {
	RoleName   string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetRolePolicyOutput is the output of GetRolePolicy.
type GetRolePolicyOutput struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// GetRolePolicy returns an inline policy of a role.
func (s *Service) GetRolePolicy(ctx context.Context, c *authz.Caller, in *GetRolePolicyInput) (*GetRolePolicyOutput, error) {
	e, p, err := s.getInline(ctx, c, store.KindRole, in.RoleName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &GetRolePolicyOutput{RoleName: e.name, PolicyName: p.Name, PolicyDocument: encodeDocument(p.Document)}, nil
}

// DeleteRolePolicyInput is the input of DeleteRolePolicy.
type DeleteRolePolicyInput struct {
	RoleName   string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteRolePolicyOutput is the (empty) output of DeleteRolePolicy.
type DeleteRolePolicyOutput struct{}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, c *authz.Caller, in *DeleteRolePolicyInput) (*DeleteRolePolicyOutput, error) {
	return done[DeleteRolePolicyOutput](s.deleteInline(ctx, c, store.KindRole, in.RoleName, in.PolicyName))
}

// ListRolePoliciesInput is the input of ListRolePolicies.
type ListRolePoliciesInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, c *authz.Caller, in *ListRolePoliciesInput) (*ListPolicyNamesOutput, error) {
	return s.listInline(ctx, c, store.KindRole, in.RoleName, in.Marker, in.MaxItems)
}

package iam

import (
	"context"
	"fmt"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// checkTrustPolicy validates a role trust policy and its size quota.
func (s *Service) checkTrustPolicy(doc string) error {
	if err := s.compile(policy.Trust, doc); err != nil {
		return err
	}
	if policySize(doc) > maxTrustPolicySize {
		return apierr.New(apierr.LimitExceeded, "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	return nil
}

func checkMaxSessionDuration(d *int32) error {
	if d == nil {
		return nil
	}
	if *d < 3600 {
		return apierr.Validation(fmt.Sprintf("Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600", *d))
	}
	if *d > 43200 {
		return apierr.Validation(fmt.Sprintf("Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200", *d))
	}
	return nil
}

// CreateRoleInput is the input of CreateRole.
type CreateRoleInput struct {
	RoleName                 string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	AssumeRolePolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	Path                     string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	Description              string `max:"1000" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"`
	MaxSessionDuration       *int32 `min:"3600" max:"43200"`
	PermissionsBoundary      string `min:"20" max:"2048"`
	Tags                     []Tag  `max:"50"`
}

// CreateRoleOutput is the output of CreateRole.
type CreateRoleOutput struct {
	Role Role `xml:"Role"`
}

// CreateRole creates a role with a trust policy. Creating it with tags also
// needs iam:TagRole.
func (s *Service) CreateRole(ctx context.Context, c *authz.Caller, in *CreateRoleInput) (*CreateRoleOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, serviceRolePath) {
		return nil, apierr.New(apierr.InvalidInput, "Cannot create role with path prefix %s: it is reserved for service-linked roles (CreateServiceLinkedRole).", serviceRolePath)
	}
	if err := checkMaxSessionDuration(in.MaxSessionDuration); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	arn := roleARN(c.Account, path, in.RoleName)
	keys := requestTagKeys(in.Tags)
	if in.PermissionsBoundary != "" {
		stored, err := s.canonicalPolicyARN(ctx, c.Account, in.PermissionsBoundary)
		if err != nil {
			return nil, err
		}
		keys = append(keys, authz.Key{Name: permissionsBoundaryKey, Values: []string{stored}})
	}
	if err := s.check(ctx, c, "iam:CreateRole", arn, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagRole", arn, keys...); err != nil {
			return nil, err
		}
	}
	if err := s.checkTrustPolicy(in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	trust, err := s.bindPrincipals(ctx, in.AssumeRolePolicyDocument, true, nil)
	if err != nil {
		return nil, err
	}
	boundary := ""
	if in.PermissionsBoundary != "" {
		if boundary, err = s.checkBoundaryARN(ctx, c.Account, in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	id, err := s.newID("AROA")
	if err != nil {
		return nil, err
	}
	r := store.Role{Account: c.Account, ID: id, Name: in.RoleName, Path: path, TrustPolicy: trust,
		Description: in.Description, MaxSessionDuration: defaultMaxSessionDur, PermissionsBoundary: boundary,
		CreatedAt: s.time(), Tags: storeTags(in.Tags)}
	if in.MaxSessionDuration != nil {
		r.MaxSessionDuration = int(*in.MaxSessionDuration)
	}
	if err := s.store.CreateRole(ctx, r); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "Role with name %s already exists.", in.RoleName)
		}
		return nil, internal(err, "create role "+in.RoleName)
	}
	r.TrustPolicy = in.AssumeRolePolicyDocument // every principal in it exists
	out := roleOut(r, true)
	out.RoleLastUsed = nil // CreateRole does not return RoleLastUsed
	return &CreateRoleOutput{Role: out}, nil
}

// GetRoleInput is the input of GetRole.
type GetRoleInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// GetRoleOutput is the output of GetRole.
type GetRoleOutput struct {
	Role Role `xml:"Role"`
}

// GetRole returns a role with its trust policy (URL-encoded), boundary, tags
// and last use.
func (s *Service) GetRole(ctx context.Context, c *authz.Caller, in *GetRoleInput) (*GetRoleOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:GetRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	r := e.role
	r.TrustPolicy = s.principalNames().show(ctx, r.TrustPolicy)
	return &GetRoleOutput{Role: roleOut(r, true)}, nil
}

// ListRolesInput is the input of ListRoles.
type ListRolesInput struct {
	PathPrefix string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListRolesOutput is the output of ListRoles. Roles carry neither
// PermissionsBoundary, RoleLastUsed nor Tags, as in AWS.
type ListRolesOutput struct {
	Roles []Role `xml:"Roles>member"`
	Page
}

// ListRoles lists the account's roles under PathPrefix.
func (s *Service) ListRoles(ctx context.Context, c *authz.Caller, in *ListRolesInput) (*ListRolesOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListRoles", roleARN(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	roles, err := s.store.ListRoles(ctx, c.Account, req.options(prefix))
	if err != nil {
		return nil, internal(err, "list roles")
	}
	page, p := cut(req, roles, func(r store.Role) string { return nameKey(r.Name) })
	out := &ListRolesOutput{Roles: make([]Role, 0, len(page)), Page: p}
	names := s.principalNames()
	for _, r := range page {
		r.TrustPolicy = names.show(ctx, r.TrustPolicy)
		out.Roles = append(out.Roles, roleOut(r, false))
	}
	return out, nil
}

// UpdateRoleInput is the input of UpdateRole.
type UpdateRoleInput struct {
	RoleName           string  `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Description        *string `max:"1000" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"`
	MaxSessionDuration *int32  `min:"3600" max:"43200"`
}

// UpdateRoleOutput is the (empty) output of UpdateRole.
type UpdateRoleOutput struct{}

// UpdateRole changes a role's description and maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, c *authz.Caller, in *UpdateRoleInput) (*UpdateRoleOutput, error) {
	if err := checkMaxSessionDuration(in.MaxSessionDuration); err != nil {
		return nil, err
	}
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:UpdateRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	if isServiceLinked(e.role) && in.MaxSessionDuration != nil {
		// A service-linked role's description is the account's to edit;
		// how long its service's sessions last is not.
		return nil, protectedRole(e.name)
	}
	r := e.role
	if in.Description != nil {
		r.Description = *in.Description
	}
	if in.MaxSessionDuration != nil {
		r.MaxSessionDuration = int(*in.MaxSessionDuration)
	}
	if err := s.store.UpdateRole(ctx, r); err != nil {
		return nil, internal(err, "update role "+r.Name)
	}
	return &UpdateRoleOutput{}, nil
}

// UpdateRoleDescriptionInput is the input of UpdateRoleDescription.
type UpdateRoleDescriptionInput struct {
	RoleName    string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Description string `required:"true" max:"1000" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"`
}

// UpdateRoleDescriptionOutput is the output of UpdateRoleDescription.
type UpdateRoleDescriptionOutput struct {
	Role Role `xml:"Role"`
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, c *authz.Caller, in *UpdateRoleDescriptionInput) (*UpdateRoleDescriptionOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:UpdateRoleDescription", in.RoleName)
	if err != nil {
		return nil, err
	}
	r := e.role
	r.Description = in.Description
	if err := s.store.UpdateRole(ctx, r); err != nil {
		return nil, internal(err, "update role "+r.Name)
	}
	r.TrustPolicy = s.principalNames().show(ctx, r.TrustPolicy)
	return &UpdateRoleDescriptionOutput{Role: roleOut(r, true)}, nil
}

// UpdateAssumeRolePolicyInput is the input of UpdateAssumeRolePolicy.
type UpdateAssumeRolePolicyInput struct {
	RoleName       string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// UpdateAssumeRolePolicyOutput is the (empty) output of UpdateAssumeRolePolicy.
type UpdateAssumeRolePolicyOutput struct{}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, c *authz.Caller, in *UpdateAssumeRolePolicyInput) (*UpdateAssumeRolePolicyOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:UpdateAssumeRolePolicy", in.RoleName)
	if err != nil {
		return nil, err
	}
	if isServiceLinked(e.role) {
		return nil, protectedRole(e.name)
	}
	if err := s.checkTrustPolicy(in.PolicyDocument); err != nil {
		return nil, err
	}
	trust, err := s.bindPrincipals(ctx, in.PolicyDocument, true, nil)
	if err != nil {
		return nil, err
	}
	r := e.role
	r.TrustPolicy = trust
	if err := s.store.UpdateRole(ctx, r); err != nil {
		return nil, internal(err, "update role "+r.Name)
	}
	return &UpdateAssumeRolePolicyOutput{}, nil
}

// DeleteRoleInput is the input of DeleteRole.
type DeleteRoleInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// DeleteRoleOutput is the (empty) output of DeleteRole.
type DeleteRoleOutput struct{}

// DeleteRole deletes a role with no inline or attached policies left that
// is in no instance profile.
func (s *Service) DeleteRole(ctx context.Context, c *authz.Caller, in *DeleteRoleInput) (*DeleteRoleOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:DeleteRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	if isServiceLinked(e.role) {
		return nil, protectedRole(e.name)
	}
	if err := s.policyConflicts(ctx, c.Account, store.KindRole, e.name); err != nil {
		return nil, err
	}
	profiles, err := s.store.ListInstanceProfilesForRole(ctx, c.Account, e.role.ID, store.ListOptions{Limit: 1})
	if err != nil {
		return nil, internal(err, "list instance profiles for role "+e.name)
	}
	if len(profiles) > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
	}
	if err := s.store.DeleteRole(ctx, c.Account, e.name); err != nil {
		if isNotFound(err) {
			return nil, noSuchEntity(store.KindRole, in.RoleName)
		}
		return nil, internal(err, "delete role "+e.name)
	}
	return &DeleteRoleOutput{}, nil
}

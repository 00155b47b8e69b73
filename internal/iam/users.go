package iam

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// CreateUserInput is the input of CreateUser.
type CreateUserInput struct {
	UserName            string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Path                string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	PermissionsBoundary string `min:"20" max:"2048"`
	Tags                []Tag  `max:"50"`
}

// CreateUserOutput is the output of CreateUser.
type CreateUserOutput struct {
	User User `xml:"User"`
}

// CreateUser creates an IAM user. Creating it with tags also needs
// iam:TagUser, as in AWS.
func (s *Service) CreateUser(ctx context.Context, c *authz.Caller, in *CreateUserInput) (*CreateUserOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	arn := userARN(c.Account, path, in.UserName)
	keys := requestTagKeys(in.Tags)
	if in.PermissionsBoundary != "" {
		stored, err := s.canonicalPolicyARN(ctx, c.Account, in.PermissionsBoundary)
		if err != nil {
			return nil, err
		}
		keys = append(keys, authz.Key{Name: permissionsBoundaryKey, Values: []string{stored}})
	}
	if err := s.check(ctx, c, "iam:CreateUser", arn, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagUser", arn, keys...); err != nil {
			return nil, err
		}
	}
	boundary := ""
	if in.PermissionsBoundary != "" {
		if boundary, err = s.checkBoundaryARN(ctx, c.Account, in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	id, err := s.newID("AIDA")
	if err != nil {
		return nil, err
	}
	u := store.User{Account: c.Account, ID: id, Name: in.UserName, Path: path, CreatedAt: s.time(),
		PermissionsBoundary: boundary, Tags: storeTags(in.Tags)}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "User with name %s already exists.", in.UserName)
		}
		return nil, internal(err, "create user "+in.UserName)
	}
	return &CreateUserOutput{User: userOut(u, true)}, nil
}

// GetUserInput is the input of GetUser.
type GetUserInput struct {
	UserName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetUserOutput is the output of GetUser.
type GetUserOutput struct {
	User User `xml:"User"`
}

// GetUser returns a user; without UserName, the calling user, or for the
// account root a "user" with the root ARN and the account id as UserId.
func (s *Service) GetUser(ctx context.Context, c *authz.Caller, in *GetUserInput) (*GetUserOutput, error) {
	name := in.UserName
	if name == "" {
		n, root, err := self(c)
		if err != nil {
			return nil, err
		}
		if root {
			return s.getRootUser(ctx, c)
		}
		name = n
	}
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:GetUser", name)
	if err != nil {
		return nil, err
	}
	return &GetUserOutput{User: userOut(e.user, true)}, nil
}

func (s *Service) getRootUser(ctx context.Context, c *authz.Caller) (*GetUserOutput, error) {
	arn := rootARN(c.Account)
	if err := s.check(ctx, c, "iam:GetUser", arn); err != nil {
		return nil, err
	}
	acct, err := s.store.GetAccount(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "load account "+c.Account)
	}
	return &GetUserOutput{User: User{UserID: c.Account, ARN: arn, CreateDate: acct.CreatedAt.UTC().Truncate(time.Second)}}, nil
}

// UpdateUserInput is the input of UpdateUser.
type UpdateUserInput struct {
	UserName    string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	NewPath     string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	NewUserName string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// UpdateUserOutput is the (empty) output of UpdateUser.
type UpdateUserOutput struct{}

// UpdateUser renames a user or moves it to another path. The caller needs
// iam:UpdateUser on both the current and the new ARN.
func (s *Service) UpdateUser(ctx context.Context, c *authz.Caller, in *UpdateUserInput) (*UpdateUserOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:UpdateUser", in.UserName)
	if err != nil {
		return nil, err
	}
	u := e.user
	if in.NewPath != "" {
		if u.Path, err = checkPath(in.NewPath, "newPath"); err != nil {
			return nil, err
		}
	}
	if in.NewUserName != "" {
		u.Name = in.NewUserName
	}
	if u.Path == e.user.Path && u.Name == e.user.Name {
		return &UpdateUserOutput{}, nil
	}
	if err := s.check(ctx, c, "iam:UpdateUser", userARN(c.Account, u.Path, u.Name)); err != nil {
		return nil, err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "User with name %s already exists.", u.Name)
		}
		return nil, internal(err, "update user "+e.name)
	}
	return &UpdateUserOutput{}, nil
}

// DeleteUserInput is the input of DeleteUser.
type DeleteUserInput struct {
	UserName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteUserOutput is the (empty) output of DeleteUser.
type DeleteUserOutput struct{}

// DeleteUser deletes a user that has no access keys, policies, group
// memberships or MFA devices left (DeleteConflict otherwise).
func (s *Service) DeleteUser(ctx context.Context, c *authz.Caller, in *DeleteUserInput) (*DeleteUserOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:DeleteUser", in.UserName)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.ListAccessKeys(ctx, c.Account, e.name)
	if err != nil {
		return nil, internal(err, "list access keys")
	}
	if len(keys) > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must delete access keys first.")
	}
	if _, err := s.store.GetLoginProfile(ctx, c.Account, e.name); err == nil {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must delete login profile first.")
	} else if !isNotFound(err) {
		return nil, internal(err, "load login profile")
	}
	if err := s.credentialConflicts(ctx, c.Account, e.name); err != nil {
		return nil, err
	}
	if err := s.policyConflicts(ctx, c.Account, store.KindUser, e.name); err != nil {
		return nil, err
	}
	groups, err := s.store.ListGroupsForUser(ctx, c.Account, e.name)
	if err != nil {
		return nil, internal(err, "list groups for user")
	}
	if len(groups) > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must remove user from all groups first.")
	}
	devices, err := s.store.ListUserMFADevices(ctx, c.Account, e.name)
	if err != nil {
		return nil, internal(err, "list mfa devices")
	}
	if len(devices) > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must delete MFA device first.")
	}
	if err := s.store.DeleteUser(ctx, c.Account, e.name); err != nil {
		if isNotFound(err) {
			return nil, noSuchEntity(store.KindUser, in.UserName)
		}
		return nil, internal(err, "delete user "+e.name)
	}
	return &DeleteUserOutput{}, nil
}

// ListUsersInput is the input of ListUsers.
type ListUsersInput struct {
	PathPrefix string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListUsersOutput is the output of ListUsers. Users carry neither
// PermissionsBoundary nor Tags, as in AWS.
type ListUsersOutput struct {
	Users []User `xml:"Users>member"`
	Page
}

// ListUsers lists the account's users under PathPrefix, sorted by name.
func (s *Service) ListUsers(ctx context.Context, c *authz.Caller, in *ListUsersInput) (*ListUsersOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListUsers", userARN(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	users, err := s.store.ListUsers(ctx, c.Account, req.options(prefix))
	if err != nil {
		return nil, internal(err, "list users")
	}
	page, p := cut(req, users, func(u store.User) string { return nameKey(u.Name) })
	out := &ListUsersOutput{Users: make([]User, 0, len(page)), Page: p}
	for _, u := range page {
		out.Users = append(out.Users, userOut(u, false))
	}
	return out, nil
}

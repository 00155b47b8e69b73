package iam

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// CreateGroupInput is the input of CreateGroup.
type CreateGroupInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Path      string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
}

// CreateGroupOutput is the output of CreateGroup.
type CreateGroupOutput struct {
	Group Group `xml:"Group"`
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, c *authz.Caller, in *CreateGroupInput) (*CreateGroupOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:CreateGroup", groupARN(c.Account, path, in.GroupName)); err != nil {
		return nil, err
	}
	id, err := s.newID("AGPA")
	if err != nil {
		return nil, err
	}
	g := store.Group{Account: c.Account, ID: id, Name: in.GroupName, Path: path, CreatedAt: s.time()}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "Group with name %s already exists.", in.GroupName)
		}
		return nil, internal(err, "create group "+in.GroupName)
	}
	return &CreateGroupOutput{Group: groupOut(g)}, nil
}

// GetGroupInput is the input of GetGroup.
type GetGroupInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker    string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems  *int32 `min:"1" max:"1000"`
}

// GetGroupOutput is the output of GetGroup: the group and a page of its users.
type GetGroupOutput struct {
	Group Group  `xml:"Group"`
	Users []User `xml:"Users>member"`
	Page
}

// GetGroup returns a group and its members (paginated).
func (s *Service) GetGroup(ctx context.Context, c *authz.Caller, in *GetGroupInput) (*GetGroupOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindGroup, "iam:GetGroup", in.GroupName)
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	users, err := s.store.ListGroupMembers(ctx, c.Account, e.name, req.options(""))
	if err != nil {
		return nil, internal(err, "list group members")
	}
	page, p := cut(req, users, func(u store.User) string { return nameKey(u.Name) })
	out := &GetGroupOutput{Group: groupOut(e.group), Users: make([]User, 0, len(page)), Page: p}
	for _, u := range page {
		out.Users = append(out.Users, userOut(u, false))
	}
	return out, nil
}

// ListGroupsInput is the input of ListGroups.
type ListGroupsInput struct {
	PathPrefix string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListGroupsOutput is the output of ListGroups.
type ListGroupsOutput struct {
	Groups []Group `xml:"Groups>member"`
	Page
}

// ListGroups lists the account's groups under PathPrefix.
func (s *Service) ListGroups(ctx context.Context, c *authz.Caller, in *ListGroupsInput) (*ListGroupsOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListGroups", groupARN(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.ListGroups(ctx, c.Account, req.options(prefix))
	if err != nil {
		return nil, internal(err, "list groups")
	}
	page, p := cut(req, groups, func(g store.Group) string { return nameKey(g.Name) })
	return groupsOut(page, p), nil
}

func groupsOut(groups []store.Group, p Page) *ListGroupsOutput {
	out := &ListGroupsOutput{Groups: make([]Group, 0, len(groups)), Page: p}
	for _, g := range groups {
		out.Groups = append(out.Groups, groupOut(g))
	}
	return out
}

// UpdateGroupInput is the input of UpdateGroup.
type UpdateGroupInput struct {
	GroupName    string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	NewPath      string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	NewGroupName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// UpdateGroupOutput is the (empty) output of UpdateGroup.
type UpdateGroupOutput struct{}

// UpdateGroup renames a group or changes its path; the caller needs
// iam:UpdateGroup on both ARNs.
func (s *Service) UpdateGroup(ctx context.Context, c *authz.Caller, in *UpdateGroupInput) (*UpdateGroupOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindGroup, "iam:UpdateGroup", in.GroupName)
	if err != nil {
		return nil, err
	}
	g := e.group
	if in.NewPath != "" {
		if g.Path, err = checkPath(in.NewPath, "newPath"); err != nil {
			return nil, err
		}
	}
	if in.NewGroupName != "" {
		g.Name = in.NewGroupName
	}
	if g.Path == e.group.Path && g.Name == e.group.Name {
		return &UpdateGroupOutput{}, nil
	}
	if err := s.check(ctx, c, "iam:UpdateGroup", groupARN(c.Account, g.Path, g.Name)); err != nil {
		return nil, err
	}
	if err := s.store.UpdateGroup(ctx, g); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "Group with name %s already exists.", g.Name)
		}
		return nil, internal(err, "update group "+e.name)
	}
	return &UpdateGroupOutput{}, nil
}

// DeleteGroupInput is the input of DeleteGroup.
type DeleteGroupInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteGroupOutput is the (empty) output of DeleteGroup.
type DeleteGroupOutput struct{}

// DeleteGroup deletes a group with no members and no policies.
func (s *Service) DeleteGroup(ctx context.Context, c *authz.Caller, in *DeleteGroupInput) (*DeleteGroupOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindGroup, "iam:DeleteGroup", in.GroupName)
	if err != nil {
		return nil, err
	}
	members, err := s.store.ListGroupMembers(ctx, c.Account, e.name, store.ListOptions{Limit: 1})
	if err != nil {
		return nil, internal(err, "list group members")
	}
	if len(members) > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must remove users from group first.")
	}
	if err := s.policyConflicts(ctx, c.Account, store.KindGroup, e.name); err != nil {
		return nil, err
	}
	if err := s.store.DeleteGroup(ctx, c.Account, e.name); err != nil {
		if isNotFound(err) {
			return nil, noSuchEntity(store.KindGroup, in.GroupName)
		}
		return nil, internal(err, "delete group "+e.name)
	}
	return &DeleteGroupOutput{}, nil
}

// authMembership authorizes action on a group and loads the group and the
// user whose membership it changes.
func (s *Service) authMembership(ctx context.Context, c *authz.Caller, action, groupName, userName string) (group, user entity, err error) {
	g, err := s.authEntity(ctx, c, store.KindGroup, action, groupName)
	if err != nil {
		return entity{}, entity{}, err
	}
	u, found, err := s.load(ctx, c.Account, store.KindUser, userName)
	if err != nil {
		return entity{}, entity{}, err
	}
	if !found {
		return entity{}, entity{}, noSuchEntity(store.KindUser, userName)
	}
	return g, u, nil
}

// AddUserToGroupInput is the input of AddUserToGroup.
type AddUserToGroupInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	UserName  string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// AddUserToGroupOutput is the (empty) output of AddUserToGroup.
type AddUserToGroupOutput struct{}

// AddUserToGroup adds a user to a group (idempotent); a user can be in at
// most 10 groups.
func (s *Service) AddUserToGroup(ctx context.Context, c *authz.Caller, in *AddUserToGroupInput) (*AddUserToGroupOutput, error) {
	g, u, err := s.authMembership(ctx, c, "iam:AddUserToGroup", in.GroupName, in.UserName)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.ListGroupsForUser(ctx, c.Account, u.name)
	if err != nil {
		return nil, internal(err, "list groups for user")
	}
	for _, x := range groups {
		if sameName(x.Name, g.name) {
			return &AddUserToGroupOutput{}, nil
		}
	}
	if len(groups) >= maxGroupsPerUser {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)
	}
	if err := s.store.AddUserToGroup(ctx, c.Account, g.name, u.name); err != nil {
		return nil, internal(err, "add user to group")
	}
	return &AddUserToGroupOutput{}, nil
}

// RemoveUserFromGroupInput is the input of RemoveUserFromGroup.
type RemoveUserFromGroupInput struct {
	GroupName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	UserName  string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// RemoveUserFromGroupOutput is the (empty) output of RemoveUserFromGroup.
type RemoveUserFromGroupOutput struct{}

// RemoveUserFromGroup removes a user from a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, c *authz.Caller, in *RemoveUserFromGroupInput) (*RemoveUserFromGroupOutput, error) {
	g, u, err := s.authMembership(ctx, c, "iam:RemoveUserFromGroup", in.GroupName, in.UserName)
	if err != nil {
		return nil, err
	}
	if err := s.store.RemoveUserFromGroup(ctx, c.Account, g.name, u.name); err != nil {
		if isNotFound(err) {
			return nil, apierr.New(apierr.NoSuchEntity, "The user with name %s cannot be found in group %s.", u.name, g.name)
		}
		return nil, internal(err, "remove user from group")
	}
	return &RemoveUserFromGroupOutput{}, nil
}

// ListGroupsForUserInput is the input of ListGroupsForUser.
type ListGroupsForUserInput struct {
	UserName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListGroupsForUserOutput is the output of ListGroupsForUser.
type ListGroupsForUserOutput = ListGroupsOutput

// ListGroupsForUser lists the groups a user belongs to.
func (s *Service) ListGroupsForUser(ctx context.Context, c *authz.Caller, in *ListGroupsForUserInput) (*ListGroupsForUserOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:ListGroupsForUser", in.UserName)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.ListGroupsForUser(ctx, c.Account, e.name)
	if err != nil {
		return nil, internal(err, "list groups for user")
	}
	// A user is in at most a few groups (AWS allows 10), so the page is cut
	// from all of them.
	page, p, err := paginate(groups, func(g store.Group) string { return nameKey(g.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return groupsOut(page, p), nil
}

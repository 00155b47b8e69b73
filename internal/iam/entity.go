package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// entity is a user, group or role of the caller's account, loaded for an
// action on it.
type entity struct {
	kind  store.PrincipalKind
	name  string // stored spelling
	path  string
	arn   string
	user  store.User
	group store.Group
	role  store.Role
}

func (e *entity) boundary() string {
	switch e.kind {
	case store.KindUser:
		return e.user.PermissionsBoundary
	case store.KindRole:
		return e.role.PermissionsBoundary
	}
	return ""
}

func (e *entity) setBoundary(arn string) {
	switch e.kind {
	case store.KindUser:
		e.user.PermissionsBoundary = arn
	case store.KindRole:
		e.role.PermissionsBoundary = arn
	}
}

func (e *entity) tags() []store.Tag {
	switch e.kind {
	case store.KindUser:
		return e.user.Tags
	case store.KindRole:
		return e.role.Tags
	}
	return nil
}

func (e *entity) setTags(tags []store.Tag) {
	switch e.kind {
	case store.KindUser:
		e.user.Tags = tags
	case store.KindRole:
		e.role.Tags = tags
	}
}

// save stores a user or role whose tags or boundary an action changed
// (groups have neither), and drops cached authorization state.
func (s *Service) save(ctx context.Context, e entity, what string) error {
	var err error
	switch e.kind {
	case store.KindUser:
		err = s.store.UpdateUser(ctx, e.user)
	case store.KindRole:
		err = s.store.UpdateRole(ctx, e.role)
	default:
		err = errors.New("not a user or role")
	}
	if err != nil {
		return internal(err, what+" "+string(e.kind)+" "+e.name)
	}
	return nil
}

// boundaryActions are the actions whose iam:PermissionsBoundary condition
// key is the boundary the user or role already has.
var boundaryActions = map[string]bool{
	"iam:AttachRolePolicy": true, "iam:AttachUserPolicy": true,
	"iam:DetachRolePolicy": true, "iam:DetachUserPolicy": true,
	"iam:PutRolePolicy": true, "iam:PutUserPolicy": true,
	"iam:DeleteRolePolicy": true, "iam:DeleteUserPolicy": true,
	"iam:DeleteRolePermissionsBoundary": true, "iam:DeleteUserPermissionsBoundary": true,
}

func noSuchEntity(kind store.PrincipalKind, name string) error {
	return apierr.New(apierr.NoSuchEntity, "The %s with name %s cannot be found.", kind, name)
}

// load fetches a user, group or role of account; found is false (with a
// nil error) when it does not exist.
func (s *Service) load(ctx context.Context, account string, kind store.PrincipalKind, name string) (e entity, found bool, err error) {
	e = entity{kind: kind, name: name, path: "/"}
	switch kind {
	case store.KindUser:
		e.user, err = s.store.GetUser(ctx, account, name)
		e.name, e.path = e.user.Name, e.user.Path
	case store.KindGroup:
		e.group, err = s.store.GetGroup(ctx, account, name)
		e.name, e.path = e.group.Name, e.group.Path
	case store.KindRole:
		e.role, err = s.store.GetRole(ctx, account, name)
		e.name, e.path = e.role.Name, e.role.Path
	}
	if isNotFound(err) {
		return entity{kind: kind, name: name, path: "/", arn: entityARN(account, kind, "/", name)}, false, nil
	}
	if err != nil {
		return entity{}, false, internal(err, "load "+string(kind)+" "+name)
	}
	e.arn = entityARN(account, kind, e.path, e.name)
	return e, true, nil
}

// authEntity loads a user, group or role of the caller's account and
// authorizes action on its ARN, with the entity's tags as aws:ResourceTag
// keys and, for the actions that define it, its boundary as
// iam:PermissionsBoundary. Authorization comes first, so a caller without
// permission cannot learn whether the entity exists.
func (s *Service) authEntity(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, action, name string, keys ...authz.Key) (entity, error) {
	e, found, err := s.load(ctx, c.Account, kind, name)
	if err != nil {
		return entity{}, err
	}
	keys = append(keys, resourceTagKeys(e.tags())...)
	if b := e.boundary(); b != "" && boundaryActions[action] {
		keys = append(keys, authz.Key{Name: permissionsBoundaryKey, Values: []string{b}})
	}
	// A denial names the entity as AWS does, "user NAME" as typed, the
	// same whether it exists or not.
	if err := s.checkAs(ctx, c, action, e.arn, string(kind)+" "+name, keys...); err != nil {
		return entity{}, err
	}
	if !found {
		return entity{}, noSuchEntity(kind, name)
	}
	return e, nil
}

// policyConflicts returns DeleteConflict when a user, group or role still
// has inline policies or attached managed policies, with AWS's messages.
func (s *Service) policyConflicts(ctx context.Context, account string, kind store.PrincipalKind, owner string) error {
	inline, err := s.store.ListInlinePolicies(ctx, account, kind, owner)
	if err != nil {
		return internal(err, "list inline policies")
	}
	if len(inline) > 0 {
		return apierr.New(apierr.DeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	atts, err := s.store.ListAttachments(ctx, account, kind, owner)
	if err != nil {
		return internal(err, "list attached policies")
	}
	if len(atts) > 0 {
		return apierr.New(apierr.DeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	return nil
}

// checkBoundaryARN validates a permissions boundary ARN and returns the
// stored spelling of the managed policy it names.
func (s *Service) checkBoundaryARN(ctx context.Context, account, arn string) (string, error) {
	owner, _, _, ok := parsePolicyARN(arn)
	if !ok {
		return "", apierr.New(apierr.InvalidInput, "ARN %s is not valid.", arn)
	}
	if owner != account && owner != awsManagedPolicyOwner {
		return "", apierr.New(apierr.NoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", arn)
	}
	mp, err := s.store.GetManagedPolicy(ctx, arn)
	if isNotFound(err) {
		return "", apierr.New(apierr.NoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", arn)
	}
	if err != nil {
		return "", internal(err, "load boundary "+arn)
	}
	return mp.ARN, nil
}

func sameName(a, b string) bool { return strings.EqualFold(a, b) }

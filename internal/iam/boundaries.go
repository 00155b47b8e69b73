package iam

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// setBoundary sets (arn != "") or removes the permissions boundary of a
// user or role. The iam:PermissionsBoundary key is the new boundary for Put
// and the current one for Delete.
func (s *Service) setBoundary(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, name, arn string) error {
	var (
		e   entity
		err error
	)
	if arn != "" {
		if _, _, _, ok := parsePolicyARN(arn); !ok {
			return invalidARN(arn)
		}
		stored, err := s.canonicalPolicyARN(ctx, c.Account, arn)
		if err != nil {
			return err
		}
		e, err = s.authEntity(ctx, c, kind, "iam:Put"+actionKind(kind)+"PermissionsBoundary", name,
			authz.Key{Name: permissionsBoundaryKey, Values: []string{stored}})
		if err != nil {
			return err
		}
		if arn, err = s.checkBoundaryARN(ctx, c.Account, arn); err != nil {
			return err
		}
	} else {
		e, err = s.authEntity(ctx, c, kind, "iam:Delete"+actionKind(kind)+"PermissionsBoundary", name)
		if err != nil {
			return err
		}
	}
	if err := changeable(kind, e); err != nil {
		return err
	}
	if e.boundary() == arn {
		return nil
	}
	e.setBoundary(arn)
	return s.save(ctx, e, "set permissions boundary of")
}

// PutUserPermissionsBoundaryInput is the input of PutUserPermissionsBoundary.
type PutUserPermissionsBoundaryInput struct {
	UserName            string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PermissionsBoundary string `required:"true" min:"20" max:"2048"`
}

// PutUserPermissionsBoundaryOutput is the (empty) output of PutUserPermissionsBoundary.
type PutUserPermissionsBoundaryOutput struct{}

// PutUserPermissionsBoundary sets a user's permissions boundary to a managed
// policy of the account or an AWS managed policy.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, c *authz.Caller, in *PutUserPermissionsBoundaryInput) (*PutUserPermissionsBoundaryOutput, error) {
	return done[PutUserPermissionsBoundaryOutput](s.setBoundary(ctx, c, store.KindUser, in.UserName, in.PermissionsBoundary))
}

// DeleteUserPermissionsBoundaryInput is the input of DeleteUserPermissionsBoundary.
type DeleteUserPermissionsBoundaryInput struct {
	UserName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// DeleteUserPermissionsBoundaryOutput is the (empty) output of DeleteUserPermissionsBoundary.
type DeleteUserPermissionsBoundaryOutput struct{}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (s *Service) DeleteUserPermissionsBoundary(ctx context.Context, c *authz.Caller, in *DeleteUserPermissionsBoundaryInput) (*DeleteUserPermissionsBoundaryOutput, error) {
	return done[DeleteUserPermissionsBoundaryOutput](s.setBoundary(ctx, c, store.KindUser, in.UserName, ""))
}

// PutRolePermissionsBoundaryInput is the input of PutRolePermissionsBoundary.
type PutRolePermissionsBoundaryInput struct {
	RoleName            string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	PermissionsBoundary string `required:"true" min:"20" max:"2048"`
}

// PutRolePermissionsBoundaryOutput is the (empty) output of PutRolePermissionsBoundary.
type PutRolePermissionsBoundaryOutput struct{}

// PutRolePermissionsBoundary sets a role's permissions boundary.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, c *authz.Caller, in *PutRolePermissionsBoundaryInput) (*PutRolePermissionsBoundaryOutput, error) {
	return done[PutRolePermissionsBoundaryOutput](s.setBoundary(ctx, c, store.KindRole, in.RoleName, in.PermissionsBoundary))
}

// DeleteRolePermissionsBoundaryInput is the input of DeleteRolePermissionsBoundary.
type DeleteRolePermissionsBoundaryInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// DeleteRolePermissionsBoundaryOutput is the (empty) output of DeleteRolePermissionsBoundary.
type DeleteRolePermissionsBoundaryOutput struct{}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, c *authz.Caller, in *DeleteRolePermissionsBoundaryInput) (*DeleteRolePermissionsBoundaryOutput, error) {
	return done[DeleteRolePermissionsBoundaryOutput](s.setBoundary(ctx, c, store.KindRole, in.RoleName, ""))
}

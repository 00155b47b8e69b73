package iam

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Instance profiles: containers for one role that a workload receives the
// credentials of. A profile holds at most one role (AWS's quota
// InstanceSessionsPerInstanceProfile); a role can be in many profiles, and
// cannot be deleted while it is in one.

// InstanceProfile is the IAM InstanceProfile shape. Roles is always
// present, empty when the profile holds none.
type InstanceProfile struct {
	Path                string    `xml:"Path"`
	InstanceProfileName string    `xml:"InstanceProfileName"`
	InstanceProfileID   string    `xml:"InstanceProfileId"`
	ARN                 string    `xml:"Arn"`
	CreateDate          time.Time `xml:"CreateDate"`
	Roles               []Role    `xml:"Roles>member"`
	Tags                []Tag     `xml:"Tags>member,omitempty"`
}

const maxRolesPerInstanceProfile = 1

func instanceProfileARN(account, path, name string) string {
	return arn.InstanceProfile(account, path, name)
}

func noSuchInstanceProfile(name string) error {
	return apierr.New(apierr.NoSuchEntity, "Instance Profile %s cannot be found.", name)
}

// authInstanceProfile loads a profile of the caller's account and
// authorizes action on its ARN with its tags as aws:ResourceTag keys.
// Authorization comes first: a caller without permission learns nothing of
// whether the profile exists.
func (s *Service) authInstanceProfile(ctx context.Context, c *authz.Caller, action, name string, keys ...authz.Key) (store.InstanceProfile, error) {
	p, err := s.store.GetInstanceProfile(ctx, c.Account, name)
	found := err == nil
	if err != nil && !isNotFound(err) {
		return store.InstanceProfile{}, internal(err, "load instance profile "+name)
	}
	resource := instanceProfileARN(c.Account, "/", name)
	if found {
		resource = instanceProfileARN(c.Account, p.Path, p.Name)
		keys = append(keys, resourceTagKeys(p.Tags)...)
	}
	if err := s.checkAs(ctx, c, action, resource, "instance-profile "+name, keys...); err != nil {
		return store.InstanceProfile{}, err
	}
	if !found {
		return store.InstanceProfile{}, noSuchInstanceProfile(name)
	}
	return p, nil
}

// instanceProfileOut renders a profile with its role (looked up by id) and,
// with full, its tags.
func (s *Service) instanceProfileOut(ctx context.Context, p store.InstanceProfile, full bool) (InstanceProfile, error) {
	out := InstanceProfile{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileID: p.ID,
		ARN: instanceProfileARN(p.Account, p.Path, p.Name), CreateDate: p.CreatedAt.UTC(), Roles: []Role{}}
	if full {
		out.Tags = tagsOut(p.Tags)
	}
	if p.RoleID == "" {
		return out, nil
	}
	r, err := s.store.GetRoleByID(ctx, p.RoleID)
	if isNotFound(err) { // deleted since the profile was read
		return out, nil
	}
	if err != nil {
		return InstanceProfile{}, internal(err, "load role of instance profile "+p.Name)
	}
	r.TrustPolicy = s.principalNames().show(ctx, r.TrustPolicy)
	ro := roleOut(r, false)
	out.Roles = append(out.Roles, ro)
	return out, nil
}

// CreateInstanceProfileInput is the input of CreateInstanceProfile.
type CreateInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Path                string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	Tags                []Tag  `max:"50"`
}

// CreateInstanceProfileOutput is the output of CreateInstanceProfile.
type CreateInstanceProfileOutput struct {
	InstanceProfile InstanceProfile `xml:"InstanceProfile"`
}

// CreateInstanceProfile creates an empty instance profile. Creating it with
// tags also needs iam:TagInstanceProfile.
func (s *Service) CreateInstanceProfile(ctx context.Context, c *authz.Caller, in *CreateInstanceProfileInput) (*CreateInstanceProfileOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	resource := instanceProfileARN(c.Account, path, in.InstanceProfileName)
	keys := requestTagKeys(in.Tags)
	if err := s.check(ctx, c, "iam:CreateInstanceProfile", resource, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagInstanceProfile", resource, keys...); err != nil {
			return nil, err
		}
	}
	id, err := s.newID("AIPA")
	if err != nil {
		return nil, err
	}
	p := store.InstanceProfile{Account: c.Account, ID: id, Name: in.InstanceProfileName, Path: path, CreatedAt: s.time(), Tags: storeTags(in.Tags)}
	if err := s.store.CreateInstanceProfile(ctx, p); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "Instance Profile %s already exists.", in.InstanceProfileName)
		}
		return nil, internal(err, "create instance profile "+in.InstanceProfileName)
	}
	out, err := s.instanceProfileOut(ctx, p, true)
	if err != nil {
		return nil, err
	}
	return &CreateInstanceProfileOutput{InstanceProfile: out}, nil
}

// GetInstanceProfileInput is the input of GetInstanceProfile.
type GetInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetInstanceProfileOutput is the output of GetInstanceProfile.
type GetInstanceProfileOutput struct {
	InstanceProfile InstanceProfile `xml:"InstanceProfile"`
}

// GetInstanceProfile returns a profile with its role and tags.
func (s *Service) GetInstanceProfile(ctx context.Context, c *authz.Caller, in *GetInstanceProfileInput) (*GetInstanceProfileOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:GetInstanceProfile", in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	out, err := s.instanceProfileOut(ctx, p, true)
	if err != nil {
		return nil, err
	}
	return &GetInstanceProfileOutput{InstanceProfile: out}, nil
}

// DeleteInstanceProfileInput is the input of DeleteInstanceProfile.
type DeleteInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteInstanceProfileOutput is the (empty) output of DeleteInstanceProfile.
type DeleteInstanceProfileOutput struct{}

// DeleteInstanceProfile deletes a profile that holds no role.
func (s *Service) DeleteInstanceProfile(ctx context.Context, c *authz.Caller, in *DeleteInstanceProfileInput) (*DeleteInstanceProfileOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:DeleteInstanceProfile", in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteInstanceProfile(ctx, c.Account, p.Name); err != nil {
		switch {
		case isConflict(err):
			return nil, apierr.New(apierr.DeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
		case isNotFound(err):
			return nil, noSuchInstanceProfile(in.InstanceProfileName)
		}
		return nil, internal(err, "delete instance profile "+p.Name)
	}
	return &DeleteInstanceProfileOutput{}, nil
}

// ListInstanceProfilesInput is the input of ListInstanceProfiles.
type ListInstanceProfilesInput struct {
	PathPrefix string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListInstanceProfilesOutput is the output of ListInstanceProfiles; the
// profiles carry no tags, as in AWS.
type ListInstanceProfilesOutput struct {
	InstanceProfiles []InstanceProfile `xml:"InstanceProfiles>member"`
	Page
}

// ListInstanceProfiles lists the account's profiles under PathPrefix.
func (s *Service) ListInstanceProfiles(ctx context.Context, c *authz.Caller, in *ListInstanceProfilesInput) (*ListInstanceProfilesOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListInstanceProfiles", instanceProfileARN(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListInstanceProfiles(ctx, c.Account, req.options(prefix))
	if err != nil {
		return nil, internal(err, "list instance profiles")
	}
	page, p := cut(req, ps, func(p store.InstanceProfile) string { return nameKey(p.Name) })
	out := &ListInstanceProfilesOutput{InstanceProfiles: make([]InstanceProfile, 0, len(page)), Page: p}
	for _, ip := range page {
		o, err := s.instanceProfileOut(ctx, ip, false)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, o)
	}
	return out, nil
}

// ListInstanceProfilesForRoleInput is the input of ListInstanceProfilesForRole.
type ListInstanceProfilesForRoleInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListInstanceProfilesForRoleOutput is the output of ListInstanceProfilesForRole.
type ListInstanceProfilesForRoleOutput struct {
	InstanceProfiles []InstanceProfile `xml:"InstanceProfiles>member"`
	Page
}

// ListInstanceProfilesForRole lists the profiles that hold a role
// (authorized on the role's ARN, as in AWS).
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, c *authz.Caller, in *ListInstanceProfilesForRoleInput) (*ListInstanceProfilesForRoleOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:ListInstanceProfilesForRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.ListInstanceProfilesForRole(ctx, c.Account, e.role.ID, req.options(""))
	if err != nil {
		return nil, internal(err, "list instance profiles for role "+e.name)
	}
	page, p := cut(req, ps, func(p store.InstanceProfile) string { return nameKey(p.Name) })
	out := &ListInstanceProfilesForRoleOutput{InstanceProfiles: make([]InstanceProfile, 0, len(page)), Page: p}
	for _, ip := range page {
		o, err := s.instanceProfileOut(ctx, ip, false)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, o)
	}
	return out, nil
}

// AddRoleToInstanceProfileInput is the input of AddRoleToInstanceProfile.
type AddRoleToInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	RoleName            string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// AddRoleToInstanceProfileOutput is the (empty) output of AddRoleToInstanceProfile.
type AddRoleToInstanceProfileOutput struct{}

// AddRoleToInstanceProfile puts a role in a profile that has none. As in
// AWS it also needs iam:PassRole on the role: whoever can use the profile
// gets the role's credentials.
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, c *authz.Caller, in *AddRoleToInstanceProfileInput) (*AddRoleToInstanceProfileOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:AddRoleToInstanceProfile", in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:PassRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	if p.RoleID != "" {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", maxRolesPerInstanceProfile)
	}
	if err := s.store.SetInstanceProfileRole(ctx, c.Account, p.Name, e.role.ID); err != nil {
		switch {
		case isConflict(err):
			return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", maxRolesPerInstanceProfile)
		case isNotFound(err):
			return nil, noSuchInstanceProfile(in.InstanceProfileName)
		}
		return nil, internal(err, "add role to instance profile "+p.Name)
	}
	return &AddRoleToInstanceProfileOutput{}, nil
}

// RemoveRoleFromInstanceProfileInput is the input of RemoveRoleFromInstanceProfile.
type RemoveRoleFromInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	RoleName            string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// RemoveRoleFromInstanceProfileOutput is the (empty) output of RemoveRoleFromInstanceProfile.
type RemoveRoleFromInstanceProfileOutput struct{}

// RemoveRoleFromInstanceProfile takes a role out of a profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, c *authz.Caller, in *RemoveRoleFromInstanceProfileInput) (*RemoveRoleFromInstanceProfileOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:RemoveRoleFromInstanceProfile", in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetRole(ctx, c.Account, in.RoleName)
	if isNotFound(err) {
		return nil, noSuchEntity(store.KindRole, in.RoleName)
	}
	if err != nil {
		return nil, internal(err, "load role "+in.RoleName)
	}
	if err := s.store.ClearInstanceProfileRole(ctx, c.Account, p.Name, r.ID); err != nil {
		if isNotFound(err) {
			return nil, apierr.New(apierr.NoSuchEntity, "The role with name %s cannot be found in instance profile %s.", in.RoleName, in.InstanceProfileName)
		}
		return nil, internal(err, "remove role from instance profile "+p.Name)
	}
	return &RemoveRoleFromInstanceProfileOutput{}, nil
}

// TagInstanceProfileInput is the input of TagInstanceProfile.
type TagInstanceProfileInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Tags                []Tag  `required:"true" max:"50"`
}

// TagInstanceProfileOutput is the (empty) output of TagInstanceProfile.
type TagInstanceProfileOutput struct{}

// TagInstanceProfile adds or replaces tags on a profile.
func (s *Service) TagInstanceProfile(ctx context.Context, c *authz.Caller, in *TagInstanceProfileInput) (*TagInstanceProfileOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	p, err := s.authInstanceProfile(ctx, c, "iam:TagInstanceProfile", in.InstanceProfileName, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(p.Tags, in.Tags, "TagsPerInstanceProfile")
	if err != nil {
		return nil, err
	}
	return done[TagInstanceProfileOutput](s.setInstanceProfileTags(ctx, p, merged))
}

func (s *Service) setInstanceProfileTags(ctx context.Context, p store.InstanceProfile, tags []store.Tag) error {
	if err := s.store.SetInstanceProfileTags(ctx, p.Account, p.Name, tags); err != nil {
		if isNotFound(err) {
			return noSuchInstanceProfile(p.Name)
		}
		return internal(err, "tag instance profile "+p.Name)
	}
	return nil
}

// UntagInstanceProfileInput is the input of UntagInstanceProfile.
type UntagInstanceProfileInput struct {
	InstanceProfileName string   `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	TagKeys             []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagInstanceProfileOutput is the (empty) output of UntagInstanceProfile.
type UntagInstanceProfileOutput struct{}

// UntagInstanceProfile removes tags from a profile; unknown keys are ignored.
func (s *Service) UntagInstanceProfile(ctx context.Context, c *authz.Caller, in *UntagInstanceProfileInput) (*UntagInstanceProfileOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:UntagInstanceProfile", in.InstanceProfileName, authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	return done[UntagInstanceProfileOutput](s.setInstanceProfileTags(ctx, p, removeTags(p.Tags, in.TagKeys)))
}

// ListInstanceProfileTagsInput is the input of ListInstanceProfileTags.
type ListInstanceProfileTagsInput struct {
	InstanceProfileName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker              string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems            *int32 `min:"1" max:"1000"`
}

// ListInstanceProfileTagsOutput is the output of ListInstanceProfileTags.
type ListInstanceProfileTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListInstanceProfileTags lists a profile's tags.
func (s *Service) ListInstanceProfileTags(ctx context.Context, c *authz.Caller, in *ListInstanceProfileTagsInput) (*ListInstanceProfileTagsOutput, error) {
	p, err := s.authInstanceProfile(ctx, c, "iam:ListInstanceProfileTags", in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	tags, pg, err := listTags(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListInstanceProfileTagsOutput{Tags: tags, Page: pg}, nil
}

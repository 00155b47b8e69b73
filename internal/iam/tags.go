package iam

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Tagging of users, roles and customer managed policies. Tag keys are
// case-insensitive: tagging with an existing key (in any case) replaces its
// value, and the key keeps the spelling of the latest request.

// checkTags validates tags given in one request: no reserved "aws:" prefix,
// no key twice (case-insensitively), at most 50.
func checkTags(tags []Tag) error {
	if len(tags) > maxTags {
		return apierr.Validation("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if strings.HasPrefix(k, "aws:") {
			return apierr.New(apierr.InvalidInput, "User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS use.")
		}
		if seen[k] {
			return apierr.New(apierr.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// mergeTags adds or replaces tags and enforces the 50-tag quota (quota names
// the entity kind, e.g. "TagsPerRole").
func mergeTags(existing []store.Tag, add []Tag, quota string) ([]store.Tag, error) {
	out := append([]store.Tag(nil), existing...)
	for _, t := range add {
		i := tagIndex(out, t.Key)
		if i >= 0 {
			out[i] = store.Tag{Key: t.Key, Value: t.Value}
			continue
		}
		out = append(out, store.Tag{Key: t.Key, Value: t.Value})
	}
	if len(out) > maxTags {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for %s: %d", quota, maxTags)
	}
	return out, nil
}

func removeTags(existing []store.Tag, keys []string) []store.Tag {
	out := make([]store.Tag, 0, len(existing))
	for _, t := range existing {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func tagIndex(tags []store.Tag, key string) int {
	for i, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return i
		}
	}
	return -1
}

func storeTags(tags []Tag) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func requestTagKeys(tags []Tag) []authz.Key { return authz.RequestTagKeys(tags) }

// resourceTagKeys are the aws:ResourceTag/K condition keys of an existing
// resource.
func resourceTagKeys(tags []store.Tag) []authz.Key {
	keys := make([]authz.Key, 0, len(tags))
	for _, t := range tags {
		keys = append(keys, authz.Key{Name: "aws:ResourceTag/" + t.Key, Values: []string{t.Value}})
	}
	return keys
}

// listTags pages through tags sorted by key.
func listTags(tags []store.Tag, marker string, maxItems *int32) ([]Tag, Page, error) {
	return paginate(tagsOut(tags), func(t Tag) string { return nameKey(t.Key) }, marker, maxItems)
}

// tagEntity adds or replaces tags on a user or role.
func (s *Service) tagEntity(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, name string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	e, err := s.authEntity(ctx, c, kind, "iam:Tag"+actionKind(kind), name, requestTagKeys(tags)...)
	if err != nil {
		return err
	}
	merged, err := mergeTags(e.tags(), tags, "TagsPer"+actionKind(kind))
	if err != nil {
		return err
	}
	e.setTags(merged)
	return s.save(ctx, e, "tag")
}

// untagEntity removes tags from a user or role.
func (s *Service) untagEntity(ctx context.Context, c *authz.Caller, kind store.PrincipalKind, name string, keys []string) error {
	e, err := s.authEntity(ctx, c, kind, "iam:Untag"+actionKind(kind), name, authz.Key{Name: "aws:TagKeys", Values: keys})
	if err != nil {
		return err
	}
	e.setTags(removeTags(e.tags(), keys))
	return s.save(ctx, e, "untag")
}

// TagUserInput is the input of TagUser.
type TagUserInput struct {
	UserName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Tags     []Tag  `required:"true" max:"50"`
}

// TagUserOutput is the (empty) output of TagUser.
type TagUserOutput struct{}

// TagUser adds or replaces tags on a user.
func (s *Service) TagUser(ctx context.Context, c *authz.Caller, in *TagUserInput) (*TagUserOutput, error) {
	return done[TagUserOutput](s.tagEntity(ctx, c, store.KindUser, in.UserName, in.Tags))
}

// UntagUserInput is the input of UntagUser.
type UntagUserInput struct {
	UserName string   `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	TagKeys  []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagUserOutput is the (empty) output of UntagUser.
type UntagUserOutput struct{}

// UntagUser removes tags from a user; unknown keys are ignored.
func (s *Service) UntagUser(ctx context.Context, c *authz.Caller, in *UntagUserInput) (*UntagUserOutput, error) {
	return done[UntagUserOutput](s.untagEntity(ctx, c, store.KindUser, in.UserName, in.TagKeys))
}

// ListUserTagsInput is the input of ListUserTags.
type ListUserTagsInput struct {
	UserName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListUserTagsOutput is the output of ListUserTags.
type ListUserTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListUserTags lists a user's tags.
func (s *Service) ListUserTags(ctx context.Context, c *authz.Caller, in *ListUserTagsInput) (*ListUserTagsOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:ListUserTags", in.UserName)
	if err != nil {
		return nil, err
	}
	tags, p, err := listTags(e.user.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListUserTagsOutput{Tags: tags, Page: p}, nil
}

// TagRoleInput is the input of TagRole.
type TagRoleInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Tags     []Tag  `required:"true" max:"50"`
}

// TagRoleOutput is the (empty) output of TagRole.
type TagRoleOutput struct{}

// TagRole adds or replaces tags on a role.
func (s *Service) TagRole(ctx context.Context, c *authz.Caller, in *TagRoleInput) (*TagRoleOutput, error) {
	return done[TagRoleOutput](s.tagEntity(ctx, c, store.KindRole, in.RoleName, in.Tags))
}

// UntagRoleInput is the input of UntagRole.
type UntagRoleInput struct {
	RoleName string   `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	TagKeys  []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagRoleOutput is the (empty) output of UntagRole.
type UntagRoleOutput struct{}

// UntagRole removes tags from a role; unknown keys are ignored.
func (s *Service) UntagRole(ctx context.Context, c *authz.Caller, in *UntagRoleInput) (*UntagRoleOutput, error) {
	return done[UntagRoleOutput](s.untagEntity(ctx, c, store.KindRole, in.RoleName, in.TagKeys))
}

// ListRoleTagsInput is the input of ListRoleTags.
type ListRoleTagsInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListRoleTagsOutput is the output of ListRoleTags.
type ListRoleTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListRoleTags lists a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, c *authz.Caller, in *ListRoleTagsInput) (*ListRoleTagsOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:ListRoleTags", in.RoleName)
	if err != nil {
		return nil, err
	}
	tags, p, err := listTags(e.role.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListRoleTagsOutput{Tags: tags, Page: p}, nil
}

// TagPolicyInput is the input of TagPolicy.
type TagPolicyInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	Tags      []Tag  `required:"true" max:"50"`
}

// TagPolicyOutput is the (empty) output of TagPolicy.
type TagPolicyOutput struct{}

// TagPolicy adds or replaces tags on a customer managed policy.
func (s *Service) TagPolicy(ctx context.Context, c *authz.Caller, in *TagPolicyInput) (*TagPolicyOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	mp, err := s.authPolicy(ctx, c, "iam:TagPolicy", in.PolicyARN, true, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	if mp.Tags, err = mergeTags(mp.Tags, in.Tags, "TagsPerPolicy"); err != nil {
		return nil, err
	}
	if err := s.store.UpdateManagedPolicy(ctx, mp); err != nil {
		return nil, internal(err, "tag policy "+mp.ARN)
	}
	return &TagPolicyOutput{}, nil
}

// UntagPolicyInput is the input of UntagPolicy.
type UntagPolicyInput struct {
	PolicyARN string   `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	TagKeys   []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagPolicyOutput is the (empty) output of UntagPolicy.
type UntagPolicyOutput struct{}

// UntagPolicy removes tags from a customer managed policy.
func (s *Service) UntagPolicy(ctx context.Context, c *authz.Caller, in *UntagPolicyInput) (*UntagPolicyOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:UntagPolicy", in.PolicyARN, true, authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	mp.Tags = removeTags(mp.Tags, in.TagKeys)
	if err := s.store.UpdateManagedPolicy(ctx, mp); err != nil {
		return nil, internal(err, "untag policy "+mp.ARN)
	}
	return &UntagPolicyOutput{}, nil
}

// ListPolicyTagsInput is the input of ListPolicyTags.
type ListPolicyTagsInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	Marker    string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems  *int32 `min:"1" max:"1000"`
}

// ListPolicyTagsOutput is the output of ListPolicyTags.
type ListPolicyTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListPolicyTags lists a managed policy's tags.
func (s *Service) ListPolicyTags(ctx context.Context, c *authz.Caller, in *ListPolicyTagsInput) (*ListPolicyTagsOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:ListPolicyTags", in.PolicyARN, false)
	if err != nil {
		return nil, err
	}
	tags, p, err := listTags(mp.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListPolicyTagsOutput{Tags: tags, Page: p}, nil
}

package org

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// maxTags is how many tags an Organizations resource carries at most.
const maxTags = 50

// Tag is a tag on the wire.
type Tag struct {
	Key   string `json:"Key" min:"1" max:"128" pattern:"^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"`
	Value string `json:"Value" max:"256" pattern:"^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"`
}

// TagKV returns the tag's key and value (authz.RequestTagKeys).
func (t Tag) TagKV() (string, string) { return t.Key, t.Value }

func checkTags(tags []Tag) ([]store.OrgTag, error) {
	if len(tags) > maxTags {
		return nil, constraint("TAG_POLICY_VIOLATION", "You have exceeded the allowed number of tags for the resource.")
	}
	seen := make(map[string]bool, len(tags))
	out := make([]store.OrgTag, 0, len(tags))
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 {
			return nil, invalidInput("You specified an invalid value for tag key.")
		}
		if n := utf8.RuneCountInString(t.Value); n > 256 {
			return nil, invalidInput("You specified an invalid value for tag value.")
		}
		if seen[t.Key] {
			return nil, invalidInput("Duplicate tag key %s.", t.Key)
		}
		seen[t.Key] = true
		out = append(out, store.OrgTag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}

// taggable resolves a resource id for the tag actions: a root, OU or
// account (TargetNotFoundException if unknown) or a policy.
func (s *Service) taggable(ctx context.Context, o org, id string) (arn string, err error) {
	if strings.HasPrefix(id, "p-") {
		if !policyIDPattern.MatchString(id) {
			return "", invalidInput("You specified an invalid value for resourceId.")
		}
		p, err := s.store.GetOrgPolicy(ctx, id)
		if isNotFound(err) {
			return "", errTargetNotFound()
		}
		if err != nil {
			return "", internal(err, "get policy "+id)
		}
		if p.AWSManaged {
			return "", invalidInput("You can't tag an AWS managed policy.")
		}
		return o.policyARN(p), nil
	}
	if !targetIDPattern.MatchString(id) {
		return "", invalidInput("You specified an invalid value for resourceId.")
	}
	t, err := s.resolveTarget(ctx, o, id)
	if err != nil {
		return "", err
	}
	return t.ARN, nil
}

// authTag admits a member, resolves the resource and authorizes action on
// it, with the request's tag keys (aws:RequestTag/KEY, aws:TagKeys) in the
// context, as IAM's tag actions have them: a Deny on them bound nothing
// (attack review).
func (s *Service) authTag(ctx context.Context, c *authz.Caller, action, id string, keys []authz.Key) error {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return err
	}
	arn, err := s.taggable(ctx, o, id)
	if err != nil {
		return err
	}
	return s.checkKeys(ctx, c, o, action, keys, func(org) string { return arn })
}

// TagResourceInput is the TagResource request.
type TagResourceInput struct {
	ResourceID string `json:"ResourceId" max:"130" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})|(^p-[0-9a-zA-Z_]{8,128})|(^rp-[0-9a-zA-Z_]{4,128})$"`
	Tags       []Tag  `json:"Tags"`
}

// UntagResourceInput is the UntagResource request.
type UntagResourceInput struct {
	ResourceID string   `json:"ResourceId" max:"130" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})|(^p-[0-9a-zA-Z_]{8,128})|(^rp-[0-9a-zA-Z_]{4,128})$"`
	TagKeys    []string `json:"TagKeys" memberMin:"1" memberMax:"128" pattern:"^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"`
}

// TagOutput is the (empty) result of TagResource and UntagResource.
type TagOutput struct{}

// TagResource adds tags to an account, OU, root or policy, replacing the
// values of keys it has; at most 50 tags a resource.
func (s *Service) TagResource(ctx context.Context, c *authz.Caller, in *TagResourceInput) (*TagOutput, error) {
	if err := s.authTag(ctx, c, "TagResource", in.ResourceID, authz.RequestTagKeys(in.Tags)); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalidInput("You specified an invalid value for tags.")
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := s.store.TagOrgResource(ctx, in.ResourceID, tags, maxTags); err != nil {
		if isConflict(err) {
			return nil, constraint("TAG_POLICY_VIOLATION", "You have exceeded the allowed number of tags for the resource.")
		}
		return nil, internal(err, "tag resource "+in.ResourceID)
	}
	return &TagOutput{}, nil
}

// UntagResource removes tags by key (keys it does not have are ignored).
func (s *Service) UntagResource(ctx context.Context, c *authz.Caller, in *UntagResourceInput) (*TagOutput, error) {
	if err := s.authTag(ctx, c, "UntagResource", in.ResourceID, []authz.Key{{Name: "aws:TagKeys", Values: in.TagKeys}}); err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, invalidInput("You specified an invalid value for tagKeys.")
	}
	for _, k := range in.TagKeys {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return nil, invalidInput("You specified an invalid value for tag key.")
		}
	}
	if err := s.store.UntagOrgResource(ctx, in.ResourceID, in.TagKeys); err != nil {
		return nil, internal(err, "untag resource "+in.ResourceID)
	}
	return &TagOutput{}, nil
}

// ListTagsForResourceInput is the ListTagsForResource request.
type ListTagsForResourceInput struct {
	ResourceID string `json:"ResourceId" max:"130" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})|(^p-[0-9a-zA-Z_]{8,128})|(^rp-[0-9a-zA-Z_]{4,128})$"`
	NextToken  string `json:"NextToken" max:"100000"`
}

// ListTagsForResourceOutput is the ListTagsForResource result.
type ListTagsForResourceOutput struct {
	Tags      []Tag  `json:"Tags"`
	NextToken string `json:"NextToken,omitempty"`
}

// ListTagsForResource lists a resource's tags by key, 20 a page.
func (s *Service) ListTagsForResource(ctx context.Context, c *authz.Caller, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	if err := s.authTag(ctx, c, "ListTagsForResource", in.ResourceID, nil); err != nil {
		return nil, err
	}
	ts, err := s.store.ListOrgTags(ctx, in.ResourceID)
	if err != nil {
		return nil, internal(err, "list tags of "+in.ResourceID)
	}
	tags := make([]Tag, 0, len(ts))
	for _, t := range ts {
		tags = append(tags, Tag{Key: t.Key, Value: t.Value})
	}
	pg, next, err := page(tags, func(t Tag) string { return t.Key }, in.NextToken, nil)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: pg, NextToken: next}, nil
}

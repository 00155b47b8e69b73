package iam

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Tags on virtual MFA devices.

// authMFADevice loads a virtual MFA device of the caller's account and
// authorizes action on its serial number (its ARN), with its tags as
// aws:ResourceTag keys, before telling whether it exists.
func (s *Service) authMFADevice(ctx context.Context, c *authz.Caller, action, serial string, keys ...authz.Key) (store.MFADevice, error) {
	d, found, err := s.loadMFADevice(ctx, c.Account, serial)
	if err != nil {
		return store.MFADevice{}, err
	}
	resource := serial
	if found {
		resource = d.SerialNumber
		keys = append(keys, resourceTagKeys(d.Tags)...)
	}
	if err := s.checkAs(ctx, c, action, resource, serial, keys...); err != nil {
		return store.MFADevice{}, err
	}
	if !found {
		return store.MFADevice{}, noSuchMFADevice(serial)
	}
	return d, nil
}

func (s *Service) saveMFATags(ctx context.Context, d store.MFADevice, serial string) error {
	if err := s.store.UpdateMFADevice(ctx, d); err != nil {
		if isNotFound(err) {
			return noSuchMFADevice(serial)
		}
		return internal(err, "tag mfa device")
	}
	return nil
}

// TagMFADeviceInput is the input of TagMFADevice.
type TagMFADeviceInput struct {
	SerialNumber string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	Tags         []Tag  `required:"true" max:"50"`
}

// TagMFADeviceOutput is the (empty) output of TagMFADevice.
type TagMFADeviceOutput struct{}

// TagMFADevice adds or replaces tags on a virtual MFA device.
func (s *Service) TagMFADevice(ctx context.Context, c *authz.Caller, in *TagMFADeviceInput) (*TagMFADeviceOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	d, err := s.authMFADevice(ctx, c, "iam:TagMFADevice", in.SerialNumber, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	if d.Tags, err = mergeTags(d.Tags, in.Tags, "TagsPerMFADevice"); err != nil {
		return nil, err
	}
	return done[TagMFADeviceOutput](s.saveMFATags(ctx, d, in.SerialNumber))
}

// UntagMFADeviceInput is the input of UntagMFADevice.
type UntagMFADeviceInput struct {
	SerialNumber string   `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	TagKeys      []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagMFADeviceOutput is the (empty) output of UntagMFADevice.
type UntagMFADeviceOutput struct{}

// UntagMFADevice removes tags from a virtual MFA device; unknown keys are
// ignored.
func (s *Service) UntagMFADevice(ctx context.Context, c *authz.Caller, in *UntagMFADeviceInput) (*UntagMFADeviceOutput, error) {
	d, err := s.authMFADevice(ctx, c, "iam:UntagMFADevice", in.SerialNumber, authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	d.Tags = removeTags(d.Tags, in.TagKeys)
	return done[UntagMFADeviceOutput](s.saveMFATags(ctx, d, in.SerialNumber))
}

// ListMFADeviceTagsInput is the input of ListMFADeviceTags.
type ListMFADeviceTagsInput struct {
	SerialNumber string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	Marker       string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems     *int32 `min:"1" max:"1000"`
}

// ListMFADeviceTagsOutput is the output of ListMFADeviceTags.
type ListMFADeviceTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListMFADeviceTags lists a virtual MFA device's tags.
func (s *Service) ListMFADeviceTags(ctx context.Context, c *authz.Caller, in *ListMFADeviceTagsInput) (*ListMFADeviceTagsOutput, error) {
	d, err := s.authMFADevice(ctx, c, "iam:ListMFADeviceTags", in.SerialNumber)
	if err != nil {
		return nil, err
	}
	tags, p, err := listTags(d.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListMFADeviceTagsOutput{Tags: tags, Page: p}, nil
}

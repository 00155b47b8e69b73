package org

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// CreateOrganizationalUnitInput is the CreateOrganizationalUnit request.
type CreateOrganizationalUnitInput struct {
	ParentID string `json:"ParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	Name     string `json:"Name" min:"1" max:"128"`
	Tags     []Tag  `json:"Tags"`
}

// CreateOrganizationalUnitOutput is the CreateOrganizationalUnit result.
type CreateOrganizationalUnitOutput struct {
	OrganizationalUnit OrganizationalUnit `json:"OrganizationalUnit"`
}

// CreateOrganizationalUnit creates an OU in a root or OU, at most five
// levels below the root. As in AWS, FullAWSAccess is attached to the new
// OU while SCPs are enabled (without an SCP nothing below it would be
// allowed), and the name is unique among the parent's OUs.
func (s *Service) CreateOrganizationalUnit(ctx context.Context, c *authz.Caller, in *CreateOrganizationalUnitInput) (*CreateOrganizationalUnitOutput, error) {
	o, err := s.authParent(ctx, c, "CreateOrganizationalUnit", "parentId", in.ParentID)
	if err != nil {
		return nil, err
	}
	if err := checkOUName(in.Name); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	parent, err := s.resolveParent(ctx, o, in.ParentID, errParentNotFound)
	if err != nil {
		return nil, err
	}
	d, err := s.depth(ctx, parent)
	if err != nil {
		return nil, err
	}
	if d >= maxOUDepth {
		return nil, constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.")
	}
	u := store.OrgUnit{Name: in.Name, ParentID: parent, CreatedAt: s.time()}
	suffix := strings.TrimPrefix(o.root, "r-")
	for range 5 {
		r, err := s.randomString(lowerDigits, 8)
		if err != nil {
			return nil, err
		}
		u.ID = "ou-" + suffix + "-" + r
		if err = s.store.CreateOrgUnit(ctx, u); err == nil {
			break
		}
		switch {
		case isConflict(err):
			return nil, errParentNotFound() // deleted meanwhile
		case !isExists(err):
			return nil, internal(err, "create organizational unit")
		}
		// A taken id or a taken name: the name decides.
		if taken, err := s.nameTaken(ctx, parent, in.Name); err != nil {
			return nil, err
		} else if taken {
			return nil, apierr.New(apierr.DuplicateOrganizationalUnitException, "An OU with the same name already exists.")
		}
		u.ID = ""
	}
	if u.ID == "" {
		return nil, internal(errFiveCollisions, "create organizational unit")
	}
	if err := s.attachDefaults(ctx, o, u.ID, false); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.store.TagOrgResource(ctx, u.ID, tags, maxTags); err != nil {
			return nil, internal(err, "create organizational unit: tag")
		}
	}
	return &CreateOrganizationalUnitOutput{OrganizationalUnit: o.ou(u)}, nil
}

// nameTaken reports whether parent has a child OU named name.
func (s *Service) nameTaken(ctx context.Context, parent, name string) (bool, error) {
	us, err := s.store.ListOrgUnits(ctx, parent)
	if err != nil {
		return false, internal(err, "list organizational units")
	}
	for _, u := range us {
		if u.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func checkOUName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 128 {
		return invalidInput("You specified an invalid value for name.")
	}
	return nil
}

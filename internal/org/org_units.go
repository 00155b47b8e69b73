package org

import (
	"context"
	"regexp"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Helpers shared by the organizational unit actions.
//
// The store names the root "" (an OU's or an account's parent); the wire
// names it by its id. An OU's id is "ou-", the root id's suffix, "-" and
// eight random characters, as AWS makes them.

// maxOUDepth is how deep OUs nest below the root (AWS: five levels).
const maxOUDepth = 5

var (
	ouIDPattern     = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	rootIDPattern   = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	parentIDPattern = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	childIDPattern  = regexp.MustCompile(`^(\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
)

// OrganizationalUnit is an OU on the wire.
type OrganizationalUnit struct {
	ID   string `json:"Id"`
	ARN  string `json:"Arn"`
	Name string `json:"Name"`
}

// Parent is a root or an OU that holds a child.
type Parent struct {
	ID   string `json:"Id"`
	Type string `json:"Type"` // ROOT | ORGANIZATIONAL_UNIT
}

// Child is an account or OU in a parent.
type Child struct {
	ID   string `json:"Id"`
	Type string `json:"Type"` // ACCOUNT | ORGANIZATIONAL_UNIT
}

func (o org) ouARN(id string) string {
	return "arn:aws:organizations::" + o.mgmt + ":ou/" + o.id + "/" + id
}

func (o org) ou(u store.OrgUnit) OrganizationalUnit {
	return OrganizationalUnit{ID: u.ID, ARN: o.ouARN(u.ID), Name: u.Name}
}

// wireParent is the wire id of a parent the store names ("" is the root).
func (o org) wireParent(id string) string {
	if id == "" {
		return o.root
	}
	return id
}

// parentARN is the ARN of a root or OU by its wire id.
func (o org) parentARN(id string) string {
	if strings.HasPrefix(id, "r-") {
		return "arn:aws:organizations::" + o.mgmt + ":root/" + o.id + "/" + id
	}
	return o.ouARN(id)
}

func parentResource(id string) func(org) string { return func(o org) string { return o.parentARN(id) } }
func ouResource(id string) func(org) string     { return func(o org) string { return o.ouARN(id) } }

func errParentNotFound() *apierr.Error {
	return apierr.New(apierr.ParentNotFoundException, "We can't find a root or OU with the ParentId that you specified.")
}

func errOUNotFound() *apierr.Error {
	return apierr.New(apierr.OrganizationalUnitNotFoundException, "We can't find an OU with the OrganizationalUnitId that you specified.")
}

func constraint(reason, msg string) *apierr.Error {
	e := apierr.New(apierr.ConstraintViolationException, "%s", msg)
	e.Reason = reason
	return e
}

// authParent admits a member, validates the parent id (field names it in
// messages) and authorizes action on its ARN, before anything about the
// parent is read: a caller who may not act on it learns nothing.
func (s *Service) authParent(ctx context.Context, c *authz.Caller, action, field, id string) (org, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return org{}, err
	}
	if !parentIDPattern.MatchString(id) {
		return org{}, invalidInput("You specified an invalid value for %s.", field)
	}
	return o, s.check(ctx, c, o, action, parentResource(id))
}

// resolveParent finds a parent by wire id and returns the store's name for
// it ("" for the root), with ParentNotFoundException (or notFound) for an
// unknown one.
func (s *Service) resolveParent(ctx context.Context, o org, id string, notFound func() *apierr.Error) (string, error) {
	if id == o.root {
		return "", nil
	}
	if rootIDPattern.MatchString(id) {
		return "", notFound()
	}
	if _, err := s.store.GetOrgUnit(ctx, id); err != nil {
		if isNotFound(err) {
			return "", notFound()
		}
		return "", internal(err, "get organizational unit "+id)
	}
	return id, nil
}

// getOU loads an OU by a validated id.
func (s *Service) getOU(ctx context.Context, id string) (store.OrgUnit, error) {
	u, err := s.store.GetOrgUnit(ctx, id)
	if isNotFound(err) {
		return store.OrgUnit{}, errOUNotFound()
	}
	if err != nil {
		return store.OrgUnit{}, internal(err, "get organizational unit "+id)
	}
	return u, nil
}

// authOU admits a member, validates an OU id and authorizes action on its
// ARN, then loads it.
func (s *Service) authOU(ctx context.Context, c *authz.Caller, action, id string) (org, store.OrgUnit, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return org{}, store.OrgUnit{}, err
	}
	if !ouIDPattern.MatchString(id) {
		return org{}, store.OrgUnit{}, invalidInput("You specified an invalid value for organizationalUnitId.")
	}
	if err := s.check(ctx, c, o, action, ouResource(id)); err != nil {
		return org{}, store.OrgUnit{}, err
	}
	u, err := s.getOU(ctx, id)
	return o, u, err
}

// accountOut is a as the wire describes it, its Paths through the OUs
// above it: "o-id/r-id/ou-.../account-id/".
func (s *Service) accountOut(ctx context.Context, o org, a store.Account) (Account, error) {
	out := o.account(a, s.time())
	parent, err := s.store.OrgAccountParent(ctx, a.ID)
	if err != nil {
		return Account{}, internal(err, "get parent of account "+a.ID)
	}
	var ous []string
	for parent != "" && len(ous) <= maxOUDepth {
		ous = append(ous, parent)
		u, err := s.store.GetOrgUnit(ctx, parent)
		if err != nil {
			return Account{}, internal(err, "get organizational unit "+parent)
		}
		parent = u.ParentID
	}
	path := o.id + "/" + o.root + "/"
	for i := len(ous) - 1; i >= 0; i-- {
		path += ous[i] + "/"
	}
	out.Paths = []string{path + a.ID + "/"}
	return out, nil
}

// depth is how many OUs lie from the root down to the OU id, itself
// included (0 for the root, "").
func (s *Service) depth(ctx context.Context, id string) (int, error) {
	n := 0
	for id != "" {
		if n > maxOUDepth {
			return n, nil
		}
		u, err := s.store.GetOrgUnit(ctx, id)
		if err != nil {
			return 0, internal(err, "get organizational unit "+id)
		}
		n++
		id = u.ParentID
	}
	return n, nil
}

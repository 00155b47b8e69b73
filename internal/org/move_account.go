package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// MoveAccountInput is the MoveAccount request.
type MoveAccountInput struct {
	AccountID           string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
	SourceParentID      string `json:"SourceParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	DestinationParentID string `json:"DestinationParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
}

// MoveAccountOutput is the (empty) MoveAccount result.
type MoveAccountOutput struct{}

// MoveAccount moves an account from the root or OU it is in to another. The
// SCPs of its new place apply from the next request.
func (s *Service) MoveAccount(ctx context.Context, c *authz.Caller, in *MoveAccountInput) (*MoveAccountOutput, error) {
	o, err := s.member(ctx, c, "MoveAccount")
	if err != nil {
		return nil, err
	}
	switch {
	case !accountIDPattern.MatchString(in.AccountID):
		return nil, invalidInput("You specified an invalid value for accountId.")
	case !parentIDPattern.MatchString(in.SourceParentID):
		return nil, invalidInput("You specified an invalid value for sourceParentId.")
	case !parentIDPattern.MatchString(in.DestinationParentID):
		return nil, invalidInput("You specified an invalid value for destinationParentId.")
	}
	if err := s.check(ctx, c, o, "MoveAccount", accountResource(in.AccountID), parentResource(in.SourceParentID), parentResource(in.DestinationParentID)); err != nil {
		return nil, err
	}
	if _, err := s.getMember(ctx, in.AccountID); err != nil {
		return nil, err
	}
	from, err := s.resolveParent(ctx, o, in.SourceParentID, func() *apierr.Error {
		return apierr.New(apierr.SourceParentNotFoundException, "We can't find a source root or OU with the ParentId that you specified.")
	})
	if err != nil {
		return nil, err
	}
	errDest := func() *apierr.Error {
		return apierr.New(apierr.DestinationParentNotFoundException, "We can't find the destination container (a root or OU) with the ParentId that you specified.")
	}
	to, err := s.resolveParent(ctx, o, in.DestinationParentID, errDest)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.OrgAccountParent(ctx, in.AccountID)
	if err != nil {
		return nil, internal(err, "get parent of account "+in.AccountID)
	}
	if cur == to {
		return nil, apierr.New(apierr.DuplicateAccountException, "That account is already present in the specified destination.")
	}
	if cur != from {
		return nil, errAccountNotFound()
	}
	if err := s.store.MoveOrgAccount(ctx, in.AccountID, from, to); err != nil {
		switch {
		case isNotFound(err):
			return nil, errAccountNotFound()
		case isConflict(err):
			return nil, errDest()
		}
		return nil, internal(err, "move account "+in.AccountID)
	}
	return &MoveAccountOutput{}, nil
}

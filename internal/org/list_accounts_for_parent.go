package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListAccountsForParentInput is the ListAccountsForParent request.
type ListAccountsForParentInput struct {
	ParentID   string `json:"ParentId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListAccountsForParentOutput is the ListAccountsForParent result.
type ListAccountsForParentOutput struct {
	Accounts  []Account `json:"Accounts"`
	NextToken string    `json:"NextToken,omitempty"`
}

// ListAccountsForParent lists the accounts directly in a root or OU, by id.
func (s *Service) ListAccountsForParent(ctx context.Context, c *authz.Caller, in *ListAccountsForParentInput) (*ListAccountsForParentOutput, error) {
	o, err := s.authParent(ctx, c, "ListAccountsForParent", "parentId", in.ParentID)
	if err != nil {
		return nil, err
	}
	parent, err := s.resolveParent(ctx, o, in.ParentID, errParentNotFound)
	if err != nil {
		return nil, err
	}
	ids, err := s.store.ListOrgAccountsInUnit(ctx, parent)
	if err != nil {
		return nil, internal(err, "list accounts for parent")
	}
	pg, next, err := page(ids, func(id string) string { return id }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListAccountsForParentOutput{Accounts: make([]Account, 0, len(pg)), NextToken: next}
	for _, id := range pg {
		a, err := s.store.GetAccount(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, internal(err, "get account "+id)
		}
		ao, err := s.accountOut(ctx, o, a)
		if err != nil {
			return nil, err
		}
		out.Accounts = append(out.Accounts, ao)
	}
	return out, nil
}

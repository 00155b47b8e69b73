package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// ListAccountsInput is the ListAccounts request.
type ListAccountsInput struct {
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListAccountsOutput is the ListAccounts result.
type ListAccountsOutput struct {
	Accounts  []Account `json:"Accounts"`
	NextToken string    `json:"NextToken,omitempty"`
}

// ListAccounts lists the organization's accounts by id, at most MaxResults
// (1-20, default 20) a page.
func (s *Service) ListAccounts(ctx context.Context, c *authz.Caller, in *ListAccountsInput) (*ListAccountsOutput, error) {
	o, err := s.authorize(ctx, c, "ListAccounts")
	if err != nil {
		return nil, err
	}
	req, err := pageRequest(in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	// Accounts by id; standalone ones (not in the organization) are
	// left out, so batches are read until the page and one more are found.
	var accounts []store.Account
	for opt := req.options(); ; {
		batch, err := s.store.ListAccounts(ctx, opt)
		if err != nil {
			return nil, internal(err, "list accounts")
		}
		for _, a := range batch {
			if !a.Standalone {
				accounts = append(accounts, a)
			}
		}
		if len(batch) < opt.Limit || len(accounts) > req.size {
			break
		}
		opt.After = batch[len(batch)-1].ID
	}
	pg, next := cut(req, accounts, func(a store.Account) string { return a.ID })
	out := &ListAccountsOutput{Accounts: make([]Account, 0, len(pg)), NextToken: next}
	for _, a := range pg {
		ao, err := s.accountOut(ctx, o, a)
		if err != nil {
			return nil, err
		}
		out.Accounts = append(out.Accounts, ao)
	}
	return out, nil
}

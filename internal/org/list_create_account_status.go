package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// ListCreateAccountStatusInput is the ListCreateAccountStatus request.
type ListCreateAccountStatusInput struct {
	States     []string `json:"States"`
	NextToken  string   `json:"NextToken"`
	MaxResults *int32   `json:"MaxResults"`
}

// ListCreateAccountStatusOutput is the ListCreateAccountStatus result.
type ListCreateAccountStatusOutput struct {
	CreateAccountStatuses []CreateAccountStatus `json:"CreateAccountStatuses"`
	NextToken             string                `json:"NextToken,omitempty"`
}

// ListCreateAccountStatus lists the requests that created accounts (all
// SUCCEEDED). Failed requests are kept only for DescribeCreateAccountStatus.
func (s *Service) ListCreateAccountStatus(ctx context.Context, c *authz.Caller, in *ListCreateAccountStatusInput) (*ListCreateAccountStatusOutput, error) {
	want := map[string]bool{}
	for _, st := range in.States {
		switch st {
		case "IN_PROGRESS", "SUCCEEDED", "FAILED":
			want[st] = true
		default:
			return nil, invalidInput("You specified an invalid value for states.")
		}
	}
	o, err := s.authorize(ctx, c, "ListCreateAccountStatus")
	if err != nil {
		return nil, err
	}
	var all []CreateAccountStatus
	if len(want) == 0 || want["SUCCEEDED"] {
		accounts, err := s.store.ListAccounts(ctx) // sorted by id, so by request id
		if err != nil {
			return nil, internal(err, "list create account status")
		}
		for _, a := range accounts {
			if a.ID != o.mgmt && !a.Management {
				all = append(all, succeeded(a))
			}
		}
	}
	pg, next, err := page(all, func(st CreateAccountStatus) string { return st.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ListCreateAccountStatusOutput{CreateAccountStatuses: pg, NextToken: next}, nil
}

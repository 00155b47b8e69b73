package org

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/authz"
)

// ListCreateAccountStatusInput is the ListCreateAccountStatus request.
type ListCreateAccountStatusInput struct {
	States     []string `json:"States" enum:"IN_PROGRESS,SUCCEEDED,FAILED"`
	NextToken  string   `json:"NextToken" max:"100000"`
	MaxResults *int32   `json:"MaxResults" min:"1" max:"20"`
}

// ListCreateAccountStatusOutput is the ListCreateAccountStatus result.
type ListCreateAccountStatusOutput struct {
	CreateAccountStatuses []CreateAccountStatus `json:"CreateAccountStatuses"`
	NextToken             string                `json:"NextToken,omitempty"`
}

// ListCreateAccountStatus lists the CreateAccount requests by request id:
// those that created accounts (SUCCEEDED) and those that failed (FAILED).
// Requests complete at once, so none is IN_PROGRESS.
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
	req, err := pageRequest(in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	var sts []CreateAccountStatus
	if len(want) == 0 || want["SUCCEEDED"] {
		// Accounts by id, so statuses by request id; the token is a
		// request id. Only the management account is left out, so a
		// batch of a page and two more always fills the page if it can.
		opt := req.options()
		opt.After = strings.TrimPrefix(opt.After, carPrefix)
		opt.Limit++
		accounts, err := s.store.ListAccounts(ctx, opt)
		if err != nil {
			return nil, internal(err, "list create account status")
		}
		for _, a := range accounts {
			if a.ID != o.mgmt && !a.Management {
				sts = append(sts, succeeded(a))
			}
		}
	}
	if len(want) == 0 || want["FAILED"] {
		fs, err := s.store.ListOrgAccountFailures(ctx, req.options())
		if err != nil {
			return nil, internal(err, "list create account status")
		}
		for _, f := range fs {
			sts = append(sts, failed(f))
		}
		slicesSortBy(sts, func(st CreateAccountStatus) string { return st.ID })
	}
	pg, next := cut(req, sts, func(st CreateAccountStatus) string { return st.ID })
	return &ListCreateAccountStatusOutput{CreateAccountStatuses: pg, NextToken: next}, nil
}

package org

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
)

// DescribePolicyInput is the DescribePolicy request.
type DescribePolicyInput struct {
	PolicyID string `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
}

// DescribePolicy returns a policy with its content.
func (s *Service) DescribePolicy(ctx context.Context, c *authz.Caller, in *DescribePolicyInput) (*PolicyOutput, error) {
	o, p, err := s.authPolicy(ctx, c, "DescribePolicy", in.PolicyID)
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: o.policy(p)}, nil
}

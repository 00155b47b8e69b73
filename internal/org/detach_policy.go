package org

import (
	"context"
	"slices"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// DetachPolicyInput is the DetachPolicy request.
type DetachPolicyInput struct {
	PolicyID string `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
	TargetID string `json:"TargetId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
}

// DetachPolicyOutput is the (empty) DetachPolicy result.
type DetachPolicyOutput struct{}

// DetachPolicy detaches an SCP from the root or an account. As in AWS, a
// target keeps at least one SCP: without one nothing there would be allowed.
func (s *Service) DetachPolicy(ctx context.Context, c *authz.Caller, in *DetachPolicyInput) (*DetachPolicyOutput, error) {
	p, t, attached, err := s.authAttachment(ctx, c, "DetachPolicy", in.PolicyID, in.TargetID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(attached, p.ID) {
		return nil, errNotAttached()
	}
	if p.ID == RCPFullAWSAccessID {
		// AWS: "You cannot detach this policy" (it leaves every level an
		// Allow, so RCPs act by their Deny statements alone).
		return nil, apierr.New(apierr.ConstraintViolationException, "You can't detach the RCPFullAWSAccess policy: it stays attached to every root, OU and account while resource control policies are enabled.")
	}
	if len(attached) == 1 && p.Type == scpType {
		return nil, apierr.New(apierr.ConstraintViolationException, "You can't detach the last service control policy from the entity; attach another one first.")
	}
	if err := s.store.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: p.ID, TargetID: t.ID}); err != nil {
		if isNotFound(err) {
			return nil, errNotAttached()
		}
		return nil, internal(err, "detach policy "+p.ID)
	}
	return &DetachPolicyOutput{}, nil
}

func errNotAttached() *apierr.Error {
	return apierr.New(apierr.PolicyNotAttachedException, "The policy isn't attached to the specified target in the specified root.")
}

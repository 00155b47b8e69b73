package org

import (
	"context"
	"slices"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// AttachPolicyInput is the AttachPolicy request.
type AttachPolicyInput struct {
	PolicyID string `json:"PolicyId" max:"130" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
	TargetID string `json:"TargetId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
}

// AttachPolicyOutput is the (empty) AttachPolicy result.
type AttachPolicyOutput struct{}

// AttachPolicy attaches an SCP to the root or to an account (at most five
// per target). It applies at once to every principal under the target,
// except those of the management account.
func (s *Service) AttachPolicy(ctx context.Context, c *authz.Caller, in *AttachPolicyInput) (*AttachPolicyOutput, error) {
	p, t, attached, err := s.authAttachment(ctx, c, "AttachPolicy", in.PolicyID, in.TargetID)
	if err != nil {
		return nil, err
	}
	if slices.Contains(attached, p.ID) {
		return nil, errDuplicateAttachment()
	}
	if len(attached) >= maxPerTarget(p.Type) {
		return nil, apierr.New(apierr.ConstraintViolationException, "You have attached the maximum number of policies of the specified type to the entity.")
	}
	if err := s.store.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: p.ID, TargetID: t.ID}); err != nil {
		switch {
		case isExists(err):
			return nil, errDuplicateAttachment()
		case isNotFound(err):
			return nil, errPolicyNotFound()
		}
		return nil, internal(err, "attach policy "+p.ID)
	}
	return &AttachPolicyOutput{}, nil
}

func errDuplicateAttachment() *apierr.Error {
	return apierr.New(apierr.DuplicatePolicyAttachmentException, "The selected policy is already attached to the specified target.")
}

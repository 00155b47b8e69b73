package org

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// EnableAllFeatures moves an organization created with CONSOLIDATED_BILLING
// to ALL through a handshake, as AWS does: the management account calls it
// and gets an OPEN handshake with the action ENABLE_ALL_FEATURES, and the
// feature set changes when the management account accepts that handshake
// (AcceptHandshake); it may cancel it instead, and it expires as an
// invitation does. AWS also sends each invited member account an
// APPROVE_ALL_FEATURES handshake that must be accepted before the
// management account can finalize; OpenSTS does not: the management
// account finalizes at once. While the handshake is OPEN the organization
// sends no invitations (INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES). All
// features enable no policy type by itself: EnablePolicyType does.

const hsEnableAllFeatures = "ENABLE_ALL_FEATURES"

// EnableAllFeaturesInput is the (empty) EnableAllFeatures request.
type EnableAllFeaturesInput struct{}

func handshakeConstraint(reason, msg string) *apierr.Error {
	e := apierr.New(apierr.HandshakeConstraintViolationException, "%s", msg)
	e.Reason = reason
	return e
}

// EnableAllFeatures starts the move to all features; see above.
func (s *Service) EnableAllFeatures(ctx context.Context, c *authz.Caller, _ *EnableAllFeaturesInput) (*HandshakeOutput, error) {
	o, err := s.authorize(ctx, c, "EnableAllFeatures")
	if err != nil {
		return nil, err
	}
	if o.featureSet == featureAll {
		return nil, handshakeConstraint("ORGANIZATION_ALREADY_HAS_ALL_FEATURES", "The handshake request is invalid because the organization has already enabled all features.")
	}
	now := s.time()
	pending, err := s.pendingAllFeatures(ctx, o, now)
	if err != nil {
		return nil, err
	}
	if pending {
		return nil, handshakeConstraint("ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION", "The handshake request is invalid because the organization is already pending the enable-all-features migration.")
	}
	h := store.OrgHandshake{OrgID: o.id, Action: hsEnableAllFeatures, State: hsOpen, Master: o.mgmt, TargetType: "ORGANIZATION",
		Target: o.id, TargetAcct: o.mgmt, RequestedAt: now, ExpiresAt: now.Add(handshakeLifetime)}
	suffix, err := s.randomString(lowerDigits, 16)
	if err != nil {
		return nil, err
	}
	h.ID = "h-" + suffix
	switch err := s.store.CreateOrgHandshake(ctx, h); {
	case isExists(err): // a concurrent EnableAllFeatures won
		return nil, handshakeConstraint("ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION", "The handshake request is invalid because the organization is already pending the enable-all-features migration.")
	case err != nil:
		return nil, internal(err, "create handshake")
	}
	out, err := s.handshake(ctx, h, now)
	if err != nil {
		return nil, err
	}
	return &HandshakeOutput{Handshake: out}, nil
}

// pendingAllFeatures reports whether the organization has an OPEN
// ENABLE_ALL_FEATURES handshake; it closes one that expired, so that a new
// one can be stored.
func (s *Service) pendingAllFeatures(ctx context.Context, o org, now time.Time) (bool, error) {
	hs, err := s.store.ListOrgHandshakes(ctx, o.id, o.mgmt)
	if err != nil {
		return false, internal(err, "list handshakes")
	}
	for _, h := range hs {
		if h.Action != hsEnableAllFeatures || h.State != hsOpen {
			continue
		}
		if state(h, now) == hsOpen {
			return true, nil
		}
		if err := s.store.SetOrgHandshakeState(ctx, h.ID, hsOpen, hsExpired); err != nil && !isConflict(err) {
			return false, internal(err, "expire handshake "+h.ID)
		}
	}
	return false, nil
}

// acceptAllFeatures finalizes an ENABLE_ALL_FEATURES handshake: the
// organization's feature set becomes ALL, with no policy type enabled.
func (s *Service) acceptAllFeatures(ctx context.Context, h store.OrgHandshake) (*HandshakeOutput, error) {
	o, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	now := s.time()
	if st := state(h, now); st == hsOpen && (h.OrgID != o.id || o.featureSet == featureAll) {
		return nil, apierr.New(apierr.InvalidHandshakeTransitionException, "You can't perform the operation on the handshake in its current state.")
	}
	if err := s.transition(ctx, h, hsAccepted, now); err != nil {
		return nil, err
	}
	// An organization created before the policy types setting existed
	// would read as having SCPs enabled: write that none is.
	if _, err := s.store.PutSettingIfAbsent(ctx, authz.OrgPolicyTypesSetting, ""); err != nil {
		return nil, internal(err, "enable all features")
	}
	if err := s.store.PutSetting(ctx, featureSetSetting, featureAll); err != nil {
		return nil, internal(err, "enable all features")
	}
	return s.handshakeOut(ctx, h, hsAccepted, now)
}

// CreateGovCloudAccount answers as AWS does for a management account that
// is not paired with an account in the AWS GovCloud (US) Region, which no
// OpenSTS deployment can be: after validating the request and authorizing
// organizations:CreateGovCloudAccount, ConstraintViolationException with
// the reason MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED. It creates nothing.
func (s *Service) CreateGovCloudAccount(ctx context.Context, c *authz.Caller, in *CreateAccountInput) (*CreateAccountOutput, error) {
	if err := checkCreateAccount(in); err != nil {
		return nil, err
	}
	if _, err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, c, "CreateGovCloudAccount"); err != nil {
		return nil, err
	}
	e := apierr.New(apierr.ConstraintViolationException, "You can't create a GovCloud account: the management account is not associated with an account in the AWS GovCloud (US) Region.")
	e.Reason = "MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED"
	return nil, e
}

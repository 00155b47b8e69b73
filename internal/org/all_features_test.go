package org_test

import (
	"errors"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/org"
	"github.com/opensts/opensts/internal/store"
)

// TestConsolidatedBillingMemberNotBoundBySCPs: in an organization with
// consolidated billing, an account created in it (which gets FullAWSAccess
// attached) is bound by no SCP; and an organization made before the policy
// types setting was written gets it at the next start.
func TestConsolidatedBillingMemberNotBoundBySCPs(t *testing.T) {
	t.Parallel()
	e := newStandaloneEnv(t)
	if _, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{FeatureSet: "CONSOLIDATED_BILLING"}); err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev", Email: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dev := out.CreateAccountStatus.AccountID
	if err := e.authz.Check(e.ctx, rootCaller(dev), "iam:ListUsers", "*"); err != nil {
		t.Fatalf("a member's root in a consolidated billing organization: %v", err)
	}
	if v, err := e.store.GetSetting(e.ctx, authz.OrgPolicyTypesSetting); err != nil || v != "" {
		t.Fatalf("policy types %q %v", v, err)
	}

	// An older organization: the feature set without the policy types.
	old := newStandaloneEnv(t)
	for _, kv := range [][2]string{{org.OrgIDSetting, "o-abcdefghij"}, {authz.OrgRootSetting, "r-abcd"}, {"org.feature-set", "CONSOLIDATED_BILLING"}} {
		if err := old.store.PutSetting(old.ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.store.GetSetting(old.ctx, authz.OrgPolicyTypesSetting); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	if err := old.svc.Bootstrap(old.ctx, mgmt); err != nil {
		t.Fatal(err)
	}
	if v, err := old.store.GetSetting(old.ctx, authz.OrgPolicyTypesSetting); err != nil || v != "" {
		t.Fatalf("after the start: %q %v", v, err)
	}

	// EnableAllFeatures, accepted: all features, no policy type enabled.
	h, err := e.svc.EnableAllFeatures(e.ctx, e.root, &org.EnableAllFeaturesInput{})
	if err != nil || h.Handshake.Action != "ENABLE_ALL_FEATURES" || h.Handshake.State != "OPEN" {
		t.Fatalf("EnableAllFeatures %+v %v", h, err)
	}
	if _, err := e.svc.AcceptHandshake(e.ctx, rootCaller(dev), &org.HandshakeInput{HandshakeID: h.Handshake.ID}); !errors.Is(err, code(apierr.HandshakeNotFoundException)) {
		t.Fatalf("a member accepts: %v", err)
	}
	if _, err := e.svc.AcceptHandshake(e.ctx, e.root, &org.HandshakeInput{HandshakeID: h.Handshake.ID}); err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{})
	if err != nil || d.Organization.FeatureSet != "ALL" || len(d.Organization.AvailablePolicyTypes) != 0 {
		t.Fatalf("after: %+v %v", d, err)
	}
	if err := e.authz.Check(e.ctx, rootCaller(dev), "iam:ListUsers", "*"); err != nil {
		t.Fatalf("a member's root after all features, SCPs not enabled: %v", err)
	}
}

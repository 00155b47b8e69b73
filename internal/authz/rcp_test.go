package authz

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

const rcpAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

// TestResourceControlPolicies checks that Decide bounds a request by the
// RCPs of the account that owns the resource: their levels from the root
// down, only while the type is enabled, never for the management account's
// resources, and dropped from the cache when an attachment changes.
func TestResourceControlPolicies(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	const member, ou = "444455556666", "ou-ab12-cdef3456"
	denyGet := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`
	for _, err := range []error{
		st.CreateAccount(ctx, store.Account{ID: member, Name: "b"}),
		st.PutSetting(ctx, OrgRootSetting, "r-rcp1"),
		st.PutSetting(ctx, OrgPolicyTypesSetting, "RESOURCE_CONTROL_POLICY"),
		st.CreateOrgUnit(ctx, store.OrgUnit{ID: ou, Name: "prod", CreatedAt: time.Now()}),
		st.MoveOrgAccount(ctx, member, "", ou),
		st.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-rcpfull", Name: "RCPFullAWSAccess", Type: "RESOURCE_CONTROL_POLICY", Content: rcpAllowAll}),
		st.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-denyget", Name: "NoGet", Type: "RESOURCE_CONTROL_POLICY", Content: denyGet}),
		st.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-rcpfull", TargetID: "r-rcp1"}),
		st.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-rcpfull", TargetID: ou}),
		st.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-rcpfull", TargetID: member}),
		st.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-denyget", TargetID: ou}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The management account's root asks about objects: its own and the
	// member's (a bucket policy naming it lets it cross).
	c := &Caller{Type: policy.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
	bucketPolicy := func(t *testing.T) []policy.Named {
		p, err := policy.Parse(policy.Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+acct+`"},"Action":"s3:*","Resource":"*"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		return []policy.Named{{ID: "bucket", Policy: p}}
	}
	decide := func(t *testing.T, owner, action string) policy.Decision {
		t.Helper()
		d, err := a.Decide(ctx, c, &Request{Action: action, Resource: "arn:aws:s3:::b/k", ResourceAccount: owner, ResourcePolicy: bucketPolicy(t)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := decide(t, member, "s3:GetObject"); d.Effect != policy.ExplicitDeny || d.DeniedBy != policy.RCP {
		t.Fatalf("member's object under the OU's deny: %v by %v, want an explicit deny by the RCP", d.Effect, d.DeniedBy)
	}
	if d := decide(t, member, "s3:PutObject"); d.Effect != policy.Allow {
		t.Fatalf("s3:PutObject, which no RCP denies: %v by %v", d.Effect, d.DeniedBy)
	}
	if d := decide(t, acct, "s3:GetObject"); d.Effect != policy.Allow {
		t.Fatalf("the management account's own object (RCPs do not apply): %v by %v", d.Effect, d.DeniedBy)
	}

	// Detached: the change feed's ChangeOrg drops the cached levels.
	if err := st.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-denyget", TargetID: ou}); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, member, "s3:GetObject"); d.Effect != policy.ExplicitDeny {
		t.Fatalf("before Forget the cached levels still apply: %v", d.Effect)
	}
	a.Forget(store.Change{Kind: store.ChangeOrg, Key: ou})
	if d := decide(t, member, "s3:GetObject"); d.Effect != policy.Allow {
		t.Fatalf("after the detach: %v by %v", d.Effect, d.DeniedBy)
	}

	// A level without an Allow (RCPFullAWSAccess detached from the OU).
	if err := st.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-rcpfull", TargetID: ou}); err != nil {
		t.Fatal(err)
	}
	a.Forget(store.Change{Kind: store.ChangeOrg, Key: ou})
	if d := decide(t, member, "s3:GetObject"); d.Effect != policy.ImplicitDeny || d.DeniedBy != policy.RCP {
		t.Fatalf("a level without an Allow: %v by %v", d.Effect, d.DeniedBy)
	}
	if !strings.Contains(denial(t, a, c, member), "no resource control policy allows") {
		t.Fatal("the denial does not say that no RCP allows")
	}

	// The type disabled: no RCP applies, whatever is attached.
	if err := st.PutSetting(ctx, OrgPolicyTypesSetting, "SERVICE_CONTROL_POLICY"); err != nil {
		t.Fatal(err)
	}
	a.Forget(store.Change{Kind: store.ChangeSetting, Key: OrgPolicyTypesSetting})
	if d := decide(t, member, "s3:GetObject"); d.Effect != policy.Allow {
		t.Fatalf("RCPs disabled: %v by %v", d.Effect, d.DeniedBy)
	}
}

// denial is the AccessDenied message of Check about the member's object.
func denial(t *testing.T, a *Authorizer, c *Caller, owner string) string {
	t.Helper()
	r := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: owner}
	dec, err := a.Decide(context.Background(), c, r)
	if err != nil {
		t.Fatal(err)
	}
	return a.Deny(c, r, dec).Message
}

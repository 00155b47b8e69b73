package authz

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// TestPrincipalOrgKeys: aws:PrincipalOrgID and aws:PrincipalOrgPaths are
// set for principals of the organization's accounts (the management
// account's too) and for no other, and follow a move through the change
// feed. Without them an organization perimeter failed both ways (found by
// a review as an attacker): a Deny on ForAnyValue:StringNotLike
// aws:PrincipalOrgPaths never applied, so any account got through, and an
// Allow on aws:PrincipalOrgID never matched.
func TestPrincipalOrgKeys(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	const member, outside, allowed, other = "444455556666", "777788889999", "ou-ab12-allowed1", "ou-ab12-other111"
	keys := func(account string) (id, path string) {
		t.Helper()
		var pc policy.Context
		if err := a.FillContext(ctx, &Caller{Type: policy.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}, &pc); err != nil {
			t.Fatal(err)
		}
		if v, ok := pc.Get("aws:PrincipalOrgID"); ok {
			id = strings.Join(v, ",")
		}
		if v, ok := pc.Get("aws:PrincipalOrgPaths"); ok {
			path = strings.Join(v, ",")
		}
		return id, path
	}
	if id, path := keys(acct); id != "" || path != "" {
		t.Fatalf("no organization yet: %q %q", id, path)
	}
	for _, err := range []error{
		st.CreateAccount(ctx, store.Account{ID: member, Name: "m"}),
		st.CreateAccount(ctx, store.Account{ID: outside, Name: "x"}),
		st.RemoveOrgAccount(ctx, outside), // standalone
		st.PutSetting(ctx, OrgRootSetting, "r-ab12"),
		st.PutSetting(ctx, OrgIDSetting, "o-abcdefghij"),
		st.CreateOrgUnit(ctx, store.OrgUnit{ID: allowed, Name: "allowed", CreatedAt: time.Now()}),
		st.CreateOrgUnit(ctx, store.OrgUnit{ID: other, Name: "other", CreatedAt: time.Now()}),
		st.MoveOrgAccount(ctx, member, "", other),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	a.Forget(store.Change{Kind: store.ChangeSetting, Key: OrgIDSetting})
	for _, tc := range []struct{ account, id, path string }{
		{acct, "o-abcdefghij", "o-abcdefghij/r-ab12/"},
		{member, "o-abcdefghij", "o-abcdefghij/r-ab12/" + other + "/"},
		{outside, "", ""},
		{"000000000000", "", ""}, // an account OpenSTS does not know
	} {
		if id, path := keys(tc.account); id != tc.id || path != tc.path {
			t.Errorf("%s: %q %q, want %q %q", tc.account, id, path, tc.id, tc.path)
		}
	}

	// The perimeter the review used: everything allowed, except to
	// principals outside the allowed OU.
	perimeter, err := policy.Parse(policy.Resource, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*",
		 "Condition":{"ForAnyValue:StringNotLike":{"aws:PrincipalOrgPaths":["o-abcdefghij/r-ab12/`+allowed+`/*"]}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	decide := func() policy.Decision {
		t.Helper()
		c := &Caller{Type: policy.Root, Account: member, ARN: "arn:aws:iam::" + member + ":root", UserID: member}
		d, err := a.Decide(ctx, c, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: acct,
			ResourcePolicy: []policy.Named{{ID: "bucket", Policy: perimeter}}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := decide(); d.Effect != policy.ExplicitDeny {
		t.Fatalf("a principal outside the allowed OU: %v, want an explicit deny", d.Effect)
	}
	// Moved into the allowed OU: the change feed's ChangeOrg drops the
	// cached place.
	if err := st.MoveOrgAccount(ctx, member, other, allowed); err != nil {
		t.Fatal(err)
	}
	a.Forget(store.Change{Kind: store.ChangeOrg, Key: member})
	if _, path := keys(member); path != "o-abcdefghij/r-ab12/"+allowed+"/" {
		t.Fatalf("after the move: %q", path)
	}
	if d := decide(); d.Effect != policy.Allow {
		t.Fatalf("a principal in the allowed OU: %v", d.Effect)
	}
}

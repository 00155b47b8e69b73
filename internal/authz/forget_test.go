package authz

import (
	"context"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// feedTo applies the store's changes to a as the server's feed does, and
// returns a function that applies those made since.
func feedTo(t *testing.T, a *Authorizer, st store.Store) func() {
	t.Helper()
	ctx := context.Background()
	last, err := st.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		changes, err := st.Changes(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			a.Forget(ch)
			last = ch.Seq
		}
	}
}

func userCaller(name, id string) *Caller {
	return &Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/" + name, UserID: id, UserName: name}
}

// cached reports whether the principal entry of a user or role is cached.
func cached(a *Authorizer, kind store.PrincipalKind, id string) bool {
	_, ok := a.cache.Get(cacheKey(nil, "policies/"+string(kind), acct, id))
	return ok
}

// TestPolicyChangeEvictsOnlyThatPolicy: a new default version of a managed
// policy applies to the principals it is attached to at once, and every
// principal stays cached, those that embed it included.
func TestPolicyChangeEvictsOnlyThatPolicy(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	parn, qarn := "arn:aws:iam::"+acct+":policy/P", "arn:aws:iam::"+acct+":policy/Q"
	must(st.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPAP", Name: "P", Path: "/", ARN: parn, DefaultVersionID: "v1"},
		store.PolicyVersion{PolicyARN: parn, VersionID: "v1", Document: allowDoc("s3:GetObject")}))
	must(st.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPAQ", Name: "Q", Path: "/", ARN: qarn, DefaultVersionID: "v1"},
		store.PolicyVersion{PolicyARN: qarn, VersionID: "v1", Document: allowDoc("s3:PutObject")}))
	for _, u := range []struct{ name, id, arn string }{{"alice", "AIDAALICEALICEALICE1", parn}, {"bob", "AIDABOBBOBBOBBOBBOB1", qarn}} {
		must(st.CreateUser(ctx, store.User{Account: acct, ID: u.id, Name: u.name, Path: "/"}))
		must(st.AttachPolicy(ctx, store.Attachment{Account: acct, Kind: store.KindUser, Owner: u.name, PolicyARN: u.arn}))
	}
	sync := feedTo(t, a, st)
	alice, bob := userCaller("alice", "AIDAALICEALICEALICE1"), userCaller("bob", "AIDABOBBOBBOBBOBBOB1")
	if err := a.Check(ctx, alice, "s3:GetObject", "*"); err != nil {
		t.Fatalf("alice before: %v", err)
	}
	if err := a.Check(ctx, bob, "s3:PutObject", "*"); err != nil {
		t.Fatalf("bob before: %v", err)
	}

	// P's new default version allows another action.
	must(st.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: parn, VersionID: "v2", Document: allowDoc("s3:DeleteObject"), CreatedAt: time.Now()}))
	mp, err := st.GetManagedPolicy(ctx, parn)
	must(err)
	mp.DefaultVersionID = "v2"
	must(st.UpdateManagedPolicy(ctx, mp))
	sync()

	for name, id := range map[string]string{"alice": "AIDAALICEALICEALICE1", "bob": "AIDABOBBOBBOBBOBBOB1"} {
		if !cached(a, store.KindUser, id) {
			t.Errorf("%s's entry was dropped by a change to a managed policy", name)
		}
	}
	if _, ok := a.cache.Get(cacheKey(nil, "p", "", qarn)); !ok {
		t.Error("Q was dropped by a change to P")
	}
	if err := a.Check(ctx, alice, "s3:DeleteObject", "*"); err != nil {
		t.Errorf("alice after P's new version: %v", err)
	}
	if err := a.Check(ctx, alice, "s3:GetObject", "*"); err == nil {
		t.Error("alice keeps what P's old version allowed")
	}
	if err := a.Check(ctx, bob, "s3:PutObject", "*"); err != nil {
		t.Errorf("bob after P's new version: %v", err)
	}
}

// TestGroupChangeEvictsOnlyItsMembers: a group's new policy reaches its
// members at once; users outside it keep their entries, and joining or
// leaving a group is the user's own change.
func TestGroupChangeEvictsOnlyItsMembers(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPADEVDEVDEVDEVDEV1", Name: "dev", Path: "/"}))
	must(st.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPAOPSOPSOPSOPSOPS1", Name: "ops", Path: "/"}))
	must(st.CreateUser(ctx, store.User{Account: acct, ID: "AIDAALICEALICEALICE1", Name: "alice", Path: "/"}))
	must(st.CreateUser(ctx, store.User{Account: acct, ID: "AIDACAROLCAROLCAROL1", Name: "carol", Path: "/"}))
	must(st.AddUserToGroup(ctx, acct, "dev", "alice"))
	must(st.AddUserToGroup(ctx, acct, "ops", "carol"))
	must(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindGroup, Owner: "ops", Name: "ops", Document: allowDoc("ec2:*")}))
	sync := feedTo(t, a, st)
	alice, carol := userCaller("alice", "AIDAALICEALICEALICE1"), userCaller("carol", "AIDACAROLCAROLCAROL1")
	for _, c := range []*Caller{alice, carol} {
		if err := a.Check(ctx, c, "s3:GetObject", "*"); err == nil {
			t.Fatalf("%s allowed before any policy", c.UserName)
		}
	}

	must(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindGroup, Owner: "dev", Name: "read", Document: allowDoc("s3:GetObject")}))
	sync()
	if !cached(a, store.KindUser, "AIDAALICEALICEALICE1") || !cached(a, store.KindUser, "AIDACAROLCAROLCAROL1") {
		t.Error("a group's policy change dropped users' entries")
	}
	if _, ok := a.cache.Get(cacheKey(nil, "group", acct, "AGPAOPSOPSOPSOPSOPS1")); !ok {
		t.Error("a change to dev dropped ops")
	}
	if err := a.Check(ctx, alice, "s3:GetObject", "*"); err != nil {
		t.Errorf("alice, a member of dev: %v", err)
	}
	if err := a.Check(ctx, carol, "s3:GetObject", "*"); err == nil {
		t.Error("carol, not a member, was allowed by dev's policy")
	}

	// Membership is the user's change: carol joins, alice leaves.
	must(st.AddUserToGroup(ctx, acct, "dev", "carol"))
	must(st.RemoveUserFromGroup(ctx, acct, "dev", "alice"))
	sync()
	if err := a.Check(ctx, carol, "s3:GetObject", "*"); err != nil {
		t.Errorf("carol after joining dev: %v", err)
	}
	if err := a.Check(ctx, alice, "s3:GetObject", "*"); err == nil {
		t.Error("alice keeps dev's policy after leaving it")
	}

	// A renamed group: its members' entries name it by its new name.
	g, err := st.GetGroup(ctx, acct, "dev")
	must(err)
	g.Name = "developers"
	must(st.UpdateGroup(ctx, g))
	sync()
	if err := a.Check(ctx, carol, "s3:GetObject", "*"); err != nil {
		t.Errorf("carol after dev was renamed: %v", err)
	}
	// A new group under the old name gives nothing to the renamed one's
	// members.
	must(st.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPANEWNEWNEWNEWNEW1", Name: "dev", Path: "/"}))
	must(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindGroup, Owner: "dev", Name: "admin", Document: allowDoc("*")}))
	sync()
	if err := a.Check(ctx, carol, "iam:CreateUser", "*"); err == nil {
		t.Error("carol got the policy of a new group named as her renamed group was")
	}
	if err := a.Check(ctx, carol, "s3:GetObject", "*"); err != nil {
		t.Errorf("carol after a new dev was created: %v", err)
	}
}

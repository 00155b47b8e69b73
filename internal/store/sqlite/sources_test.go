package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

// TestPolicySources: PolicySources says what the list calls say.
func TestPolicySources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTemp(t)
	const acct = "123456789012"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	doc := `{"Version":"2012-10-17","Statement":[]}`
	must(s.CreateUser(ctx, store.User{Account: acct, ID: "AIDAU", Name: "u", Path: "/"}))
	must(s.CreateUser(ctx, store.User{Account: acct, ID: "AIDAV", Name: "v", Path: "/"}))
	must(s.CreateRole(ctx, store.Role{Account: acct, ID: "AROAR", Name: "r", Path: "/", TrustPolicy: doc, MaxSessionDuration: 3600}))
	for _, g := range []string{"Beta", "alpha"} {
		must(s.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPA" + g, Name: g, Path: "/"}))
		must(s.AddUserToGroup(ctx, acct, g, "u"))
	}
	for _, p := range []string{"Zed", "able"} {
		arn := "arn:aws:iam::" + acct + ":policy/" + p
		must(s.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPA" + p, Name: p, Path: "/", ARN: arn, DefaultVersionID: "v1"},
			store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: doc}))
		for _, o := range []struct {
			kind  store.PrincipalKind
			owner string
		}{{store.KindUser, "u"}, {store.KindRole, "r"}, {store.KindGroup, "alpha"}} {
			must(s.AttachPolicy(ctx, store.Attachment{Account: acct, Kind: o.kind, Owner: o.owner, PolicyARN: arn}))
			must(s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: o.kind, Owner: o.owner, Name: "in-" + p, Document: doc}))
		}
	}
	for _, o := range []struct {
		kind  store.PrincipalKind
		owner string
	}{{store.KindUser, "U"}, {store.KindUser, "v"}, {store.KindRole, "r"}, {store.KindGroup, "alpha"}, {store.KindGroup, "Beta"}} {
		var want store.PolicySources
		inline, err := s.ListInlinePolicies(ctx, acct, o.kind, o.owner)
		must(err)
		for _, ip := range inline {
			want.Inline = append(want.Inline, store.InlinePolicy{Name: ip.Name, Document: ip.Document})
		}
		atts, err := s.ListAttachments(ctx, acct, o.kind, o.owner)
		must(err)
		for _, at := range atts {
			want.Attached = append(want.Attached, at.PolicyARN)
		}
		if o.kind == store.KindUser {
			groups, err := s.ListGroupsForUser(ctx, acct, o.owner)
			must(err)
			for _, g := range groups {
				want.Groups = append(want.Groups, store.Group{Account: acct, ID: g.ID, Name: g.Name})
			}
		}
		got, err := s.PolicySources(ctx, acct, o.kind, o.owner)
		must(err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s (-lists +PolicySources):\n%s", o.kind, o.owner, diff)
		}
	}
	if _, err := s.PolicySources(ctx, acct, store.KindUser, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PolicySources of nobody: %v, want ErrNotFound", err)
	}
}

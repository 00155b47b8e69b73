package storetest

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

// testPrincipalSources: PrincipalSources says what GetUserByID (or
// GetRoleByID) and PolicySources say, and finds nothing by another kind's
// id or an unknown one.
func testPrincipalSources(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	r, isReader := s.(store.PrincipalSourceReader)
	if !isReader {
		t.Fatalf("%T does not implement store.PrincipalSourceReader", s)
	}
	sr := s.(store.PolicySourceReader)
	doc := `{"Version":"2012-10-17","Statement":[]}`
	u := user(acct1, "AIDAPSRCU", "Src-User")
	u.Path, u.PermissionsBoundary = "/team/", "arn:aws:iam::"+acct1+":policy/bound"
	u.Tags = []store.Tag{{Key: "team", Value: "a b"}, {Key: "Cost", Value: `q"uote`}}
	ok(t, s.CreateUser(ctx, u))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAPSRCBARE", "bare")))
	ro := role(acct1, "AROAPSRCR", "Src-Role")
	ro.Tags = []store.Tag{{Key: "env", Value: "prod"}}
	ok(t, s.CreateRole(ctx, ro))
	for _, g := range []string{"Beta", "alpha"} {
		ok(t, s.CreateGroup(ctx, group(acct1, "AGPAPSRC"+g, "psrc-"+g)))
		ok(t, s.AddUserToGroup(ctx, acct1, "psrc-"+g, u.Name))
	}
	for _, p := range []string{"Zed", "able"} {
		arn := "arn:aws:iam::" + acct1 + ":policy/psrc-" + p
		ok(t, s.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct1, ID: "ANPAPSRC" + p, Name: "psrc-" + p, Path: "/", ARN: arn, DefaultVersionID: "v1", CreatedAt: t0, UpdatedAt: t0},
			store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: doc, CreatedAt: t0}))
		for _, o := range []struct {
			kind  store.PrincipalKind
			owner string
		}{{store.KindUser, u.Name}, {store.KindRole, ro.Name}} {
			ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: o.kind, Owner: o.owner, PolicyARN: arn}))
			ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: o.kind, Owner: o.owner, Name: "in-" + p, Document: `{"Version":"2012-10-17","Statement":[],"Id":"` + p + `"}`}))
		}
	}
	for _, c := range []struct {
		kind store.PrincipalKind
		id   string
	}{{store.KindUser, u.ID}, {store.KindUser, "AIDAPSRCBARE"}, {store.KindRole, ro.ID}} {
		var want store.PrincipalSources
		switch c.kind {
		case store.KindUser:
			got, err := s.GetUserByID(ctx, c.id)
			ok(t, err)
			want = store.PrincipalSources{Account: got.Account, Name: got.Name, Path: got.Path, PermissionsBoundary: got.PermissionsBoundary, Tags: got.Tags}
		default:
			got, err := s.GetRoleByID(ctx, c.id)
			ok(t, err)
			want = store.PrincipalSources{Account: got.Account, Name: got.Name, Path: got.Path, PermissionsBoundary: got.PermissionsBoundary, Tags: got.Tags}
		}
		src, err := sr.PolicySources(ctx, want.Account, c.kind, want.Name)
		ok(t, err)
		want.Sources = src
		got, err := r.PrincipalSources(ctx, c.kind, c.id)
		ok(t, err)
		if d := cmp.Diff(want, got, cmpOpts...); d != "" {
			t.Errorf("PrincipalSources(%s, %s) (-GetByID and PolicySources +PrincipalSources):\n%s", c.kind, c.id, d)
		}
	}
	if got, err := r.PrincipalSources(ctx, store.KindUser, u.ID); err == nil && (len(got.Sources.Inline) != 2 || len(got.Sources.Attached) != 2 || len(got.Sources.Groups) != 2 || len(got.Tags) != 2) {
		t.Errorf("PrincipalSources of %s: %+v, want two of each", u.ID, got)
	}
	for _, c := range []struct {
		kind store.PrincipalKind
		id   string
	}{{store.KindRole, u.ID}, {store.KindUser, ro.ID}, {store.KindUser, "AIDANOBODY"}, {store.KindGroup, "AGPAPSRCalpha"}} {
		if _, err := r.PrincipalSources(ctx, c.kind, c.id); !errors.Is(err, store.ErrNotFound) && c.kind != store.KindGroup {
			t.Errorf("PrincipalSources(%s, %s): %v, want ErrNotFound", c.kind, c.id, err)
		} else if c.kind == store.KindGroup && err == nil {
			t.Errorf("PrincipalSources(%s, %s) answered; groups are not principals", c.kind, c.id)
		}
	}
}

package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

// testPrincipalSourcesEdges: PrincipalSources says what GetUserByID (or
// GetRoleByID) and PolicySources say for odd names and tags, a user and a
// role of one id, another account's user of the same name, an AWS managed
// and a customer policy of one name; after a rename; and finds no id in
// another case and no deleted role. (From a review of the change.)
func testPrincipalSourcesEdges(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	r := s.(store.PrincipalSourceReader)
	sr := s.(store.PolicySourceReader)
	check := func(kind store.PrincipalKind, id string) store.PrincipalSources {
		t.Helper()
		var want store.PrincipalSources
		if kind == store.KindUser {
			g, err := s.GetUserByID(ctx, id)
			ok(t, err)
			want = store.PrincipalSources{Account: g.Account, Name: g.Name, Path: g.Path, PermissionsBoundary: g.PermissionsBoundary, Tags: g.Tags}
		} else {
			g, err := s.GetRoleByID(ctx, id)
			ok(t, err)
			want = store.PrincipalSources{Account: g.Account, Name: g.Name, Path: g.Path, PermissionsBoundary: g.PermissionsBoundary, Tags: g.Tags}
		}
		src, err := sr.PolicySources(ctx, want.Account, kind, want.Name)
		ok(t, err)
		want.Sources = src
		got, err := r.PrincipalSources(ctx, kind, id)
		ok(t, err)
		if d := cmp.Diff(want, got, cmpOpts...); d != "" {
			t.Errorf("%s %s: %s", kind, id, d)
		}
		return got
	}
	doc := func(n string) string { return `{"Version":"2012-10-17","Statement":[],"Id":"` + n + `"}` }
	// same id in users and roles
	u := user(acct1, "SHAREDID", "Ünïcode-Ä")
	u.Path = "/p/ä/"
	u.Tags = []store.Tag{{Key: "<&>", Value: "\u2028 é \\ \" '"}, {Key: "e", Value: ""}, {Key: "k", Value: "[1,2]"}, {Key: "null", Value: "null"}}
	ok(t, s.CreateUser(ctx, u))
	ro := role(acct1, "SHAREDID", "role-x")
	ok(t, s.CreateRole(ctx, ro))
	ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindUser, Owner: u.Name, Name: "u-only", Document: doc("u")}))
	ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindRole, Owner: ro.Name, Name: "r-only", Document: doc("r")}))
	for _, n := range []string{"ä-b", "A-b", "a-c", "É", "e"} {
		ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindUser, Owner: u.Name, Name: n, Document: doc(n)}))
	}
	// a user in acct2 with the same name and a group
	ok(t, s.CreateUser(ctx, user(acct2, "OTHERACCT", u.Name)))
	ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct2, Kind: store.KindUser, Owner: u.Name, Name: "acct2", Document: doc("acct2")}))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAX", "grp")))
	ok(t, s.AddUserToGroup(ctx, acct1, "grp", u.Name))
	// aws managed and customer policy with the same name
	for _, a := range []string{"aws", acct1} {
		arn := "arn:aws:iam::" + a + ":policy/ReadOnly"
		name := "ReadOnly"
		if a == acct1 {
			name = "readonly"
			arn = "arn:aws:iam::" + a + ":policy/readonly"
		}
		ok(t, s.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: a, ID: "ANPA" + a, Name: name, Path: "/", ARN: arn, DefaultVersionID: "v1", CreatedAt: t0, UpdatedAt: t0},
			store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: doc("m"), CreatedAt: t0}))
		ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: u.Name, PolicyARN: arn}))
	}
	got := check(store.KindUser, "SHAREDID")
	gr := check(store.KindRole, "SHAREDID")
	if len(gr.Sources.Inline) != 1 || gr.Sources.Inline[0].Name != "r-only" || len(gr.Sources.Attached) != 0 || len(gr.Sources.Groups) != 0 {
		t.Errorf("role with a user's id: %+v", gr)
	}
	for _, ip := range got.Sources.Inline {
		if ip.Name == "r-only" || ip.Name == "acct2" {
			t.Errorf("user got foreign inline %s", ip.Name)
		}
	}
	// rename
	u.Name = "renamed"
	ok(t, s.UpdateUser(ctx, u))
	if g := check(store.KindUser, "SHAREDID"); g.Name != "renamed" || len(g.Sources.Inline) != 6 {
		t.Errorf("renamed: %+v", g)
	}
	// wrong case id
	if _, err := r.PrincipalSources(ctx, store.KindUser, "sharedid"); err == nil {
		t.Errorf("id in another case found")
	}
	// deleted
	ok(t, s.DeleteRole(ctx, acct1, ro.Name))
	if _, err := r.PrincipalSources(ctx, store.KindRole, "SHAREDID"); err == nil {
		t.Errorf("deleted role found")
	}
}

// testServiceAccessConcurrentBatches: four writers of 1,350 uses each
// (150 principals, each key many times), two in the opposite order, five
// times over: no error (no statement updates a row twice, no deadlock
// left unresolved), and each key ends at its latest use.
func testServiceAccessConcurrentBatches(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	var uses []store.ServiceAccess
	for i := range 450 {
		for j := range 3 {
			uses = append(uses, store.ServiceAccess{PrincipalID: fmt.Sprintf("AIDA%03d", i%150), Service: "iam", Action: fmt.Sprintf("A%d", i%3),
				Account: acct1, At: at(time.Duration(i*10+j) * time.Millisecond), Region: fmt.Sprint(i*10 + j)})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := append([]store.ServiceAccess(nil), uses...)
			if w%2 == 1 {
				for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
					b[i], b[j] = b[j], b[i]
				}
			}
			for range 5 {
				if err := s.RecordServiceAccess(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("record: %v", err)
	}
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf("AIDA%03d", i))
	}
	got, err := s.ListServiceAccess(ctx, ids)
	ok(t, err)
	if len(got) != 150 {
		t.Fatalf("%d rows, want 150", len(got))
	}
	want := map[string]time.Time{}
	for _, u := range uses {
		k := u.PrincipalID + "/" + u.Action
		if u.At.After(want[k]) {
			want[k] = u.At
		}
	}
	for _, g := range got {
		if w := want[g.PrincipalID+"/"+g.Action]; !g.At.Equal(w.Truncate(time.Millisecond)) {
			t.Errorf("%s %s: %v want %v", g.PrincipalID, g.Action, g.At, w)
		}
	}
}

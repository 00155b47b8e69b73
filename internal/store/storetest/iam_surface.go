package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

func profile(account, id, path, name string) store.InstanceProfile {
	return store.InstanceProfile{Account: account, ID: id, Name: name, Path: path, CreatedAt: t0}
}

func profileName(p store.InstanceProfile) string { return p.Name }

// testInstanceProfiles: profiles are unique case-insensitively per account,
// hold at most one role, refuse deletion while they hold one, list by name
// key under a path or by role, and every write records a change naming the
// profile, as does DeleteRole for the profiles it empties.
func testInstanceProfiles(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	before := lastChange(t, s)
	p := profile(acct1, "AIPAWEB", "/app/", "Web")
	p.Tags = []store.Tag{{Key: "team", Value: "core"}}
	ok(t, s.CreateInstanceProfile(ctx, p))
	isErr(t, s.CreateInstanceProfile(ctx, profile(acct1, "AIPAOTHER", "/", "WEB")), store.ErrAlreadyExists, "create profile differing in case")
	isErr(t, s.CreateInstanceProfile(ctx, profile(acct1, "AIPAWEB", "/", "web2")), store.ErrAlreadyExists, "create profile with a taken id")
	ok(t, s.CreateInstanceProfile(ctx, profile(acct2, "AIPAWEB2", "/", "web")))

	got, err := s.GetInstanceProfile(ctx, acct1, "wEb")
	ok(t, err)
	same(t, "profile", p, got)
	_, err = s.GetInstanceProfile(ctx, acct1, "nope")
	isErr(t, err, store.ErrNotFound, "get missing profile")

	// Tags are replaced whole.
	p.Tags = []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}
	ok(t, s.SetInstanceProfileTags(ctx, acct1, "web", p.Tags))
	isErr(t, s.SetInstanceProfileTags(ctx, acct1, "nope", nil), store.ErrNotFound, "tag missing profile")

	// One role per profile, of the same account.
	ok(t, s.CreateRole(ctx, role(acct1, "AROAAPP", "App")))
	ok(t, s.CreateRole(ctx, role(acct1, "AROAOTHER", "Other")))
	ok(t, s.CreateRole(ctx, role(acct2, "AROAFOREIGN", "Foreign")))
	isErr(t, s.SetInstanceProfileRole(ctx, acct1, "web", "AROAFOREIGN"), store.ErrNotFound, "add a role of another account")
	isErr(t, s.SetInstanceProfileRole(ctx, acct1, "web", "AROANONE"), store.ErrNotFound, "add a missing role")
	isErr(t, s.SetInstanceProfileRole(ctx, acct1, "nope", "AROAAPP"), store.ErrNotFound, "add to a missing profile")
	ok(t, s.SetInstanceProfileRole(ctx, acct1, "WEB", "AROAAPP"))
	isErr(t, s.SetInstanceProfileRole(ctx, acct1, "web", "AROAOTHER"), store.ErrConflict, "add a second role")
	isErr(t, s.SetInstanceProfileRole(ctx, acct1, "web", "AROAAPP"), store.ErrConflict, "add the same role again")
	p.RoleID = "AROAAPP"
	got, err = s.GetInstanceProfile(ctx, acct1, "web")
	ok(t, err)
	same(t, "profile with role", p, got)
	isErr(t, s.DeleteInstanceProfile(ctx, acct1, "web"), store.ErrConflict, "delete a profile with a role")

	// A role can be in several profiles; lists by role are in name order.
	ok(t, s.CreateInstanceProfile(ctx, profile(acct1, "AIPAAPI", "/", "api")))
	ok(t, s.SetInstanceProfileRole(ctx, acct1, "api", "AROAAPP"))
	forRole, err := s.ListInstanceProfilesForRole(ctx, acct1, "AROAAPP", store.ListOptions{})
	ok(t, err)
	same(t, "profiles for role", []string{"api", "Web"}, names(forRole, profileName))
	forRole, err = s.ListInstanceProfilesForRole(ctx, acct1, "AROAAPP", store.ListOptions{After: "API", Limit: 1})
	ok(t, err)
	same(t, "profiles for role after api", []string{"Web"}, names(forRole, profileName))
	forRole, err = s.ListInstanceProfilesForRole(ctx, acct1, "AROAOTHER", store.ListOptions{})
	ok(t, err)
	if len(forRole) != 0 {
		t.Errorf("profiles of a role in none: %v", names(forRole, profileName))
	}

	isErr(t, s.ClearInstanceProfileRole(ctx, acct1, "web", "AROAOTHER"), store.ErrNotFound, "remove a role the profile does not hold")
	isErr(t, s.ClearInstanceProfileRole(ctx, acct1, "nope", "AROAAPP"), store.ErrNotFound, "remove from a missing profile")
	ok(t, s.ClearInstanceProfileRole(ctx, acct1, "web", "AROAAPP"))
	isErr(t, s.ClearInstanceProfileRole(ctx, acct1, "web", "AROAAPP"), store.ErrNotFound, "remove twice")
	p.RoleID = ""
	got, err = s.GetInstanceProfile(ctx, acct1, "web")
	ok(t, err)
	same(t, "profile without role", p, got)

	// Deleting a role empties its profiles, and records them.
	mid := lastChange(t, s)
	ok(t, s.DeleteRole(ctx, acct1, "app"))
	got, err = s.GetInstanceProfile(ctx, acct1, "api")
	ok(t, err)
	if got.RoleID != "" {
		t.Errorf("profile keeps deleted role %q", got.RoleID)
	}
	changes, err := s.Changes(ctx, mid, 100)
	ok(t, err)
	var profiles []store.Change
	for _, c := range changes {
		if c.Kind == store.ChangeInstanceProfile {
			profiles = append(profiles, c)
		}
	}
	same(t, "delete role changes", []store.Change{change(store.ChangeInstanceProfile, acct1, "AIPAAPI", "api")}, profiles, ignoreSeqAt)
	// A recreated role of the same name is in no profile.
	ok(t, s.CreateRole(ctx, role(acct1, "AROAAPP2", "App")))
	got, err = s.GetInstanceProfile(ctx, acct1, "api")
	ok(t, err)
	if got.RoleID != "" {
		t.Errorf("recreated role inherits profile: %q", got.RoleID)
	}

	ok(t, s.DeleteInstanceProfile(ctx, acct1, "WEB"))
	isErr(t, s.DeleteInstanceProfile(ctx, acct1, "web"), store.ErrNotFound, "delete twice")
	_, err = s.GetInstanceProfile(ctx, acct2, "web")
	ok(t, err) // the other account's is untouched

	changes, err = s.Changes(ctx, before, 1000)
	ok(t, err)
	n := 0
	for _, c := range changes {
		if c.Kind == store.ChangeInstanceProfile {
			n++
		}
	}
	// create x3, tag, set x2, clear, delete role (1), delete.
	if n != 9 {
		t.Errorf("instance profile changes = %d, want 9", n)
	}
}

// testInstanceProfilePages: ListInstanceProfiles pages by name key under a
// path prefix, as ListRoles does.
func testInstanceProfilePages(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	var want []string
	for i := range 12 {
		path := "/"
		if i%3 == 0 {
			path = "/web/"
		}
		name := fmt.Sprintf("P%02d", i)
		if i%2 == 0 {
			name = fmt.Sprintf("p%02d", i)
		}
		p := profile(acct1, fmt.Sprintf("AIPA%02d", i), path, name)
		p.CreatedAt = at(time.Duration(i) * time.Second)
		ok(t, s.CreateInstanceProfile(ctx, p))
		want = append(want, name)
	}
	ok(t, s.CreateInstanceProfile(ctx, profile(acct2, "AIPAX", "/", "p00")))

	var got []string
	after := ""
	for {
		page, err := s.ListInstanceProfiles(ctx, acct1, store.ListOptions{After: after, Limit: 5})
		ok(t, err)
		got = append(got, names(page, profileName)...)
		if len(page) < 5 {
			break
		}
		after = page[len(page)-1].Name
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	web, err := s.ListInstanceProfiles(ctx, acct1, store.ListOptions{PathPrefix: "/web/"})
	ok(t, err)
	same(t, "under /web/", []string{"p00", "P03", "p06", "P09"}, names(web, profileName))
	web, err = s.ListInstanceProfiles(ctx, acct1, store.ListOptions{PathPrefix: "/web/", After: "p03", Limit: 1})
	ok(t, err)
	same(t, "under /web/ after p03", []string{"p06"}, names(web, profileName))
}

// testLoginProfiles: a login profile belongs to its user (case-insensitive
// lookups, follows a rename, goes with the user, is not inherited by a
// recreated user); password policies are one per account.
func testLoginProfiles(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	lp := store.LoginProfile{Account: acct1, UserName: "Alice", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
		PasswordResetRequired: true, CreatedAt: t0, PasswordChangedAt: t0}
	isErr(t, s.CreateLoginProfile(ctx, lp), store.ErrNotFound, "create for a missing user")
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAALICE", "Alice")))
	ok(t, s.CreateLoginProfile(ctx, lp))
	isErr(t, s.CreateLoginProfile(ctx, lp), store.ErrAlreadyExists, "create twice")
	got, err := s.GetLoginProfile(ctx, acct1, "ALICE")
	ok(t, err)
	same(t, "login profile", lp, got)
	_, err = s.GetLoginProfile(ctx, acct2, "alice")
	isErr(t, err, store.ErrNotFound, "get in another account")

	lp.PasswordHash, lp.PasswordResetRequired, lp.PasswordChangedAt = "$argon2id$new", false, at(time.Hour)
	lp.PreviousHashes = []string{"$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"}
	ok(t, s.UpdateLoginProfile(ctx, lp))
	got, err = s.GetLoginProfile(ctx, acct1, "alice")
	ok(t, err)
	same(t, "updated login profile", lp, got)

	// It follows a rename.
	u, err := s.GetUser(ctx, acct1, "alice")
	ok(t, err)
	u.Name = "Alicia"
	ok(t, s.UpdateUser(ctx, u))
	got, err = s.GetLoginProfile(ctx, acct1, "alicia")
	ok(t, err)
	if got.UserName != "Alicia" || got.PasswordHash != lp.PasswordHash {
		t.Errorf("after rename: %+v", got)
	}
	// It goes with the user.
	ok(t, s.DeleteUser(ctx, acct1, "alicia"))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAALICIA2", "Alicia")))
	_, err = s.GetLoginProfile(ctx, acct1, "alicia")
	isErr(t, err, store.ErrNotFound, "recreated user's login profile")
	isErr(t, s.UpdateLoginProfile(ctx, store.LoginProfile{Account: acct1, UserName: "alicia"}), store.ErrNotFound, "update missing profile")
	isErr(t, s.DeleteLoginProfile(ctx, acct1, "alicia"), store.ErrNotFound, "delete missing profile")
	ok(t, s.CreateLoginProfile(ctx, store.LoginProfile{Account: acct1, UserName: "alicia", PasswordHash: "h", CreatedAt: t0}))
	ok(t, s.DeleteLoginProfile(ctx, acct1, "ALICIA"))
	_, err = s.GetLoginProfile(ctx, acct1, "alicia")
	isErr(t, err, store.ErrNotFound, "get deleted profile")

	// Password policies.
	_, err = s.GetPasswordPolicy(ctx, acct1)
	isErr(t, err, store.ErrNotFound, "get missing policy")
	pp := store.PasswordPolicy{MinimumPasswordLength: 12, RequireSymbols: true, MaxPasswordAge: 90, PasswordReusePrevention: 3}
	ok(t, s.PutPasswordPolicy(ctx, acct1, pp))
	pp.RequireNumbers, pp.HardExpiry = true, true
	ok(t, s.PutPasswordPolicy(ctx, acct1, pp))
	gotPP, err := s.GetPasswordPolicy(ctx, acct1)
	ok(t, err)
	same(t, "password policy", pp, gotPP)
	_, err = s.GetPasswordPolicy(ctx, acct2)
	isErr(t, err, store.ErrNotFound, "other account's policy")
	ok(t, s.DeletePasswordPolicy(ctx, acct1))
	isErr(t, s.DeletePasswordPolicy(ctx, acct1), store.ErrNotFound, "delete twice")
}

// testAccountAliases: one alias per account (a new one replaces it),
// unique across accounts.
func testAccountAliases(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	got, err := s.ListAccountAliases(ctx, acct1)
	ok(t, err)
	if len(got) != 0 {
		t.Fatalf("aliases of a new account: %v", got)
	}
	ok(t, s.PutAccountAlias(ctx, acct1, "first"))
	ok(t, s.PutAccountAlias(ctx, acct1, "first")) // idempotent
	isErr(t, s.PutAccountAlias(ctx, acct2, "first"), store.ErrAlreadyExists, "another account's alias")
	ok(t, s.PutAccountAlias(ctx, acct1, "second"))
	got, err = s.ListAccountAliases(ctx, acct1)
	ok(t, err)
	same(t, "aliases", []string{"second"}, got)
	ok(t, s.PutAccountAlias(ctx, acct2, "first")) // released by the replacement
	isErr(t, s.DeleteAccountAlias(ctx, acct1, "first"), store.ErrNotFound, "delete another account's alias")
	ok(t, s.DeleteAccountAlias(ctx, acct1, "second"))
	isErr(t, s.DeleteAccountAlias(ctx, acct1, "second"), store.ErrNotFound, "delete twice")
	got, err = s.ListAccountAliases(ctx, acct2)
	ok(t, err)
	same(t, "other account's aliases", []string{"first"}, got)
}

// testAccountSummary: the counts are the account's, not another's.
func testAccountSummary(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	empty, err := s.AccountSummary(ctx, acct1)
	ok(t, err)
	same(t, "empty summary", store.AccountSummary{}, empty)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA1", "u1")))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA2", "u2")))
	ok(t, s.CreateUser(ctx, user(acct2, "AIDA3", "u3")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPA1", "g1")))
	ok(t, s.CreateRole(ctx, role(acct1, "AROA1", "r1")))
	p, pv := managed(acct1, "ANPA1", "/", "P")
	ok(t, s.CreateManagedPolicy(ctx, p, pv))
	ok(t, s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: p.ARN, VersionID: "v2", Document: pv.Document, CreatedAt: t0}))
	ok(t, s.CreateInstanceProfile(ctx, profile(acct1, "AIPA1", "/", "ip")))
	d1, d2 := mfa(acct1, "d1"), mfa(acct1, "d2")
	d2.UserName, d2.EnabledAt = "u1", t0
	ok(t, s.CreateMFADevice(ctx, d1))
	ok(t, s.CreateMFADevice(ctx, d2))
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAROOT1", Account: acct1, UserID: acct1, Status: "Active", CreatedAt: t0}))
	ok(t, s.CreateOIDCProvider(ctx, store.OIDCProvider{Account: acct1, Name: "idp.example.com", CreatedAt: t0}))
	got, err := s.AccountSummary(ctx, acct1)
	ok(t, err)
	same(t, "summary", store.AccountSummary{Users: 2, Groups: 1, Roles: 1, Policies: 1, PolicyVersionsInUse: 2, InstanceProfiles: 1,
		MFADevices: 2, MFADevicesInUse: 1, RootAccessKeys: 1, Providers: 1}, got)
}

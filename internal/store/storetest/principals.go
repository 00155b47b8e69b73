package storetest

import (
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testAccounts(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	_, err := s.GetAccount(ctx, acct1)
	isErr(t, err, store.ErrNotFound, "get missing account")

	a2 := store.Account{ID: acct2, Name: "dev", Email: "dev@example.com", CreatedAt: at(time.Hour)}
	a1 := store.Account{ID: acct1, Name: "management", Email: "root@example.com", CreatedAt: t0, Management: true}
	ok(t, s.CreateAccount(ctx, a2))
	ok(t, s.CreateAccount(ctx, a1))
	isErr(t, s.CreateAccount(ctx, store.Account{ID: acct1, Name: "again"}), store.ErrAlreadyExists, "create duplicate account")

	got, err := s.GetAccount(ctx, acct1)
	ok(t, err)
	same(t, "account", a1, got)

	// Accounts list in id order.
	all, err := s.ListAccounts(ctx, store.ListOptions{})
	ok(t, err)
	same(t, "accounts", []store.Account{a1, a2}, all)

	ok(t, s.SetAccountEmail(ctx, acct1, "owner@example.com"))
	got, err = s.GetAccount(ctx, acct1)
	ok(t, err)
	same(t, "e-mail set", "owner@example.com", got.Email)
	isErr(t, s.SetAccountEmail(ctx, "333333333333", "x@example.com"), store.ErrNotFound, "set the e-mail of a missing account")
}

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	_, err := s.GetUser(ctx, acct1, "alice")
	isErr(t, err, store.ErrNotFound, "get missing user")

	u := user(acct1, "AIDAALICE", "Alice")
	u.Path = "/eng/"
	u.PermissionsBoundary = policyARN(acct1, "/", "Boundary")
	u.Tags = []store.Tag{{Key: "team", Value: "core"}}
	ok(t, s.CreateUser(ctx, u))

	// Names are unique case-insensitively per account; ids are unique.
	isErr(t, s.CreateUser(ctx, user(acct1, "AIDAOTHER", "ALICE")), store.ErrAlreadyExists, "create user differing in case")
	isErr(t, s.CreateUser(ctx, user(acct1, "AIDAALICE", "alice2")), store.ErrAlreadyExists, "create user with a taken id")
	ok(t, s.CreateUser(ctx, user(acct2, "AIDAALICE2", "alice")))

	// Lookups are case-insensitive and return the stored spelling.
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err := s.GetUser(ctx, acct1, name)
		ok(t, err)
		same(t, "user "+name, u, got)
	}

	// Lookups by unique id are exact, in any account.
	got, err := s.GetUserByID(ctx, "AIDAALICE")
	ok(t, err)
	same(t, "user by id", u, got)
	got, err = s.GetUserByID(ctx, "AIDAALICE2")
	ok(t, err)
	if got.Account != acct2 || got.Name != "alice" {
		t.Fatalf("user by id in the other account: got %+v", got)
	}
	_, err = s.GetUserByID(ctx, "aidaalice")
	isErr(t, err, store.ErrNotFound, "get user by id in another case")

	// UpdateUser replaces by Account and ID, renames included.
	u2 := u
	u2.Name = "alice.smith"
	u2.Path = "/ops/"
	u2.PermissionsBoundary = ""
	u2.Tags = []store.Tag{{Key: "team", Value: "ops"}, {Key: "a", Value: "b"}}
	ok(t, s.UpdateUser(ctx, u2))
	_, err = s.GetUser(ctx, acct1, "Alice")
	isErr(t, err, store.ErrNotFound, "get user by old name")
	got, err = s.GetUser(ctx, acct1, "ALICE.SMITH")
	ok(t, err)
	same(t, "renamed user", u2, got)
	got, err = s.GetUserByID(ctx, "AIDAALICE")
	ok(t, err)
	same(t, "renamed user by id", u2, got)

	ok(t, s.CreateUser(ctx, user(acct1, "AIDABOB", "bob")))
	u3 := u2
	u3.Name = "BOB"
	isErr(t, s.UpdateUser(ctx, u3), store.ErrAlreadyExists, "rename user to a taken name")
	isErr(t, s.UpdateUser(ctx, user(acct1, "AIDANOBODY", "nobody")), store.ErrNotFound, "update missing user")
	// The id belongs to another account: not found in this one.
	isErr(t, s.UpdateUser(ctx, user(acct2, "AIDAALICE", "x")), store.ErrNotFound, "update user in the wrong account")

	ok(t, s.DeleteUser(ctx, acct1, "Alice.Smith"))
	_, err = s.GetUser(ctx, acct1, "alice.smith")
	isErr(t, err, store.ErrNotFound, "get deleted user")
	isErr(t, s.DeleteUser(ctx, acct1, "alice.smith"), store.ErrNotFound, "delete missing user")
	// The other account's alice is untouched.
	_, err = s.GetUser(ctx, acct2, "alice")
	ok(t, err)
}

// testUserRename: a renamed user keeps its groups, policies, attachments,
// access keys and MFA devices, as in AWS (UpdateUser NewUserName).
func testUserRename(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	u := user(acct1, "AIDAALICE", "alice")
	ok(t, s.CreateUser(ctx, u))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPADEV", "dev")))
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "alice"))
	ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindUser, Owner: "alice", Name: "p", Document: "{}"}))
	p, v := managed(acct1, "ANPA1", "/", "P1")
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: p.ARN}))
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAALICE", Account: acct1, UserName: "alice", UserID: u.ID, Secret: []byte{1}, Status: "Active", CreatedAt: t0}))
	d := mfa(acct1, "alice-phone")
	d.UserName = "alice"
	d.EnabledAt = t0
	ok(t, s.CreateMFADevice(ctx, d))

	u.Name = "Alicia"
	ok(t, s.UpdateUser(ctx, u))

	members, err := s.ListGroupMembers(ctx, acct1, "dev", store.ListOptions{})
	ok(t, err)
	same(t, "members", []string{"Alicia"}, names(members, userName))
	ips, err := s.ListInlinePolicies(ctx, acct1, store.KindUser, "alicia")
	ok(t, err)
	same(t, "inline policies", []store.InlinePolicy{{Account: acct1, Kind: store.KindUser, Owner: "Alicia", Name: "p", Document: "{}"}}, ips)
	as, err := s.ListAttachments(ctx, acct1, store.KindUser, "alicia")
	ok(t, err)
	same(t, "attachments", []store.Attachment{{Account: acct1, Kind: store.KindUser, Owner: "Alicia", PolicyARN: p.ARN}}, as)
	k, err := s.GetAccessKey(ctx, "AKIAALICE")
	ok(t, err)
	same(t, "key owner", "Alicia", k.UserName)
	ks, err := s.ListAccessKeys(ctx, acct1, "ALICIA")
	ok(t, err)
	same(t, "keys", []string{"AKIAALICE"}, names(ks, func(k store.AccessKey) string { return k.ID }))
	gd, err := s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	same(t, "mfa owner", "Alicia", gd.UserName)
}

func testListSortAndPathPrefix(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	// name, path; created out of order.
	entries := [][2]string{
		{"carol", "/eng/"},
		{"Bob", "/eng/backend/"},
		{"alice", "/"},
		{"Dave", "/ENG/"},
		{"bobby", "/engineering/"},
		{"Alice2", "/eng/"},
	}
	for i, e := range entries {
		id := string(rune('A' + i))
		u := user(acct1, "AIDA"+id, e[0])
		u.Path = e[1]
		ok(t, s.CreateUser(ctx, u))
		g := group(acct1, "AGPA"+id, e[0])
		g.Path = e[1]
		ok(t, s.CreateGroup(ctx, g))
		r := role(acct1, "AROA"+id, e[0])
		r.Path = e[1]
		ok(t, s.CreateRole(ctx, r))
		p, v := managed(acct1, "ANPA"+id, e[1], e[0])
		ok(t, s.CreateManagedPolicy(ctx, p, v))
	}
	// Another account's entities never show up.
	ok(t, s.CreateUser(ctx, user(acct2, "AIDAZ", "aaron")))
	ok(t, s.CreateGroup(ctx, group(acct2, "AGPAZ", "aaron")))
	ok(t, s.CreateRole(ctx, role(acct2, "AROAZ", "aaron")))
	p, v := managed(acct2, "ANPAZ", "/", "aaron")
	ok(t, s.CreateManagedPolicy(ctx, p, v))

	all := []string{"alice", "Alice2", "Bob", "bobby", "carol", "Dave"}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"/", all},
		{"/eng/", []string{"Alice2", "Bob", "carol"}}, // path prefixes are case-sensitive and literal
		{"/eng", []string{"Alice2", "Bob", "bobby", "carol"}},
		{"/eng/backend/", []string{"Bob"}},
		{"/ENG/", []string{"Dave"}},
		{"/none/", nil},
		{"/e_g/", nil}, // no wildcards
		{"/e%", nil},
	}
	for _, c := range cases {
		opt := store.ListOptions{PathPrefix: c.prefix}
		us, err := s.ListUsers(ctx, acct1, opt)
		ok(t, err)
		same(t, "users "+c.prefix, c.want, names(us, userName))
		gs, err := s.ListGroups(ctx, acct1, opt)
		ok(t, err)
		same(t, "groups "+c.prefix, c.want, names(gs, groupName))
		rs, err := s.ListRoles(ctx, acct1, opt)
		ok(t, err)
		same(t, "roles "+c.prefix, c.want, names(rs, roleName))
		ps, err := s.ListManagedPolicies(ctx, acct1, opt)
		ok(t, err)
		same(t, "policies "+c.prefix, c.want, names(ps, policyName))
	}
	us, err := s.ListUsers(ctx, "333333333333", store.ListOptions{})
	ok(t, err)
	same(t, "users of an empty account", 0, len(us))
}

func testTags(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	tags := []store.Tag{
		{Key: "z", Value: "last-key-first"},
		{Key: "Project", Value: "ünïcödé ✓"},
		{Key: "a", Value: ""},
		{Key: "quote", Value: `"]}, {'\`},
	}
	u := user(acct1, "AIDA1", "u")
	u.Tags = tags
	ok(t, s.CreateUser(ctx, u))
	r := role(acct1, "AROA1", "r")
	r.Tags = tags
	ok(t, s.CreateRole(ctx, r))
	p, v := managed(acct1, "ANPA1", "/", "p")
	p.Tags = tags
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	d := mfa(acct1, "d")
	d.Tags = tags
	ok(t, s.CreateMFADevice(ctx, d))

	gu, err := s.GetUser(ctx, acct1, "u")
	ok(t, err)
	same(t, "user tags", tags, gu.Tags)
	gr, err := s.GetRole(ctx, acct1, "r")
	ok(t, err)
	same(t, "role tags", tags, gr.Tags)
	gp, err := s.GetManagedPolicy(ctx, p.ARN)
	ok(t, err)
	same(t, "policy tags", tags, gp.Tags)
	gd, err := s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	same(t, "mfa tags", tags, gd.Tags)

	// Untagging everything reads back as no tags.
	gu.Tags = nil
	ok(t, s.UpdateUser(ctx, gu))
	gu, err = s.GetUser(ctx, acct1, "u")
	ok(t, err)
	same(t, "no tags", 0, len(gu.Tags))
}

func testGroups(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	g := group(acct1, "AGPADEV", "Developers")
	g.Path = "/eng/"
	ok(t, s.CreateGroup(ctx, g))
	isErr(t, s.CreateGroup(ctx, group(acct1, "AGPAX", "developers")), store.ErrAlreadyExists, "create group differing in case")
	isErr(t, s.CreateGroup(ctx, group(acct1, "AGPADEV", "other")), store.ErrAlreadyExists, "create group with a taken id")
	got, err := s.GetGroup(ctx, acct1, "DEVELOPERS")
	ok(t, err)
	same(t, "group", g, got)
	_, err = s.GetGroup(ctx, acct2, "developers")
	isErr(t, err, store.ErrNotFound, "get group in another account")

	g.Name = "Devs"
	g.Path = "/"
	ok(t, s.UpdateGroup(ctx, g))
	got, err = s.GetGroup(ctx, acct1, "devs")
	ok(t, err)
	same(t, "renamed group", g, got)
	isErr(t, s.UpdateGroup(ctx, group(acct1, "AGPANONE", "x")), store.ErrNotFound, "update missing group")
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAOPS", "ops")))
	g.Name = "OPS"
	isErr(t, s.UpdateGroup(ctx, g), store.ErrAlreadyExists, "rename group to a taken name")

	ok(t, s.DeleteGroup(ctx, acct1, "DEVS"))
	_, err = s.GetGroup(ctx, acct1, "devs")
	isErr(t, err, store.ErrNotFound, "get deleted group")
	isErr(t, s.DeleteGroup(ctx, acct1, "devs"), store.ErrNotFound, "delete missing group")
}

func testGroupMembership(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	for _, n := range []string{"carol", "Alice", "bob"} {
		ok(t, s.CreateUser(ctx, user(acct1, "AIDA"+n, n)))
	}
	for _, n := range []string{"ops", "Admins", "dev"} {
		ok(t, s.CreateGroup(ctx, group(acct1, "AGPA"+n, n)))
	}
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "carol"))
	ok(t, s.AddUserToGroup(ctx, acct1, "DEV", "alice"))
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "bob"))
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "BOB")) // idempotent
	ok(t, s.AddUserToGroup(ctx, acct1, "ops", "alice"))
	ok(t, s.AddUserToGroup(ctx, acct1, "admins", "alice"))

	isErr(t, s.AddUserToGroup(ctx, acct1, "nope", "alice"), store.ErrNotFound, "add to missing group")
	isErr(t, s.AddUserToGroup(ctx, acct1, "dev", "nobody"), store.ErrNotFound, "add missing user")
	isErr(t, s.AddUserToGroup(ctx, acct2, "dev", "alice"), store.ErrNotFound, "add across accounts")

	members, err := s.ListGroupMembers(ctx, acct1, "Dev", store.ListOptions{})
	ok(t, err)
	same(t, "members", []string{"Alice", "bob", "carol"}, names(members, userName))
	same(t, "member record", user(acct1, "AIDAAlice", "Alice"), members[0])
	gs, err := s.ListGroupsForUser(ctx, acct1, "ALICE")
	ok(t, err)
	same(t, "groups for user", []string{"Admins", "dev", "ops"}, names(gs, groupName))
	gs, err = s.ListGroupsForUser(ctx, acct1, "carol")
	ok(t, err)
	same(t, "groups for carol", []string{"dev"}, names(gs, groupName))

	_, err = s.ListGroupMembers(ctx, acct1, "nope", store.ListOptions{})
	isErr(t, err, store.ErrNotFound, "members of missing group")
	_, err = s.ListGroupsForUser(ctx, acct1, "nobody")
	isErr(t, err, store.ErrNotFound, "groups of missing user")
	empty, err := s.ListGroupsForUser(ctx, acct1, "bob")
	ok(t, err)
	same(t, "groups for bob", []string{"dev"}, names(empty, groupName))

	ok(t, s.RemoveUserFromGroup(ctx, acct1, "DEV", "Bob"))
	// AWS: removing a user who is not a member is NoSuchEntity.
	isErr(t, s.RemoveUserFromGroup(ctx, acct1, "dev", "bob"), store.ErrNotFound, "remove non-member")
	isErr(t, s.RemoveUserFromGroup(ctx, acct1, "nope", "bob"), store.ErrNotFound, "remove from missing group")
	members, err = s.ListGroupMembers(ctx, acct1, "dev", store.ListOptions{})
	ok(t, err)
	same(t, "members after remove", []string{"Alice", "carol"}, names(members, userName))

	// A renamed group keeps its members.
	g, err := s.GetGroup(ctx, acct1, "dev")
	ok(t, err)
	g.Name = "developers"
	ok(t, s.UpdateGroup(ctx, g))
	members, err = s.ListGroupMembers(ctx, acct1, "developers", store.ListOptions{})
	ok(t, err)
	same(t, "members after rename", []string{"Alice", "carol"}, names(members, userName))
}

// testDeleteLeavesNoOrphans: IAM refuses to delete a user, group or role that
// still has dependents (DeleteConflict) before it calls the store, so the store
// does not check; it deletes the entity, and what belonged only to it goes
// too. A new entity with the same name (a different entity in AWS, with a new
// unique id) must inherit nothing, and the policy it was attached to must be
// deletable.
func testDeleteLeavesNoOrphans(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPA1", "/", "P")
	ok(t, s.CreateManagedPolicy(ctx, p, v))

	ok(t, s.CreateUser(ctx, user(acct1, "AIDAOLD", "alice")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAOLD", "dev")))
	ok(t, s.CreateRole(ctx, role(acct1, "AROAOLD", "admin")))
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "alice"))
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAOLD", Account: acct1, UserName: "alice", UserID: "AIDAOLD", Secret: []byte{1}, Status: "Active", CreatedAt: t0}))
	ok(t, s.TouchAccessKey(ctx, "AKIAOLD", at(time.Minute), "s3", "us-east-1"))
	d := mfa(acct1, "alice")
	d.UserName, d.EnabledAt = "alice", t0
	ok(t, s.CreateMFADevice(ctx, d))
	for _, k := range []store.PrincipalKind{store.KindUser, store.KindGroup, store.KindRole} {
		owner := map[store.PrincipalKind]string{store.KindUser: "alice", store.KindGroup: "dev", store.KindRole: "admin"}[k]
		ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: k, Owner: owner, Name: "inline", Document: "{}"}))
		ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: k, Owner: owner, PolicyARN: p.ARN}))
	}

	ok(t, s.DeleteUser(ctx, acct1, "alice"))
	ok(t, s.DeleteGroup(ctx, acct1, "dev"))
	ok(t, s.DeleteRole(ctx, acct1, "admin"))

	_, err := s.GetAccessKey(ctx, "AKIAOLD")
	isErr(t, err, store.ErrNotFound, "a deleted user's access key")
	roots, err := s.ListAccessKeys(ctx, acct1, "")
	ok(t, err)
	same(t, "root keys", 0, len(roots)) // the key did not turn into a root key
	gd, err := s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	same(t, "mfa user", "", gd.UserName)
	as, err := s.ListPolicyAttachments(ctx, p.ARN)
	ok(t, err)
	same(t, "attachments", 0, len(as))

	ok(t, s.CreateUser(ctx, user(acct1, "AIDANEW", "Alice")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPANEW", "Dev")))
	ok(t, s.CreateRole(ctx, role(acct1, "AROANEW", "Admin")))
	for k, owner := range map[store.PrincipalKind]string{store.KindUser: "alice", store.KindGroup: "dev", store.KindRole: "admin"} {
		ips, err := s.ListInlinePolicies(ctx, acct1, k, owner)
		ok(t, err)
		same(t, string(k)+" inline policies", 0, len(ips))
		_, err = s.GetInlinePolicy(ctx, acct1, k, owner, "inline")
		isErr(t, err, store.ErrNotFound, string(k)+" inherited inline policy")
		as, err := s.ListAttachments(ctx, acct1, k, owner)
		ok(t, err)
		same(t, string(k)+" attachments", 0, len(as))
	}
	gs, err := s.ListGroupsForUser(ctx, acct1, "alice")
	ok(t, err)
	same(t, "groups", 0, len(gs))
	members, err := s.ListGroupMembers(ctx, acct1, "dev", store.ListOptions{})
	ok(t, err)
	same(t, "members", 0, len(members))
	ks, err := s.ListAccessKeys(ctx, acct1, "alice")
	ok(t, err)
	same(t, "keys", 0, len(ks))
	ok(t, s.DeleteManagedPolicy(ctx, p.ARN))
}

func testRoles(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	r := role(acct1, "AROAADMIN", "Admin")
	r.Path = "/service-role/"
	r.Description = "administrators"
	r.MaxSessionDuration = 43200
	r.PermissionsBoundary = policyARN(acct1, "/", "B")
	r.Tags = []store.Tag{{Key: "k", Value: "v"}}
	r.LastUsedAt = at(time.Hour)
	r.LastUsedRegion = "eu-west-1"
	ok(t, s.CreateRole(ctx, r))
	isErr(t, s.CreateRole(ctx, role(acct1, "AROAX", "ADMIN")), store.ErrAlreadyExists, "create role differing in case")
	isErr(t, s.CreateRole(ctx, role(acct1, "AROAADMIN", "x")), store.ErrAlreadyExists, "create role with a taken id")
	ok(t, s.CreateRole(ctx, role(acct2, "AROAADMIN2", "admin")))

	got, err := s.GetRole(ctx, acct1, "admin")
	ok(t, err)
	same(t, "role", r, got)
	got, err = s.GetRoleByID(ctx, "AROAADMIN")
	ok(t, err)
	same(t, "role by id", r, got)
	_, err = s.GetRoleByID(ctx, "AROAadmin")
	isErr(t, err, store.ErrNotFound, "get role by id in another case")

	r.TrustPolicy = `{"Version":"2012-10-17","Statement":[]}`
	r.Description = ""
	r.MaxSessionDuration = 7200
	r.LastUsedAt = at(2 * time.Hour)
	r.LastUsedRegion = "us-east-1"
	ok(t, s.UpdateRole(ctx, r))
	got, err = s.GetRole(ctx, acct1, "ADMIN")
	ok(t, err)
	same(t, "updated role", r, got)
	isErr(t, s.UpdateRole(ctx, role(acct1, "AROANONE", "none")), store.ErrNotFound, "update missing role")

	_, err = s.GetRole(ctx, acct1, "nope")
	isErr(t, err, store.ErrNotFound, "get missing role")
	ok(t, s.DeleteRole(ctx, acct1, "aDmIn"))
	_, err = s.GetRole(ctx, acct1, "admin")
	isErr(t, err, store.ErrNotFound, "get deleted role")
	_, err = s.GetRoleByID(ctx, "AROAADMIN")
	isErr(t, err, store.ErrNotFound, "get deleted role by id")
	isErr(t, s.DeleteRole(ctx, acct1, "admin"), store.ErrNotFound, "delete missing role")
	_, err = s.GetRole(ctx, acct2, "admin")
	ok(t, err)
}

// testTouchRole: TouchRole is read back by GetRole, GetRoleByID and
// ListRoles whether or not the backend has written it yet; the latest use
// wins, an unknown role is not an error, and the generation is unchanged.
func testTouchRole(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateRole(ctx, role(acct1, "AROATOUCH", "Touched")))
	g := gen(t, s)
	ok(t, s.TouchRole(ctx, "AROATOUCH", at(3*time.Minute), "eu-west-1"))
	ok(t, s.TouchRole(ctx, "AROATOUCH", at(2*time.Minute), "us-west-2")) // older: ignored
	ok(t, s.TouchRole(ctx, "AROAUNKNOWN", at(time.Minute), "us-east-1"))
	check := func(what string, r store.Role) {
		t.Helper()
		if !r.LastUsedAt.Equal(at(3*time.Minute)) || r.LastUsedRegion != "eu-west-1" {
			t.Fatalf("%s: last used %v %q, want %v eu-west-1", what, r.LastUsedAt, r.LastUsedRegion, at(3*time.Minute))
		}
	}
	r, err := s.GetRole(ctx, acct1, "touched")
	ok(t, err)
	check("GetRole", r)
	r, err = s.GetRoleByID(ctx, "AROATOUCH")
	ok(t, err)
	check("GetRoleByID", r)
	rs, err := s.ListRoles(ctx, acct1, store.ListOptions{})
	ok(t, err)
	if len(rs) != 1 {
		t.Fatalf("ListRoles: %d roles, want 1", len(rs))
	}
	check("ListRoles", rs[0])
	// Past store.UseWindow a use in the same region is always recorded.
	past := at(3*time.Minute + store.UseWindow + time.Second)
	ok(t, s.TouchRole(ctx, "AROATOUCH", past, "eu-west-1"))
	r, err = s.GetRoleByID(ctx, "AROATOUCH")
	ok(t, err)
	if !r.LastUsedAt.Equal(past) {
		t.Fatalf("use past the window: last used %v, want %v", r.LastUsedAt, past)
	}
	if g2 := gen(t, s); g != g2 {
		t.Fatalf("generation %d -> %d on TouchRole", g, g2)
	}
}

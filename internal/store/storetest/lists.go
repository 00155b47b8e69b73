package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/store"
)

// keyedLists are the lists that page by a name key kept outside the listed
// table (memberships, attachments) or by another column (MFA serial numbers,
// boundaries). Each has its own account, so that they do not collide with
// pagedLists in one store.
var keyedLists = []pagedList{
	{
		name: "group members",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			const account = "333333333301"
			if _, err := s.GetGroup(ctx, account, "members"); store.IsNotFound(err) {
				if err := s.CreateGroup(ctx, group(account, "AGPAKEYED01", "members")); err != nil {
					return err
				}
			}
			if err := s.CreateUser(ctx, user(account, fmt.Sprintf("AIDAKEYED01%04d", id), name)); err != nil {
				return err
			}
			return s.AddUserToGroup(ctx, account, "members", name)
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			return s.DeleteUser(ctx, "333333333301", name)
		},
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			us, err := s.ListGroupMembers(ctx, "333333333301", "members", opt)
			return names(us, userName), err
		},
		noPath: true,
	},
	entityList("users attached to a policy", "333333333302", store.KindUser, store.UseAttached),
	entityList("groups attached to a policy", "333333333303", store.KindGroup, store.UseAttached),
	entityList("roles attached to a policy", "333333333304", store.KindRole, store.UseAttached),
	entityList("users with a policy as boundary", "333333333305", store.KindUser, store.UseBoundary),
	entityList("roles with a policy as boundary", "333333333306", store.KindRole, store.UseBoundary),
	entityList("roles using a policy either way", "333333333307", store.KindRole, store.UseAttached|store.UseBoundary),
	{
		name: "virtual mfa devices",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			return s.CreateMFADevice(ctx, mfa("333333333308", name))
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			return s.DeleteMFADevice(ctx, mfa("333333333308", name).SerialNumber)
		},
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			if opt.After != "" {
				opt.After = mfa("333333333308", opt.After).SerialNumber
			}
			ds, err := s.ListMFADevices(ctx, "333333333308", store.MFAAny, opt)
			return names(ds, func(d store.MFADevice) string { return d.Name }), err
		},
		noPath: true,
	},
}

// entityList is the list of the entities of kind in account that use one
// policy as use says. Every entity created uses it, and for each entity
// that does, one that does not (an attachment to another policy, another
// boundary) is created too; with both uses, entities alternate between
// them and every third uses the policy both ways, which lists it once.
func entityList(name, account string, kind store.PrincipalKind, use store.PolicyUse) pagedList {
	used, usedV := managed("aws", "ANPAKEYED"+account, "/", "Used"+account)
	other, otherV := managed("aws", "ANPAKEYEDOTHER"+account, "/", "Other"+account)
	ensure := func(ctx context.Context, s store.Store) error {
		if _, err := s.GetManagedPolicy(ctx, used.ARN); !store.IsNotFound(err) {
			return err
		}
		if err := s.CreateManagedPolicy(ctx, used, usedV); err != nil {
			return err
		}
		return s.CreateManagedPolicy(ctx, other, otherV)
	}
	create := func(ctx context.Context, s store.Store, id int, name, path, boundary string) error {
		switch kind {
		case store.KindUser:
			u := user(account, fmt.Sprintf("AIDAKEYED%s%04d", account, id), name)
			u.Path, u.PermissionsBoundary = path, boundary
			return s.CreateUser(ctx, u)
		case store.KindGroup:
			g := group(account, fmt.Sprintf("AGPAKEYED%s%04d", account, id), name)
			g.Path = path
			return s.CreateGroup(ctx, g)
		default:
			r := role(account, fmt.Sprintf("AROAKEYED%s%04d", account, id), name)
			r.Path, r.PermissionsBoundary = path, boundary
			return s.CreateRole(ctx, r)
		}
	}
	attach := func(ctx context.Context, s store.Store, name, arn string) error {
		return s.AttachPolicy(ctx, store.Attachment{Account: account, Kind: kind, Owner: name, PolicyARN: arn})
	}
	return pagedList{
		name: name,
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			if err := ensure(ctx, s); err != nil {
				return err
			}
			viaBoundary := use == store.UseBoundary || (use == store.UseAttached|store.UseBoundary && id%2 == 1)
			viaAttachment := !viaBoundary || (use == store.UseAttached|store.UseBoundary && id%3 == 0)
			boundary := ""
			if viaBoundary {
				boundary = strings.ToUpper(used.ARN) // compared case-insensitively
			}
			if err := create(ctx, s, id, name, path, boundary); err != nil {
				return err
			}
			if viaAttachment {
				if err := attach(ctx, s, name, used.ARN); err != nil {
					return err
				}
			}
			// An entity that does not use the policy, in this and in
			// another account.
			decoy := "decoy-" + name
			if err := create(ctx, s, id+5000, decoy, path, other.ARN); err != nil {
				return err
			}
			return attach(ctx, s, decoy, other.ARN)
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			switch kind {
			case store.KindUser:
				return s.DeleteUser(ctx, account, name)
			case store.KindGroup:
				return s.DeleteGroup(ctx, account, name)
			}
			return s.DeleteRole(ctx, account, name)
		},
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			es, err := s.ListPolicyEntities(ctx, account, used.ARN, kind, use, opt)
			for _, e := range es {
				if e.Kind != kind {
					return nil, fmt.Errorf("entity %s of kind %s in a list of %s", e.Name, e.Kind, kind)
				}
			}
			return names(es, func(e store.PolicyEntity) string { return e.Name }), err
		},
	}
}

// testListKeysFollowRenames pins the list keys that memberships and
// attachments keep of their owners: a renamed member or entity moves to its
// new place in the lists.
func testListKeysFollowRenames(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPARENAME", "/", "Renames")
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPARENAME", "team")))
	for i, n := range []string{"b", "d", "f"} {
		ok(t, s.CreateUser(ctx, user(acct1, fmt.Sprintf("AIDARENAME%d", i), n)))
		ok(t, s.AddUserToGroup(ctx, acct1, "team", n))
		ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: n, PolicyARN: p.ARN}))
		ok(t, s.CreateGroup(ctx, group(acct1, fmt.Sprintf("AGPARENAME%d", i), "g"+n)))
		ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindGroup, Owner: "g" + n, PolicyARN: p.ARN}))
		ok(t, s.CreateRole(ctx, role(acct1, fmt.Sprintf("AROARENAME%d", i), "r"+n)))
		ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindRole, Owner: "r" + n, PolicyARN: p.ARN}))
	}
	u, err := s.GetUser(ctx, acct1, "b")
	ok(t, err)
	u.Name = "Z"
	ok(t, s.UpdateUser(ctx, u))
	g, err := s.GetGroup(ctx, acct1, "gb")
	ok(t, err)
	g.Name = "gZ"
	ok(t, s.UpdateGroup(ctx, g))
	r, err := s.GetRole(ctx, acct1, "rb")
	ok(t, err)
	r.Name = "rZ"
	ok(t, s.UpdateRole(ctx, r))

	members, err := s.ListGroupMembers(ctx, acct1, "team", store.ListOptions{After: "e"})
	ok(t, err)
	same(t, "members after e", []string{"f", "Z"}, names(members, userName))
	for _, c := range []struct {
		kind  store.PrincipalKind
		after string
		want  []string
	}{
		{store.KindUser, "e", []string{"f", "Z"}},
		{store.KindGroup, "ge", []string{"gf", "gZ"}},
		{store.KindRole, "re", []string{"rf", "rZ"}},
	} {
		kind, after, want := c.kind, c.after, c.want
		es, err := s.ListPolicyEntities(ctx, acct1, p.ARN, kind, store.UseAttached, store.ListOptions{After: after})
		ok(t, err)
		same(t, fmt.Sprintf("%s entities after %s", kind, after), want, names(es, func(e store.PolicyEntity) string { return e.Name }))
	}
}

// testOrgPages pins the Organizations lists' pages: accounts by id,
// policies by name (case-insensitively, then exactly), a policy's targets
// by id, a target's policies.
func testOrgPages(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	for _, id := range []string{"300000000003", "100000000001", "200000000002", "400000000004"} {
		ok(t, s.CreateAccount(ctx, store.Account{ID: id, Name: "a" + id, Email: "Owner+" + id + "@Example.com", CreatedAt: t0}))
	}
	as, err := s.ListAccounts(ctx, store.ListOptions{After: "100000000001", Limit: 2})
	ok(t, err)
	same(t, "accounts after the first", []string{"200000000002", "300000000003"}, names(as, func(a store.Account) string { return a.ID }))
	as, err = s.ListAccounts(ctx, store.ListOptions{After: "300000000003"})
	ok(t, err)
	same(t, "accounts after the third", []string{"400000000004"}, names(as, func(a store.Account) string { return a.ID }))
	a, err := s.GetAccountByEmail(ctx, "owner+200000000002@example.COM")
	ok(t, err)
	same(t, "account by email", "200000000002", a.ID)
	_, err = s.GetAccountByEmail(ctx, "nobody@example.com")
	isErr(t, err, store.ErrNotFound, "account by unknown email")

	const scp = "SERVICE_CONTROL_POLICY"
	pols := []string{"b", "B", "a", "C", "c", "_x"}
	for i, n := range pols {
		ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: fmt.Sprintf("p-page%04d", i), Name: n, Type: scp, Content: "{}"}))
	}
	ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-pageother", Name: "aa", Type: "TAG_POLICY", Content: "{}"}))
	want := []string{"_x", "a", "B", "b", "C", "c"}
	var got []string
	for after := ""; ; {
		ps, err := s.ListOrgPolicies(ctx, scp, store.ListOptions{After: after, Limit: 2})
		ok(t, err)
		got = append(got, names(ps, func(p store.OrgPolicy) string { return p.Name })...)
		if len(ps) < 2 {
			break
		}
		after = ps[len(ps)-1].Name
	}
	same(t, "org policies in pages of 2", want, got)
	ps, err := s.ListOrgPolicies(ctx, scp, store.ListOptions{After: "B", Limit: 2})
	ok(t, err)
	same(t, "org policies after B", []string{"b", "C"}, names(ps, func(p store.OrgPolicy) string { return p.Name }))

	// A position in a policy's targets survives a detach and an attach.
	for _, target := range []string{"300000000003", "r-root", "100000000001", "200000000002"} {
		ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-page0000", TargetID: target}))
	}
	ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-page0001", TargetID: "200000000002"}))
	ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-page0002", TargetID: "200000000002"}))
	ts, err := s.ListOrgTargets(ctx, "p-page0000", store.ListOptions{Limit: 2})
	ok(t, err)
	same(t, "first targets", []string{"100000000001", "200000000002"}, ts)
	ok(t, s.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-page0000", TargetID: "200000000002"}))
	ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-page0000", TargetID: "400000000004"}))
	ts, err = s.ListOrgTargets(ctx, "p-page0000", store.ListOptions{After: "200000000002", Limit: 5})
	ok(t, err)
	same(t, "targets after a detached one", []string{"300000000003", "400000000004", "r-root"}, ts)
	ps, err = s.ListOrgPoliciesForTarget(ctx, "200000000002")
	ok(t, err)
	same(t, "policies of a target", []string{"a", "B"}, names(ps, func(p store.OrgPolicy) string { return p.Name }))
}

// testMFAPages pins the selections of MFA device lists: assigned or not,
// and a user's or the root user's devices.
func testMFAPages(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAMFAPAGE1", "Ann")))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAMFAPAGE2", "bo")))
	assign := map[string]string{"d1": "Ann", "d2": "", "d3": "bo", "d5": "ann", "d7": ""} // "" is the root user
	for i := 1; i <= 8; i++ {
		d := mfa(acct1, fmt.Sprintf("d%d", i))
		if u, ok := assign[d.Name]; ok {
			d.UserName, d.EnabledAt = u, at(1)
		}
		ok(t, s.CreateMFADevice(ctx, d))
	}
	ok(t, s.CreateMFADevice(ctx, mfa(acct2, "d0")))
	name := func(d store.MFADevice) string { return d.Name }
	for _, c := range []struct {
		assignment store.MFAAssignment
		after      string
		want       []string
	}{
		{store.MFAAny, "", []string{"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"}},
		{store.MFAAssigned, "", []string{"d1", "d2", "d3", "d5", "d7"}},
		{store.MFAUnassigned, "", []string{"d4", "d6", "d8"}},
		{store.MFAAssigned, mfa(acct1, "D3").SerialNumber, []string{"d5", "d7"}},
		{store.MFAUnassigned, mfa(acct1, "d4").SerialNumber, []string{"d6", "d8"}},
	} {
		ds, err := s.ListMFADevices(ctx, acct1, c.assignment, store.ListOptions{After: c.after, Limit: 2})
		ok(t, err)
		if len(c.want) > 2 {
			c.want = c.want[:2]
		}
		same(t, fmt.Sprintf("devices %d after %q", c.assignment, c.after), c.want, names(ds, name))
	}
	for user, want := range map[string][]string{"ANN": {"d1", "d5"}, "bo": {"d3"}, "": {"d2", "d7"}, "nobody": nil} {
		ds, err := s.ListUserMFADevices(ctx, acct1, user)
		ok(t, err)
		same(t, "devices of "+user, want, names(ds, name))
	}
}

package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/store"
)

// pagedList is one of the lists that take store.ListOptions, seen through
// names: create adds an entry, remove deletes one, list returns the names of
// a page.
type pagedList struct {
	name   string
	create func(ctx context.Context, s store.Store, id int, name, path string) error
	remove func(ctx context.Context, s store.Store, name string) error
	list   func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error)
	// noPath is set for lists that ignore ListOptions.PathPrefix.
	noPath bool
}

var pagedLists = []pagedList{
	{
		name: "users",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			u := user(acct1, fmt.Sprintf("AIDAPAGE%04d", id), name)
			u.Path = path
			return s.CreateUser(ctx, u)
		},
		remove: func(ctx context.Context, s store.Store, name string) error { return s.DeleteUser(ctx, acct1, name) },
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			us, err := s.ListUsers(ctx, acct1, opt)
			return names(us, userName), err
		},
	},
	{
		name: "groups",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			g := group(acct1, fmt.Sprintf("AGPAPAGE%04d", id), name)
			g.Path = path
			return s.CreateGroup(ctx, g)
		},
		remove: func(ctx context.Context, s store.Store, name string) error { return s.DeleteGroup(ctx, acct1, name) },
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			gs, err := s.ListGroups(ctx, acct1, opt)
			return names(gs, groupName), err
		},
	},
	{
		name: "roles",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			r := role(acct1, fmt.Sprintf("AROAPAGE%04d", id), name)
			r.Path = path
			return s.CreateRole(ctx, r)
		},
		remove: func(ctx context.Context, s store.Store, name string) error { return s.DeleteRole(ctx, acct1, name) },
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			rs, err := s.ListRoles(ctx, acct1, opt)
			return names(rs, roleName), err
		},
	},
	{
		name: "managed policies",
		create: func(ctx context.Context, s store.Store, id int, name, path string) error {
			p, v := managed(acct1, fmt.Sprintf("ANPAPAGE%04d", id), path, name)
			return s.CreateManagedPolicy(ctx, p, v)
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			ps, err := s.ListManagedPolicies(ctx, acct1, store.ListOptions{After: name, IncludeAfter: true, Limit: 1})
			if err != nil {
				return err
			}
			if len(ps) != 1 || !strings.EqualFold(ps[0].Name, name) {
				return fmt.Errorf("no policy %s", name)
			}
			return s.DeleteManagedPolicy(ctx, ps[0].ARN)
		},
		list: func(ctx context.Context, s store.Store, opt store.ListOptions) ([]string, error) {
			ps, err := s.ListManagedPolicies(ctx, acct1, opt)
			return names(ps, policyName), err
		},
	},
}

// walk lists everything a page of limit at a time, continuing after the
// key of each page's last name, and checks every page's size.
func walk(t *testing.T, l pagedList, s store.Store, prefix string, limit int) []string {
	t.Helper()
	var all []string
	after := ""
	for range 1000 {
		page, err := l.list(ctxOf(t), s, store.ListOptions{PathPrefix: prefix, After: after, Limit: limit})
		ok(t, err)
		if len(page) > limit {
			t.Fatalf("%s: page of %d names with limit %d", l.name, len(page), limit)
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		after = store.NameKey(page[len(page)-1])
	}
	t.Fatalf("%s: pages do not end", l.name)
	return nil
}

// testListPages pins keyset pagination (store.ListOptions) on every list
// that takes it: the order is the name key's (case-insensitive, ties cannot
// happen within an account), After and Limit cut it into pages that join up
// exactly, and a position survives inserts and deletes on either side.
func testListPages(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	// Created out of order; "_" sorts between upper and lower case in bytes
	// but before letters once folded, as strings.ToLower orders it.
	created := []string{"mallory", "Alice", "bob", "Carol", "_under", "dave", "Eve", "a.b", "a-b", "A0", "zed", "Zoe", "a_c", "abc", "ABD"}
	for _, l := range slices.Concat(pagedLists, keyedLists) {
		t.Run(l.name, func(t *testing.T) {
			for i, n := range created {
				ok(t, l.create(ctx, s, i, n, "/"))
			}
			want := slices.Clone(created)
			slices.SortFunc(want, func(a, b string) int { return strings.Compare(store.NameKey(a), store.NameKey(b)) })
			got, err := l.list(ctx, s, store.ListOptions{})
			ok(t, err)
			same(t, "full list", want, got)
			for _, limit := range []int{1, 2, 4, len(want) - 1, len(want), len(want) + 1} {
				same(t, fmt.Sprintf("pages of %d", limit), want, walk(t, l, s, "", limit))
			}

			// After is a key, compared case-insensitively; it need not name an entry.
			got, err = l.list(ctx, s, store.ListOptions{After: "BOB", Limit: 2})
			ok(t, err)
			same(t, "after BOB", []string{"Carol", "dave"}, got)
			got, err = l.list(ctx, s, store.ListOptions{After: "bob", IncludeAfter: true, Limit: 2})
			ok(t, err)
			same(t, "from bob", []string{"bob", "Carol"}, got)
			got, err = l.list(ctx, s, store.ListOptions{After: "bz", Limit: 2})
			ok(t, err)
			same(t, "after bz", []string{"Carol", "dave"}, got)
			got, err = l.list(ctx, s, store.ListOptions{After: "zzz"})
			ok(t, err)
			same(t, "after the end", 0, len(got))

			// A position survives changes: delete the page's last entry,
			// add one before and one after it; the next page starts right
			// after the position and sees the new later entry.
			first, err := l.list(ctx, s, store.ListOptions{Limit: 5})
			ok(t, err)
			last := first[len(first)-1]
			ok(t, l.remove(ctx, s, last))
			same(t, "first page", []string{"_under", "a-b", "a.b", "A0", "a_c"}, first)
			ok(t, l.create(ctx, s, 100, "A+before", "/"))
			ok(t, l.create(ctx, s, 101, "a_D", "/"))
			next, err := l.list(ctx, s, store.ListOptions{After: store.NameKey(last), Limit: 2})
			ok(t, err)
			same(t, "page after a deleted position", []string{"a_D", "abc"}, next)
		})
	}
}

// testListPathPrefix pins path prefixes at their boundaries: a prefix is
// literal bytes (no wildcards, case-sensitive) and need not end at a "/".
func testListPathPrefix(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	paths := map[string]string{ // name -> path
		"root":   "/",
		"a":      "/a/",
		"ab":     "/ab/",
		"a0":     "/a0/",
		"a-b":    "/a/b/",
		"upperA": "/A/",
		"b":      "/b/",
		"tick":   "/`/",       // the byte before "a"
		"del":    "/a\x7f/",   // the last ASCII byte
		"u80":    "/a\u0080/", // the first code point after it
		"uffff":  "/a\uffff/", // the successor of U+FFFF is U+10000
		"u10000": "/a\U00010000/",
	}
	for _, l := range slices.Concat(pagedLists, keyedLists) {
		if l.noPath {
			continue
		}
		t.Run(l.name, func(t *testing.T) {
			i := 0
			for n, p := range paths {
				ok(t, l.create(ctx, s, i, n, p))
				i++
			}
			cases := []struct {
				prefix string
				want   []string
			}{
				{"/a", []string{"a", "a-b", "a0", "ab", "del", "u10000", "u80", "uffff"}},
				{"/a/", []string{"a", "a-b"}},
				{"/a/b/", []string{"a-b"}},
				{"/A", []string{"upperA"}},
				{"/a\x7f", []string{"del"}},
				{"/a\u0080", []string{"u80"}},
				{"/a\uffff", []string{"uffff"}},
				{"/a\U00010000", []string{"u10000"}},
				{"/`", []string{"tick"}},
				{"/c", nil},
				{"/a%", nil},
				{"/a_", nil},
			}
			for _, c := range cases {
				got, err := l.list(ctx, s, store.ListOptions{PathPrefix: c.prefix})
				ok(t, err)
				want := slices.Clone(c.want)
				slices.SortFunc(want, func(a, b string) int { return strings.Compare(store.NameKey(a), store.NameKey(b)) })
				same(t, fmt.Sprintf("prefix %q", c.prefix), want, got)
				same(t, fmt.Sprintf("prefix %q in pages of 2", c.prefix), want, walk(t, l, s, c.prefix, 2))
			}
		})
	}
}

// testListGroupMemberPages pins keyset pages of a group's members.
func testListGroupMemberPages(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAMEMBERS", "team")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAOTHER", "other")))
	members := []string{"mallory", "Alice", "bob", "Carol", "_under", "dave"}
	for i, n := range members {
		ok(t, s.CreateUser(ctx, user(acct1, fmt.Sprintf("AIDAMEMBER%02d", i), n)))
		ok(t, s.AddUserToGroup(ctx, acct1, "team", n))
	}
	ok(t, s.CreateUser(ctx, user(acct1, "AIDANOTMEMBER", "Bobby")))
	ok(t, s.AddUserToGroup(ctx, acct1, "other", "Bobby"))
	want := []string{"_under", "Alice", "bob", "Carol", "dave", "mallory"}
	var got []string
	after := ""
	for {
		page, err := s.ListGroupMembers(ctx, acct1, "team", store.ListOptions{After: after, Limit: 4})
		ok(t, err)
		got = append(got, names(page, userName)...)
		if len(page) < 4 {
			break
		}
		after = store.NameKey(page[len(page)-1].Name)
	}
	same(t, "members in pages", want, got)
	page, err := s.ListGroupMembers(ctx, acct1, "team", store.ListOptions{After: "BOB", Limit: 1})
	ok(t, err)
	same(t, "member after BOB", []string{"Carol"}, names(page, userName))
}

// testPolicyUsage pins PolicyUsage: attachments count in the asking account
// only, boundaries compare ARNs case-insensitively.
func testPolicyUsage(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPAUSAGE", "/", "Used")
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	u := user(acct1, "AIDAUSAGE1", "u1")
	u.PermissionsBoundary = strings.ToUpper(p.ARN)
	ok(t, s.CreateUser(ctx, u))
	r := role(acct1, "AROAUSAGE1", "r1")
	r.PermissionsBoundary = p.ARN
	ok(t, s.CreateRole(ctx, r))
	ok(t, s.CreateRole(ctx, role(acct1, "AROAUSAGE2", "r2")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPAUSAGE1", "g1")))
	ok(t, s.CreateUser(ctx, user(acct2, "AIDAUSAGE2", "other")))
	for _, a := range []store.Attachment{
		{Account: acct1, Kind: store.KindRole, Owner: "r2", PolicyARN: p.ARN},
		{Account: acct1, Kind: store.KindGroup, Owner: "g1", PolicyARN: p.ARN},
		{Account: acct2, Kind: store.KindUser, Owner: "other", PolicyARN: p.ARN},
	} {
		ok(t, s.AttachPolicy(ctx, a))
	}
	a, b, err := s.PolicyUsage(ctx, acct1, strings.ToLower(p.ARN))
	ok(t, err)
	same(t, "usage in acct1", [2]int{2, 2}, [2]int{a, b})
	a, b, err = s.PolicyUsage(ctx, acct2, p.ARN)
	ok(t, err)
	same(t, "usage in acct2", [2]int{1, 0}, [2]int{a, b})
	a, b, err = s.PolicyUsage(ctx, acct1, policyARN(acct1, "/", "missing"))
	ok(t, err)
	same(t, "usage of a missing policy", [2]int{0, 0}, [2]int{a, b})
}

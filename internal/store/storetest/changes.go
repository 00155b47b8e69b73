package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opensts/opensts/internal/store"
)

// ignoreSeqAt compares changes by kind, account, key and name; ignoreAt
// also by Seq.
var (
	ignoreSeqAt = cmpopts.IgnoreFields(store.Change{}, "Seq", "At")
	ignoreAt    = cmpopts.IgnoreFields(store.Change{}, "At")
)

func change(kind store.ChangeKind, account, key, name string) store.Change {
	return store.Change{Kind: kind, Account: account, Key: key, Name: name}
}

func lastChange(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.LastChange(ctxOf(t))
	ok(t, err)
	return n
}

// testChangesRecorded: every kind of write records the changes store.go
// documents, all under one new Seq, in the documented order; writes that
// fail or change nothing record none.
func testChangesRecorded(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const a = acct1
	p, pv := managed(a, "ANPA1", "/", "P")
	aws := store.ManagedPolicy{Account: "aws", ID: "ANPAAWS", Name: "ReadOnlyAccess", Path: "/", ARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", CreatedAt: t0, UpdatedAt: t0}
	awsv := store.PolicyVersion{PolicyARN: aws.ARN, Document: pv.Document, CreatedAt: t0}
	phone, tablet := mfa(a, "phone"), mfa(a, "tablet")
	tablet.UserName, tablet.EnabledAt = "alice", t0
	org := store.OrgPolicy{ID: "p-1", Name: "scp", Type: "SERVICE_CONTROL_POLICY", Content: "{}"}
	r := role(a, "AROA1", "admin")

	var (
		user1   = func(name string) store.Change { return change(store.ChangeUser, a, "AIDA1", name) }
		bob     = change(store.ChangeUser, a, "AIDA2", "bob")
		grp     = func(name string) store.Change { return change(store.ChangeGroup, a, "AGPA1", name) }
		rol     = func(name string) store.Change { return change(store.ChangeRole, a, "AROA1", name) }
		pol     = change(store.ChangePolicy, a, p.ARN, "P")
		awsPol  = change(store.ChangePolicy, "aws", aws.ARN, "ReadOnlyAccess")
		key     = func(id, user string) store.Change { return change(store.ChangeAccessKey, a, id, user) }
		dev     = func(d store.MFADevice) store.Change { return change(store.ChangeMFADevice, a, d.SerialNumber, "") }
		orgKey  = func(id string) store.Change { return change(store.ChangeOrg, "", id, "") }
		setting = change(store.ChangeSetting, "", "k", "")
	)
	inline := func(kind store.PrincipalKind, owner, doc string) func() error {
		return func() error {
			return s.PutInlinePolicy(ctx, store.InlinePolicy{Account: a, Kind: kind, Owner: owner, Name: "p", Document: doc})
		}
	}
	attach := func(kind store.PrincipalKind, owner, arn string) store.Attachment {
		return store.Attachment{Account: a, Kind: kind, Owner: owner, PolicyARN: arn}
	}

	steps := []struct {
		name    string
		do      func() error
		wantErr error // the write fails with this and records nothing
		want    []store.Change
	}{
		{name: "CreateAccount", do: func() error { return s.CreateAccount(ctx, store.Account{ID: a, Name: "a", Email: "a@example.com"}) },
			want: []store.Change{change(store.ChangeAccount, a, a, "")}},
		{name: "CreateAccount again", do: func() error { return s.CreateAccount(ctx, store.Account{ID: a, Name: "b", Email: "b@example.com"}) },
			wantErr: store.ErrAlreadyExists},

		{name: "CreateUser", do: func() error { return s.CreateUser(ctx, user(a, "AIDA1", "alice")) }, want: []store.Change{user1("alice")}},
		{name: "CreateUser bob", do: func() error { return s.CreateUser(ctx, user(a, "AIDA2", "bob")) }, want: []store.Change{bob}},
		{name: "CreateUser taken name", do: func() error { return s.CreateUser(ctx, user(a, "AIDA3", "ALICE")) }, wantErr: store.ErrAlreadyExists},
		{name: "UpdateUser", do: func() error {
			u := user(a, "AIDA1", "alice")
			u.PermissionsBoundary = p.ARN
			return s.UpdateUser(ctx, u)
		}, want: []store.Change{user1("alice")}},
		{name: "UpdateUser rename records the new name, then the old", do: func() error { return s.UpdateUser(ctx, user(a, "AIDA1", "Alice")) },
			want: []store.Change{user1("Alice"), user1("alice")}},
		{name: "UpdateUser missing", do: func() error { return s.UpdateUser(ctx, user(a, "AIDA9", "zed")) }, wantErr: store.ErrNotFound},

		{name: "CreateGroup", do: func() error { return s.CreateGroup(ctx, group(a, "AGPA1", "dev")) }, want: []store.Change{grp("dev")}},
		{name: "UpdateGroup rename", do: func() error { return s.UpdateGroup(ctx, group(a, "AGPA1", "devs")) },
			want: []store.Change{grp("devs"), grp("dev")}},
		{name: "AddUserToGroup records group and user, stored names", do: func() error { return s.AddUserToGroup(ctx, a, "DEVS", "alice") },
			want: []store.Change{grp("devs"), user1("Alice")}},
		{name: "AddUserToGroup again changes nothing", do: func() error { return s.AddUserToGroup(ctx, a, "devs", "alice") }},
		{name: "RemoveUserFromGroup", do: func() error { return s.RemoveUserFromGroup(ctx, a, "devs", "alice") },
			want: []store.Change{grp("devs"), user1("Alice")}},
		{name: "RemoveUserFromGroup again", do: func() error { return s.RemoveUserFromGroup(ctx, a, "devs", "alice") }, wantErr: store.ErrNotFound},
		{name: "AddUserToGroup back", do: func() error { return s.AddUserToGroup(ctx, a, "devs", "alice") },
			want: []store.Change{grp("devs"), user1("Alice")}},

		{name: "CreateRole", do: func() error { return s.CreateRole(ctx, r) }, want: []store.Change{rol("admin")}},
		{name: "UpdateRole last use only changes nothing", do: func() error {
			r2 := r
			r2.LastUsedAt, r2.LastUsedRegion = at(time.Hour), "us-east-1"
			return s.UpdateRole(ctx, r2)
		}},
		{name: "UpdateRole", do: func() error {
			r.TrustPolicy = "{}"
			return s.UpdateRole(ctx, r)
		}, want: []store.Change{rol("admin")}},
		{name: "UpdateRole rename", do: func() error {
			r.Name = "Admins"
			return s.UpdateRole(ctx, r)
		}, want: []store.Change{rol("Admins"), rol("admin")}},

		{name: "PutInlinePolicy role", do: inline(store.KindRole, "admins", "{}"), want: []store.Change{rol("Admins")}},
		{name: "PutInlinePolicy same document changes nothing", do: inline(store.KindRole, "admins", "{}")},
		{name: "PutInlinePolicy new document", do: inline(store.KindRole, "admins", `{"x":1}`), want: []store.Change{rol("Admins")}},
		{name: "PutInlinePolicy user", do: inline(store.KindUser, "alice", "{}"), want: []store.Change{user1("Alice")}},
		{name: "PutInlinePolicy group", do: inline(store.KindGroup, "devs", "{}"), want: []store.Change{grp("devs")}},
		{name: "PutInlinePolicy missing owner", do: inline(store.KindRole, "nobody", "{}"), wantErr: store.ErrNotFound},
		{name: "DeleteInlinePolicy", do: func() error { return s.DeleteInlinePolicy(ctx, a, store.KindRole, "admins", "p") },
			want: []store.Change{rol("Admins")}},
		{name: "DeleteInlinePolicy again", do: func() error { return s.DeleteInlinePolicy(ctx, a, store.KindRole, "admins", "p") },
			wantErr: store.ErrNotFound},

		{name: "CreateManagedPolicy", do: func() error { return s.CreateManagedPolicy(ctx, p, pv) }, want: []store.Change{pol}},
		{name: "CreateManagedPolicy AWS managed", do: func() error { return s.CreateManagedPolicy(ctx, aws, awsv) }, want: []store.Change{awsPol}},
		{name: "CreateManagedPolicy again", do: func() error { return s.CreateManagedPolicy(ctx, p, pv) }, wantErr: store.ErrAlreadyExists},
		{name: "CreatePolicyVersion records the stored ARN", do: func() error {
			return s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: strings.ToUpper(p.ARN), VersionID: "v2", Document: "{}"})
		}, want: []store.Change{pol}},
		{name: "UpdateManagedPolicy", do: func() error {
			p.DefaultVersionID = "v2"
			return s.UpdateManagedPolicy(ctx, p)
		}, want: []store.Change{pol}},
		{name: "DeletePolicyVersion", do: func() error { return s.DeletePolicyVersion(ctx, p.ARN, "v1") }, want: []store.Change{pol}},
		{name: "DeletePolicyVersion default", do: func() error { return s.DeletePolicyVersion(ctx, p.ARN, "v2") }, wantErr: store.ErrConflict},

		{name: "AttachPolicy role", do: func() error { return s.AttachPolicy(ctx, attach(store.KindRole, "admins", p.ARN)) },
			want: []store.Change{rol("Admins"), pol}},
		{name: "AttachPolicy again changes nothing", do: func() error { return s.AttachPolicy(ctx, attach(store.KindRole, "admins", p.ARN)) }},
		{name: "AttachPolicy user", do: func() error { return s.AttachPolicy(ctx, attach(store.KindUser, "alice", p.ARN)) },
			want: []store.Change{user1("Alice"), pol}},
		{name: "AttachPolicy group", do: func() error { return s.AttachPolicy(ctx, attach(store.KindGroup, "devs", aws.ARN)) },
			want: []store.Change{grp("devs"), awsPol}},
		{name: "DetachPolicy", do: func() error { return s.DetachPolicy(ctx, attach(store.KindRole, "admins", p.ARN)) },
			want: []store.Change{rol("Admins"), pol}},
		{name: "DetachPolicy again", do: func() error { return s.DetachPolicy(ctx, attach(store.KindRole, "admins", p.ARN)) }, wantErr: store.ErrNotFound},
		{name: "DeleteManagedPolicy attached", do: func() error { return s.DeleteManagedPolicy(ctx, p.ARN) }, wantErr: store.ErrConflict},

		{name: "CreateAccessKey records the stored user name", do: func() error {
			return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Account: a, UserName: "ALICE", Status: "Active"})
		}, want: []store.Change{key("AKIA1", "Alice")}},
		{name: "CreateAccessKey root", do: func() error {
			return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAROOT", Account: a, UserID: a, Status: "Active"})
		}, want: []store.Change{key("AKIAROOT", "")}},
		{name: "CreateAccessKey again", do: func() error {
			return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Account: a, UserName: "alice", Status: "Active"})
		}, wantErr: store.ErrAlreadyExists},
		{name: "UpdateAccessKey", do: func() error { return s.UpdateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Status: "Inactive"}) },
			want: []store.Change{key("AKIA1", "Alice")}},
		{name: "UpdateAccessKey missing", do: func() error { return s.UpdateAccessKey(ctx, store.AccessKey{ID: "AKIANONE", Status: "Inactive"}) },
			wantErr: store.ErrNotFound},
		{name: "TouchAccessKey changes nothing", do: func() error { return s.TouchAccessKey(ctx, "AKIA1", t0, "sts", "us-east-1") }},
		{name: "DeleteAccessKey", do: func() error { return s.DeleteAccessKey(ctx, "AKIAROOT") }, want: []store.Change{key("AKIAROOT", "")}},
		{name: "DeleteAccessKey again", do: func() error { return s.DeleteAccessKey(ctx, "AKIAROOT") }, wantErr: store.ErrNotFound},
		{name: "CreateAccessKey second", do: func() error {
			return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA2", Account: a, UserName: "alice", Status: "Active"})
		}, want: []store.Change{key("AKIA2", "Alice")}},

		{name: "CreateMFADevice", do: func() error { return s.CreateMFADevice(ctx, phone) }, want: []store.Change{dev(phone)}},
		{name: "CreateMFADevice again", do: func() error { return s.CreateMFADevice(ctx, phone) }, wantErr: store.ErrAlreadyExists},
		{name: "UpdateMFADevice records the stored serial", do: func() error {
			d := phone
			d.SerialNumber = strings.ToUpper(d.SerialNumber)
			d.UserName, d.EnabledAt = "alice", t0
			return s.UpdateMFADevice(ctx, d)
		}, want: []store.Change{dev(phone)}},
		{name: "AdvanceMFACounter", do: func() error { return s.AdvanceMFACounter(ctx, phone.SerialNumber, 5) }, want: []store.Change{dev(phone)}},
		{name: "AdvanceMFACounter replay", do: func() error { return s.AdvanceMFACounter(ctx, phone.SerialNumber, 5) }, wantErr: store.ErrConflict},
		{name: "CreateMFADevice assigned", do: func() error { return s.CreateMFADevice(ctx, tablet) }, want: []store.Change{dev(tablet)}},

		{name: "DeleteUser records its keys, devices, groups and attached policies", do: func() error { return s.DeleteUser(ctx, a, "alice") },
			want: []store.Change{user1("Alice"), key("AKIA1", "Alice"), key("AKIA2", "Alice"), dev(phone), dev(tablet), grp("devs"), pol}},
		{name: "DeleteUser again", do: func() error { return s.DeleteUser(ctx, a, "alice") }, wantErr: store.ErrNotFound},
		{name: "AddUserToGroup bob", do: func() error { return s.AddUserToGroup(ctx, a, "devs", "bob") }, want: []store.Change{grp("devs"), bob}},
		{name: "DeleteGroup records its members and attached policies", do: func() error { return s.DeleteGroup(ctx, a, "devs") },
			want: []store.Change{grp("devs"), bob, awsPol}},
		{name: "AttachPolicy role again", do: func() error { return s.AttachPolicy(ctx, attach(store.KindRole, "admins", p.ARN)) },
			want: []store.Change{rol("Admins"), pol}},
		{name: "DeleteRole records its attached policies", do: func() error { return s.DeleteRole(ctx, a, "admins") },
			want: []store.Change{rol("Admins"), pol}},
		{name: "DeleteRole again", do: func() error { return s.DeleteRole(ctx, a, "admins") }, wantErr: store.ErrNotFound},
		{name: "DeleteManagedPolicy", do: func() error { return s.DeleteManagedPolicy(ctx, p.ARN) }, want: []store.Change{pol}},
		{name: "DeleteMFADevice", do: func() error { return s.DeleteMFADevice(ctx, phone.SerialNumber) }, want: []store.Change{dev(phone)}},
		{name: "DeleteMFADevice again", do: func() error { return s.DeleteMFADevice(ctx, phone.SerialNumber) }, wantErr: store.ErrNotFound},

		{name: "PutSigningKey", do: func() error { return s.PutSigningKey(ctx, store.SigningKey{ID: "k1", Algorithm: "Ed25519"}) },
			want: []store.Change{change(store.ChangeSigningKey, "", "k1", "")}},
		{name: "DeleteSigningKey", do: func() error { return s.DeleteSigningKey(ctx, "k1") },
			want: []store.Change{change(store.ChangeSigningKey, "", "k1", "")}},
		{name: "DeleteSigningKey again", do: func() error { return s.DeleteSigningKey(ctx, "k1") }, wantErr: store.ErrNotFound},

		{name: "CreateOrgPolicy", do: func() error { return s.CreateOrgPolicy(ctx, org) }, want: []store.Change{orgKey("p-1")}},
		{name: "CreateOrgPolicy again", do: func() error { return s.CreateOrgPolicy(ctx, org) }, wantErr: store.ErrAlreadyExists},
		{name: "UpdateOrgPolicy", do: func() error {
			org.Content = `{"Statement":[]}`
			return s.UpdateOrgPolicy(ctx, org)
		}, want: []store.Change{orgKey("p-1")}},
		{name: "UpdateOrgPolicy missing", do: func() error { return s.UpdateOrgPolicy(ctx, store.OrgPolicy{ID: "p-none", Name: "n"}) },
			wantErr: store.ErrNotFound},
		{name: "AttachOrgPolicy records policy and target", do: func() error {
			return s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-1", TargetID: a})
		}, want: []store.Change{orgKey("p-1"), orgKey(a)}},
		{name: "AttachOrgPolicy again", do: func() error { return s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-1", TargetID: a}) },
			wantErr: store.ErrAlreadyExists},
		{name: "DeleteOrgPolicy attached", do: func() error { return s.DeleteOrgPolicy(ctx, "p-1") }, wantErr: store.ErrConflict},
		{name: "DetachOrgPolicy", do: func() error { return s.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-1", TargetID: a}) },
			want: []store.Change{orgKey("p-1"), orgKey(a)}},
		{name: "DeleteOrgPolicy", do: func() error { return s.DeleteOrgPolicy(ctx, "p-1") }, want: []store.Change{orgKey("p-1")}},

		{name: "PutSettingIfAbsent stores", do: func() error { _, err := s.PutSettingIfAbsent(ctx, "k", "v"); return err },
			want: []store.Change{setting}},
		{name: "PutSettingIfAbsent present changes nothing", do: func() error { _, err := s.PutSettingIfAbsent(ctx, "k", "w"); return err }},
		{name: "PutSetting same value changes nothing", do: func() error { return s.PutSetting(ctx, "k", "v") }},
		{name: "PutSetting", do: func() error { return s.PutSetting(ctx, "k", "w") }, want: []store.Change{setting}},

		{name: "reads change nothing", do: func() error {
			if _, err := s.GetUser(ctx, a, "bob"); err != nil {
				return err
			}
			if _, err := s.ListUsers(ctx, a, store.ListOptions{}); err != nil {
				return err
			}
			_, err := s.Changes(ctx, 0, 10)
			return err
		}},
	}

	last := lastChange(t, s)
	if last != 0 {
		t.Fatalf("new store: LastChange %d, want 0", last)
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.wantErr != nil && !errors.Is(err, st.wantErr):
			t.Fatalf("%s: got error %v, want %v", st.name, err, st.wantErr)
		case st.wantErr == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.Changes(ctx, last, 100)
		ok(t, err)
		if d := cmp.Diff(st.want, got, ignoreSeqAt, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%s: changes mismatch (-want +got):\n%s", st.name, d)
		}
		next := last
		if len(st.want) > 0 {
			next = last + 1
		}
		for _, c := range got {
			if c.Seq != next {
				t.Fatalf("%s: change %+v has Seq %d, want %d (one new Seq per write)", st.name, c, c.Seq, next)
			}
			if c.At.IsZero() || c.At.Location() != time.UTC || !c.At.Equal(got[0].At) {
				t.Fatalf("%s: change %+v: At must be set, in UTC, the same for one write", st.name, c)
			}
		}
		if n := lastChange(t, s); n != next {
			t.Fatalf("%s: LastChange %d, want %d", st.name, n, next)
		}
		if g := gen(t, s); g != next {
			t.Fatalf("%s: Generation %d, want LastChange %d", st.name, g, next)
		}
		last = next
	}
}

// testChangesPaging: Changes returns changes in Seq order, then in the
// order one write recorded them; limit pages through them without ever
// splitting a write, except a first write larger than limit, which comes
// whole.
func testChangesPaging(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA1", "u1")))                         // 1
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPA1", "g")))                        // 2
	ok(t, s.AddUserToGroup(ctx, acct1, "g", "u1"))                               // 3, 3
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA2", "u2")))                         // 4
	ok(t, s.AddUserToGroup(ctx, acct1, "g", "u2"))                               // 5, 5
	ok(t, s.CreateRole(ctx, role(acct1, "AROA1", "r")))                          // 6
	ok(t, s.PutSigningKey(ctx, store.SigningKey{ID: "k", Algorithm: "Ed25519"})) // 7

	g := change(store.ChangeGroup, acct1, "AGPA1", "g")
	u1, u2 := change(store.ChangeUser, acct1, "AIDA1", "u1"), change(store.ChangeUser, acct1, "AIDA2", "u2")
	type sc struct {
		Seq int64
		C   store.Change
	}
	want := []sc{{1, u1}, {2, g}, {3, g}, {3, u1}, {4, u2}, {5, g}, {5, u2},
		{6, change(store.ChangeRole, acct1, "AROA1", "r")}, {7, change(store.ChangeSigningKey, "", "k", "")}}
	all, err := s.Changes(ctx, 0, 100)
	ok(t, err)
	var got []sc
	for _, c := range all {
		got = append(got, sc{c.Seq, c})
	}
	if d := cmp.Diff(want, got, ignoreSeqAt); d != "" {
		t.Fatalf("all changes (-want +got):\n%s", d)
	}
	same(t, "LastChange", int64(7), lastChange(t, s))

	pages := []struct {
		after    int64
		limit    int
		wantSeqs []int64
	}{
		{0, 1, []int64{1}},
		{0, 2, []int64{1, 2}},
		{0, 3, []int64{1, 2}},         // seq 3 does not fit whole
		{0, 4, []int64{1, 2, 3, 3}},   // it does
		{2, 1, []int64{3, 3}},         // a first write larger than limit comes whole
		{3, 2, []int64{4}},            // seq 5 does not fit whole
		{4, 100, []int64{5, 5, 6, 7}}, // to the end
		{7, 100, nil},                 // nothing newer
		{6, 1, []int64{7}},
	}
	for _, pg := range pages {
		cs, err := s.Changes(ctx, pg.after, pg.limit)
		ok(t, err)
		var seqs []int64
		for _, c := range cs {
			seqs = append(seqs, c.Seq)
		}
		same(t, fmt.Sprintf("Seqs after %d limit %d", pg.after, pg.limit), pg.wantSeqs, seqs)
	}

	// Paging with any limit yields every change once, in order.
	for limit := 1; limit <= 10; limit++ {
		var paged []store.Change
		after := int64(0)
		for {
			cs, err := s.Changes(ctx, after, limit)
			ok(t, err)
			if len(cs) == 0 {
				break
			}
			paged = append(paged, cs...)
			after = cs[len(cs)-1].Seq
		}
		same(t, fmt.Sprintf("paged with limit %d", limit), all, paged)
	}

	for _, limit := range []int{0, -1} {
		if _, err := s.Changes(ctx, 0, limit); err == nil || errors.Is(err, store.ErrChangesPruned) {
			t.Fatalf("limit %d: got %v, want an argument error", limit, err)
		}
	}
}

// testChangesPruned: PruneChanges deletes the changes older than a time, as
// a prefix of the feed; Changes after a position in or before the pruned part
// (or beyond the newest change) returns ErrChangesPruned; new writes continue
// the Seqs.
func testChangesPruned(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	for i := range 3 {
		ok(t, s.CreateUser(ctx, user(acct1, fmt.Sprint("AIDAOLD", i), fmt.Sprint("old", i))))
	}
	// At has millisecond resolution on SQLite: make the next writes later.
	time.Sleep(5 * time.Millisecond)
	for i := range 2 {
		ok(t, s.CreateUser(ctx, user(acct1, fmt.Sprint("AIDANEW", i), fmt.Sprint("new", i))))
	}
	all, err := s.Changes(ctx, 0, 100)
	ok(t, err)
	same(t, "changes", 5, len(all))
	for i := 1; i < len(all); i++ {
		if all[i].At.Before(all[i-1].At) {
			t.Fatalf("At goes back: %v then %v", all[i-1].At, all[i].At)
		}
	}
	cut := all[3].At
	if !all[2].At.Before(cut) {
		t.Fatalf("writes 5ms apart have At %v and %v", all[2].At, cut)
	}

	n, err := s.PruneChanges(ctx, all[0].At)
	ok(t, err)
	same(t, "pruned before the oldest", int64(0), n)
	n, err = s.PruneChanges(ctx, cut)
	ok(t, err)
	same(t, "pruned", int64(3), n)
	n, err = s.PruneChanges(ctx, cut)
	ok(t, err)
	same(t, "pruned again", int64(0), n)
	same(t, "LastChange after pruning", int64(5), lastChange(t, s))

	for _, after := range []int64{0, 1, 2, 6, 100} {
		_, err := s.Changes(ctx, after, 10)
		isErr(t, err, store.ErrChangesPruned, fmt.Sprint("changes after ", after))
	}
	cs, err := s.Changes(ctx, 3, 10)
	ok(t, err)
	same(t, "retained", all[3:], cs)
	cs, err = s.Changes(ctx, 5, 10)
	ok(t, err)
	same(t, "nothing newer", 0, len(cs))

	// Pruning everything keeps the position: a tailer at the newest change
	// goes on, one behind it must reload.
	n, err = s.PruneChanges(ctx, time.Now().Add(24*time.Hour))
	ok(t, err)
	same(t, "pruned the rest", int64(2), n)
	cs, err = s.Changes(ctx, 5, 10)
	ok(t, err)
	same(t, "nothing newer after pruning everything", 0, len(cs))
	_, err = s.Changes(ctx, 4, 10)
	isErr(t, err, store.ErrChangesPruned, "changes after 4 with everything pruned")
	_, err = s.Changes(ctx, 6, 10)
	isErr(t, err, store.ErrChangesPruned, "changes beyond the newest with everything pruned")
	isErr(t, s.CreateUser(ctx, user(acct1, "AIDAOLD0", "again")), store.ErrAlreadyExists, "failed write")
	ok(t, s.CreateUser(ctx, user(acct1, "AIDANEXT", "next")))
	cs, err = s.Changes(ctx, 5, 10)
	ok(t, err)
	if len(cs) != 1 || cs[0].Seq != 6 || cs[0].Key != "AIDANEXT" {
		t.Fatalf("after pruning everything, the next write: got %+v, want one change with Seq 6", cs)
	}
	_, err = s.Changes(ctx, 4, 10)
	isErr(t, err, store.ErrChangesPruned, "changes after 4")
}

// testChangesConcurrentTail: a tailer reading while many goroutines write
// sees every Seq exactly once, in order, and never a gap.
func testChangesConcurrentTail(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errc := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("u%d-%d", w, i)
				if err := s.CreateUser(ctx, user(acct1, "AIDA"+name, name)); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]bool{}
	after := int64(0)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := s.Changes(ctx, after, 7)
		if err != nil {
			t.Fatalf("changes after %d: %v", after, err)
		}
		for _, c := range cs {
			if c.Seq != after+1 {
				t.Fatalf("after %d got Seq %d", after, c.Seq)
			}
			after = c.Seq
			seen[c.Key] = true
		}
		if finished && len(cs) == 0 {
			break
		}
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	same(t, "changes seen", workers*each, len(seen))
	same(t, "LastChange", int64(workers*each), lastChange(t, s))
}

// testChangeHook: the hook runs after each write that recorded changes,
// before the write returns, and not for writes that failed or changed
// nothing.
func testChangeHook(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	var calls atomic.Int64
	s.SetChangeHook(func() { calls.Add(1) })
	defer s.SetChangeHook(nil)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAHOOK", "hook")))
	if n := calls.Load(); n != 1 {
		t.Fatalf("hook ran %d times after one write", n)
	}
	isErr(t, s.CreateUser(ctx, user(acct1, "AIDAHOOK2", "HOOK")), store.ErrAlreadyExists, "duplicate user")
	ok(t, s.PutSetting(ctx, "hook.test", "v"))
	ok(t, s.PutSetting(ctx, "hook.test", "v")) // unchanged: nothing recorded
	if n := calls.Load(); n != 2 {
		t.Fatalf("hook ran %d times, want 2 (failed and no-op writes do not count)", n)
	}
	s.SetChangeHook(nil)
	ok(t, s.DeleteUser(ctx, acct1, "hook"))
	if n := calls.Load(); n != 2 {
		t.Fatalf("removed hook ran")
	}
}

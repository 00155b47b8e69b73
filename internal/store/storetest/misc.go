package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// testOrg: Organizations semantics where store.go is silent: policy names are
// unique (DuplicatePolicyException), attaching twice is ErrAlreadyExists
// (DuplicatePolicyAttachmentException), detaching what is not attached is
// ErrNotFound (PolicyNotAttachedException), deleting an attached policy is
// ErrConflict (PolicyInUseException).
func testOrg(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	full := store.OrgPolicy{ID: "p-FullAWSAccess", Name: "FullAWSAccess", Description: "full", Type: "SERVICE_CONTROL_POLICY",
		Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, AWSManaged: true}
	deny := store.OrgPolicy{ID: "p-12345678", Name: "DenyS3", Type: "SERVICE_CONTROL_POLICY", Content: `{"Statement":[]}`}
	ok(t, s.CreateOrgPolicy(ctx, full))
	ok(t, s.CreateOrgPolicy(ctx, deny))
	isErr(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: deny.ID, Name: "x", Type: "SERVICE_CONTROL_POLICY"}), store.ErrAlreadyExists, "duplicate id")
	isErr(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-other", Name: "DenyS3", Type: "SERVICE_CONTROL_POLICY"}), store.ErrAlreadyExists, "duplicate name")

	got, err := s.GetOrgPolicy(ctx, deny.ID)
	ok(t, err)
	same(t, "org policy", deny, got)
	_, err = s.GetOrgPolicy(ctx, "p-none")
	isErr(t, err, store.ErrNotFound, "missing org policy")
	ps, err := s.ListOrgPolicies(ctx, "SERVICE_CONTROL_POLICY", store.ListOptions{})
	ok(t, err)
	same(t, "org policies by name", []store.OrgPolicy{deny, full}, ps)

	deny.Content = `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
	deny.Description = "no s3"
	ok(t, s.UpdateOrgPolicy(ctx, deny))
	got, err = s.GetOrgPolicy(ctx, deny.ID)
	ok(t, err)
	same(t, "updated org policy", deny, got)
	isErr(t, s.UpdateOrgPolicy(ctx, store.OrgPolicy{ID: "p-none", Name: "n"}), store.ErrNotFound, "update missing org policy")

	atts := []store.OrgAttachment{
		{PolicyID: full.ID, TargetID: "r-abcd"},
		{PolicyID: deny.ID, TargetID: acct2},
		{PolicyID: deny.ID, TargetID: "ou-abcd-12345678"},
	}
	for _, a := range atts {
		ok(t, s.AttachOrgPolicy(ctx, a))
	}
	isErr(t, s.AttachOrgPolicy(ctx, atts[1]), store.ErrAlreadyExists, "attach twice")
	isErr(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-none", TargetID: acct2}), store.ErrNotFound, "attach missing policy")
	as, err := s.ListOrgAttachments(ctx)
	ok(t, err)
	same(t, "org attachments, by policy id then target", []store.OrgAttachment{atts[1], atts[2], atts[0]}, as)

	isErr(t, s.DeleteOrgPolicy(ctx, deny.ID), store.ErrConflict, "delete attached org policy")
	ok(t, s.DetachOrgPolicy(ctx, atts[1]))
	isErr(t, s.DetachOrgPolicy(ctx, atts[1]), store.ErrNotFound, "detach twice")
	ok(t, s.DetachOrgPolicy(ctx, atts[2]))
	ok(t, s.DeleteOrgPolicy(ctx, deny.ID))
	_, err = s.GetOrgPolicy(ctx, deny.ID)
	isErr(t, err, store.ErrNotFound, "deleted org policy")
	isErr(t, s.DeleteOrgPolicy(ctx, deny.ID), store.ErrNotFound, "delete missing org policy")
	as, err = s.ListOrgAttachments(ctx)
	ok(t, err)
	same(t, "remaining attachments", []store.OrgAttachment{atts[0]}, as)
}

func testSettings(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	_, err := s.GetSetting(ctx, "org-id")
	isErr(t, err, store.ErrNotFound, "missing setting")

	v, err := s.PutSettingIfAbsent(ctx, "org-id", "o-first")
	ok(t, err)
	same(t, "first put", "o-first", v)
	v, err = s.PutSettingIfAbsent(ctx, "org-id", "o-second")
	ok(t, err)
	same(t, "second put returns the stored value", "o-first", v)
	v, err = s.GetSetting(ctx, "org-id")
	ok(t, err)
	same(t, "stored", "o-first", v)

	ok(t, s.PutSetting(ctx, "org-id", "o-third"))
	v, err = s.GetSetting(ctx, "org-id")
	ok(t, err)
	same(t, "overwritten", "o-third", v)
	ok(t, s.PutSetting(ctx, "empty", ""))
	v, err = s.GetSetting(ctx, "empty")
	ok(t, err)
	same(t, "empty value", "", v)

	// Concurrent first starts agree on one value, and only the one that
	// stored it records a change.
	last := lastChange(t, s)
	const n = 16
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := s.PutSettingIfAbsent(ctx, "race", fmt.Sprint("v", i))
			if err != nil {
				t.Errorf("PutSettingIfAbsent: %v", err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("callers got different values: %q", got)
		}
	}
	cs, err := s.Changes(ctx, last, 100)
	ok(t, err)
	same(t, "changes of the race", []store.Change{{Seq: last + 1, Kind: store.ChangeSetting, Key: "race"}}, cs, ignoreAt)
}

// testGeneration: Generation is LastChange: every write that can change an
// authorization decision or a cached value increases it (testChangesRecorded
// says by how much); reads, failed writes, TouchAccessKey, role last-use
// updates and writes that change nothing do not.
func testGeneration(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPA1", "/", "P")
	d := mfa(acct1, "phone")
	org := store.OrgPolicy{ID: "p-1", Name: "scp", Type: "SERVICE_CONTROL_POLICY", Content: "{}"}
	bumps := []struct {
		name string
		do   func() error
	}{
		{"CreateAccount", func() error { return s.CreateAccount(ctx, store.Account{ID: acct1, Name: "a", Email: "a@example.com"}) }},
		{"CreateUser", func() error { return s.CreateUser(ctx, user(acct1, "AIDA1", "alice")) }},
		{"UpdateUser", func() error {
			u := user(acct1, "AIDA1", "alice")
			u.PermissionsBoundary = p.ARN
			return s.UpdateUser(ctx, u)
		}},
		{"CreateGroup", func() error { return s.CreateGroup(ctx, group(acct1, "AGPA1", "dev")) }},
		{"UpdateGroup", func() error { return s.UpdateGroup(ctx, group(acct1, "AGPA1", "devs")) }},
		{"AddUserToGroup", func() error { return s.AddUserToGroup(ctx, acct1, "devs", "alice") }},
		{"RemoveUserFromGroup", func() error { return s.RemoveUserFromGroup(ctx, acct1, "devs", "alice") }},
		{"CreateRole", func() error { return s.CreateRole(ctx, role(acct1, "AROA1", "admin")) }},
		{"UpdateRole", func() error {
			r := role(acct1, "AROA1", "admin")
			r.TrustPolicy = "{}"
			return s.UpdateRole(ctx, r)
		}},
		{"PutInlinePolicy", func() error {
			return s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindRole, Owner: "admin", Name: "p", Document: "{}"})
		}},
		{"PutInlinePolicy again", func() error {
			return s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindRole, Owner: "admin", Name: "p", Document: `{"x":1}`})
		}},
		{"DeleteInlinePolicy", func() error { return s.DeleteInlinePolicy(ctx, acct1, store.KindRole, "admin", "p") }},
		{"CreateManagedPolicy", func() error { return s.CreateManagedPolicy(ctx, p, v) }},
		{"CreatePolicyVersion", func() error {
			return s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: p.ARN, VersionID: "v2", Document: "{}"})
		}},
		{"UpdateManagedPolicy", func() error {
			p2 := p
			p2.DefaultVersionID = "v2"
			return s.UpdateManagedPolicy(ctx, p2)
		}},
		{"DeletePolicyVersion", func() error { return s.DeletePolicyVersion(ctx, p.ARN, "v1") }},
		{"AttachPolicy", func() error {
			return s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindRole, Owner: "admin", PolicyARN: p.ARN})
		}},
		{"DetachPolicy", func() error {
			return s.DetachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindRole, Owner: "admin", PolicyARN: p.ARN})
		}},
		{"DeleteManagedPolicy", func() error { return s.DeleteManagedPolicy(ctx, p.ARN) }},
		{"CreateAccessKey", func() error {
			return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Account: acct1, UserName: "alice", UserID: "AIDA1", Status: "Active"})
		}},
		{"UpdateAccessKey", func() error { return s.UpdateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Status: "Inactive"}) }},
		{"DeleteAccessKey", func() error { return s.DeleteAccessKey(ctx, "AKIA1") }},
		{"CreateMFADevice", func() error { return s.CreateMFADevice(ctx, d) }},
		{"UpdateMFADevice", func() error {
			d2 := d
			d2.UserName, d2.EnabledAt = "alice", t0
			return s.UpdateMFADevice(ctx, d2)
		}},
		{"DeleteMFADevice", func() error { return s.DeleteMFADevice(ctx, d.SerialNumber) }},
		{"PutSigningKey", func() error { return s.PutSigningKey(ctx, store.SigningKey{ID: "k1", Algorithm: "Ed25519"}) }},
		{"CreateOrgPolicy", func() error { return s.CreateOrgPolicy(ctx, org) }},
		{"UpdateOrgPolicy", func() error {
			o := org
			o.Content = `{"Statement":[]}`
			return s.UpdateOrgPolicy(ctx, o)
		}},
		{"AttachOrgPolicy", func() error { return s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: org.ID, TargetID: acct1}) }},
		{"DetachOrgPolicy", func() error { return s.DetachOrgPolicy(ctx, store.OrgAttachment{PolicyID: org.ID, TargetID: acct1}) }},
		{"DeleteOrgPolicy", func() error { return s.DeleteOrgPolicy(ctx, org.ID) }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, acct1, "alice") }},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, acct1, "devs") }},
		{"DeleteRole", func() error { return s.DeleteRole(ctx, acct1, "admin") }},
		{"DeleteSigningKey", func() error { return s.DeleteSigningKey(ctx, "k1") }},
		{"PutSetting", func() error { return s.PutSetting(ctx, "k", "v") }},
		{"PutSettingIfAbsent", func() error { _, err := s.PutSettingIfAbsent(ctx, "k2", "v"); return err }},
	}
	for _, b := range bumps {
		g := gen(t, s)
		if err := b.do(); err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if g2 := gen(t, s); g2 <= g || g2 != lastChange(t, s) {
			t.Fatalf("%s: generation %d -> %d, want an increase to LastChange", b.name, g, g2)
		}
	}

	ok(t, s.CreateUser(ctx, user(acct1, "AIDA2", "bob")))
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA2", Account: acct1, UserName: "bob", UserID: "AIDA2", Status: "Active"}))
	ok(t, s.CreateMFADevice(ctx, d))
	ok(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 42))
	r := role(acct1, "AROA2", "r2")
	ok(t, s.CreateRole(ctx, r))
	noBumps := []struct {
		name string
		do   func() error
	}{
		{"TouchAccessKey", func() error { return s.TouchAccessKey(ctx, "AKIA2", t0, "sts", "us-east-1") }},
		{"UpdateRole last use", func() error {
			r.LastUsedAt, r.LastUsedRegion = at(time.Hour), "eu-west-1"
			return s.UpdateRole(ctx, r)
		}},
		{"AdvanceMFACounter replay", func() error {
			if err := s.AdvanceMFACounter(ctx, d.SerialNumber, 42); !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("got %v, want ErrConflict", err)
			}
			return nil
		}},
		{"PutSetting same value", func() error { return s.PutSetting(ctx, "k", "v") }},
		{"PutSettingIfAbsent present", func() error { _, err := s.PutSettingIfAbsent(ctx, "k2", "w"); return err }},
		{"GetUser", func() error { _, err := s.GetUser(ctx, acct1, "bob"); return err }},
		{"ListUsers", func() error { _, err := s.ListUsers(ctx, acct1, store.ListOptions{}); return err }},
		{"failed CreateUser", func() error {
			if err := s.CreateUser(ctx, user(acct1, "AIDA3", "BOB")); !errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("got %v, want ErrAlreadyExists", err)
			}
			return nil
		}},
		{"failed DeleteRole", func() error {
			if err := s.DeleteRole(ctx, acct1, "nobody"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("got %v, want ErrNotFound", err)
			}
			return nil
		}},
	}
	for _, b := range noBumps {
		g := gen(t, s)
		if err := b.do(); err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if g2 := gen(t, s); g2 != g {
			t.Fatalf("%s: generation %d -> %d, want no change", b.name, g, g2)
		}
	}
}

// testConcurrentWriters: many goroutines writing at once all succeed; a
// backend's lock contention (SQLITE_BUSY, serialization failures) must never
// surface.
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPA1", "/", "Shared")
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	d := mfa(acct1, "shared")
	ok(t, s.CreateMFADevice(ctx, d))
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errc := make(chan error, workers*each*8)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("u%d-%d", w, i)
				steps := []func() error{
					func() error { return s.CreateUser(ctx, user(acct1, "AIDA"+name, name)) },
					func() error {
						return s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: store.KindUser, Owner: name, Name: "p", Document: "{}"})
					},
					func() error {
						return s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: name, PolicyARN: p.ARN})
					},
					func() error {
						return s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA" + name, Account: acct1, UserName: name, Status: "Active"})
					},
					func() error { return s.TouchAccessKey(ctx, "AKIA"+name, at(time.Duration(i)), "sts", "us-east-1") },
					func() error { _, err := s.PutSettingIfAbsent(ctx, "k", name); return err },
					func() error {
						if err := s.AdvanceMFACounter(ctx, d.SerialNumber, int64(w*each+i+1)); err != nil && !errors.Is(err, store.ErrConflict) {
							return err
						}
						return nil
					},
					func() error { _, err := s.ListPolicyAttachments(ctx, p.ARN); return err },
					func() error { _, err := s.GetAccessKey(ctx, "AKIA"+name); return err },
				}
				for _, step := range steps {
					if err := step(); err != nil {
						errc <- fmt.Errorf("%s: %w", name, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	us, err := s.ListUsers(ctx, acct1, store.ListOptions{})
	ok(t, err)
	same(t, "users", workers*each, len(us))
	as, err := s.ListPolicyAttachments(ctx, p.ARN)
	ok(t, err)
	same(t, "attachments", workers*each, len(as))
}

// testTimes: times come back equal (time.Time.Equal) whatever the zone they
// were stored in; zero times stay zero; dates far from now survive.
func testTimes(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	cases := []time.Time{
		{},
		t0,
		time.Unix(0, 0),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("minus", -9*3600-1800)),
	}
	for i, tm := range cases {
		k := store.SigningKey{ID: fmt.Sprint("k", i), Algorithm: "Ed25519", CreatedAt: at(time.Duration(i)), SignUntil: tm, VerifyUntil: tm}
		ok(t, s.PutSigningKey(ctx, k))
		r := role(acct1, fmt.Sprint("AROA", i), fmt.Sprint("r", i))
		r.CreatedAt, r.LastUsedAt = tm, tm
		ok(t, s.CreateRole(ctx, r))
		got, err := s.GetRole(ctx, acct1, r.Name)
		ok(t, err)
		same(t, "role times", r, got)
		if !tm.IsZero() && got.CreatedAt.Location() != time.UTC {
			t.Fatalf("times must come back in UTC, got %v", got.CreatedAt.Location())
		}
	}
	ks, err := s.ListSigningKeys(ctx)
	ok(t, err)
	for i, k := range ks {
		if !k.SignUntil.Equal(cases[i]) || !k.VerifyUntil.Equal(cases[i]) {
			t.Fatalf("key %d: got %v, want %v", i, k.SignUntil, cases[i])
		}
	}
}

// testReopen: everything written, including coalesced access key and role use,
// survives Close and reopening.
func testReopen(t *testing.T, s store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateAccount(ctx, store.Account{ID: acct1, Name: "m", Email: "m@example.com", CreatedAt: t0, Management: true}))
	u := user(acct1, "AIDA1", "Alice")
	u.Tags = []store.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}
	ok(t, s.CreateUser(ctx, u))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPA1", "dev")))
	ok(t, s.AddUserToGroup(ctx, acct1, "dev", "alice"))
	p, v := managed(acct1, "ANPA1", "/", "P")
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	ok(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: p.ARN}))
	k := store.AccessKey{ID: "AKIA1", Account: acct1, UserName: "Alice", UserID: "AIDA1", Secret: []byte{0, 1, 0xff}, Status: "Active", CreatedAt: t0}
	ok(t, s.CreateAccessKey(ctx, k))
	ok(t, s.TouchAccessKey(ctx, k.ID, at(time.Hour), "s3", "eu-central-1"))
	rl := role(acct1, "AROAREOPEN", "Reopened")
	ok(t, s.CreateRole(ctx, rl))
	ok(t, s.TouchRole(ctx, rl.ID, at(2*time.Hour), "ap-south-1"))
	d := mfa(acct1, "phone")
	ok(t, s.CreateMFADevice(ctx, d))
	ok(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 77))
	_, err := s.PutSettingIfAbsent(ctx, "org-id", "o-1")
	ok(t, err)
	g := gen(t, s)
	feed, err := s.Changes(ctx, 0, 100)
	ok(t, err)

	s = reopen(t, s)

	same(t, "LastChange after reopen", g, lastChange(t, s))
	feed2, err := s.Changes(ctx, 0, 100)
	ok(t, err)
	same(t, "feed after reopen", feed, feed2)

	a, err := s.GetAccount(ctx, acct1)
	ok(t, err)
	same(t, "account", store.Account{ID: acct1, Name: "m", Email: "m@example.com", CreatedAt: t0, Management: true}, a)
	gu, err := s.GetUser(ctx, acct1, "alice")
	ok(t, err)
	same(t, "user", u, gu)
	members, err := s.ListGroupMembers(ctx, acct1, "dev", store.ListOptions{})
	ok(t, err)
	same(t, "members", []string{"Alice"}, names(members, userName))
	as, err := s.ListPolicyAttachments(ctx, p.ARN)
	ok(t, err)
	same(t, "attachments", []store.Attachment{{Account: acct1, Kind: store.KindUser, Owner: "Alice", PolicyARN: p.ARN}}, as)
	gk, err := s.GetAccessKey(ctx, k.ID)
	ok(t, err)
	k.LastUsedAt, k.LastUsedService, k.LastUsedRegion = at(time.Hour), "s3", "eu-central-1"
	same(t, "access key with last use", k, gk)
	gr, err := s.GetRole(ctx, acct1, "reopened")
	ok(t, err)
	rl.LastUsedAt, rl.LastUsedRegion = at(2*time.Hour), "ap-south-1"
	same(t, "role with last use", rl, gr)
	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 77), store.ErrConflict, "replay after reopen")
	val, err := s.GetSetting(ctx, "org-id")
	ok(t, err)
	same(t, "setting", "o-1", val)
	if g2 := gen(t, s); g2 < g {
		t.Fatalf("generation went back from %d to %d", g, g2)
	}
}

// testPopulation: Population counts every account's users and roles, at
// least those that exist and at most those ever created.
func testPopulation(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	n, err := s.Population(ctx)
	ok(t, err)
	if n != 0 {
		t.Fatalf("Population of an empty store = %d, want 0", n)
	}
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA1", "alice")))
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA2", "bob")))
	ok(t, s.CreateUser(ctx, user(acct2, "AIDA3", "carol")))
	ok(t, s.CreateRole(ctx, role(acct1, "AROA1", "admin")))
	ok(t, s.CreateRole(ctx, role(acct2, "AROA2", "admin")))
	n, err = s.Population(ctx)
	ok(t, err)
	if n != 5 {
		t.Fatalf("Population of 3 users and 2 roles = %d, want 5", n)
	}
	ok(t, s.DeleteUser(ctx, acct1, "bob"))
	n, err = s.Population(ctx)
	ok(t, err)
	if n < 4 || n > 5 {
		t.Fatalf("Population after a user's deletion = %d, want 4 or 5", n)
	}
}

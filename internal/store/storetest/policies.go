package storetest

import (
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testInlinePolicies(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDA1", "Alice")))
	ok(t, s.CreateGroup(ctx, group(acct1, "AGPA1", "Alice"))) // same name, other kind
	ok(t, s.CreateRole(ctx, role(acct1, "AROA1", "Alice")))

	for _, k := range []store.PrincipalKind{store.KindUser, store.KindGroup, store.KindRole} {
		t.Run(string(k), func(t *testing.T) {
			doc := `{"Statement":[{"Effect":"Allow","Action":"` + string(k) + `:*","Resource":"*"}]}`
			ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: k, Owner: "alice", Name: "ReadOnly", Document: doc}))
			ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: k, Owner: "ALICE", Name: "admin", Document: "{}"}))
			want := store.InlinePolicy{Account: acct1, Kind: k, Owner: "Alice", Name: "ReadOnly", Document: doc}
			got, err := s.GetInlinePolicy(ctx, acct1, k, "ALICE", "readonly")
			ok(t, err)
			same(t, "inline policy", want, got)

			// Put replaces the document; the name matches case-insensitively
			// and keeps the spelling it was created with.
			ok(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: k, Owner: "alice", Name: "READONLY", Document: "{}"}))
			got, err = s.GetInlinePolicy(ctx, acct1, k, "alice", "ReadOnly")
			ok(t, err)
			want.Document = "{}"
			same(t, "replaced inline policy", want, got)

			ps, err := s.ListInlinePolicies(ctx, acct1, k, "alice")
			ok(t, err)
			same(t, "list", []store.InlinePolicy{
				{Account: acct1, Kind: k, Owner: "Alice", Name: "admin", Document: "{}"},
				{Account: acct1, Kind: k, Owner: "Alice", Name: "ReadOnly", Document: "{}"},
			}, ps)

			ok(t, s.DeleteInlinePolicy(ctx, acct1, k, "alice", "Admin"))
			_, err = s.GetInlinePolicy(ctx, acct1, k, "alice", "admin")
			isErr(t, err, store.ErrNotFound, "get deleted inline policy")
			isErr(t, s.DeleteInlinePolicy(ctx, acct1, k, "alice", "admin"), store.ErrNotFound, "delete missing inline policy")

			isErr(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct1, Kind: k, Owner: "nobody", Name: "p", Document: "{}"}),
				store.ErrNotFound, "put on a missing owner")
			isErr(t, s.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct2, Kind: k, Owner: "alice", Name: "p", Document: "{}"}),
				store.ErrNotFound, "put on an owner in another account")
			_, err = s.ListInlinePolicies(ctx, acct1, k, "nobody")
			isErr(t, err, store.ErrNotFound, "list for a missing owner")
			_, err = s.GetInlinePolicy(ctx, acct1, k, "nobody", "ReadOnly")
			isErr(t, err, store.ErrNotFound, "get for a missing owner")
		})
	}
	// Each kind has its own policies.
	ps, err := s.ListInlinePolicies(ctx, acct1, store.KindUser, "alice")
	ok(t, err)
	same(t, "user policies", 1, len(ps))
	_, err = s.ListInlinePolicies(ctx, acct1, store.PrincipalKind("bogus"), "alice")
	isErr(t, err, store.ErrNotFound, "unknown kind")
}

func testManagedPolicies(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v := managed(acct1, "ANPA1", "/team/", "ReadS3")
	p.Description = "read s3"
	p.Tags = []store.Tag{{Key: "k", Value: "v"}}
	_, err := s.GetManagedPolicy(ctx, p.ARN)
	isErr(t, err, store.ErrNotFound, "get missing policy")

	g := gen(t, s)
	ok(t, s.CreateManagedPolicy(ctx, p, v))
	if g2 := gen(t, s); g2 <= g {
		t.Fatalf("generation %d -> %d on CreateManagedPolicy", g, g2)
	}
	got, err := s.GetManagedPolicy(ctx, p.ARN)
	ok(t, err)
	same(t, "policy", p, got)
	// The first version is stored with the policy.
	gv, err := s.GetPolicyVersion(ctx, p.ARN, "v1")
	ok(t, err)
	same(t, "v1", v, gv)

	// Policy names are unique case-insensitively per account, whatever the path.
	p2, v2 := managed(acct1, "ANPA2", "/other/", "reads3")
	isErr(t, s.CreateManagedPolicy(ctx, p2, v2), store.ErrAlreadyExists, "create policy differing in case")
	p3, v3 := managed(acct1, "ANPA1", "/", "Other")
	isErr(t, s.CreateManagedPolicy(ctx, p3, v3), store.ErrAlreadyExists, "create policy with a taken id")
	// A failed create leaves nothing behind, neither policy nor version.
	_, err = s.GetManagedPolicy(ctx, p3.ARN)
	isErr(t, err, store.ErrNotFound, "policy of a failed create")
	_, err = s.GetPolicyVersion(ctx, p3.ARN, "v1")
	isErr(t, err, store.ErrNotFound, "version of a failed create")
	vs, err := s.ListPolicyVersions(ctx, p.ARN)
	ok(t, err)
	same(t, "versions", []store.PolicyVersion{v}, vs)

	// The ARN contains the case-insensitive name, so it matches case-insensitively too.
	got, err = s.GetManagedPolicy(ctx, policyARN(acct1, "/team/", "READS3"))
	ok(t, err)
	same(t, "policy by ARN in other case", p, got)

	// AWS managed policies live under account "aws".
	ap, av := managed("aws", "ANPAAWS", "/", "ReadOnlyAccess")
	ap.ARN, av.PolicyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"
	ok(t, s.CreateManagedPolicy(ctx, ap, av))
	op, ov := managed(acct2, "ANPA3", "/", "ReadS3")
	ok(t, s.CreateManagedPolicy(ctx, op, ov))
	aws, err := s.ListManagedPolicies(ctx, "aws", store.ListOptions{})
	ok(t, err)
	same(t, "aws managed", []store.ManagedPolicy{ap}, aws)
	mine, err := s.ListManagedPolicies(ctx, acct1, store.ListOptions{})
	ok(t, err)
	same(t, "account policies", []store.ManagedPolicy{p}, mine)

	// Update writes description, default version, updated time and tags.
	ok(t, s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: p.ARN, VersionID: "v2", Document: "{}", CreatedAt: at(time.Hour)}))
	p.DefaultVersionID = "v2"
	p.Description = "changed"
	p.UpdatedAt = at(time.Hour)
	p.Tags = nil
	ok(t, s.UpdateManagedPolicy(ctx, p))
	got, err = s.GetManagedPolicy(ctx, p.ARN)
	ok(t, err)
	same(t, "updated policy", p, got)
	bad := p
	bad.DefaultVersionID = "v9"
	isErr(t, s.UpdateManagedPolicy(ctx, bad), store.ErrNotFound, "default version that does not exist")
	missing, _ := managed(acct1, "ANPAX", "/", "Missing")
	isErr(t, s.UpdateManagedPolicy(ctx, missing), store.ErrNotFound, "update missing policy")

	// Delete removes the policy and all its versions.
	ok(t, s.DeleteManagedPolicy(ctx, p.ARN))
	_, err = s.GetManagedPolicy(ctx, p.ARN)
	isErr(t, err, store.ErrNotFound, "get deleted policy")
	_, err = s.GetPolicyVersion(ctx, p.ARN, "v2")
	isErr(t, err, store.ErrNotFound, "version of deleted policy")
	_, err = s.ListPolicyVersions(ctx, p.ARN)
	isErr(t, err, store.ErrNotFound, "versions of deleted policy")
	isErr(t, s.DeleteManagedPolicy(ctx, p.ARN), store.ErrNotFound, "delete missing policy")
	// The name is free again and the new policy starts with v1 only.
	p4, v4 := managed(acct1, "ANPA4", "/team/", "ReadS3")
	ok(t, s.CreateManagedPolicy(ctx, p4, v4))
	vs, err = s.ListPolicyVersions(ctx, p4.ARN)
	ok(t, err)
	same(t, "versions of recreated policy", []store.PolicyVersion{v4}, vs)
}

func testPolicyVersions(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p, v1 := managed(acct1, "ANPA1", "/", "P")
	ok(t, s.CreateManagedPolicy(ctx, p, v1))

	var want []store.PolicyVersion
	want = append(want, v1)
	for i, id := range []string{"v2", "v3", "v10"} {
		v := store.PolicyVersion{PolicyARN: p.ARN, VersionID: id, Document: `{"n":"` + id + `"}`, CreatedAt: at(time.Duration(i+1) * time.Minute)}
		ok(t, s.CreatePolicyVersion(ctx, v))
		want = append(want, v)
	}
	isErr(t, s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: p.ARN, VersionID: "v2", Document: "{}"}), store.ErrAlreadyExists, "duplicate version")
	isErr(t, s.CreatePolicyVersion(ctx, store.PolicyVersion{PolicyARN: policyARN(acct1, "/", "Nope"), VersionID: "v2", Document: "{}"}), store.ErrNotFound, "version of missing policy")

	// Versions list in version order, numerically.
	vs, err := s.ListPolicyVersions(ctx, p.ARN)
	ok(t, err)
	same(t, "versions", want, vs)
	got, err := s.GetPolicyVersion(ctx, p.ARN, "v10")
	ok(t, err)
	same(t, "v10", want[3], got)
	_, err = s.GetPolicyVersion(ctx, p.ARN, "v4")
	isErr(t, err, store.ErrNotFound, "missing version")

	// CreatePolicyVersion does not change the default.
	gp, err := s.GetManagedPolicy(ctx, p.ARN)
	ok(t, err)
	same(t, "default", "v1", gp.DefaultVersionID)

	// AWS refuses to delete the default version (DeleteConflict).
	isErr(t, s.DeletePolicyVersion(ctx, p.ARN, "v1"), store.ErrConflict, "delete default version")
	ok(t, s.DeletePolicyVersion(ctx, p.ARN, "v2"))
	isErr(t, s.DeletePolicyVersion(ctx, p.ARN, "v2"), store.ErrNotFound, "delete missing version")
	isErr(t, s.DeletePolicyVersion(ctx, policyARN(acct1, "/", "Nope"), "v2"), store.ErrNotFound, "delete version of missing policy")
	gp.DefaultVersionID = "v3"
	ok(t, s.UpdateManagedPolicy(ctx, gp))
	ok(t, s.DeletePolicyVersion(ctx, p.ARN, "v1"))
	vs, err = s.ListPolicyVersions(ctx, p.ARN)
	ok(t, err)
	same(t, "versions after deletes", []store.PolicyVersion{want[2], want[3]}, vs)
}

func testAttachments(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ap, av := managed("aws", "ANPAAWS", "/", "ReadOnlyAccess")
	ap.ARN, av.PolicyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"
	ok(t, s.CreateManagedPolicy(ctx, ap, av))
	p, v := managed(acct1, "ANPA1", "/", "Mine")
	ok(t, s.CreateManagedPolicy(ctx, p, v))

	for _, a := range []string{acct1, acct2} {
		ok(t, s.CreateUser(ctx, user(a, "AIDA"+a, "Alice")))
		ok(t, s.CreateGroup(ctx, group(a, "AGPA"+a, "Dev")))
		ok(t, s.CreateRole(ctx, role(a, "AROA"+a, "Admin")))
	}
	attach := func(a store.Attachment) {
		t.Helper()
		ok(t, s.AttachPolicy(ctx, a))
	}
	attach(store.Attachment{Account: acct2, Kind: store.KindRole, Owner: "admin", PolicyARN: ap.ARN})
	attach(store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: ap.ARN})
	attach(store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "ALICE", PolicyARN: ap.ARN}) // idempotent
	attach(store.Attachment{Account: acct1, Kind: store.KindGroup, Owner: "dev", PolicyARN: ap.ARN})
	attach(store.Attachment{Account: acct1, Kind: store.KindRole, Owner: "admin", PolicyARN: ap.ARN})
	attach(store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: p.ARN})

	got, err := s.ListAttachments(ctx, acct1, store.KindUser, "alice")
	ok(t, err)
	same(t, "user attachments", []store.Attachment{
		{Account: acct1, Kind: store.KindUser, Owner: "Alice", PolicyARN: p.ARN},
		{Account: acct1, Kind: store.KindUser, Owner: "Alice", PolicyARN: ap.ARN},
	}, got)
	got, err = s.ListAttachments(ctx, acct2, store.KindGroup, "dev")
	ok(t, err)
	same(t, "empty attachments", 0, len(got))

	// Every attachment of one policy, across accounts, sorted by account, kind, owner.
	got, err = s.ListPolicyAttachments(ctx, "arn:aws:iam::aws:policy/readonlyaccess")
	ok(t, err)
	same(t, "policy attachments", []store.Attachment{
		{Account: acct1, Kind: store.KindGroup, Owner: "Dev", PolicyARN: ap.ARN},
		{Account: acct1, Kind: store.KindRole, Owner: "Admin", PolicyARN: ap.ARN},
		{Account: acct1, Kind: store.KindUser, Owner: "Alice", PolicyARN: ap.ARN},
		{Account: acct2, Kind: store.KindRole, Owner: "Admin", PolicyARN: ap.ARN},
	}, got)

	isErr(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "nobody", PolicyARN: p.ARN}), store.ErrNotFound, "attach to missing owner")
	isErr(t, s.AttachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: policyARN(acct1, "/", "Nope")}), store.ErrNotFound, "attach missing policy")
	_, err = s.ListAttachments(ctx, acct1, store.KindRole, "nobody")
	isErr(t, err, store.ErrNotFound, "attachments of missing owner")
	_, err = s.ListPolicyAttachments(ctx, policyARN(acct1, "/", "Nope"))
	isErr(t, err, store.ErrNotFound, "attachments of missing policy")

	// A policy cannot be deleted while attached (AWS DeleteConflict).
	isErr(t, s.DeleteManagedPolicy(ctx, ap.ARN), store.ErrConflict, "delete attached policy")
	_, err = s.GetManagedPolicy(ctx, ap.ARN)
	ok(t, err)

	for _, a := range []store.Attachment{
		{Account: acct2, Kind: store.KindRole, Owner: "Admin", PolicyARN: ap.ARN},
		{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: ap.ARN},
		{Account: acct1, Kind: store.KindGroup, Owner: "DEV", PolicyARN: ap.ARN},
	} {
		ok(t, s.DetachPolicy(ctx, a))
	}
	isErr(t, s.DetachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindUser, Owner: "alice", PolicyARN: ap.ARN}), store.ErrNotFound, "detach twice")
	isErr(t, s.DeleteManagedPolicy(ctx, ap.ARN), store.ErrConflict, "delete policy still attached to a role")
	ok(t, s.DetachPolicy(ctx, store.Attachment{Account: acct1, Kind: store.KindRole, Owner: "admin", PolicyARN: ap.ARN}))
	got, err = s.ListPolicyAttachments(ctx, ap.ARN)
	ok(t, err)
	same(t, "no attachments", 0, len(got))
	ok(t, s.DeleteManagedPolicy(ctx, ap.ARN))
	got, err = s.ListAttachments(ctx, acct1, store.KindUser, "alice")
	ok(t, err)
	same(t, "remaining", []store.Attachment{{Account: acct1, Kind: store.KindUser, Owner: "Alice", PolicyARN: p.ARN}}, got)
}

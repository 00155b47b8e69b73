package storetest

import (
	"testing"

	"github.com/opensts/opensts/internal/store"
)

// testOrgUnits covers the hierarchy below the root: OUs with unique names
// per parent, deletes refused while an OU has children, accounts moved
// only from the parent they are in, and tags on Organizations resources.
func testOrgUnits(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	for _, id := range []string{"111111111111", "222222222222"} {
		ok(t, s.CreateAccount(ctx, store.Account{ID: id, Name: "a" + id, Email: id + "@example.com", CreatedAt: t0}))
	}
	eng := store.OrgUnit{ID: "ou-abcd-00000002", Name: "Eng", CreatedAt: t0}
	ops := store.OrgUnit{ID: "ou-abcd-00000001", Name: "Ops", CreatedAt: t0}
	dev := store.OrgUnit{ID: "ou-abcd-00000003", Name: "Eng", ParentID: eng.ID, CreatedAt: t0}
	ok(t, s.CreateOrgUnit(ctx, eng))
	ok(t, s.CreateOrgUnit(ctx, ops))
	ok(t, s.CreateOrgUnit(ctx, dev)) // the same name under another parent
	isErr(t, s.CreateOrgUnit(ctx, store.OrgUnit{ID: "ou-abcd-00000009", Name: "Eng", CreatedAt: t0}), store.ErrAlreadyExists, "duplicate name in the root")
	isErr(t, s.CreateOrgUnit(ctx, store.OrgUnit{ID: "ou-abcd-00000009", Name: "Eng", ParentID: eng.ID, CreatedAt: t0}), store.ErrAlreadyExists, "duplicate name in an OU")
	isErr(t, s.CreateOrgUnit(ctx, store.OrgUnit{ID: eng.ID, Name: "Other", CreatedAt: t0}), store.ErrAlreadyExists, "duplicate id")
	isErr(t, s.CreateOrgUnit(ctx, store.OrgUnit{ID: "ou-abcd-00000009", Name: "X", ParentID: "ou-none-00000000", CreatedAt: t0}), store.ErrConflict, "missing parent")

	got, err := s.GetOrgUnit(ctx, dev.ID)
	ok(t, err)
	same(t, "OU", dev, got)
	_, err = s.GetOrgUnit(ctx, "ou-none-00000000")
	isErr(t, err, store.ErrNotFound, "missing OU")
	us, err := s.ListOrgUnits(ctx, "")
	ok(t, err)
	same(t, "OUs in the root, by id", []store.OrgUnit{ops, eng}, us)
	us, err = s.ListOrgUnits(ctx, eng.ID)
	ok(t, err)
	same(t, "OUs in Eng", []store.OrgUnit{dev}, us)

	isErr(t, s.RenameOrgUnit(ctx, ops.ID, "Eng"), store.ErrAlreadyExists, "rename to a sibling's name")
	isErr(t, s.RenameOrgUnit(ctx, "ou-none-00000000", "X"), store.ErrNotFound, "rename missing OU")
	ok(t, s.RenameOrgUnit(ctx, ops.ID, "Operations"))
	got, err = s.GetOrgUnit(ctx, ops.ID)
	ok(t, err)
	same(t, "renamed OU", "Operations", got.Name)

	const a1, a2 = "111111111111", "222222222222"
	p, err := s.OrgAccountParent(ctx, a1)
	ok(t, err)
	same(t, "new account's parent", "", p)
	_, err = s.OrgAccountParent(ctx, "999999999999")
	isErr(t, err, store.ErrNotFound, "parent of a missing account")
	isErr(t, s.MoveOrgAccount(ctx, a1, eng.ID, dev.ID), store.ErrNotFound, "move from a parent the account is not in")
	ok(t, s.MoveOrgAccount(ctx, a1, "", dev.ID))
	isErr(t, s.MoveOrgAccount(ctx, a1, "", eng.ID), store.ErrNotFound, "move from the root once moved out")
	isErr(t, s.MoveOrgAccount(ctx, a1, dev.ID, "ou-none-00000000"), store.ErrConflict, "move into a missing OU")
	isErr(t, s.MoveOrgAccount(ctx, a2, "", "ou-none-00000000"), store.ErrConflict, "move from the root into a missing OU")
	p, err = s.OrgAccountParent(ctx, a1)
	ok(t, err)
	same(t, "moved account's parent", dev.ID, p)
	ids, err := s.ListOrgAccountsInUnit(ctx, dev.ID)
	ok(t, err)
	same(t, "accounts in Dev", []string{a1}, ids)
	ids, err = s.ListOrgAccountsInUnit(ctx, "")
	ok(t, err)
	same(t, "accounts in the root", []string{a2}, ids)

	isErr(t, s.DeleteOrgUnit(ctx, eng.ID), store.ErrConflict, "delete an OU with a child OU")
	isErr(t, s.DeleteOrgUnit(ctx, dev.ID), store.ErrConflict, "delete an OU with an account")
	ok(t, s.MoveOrgAccount(ctx, a1, dev.ID, eng.ID))
	ok(t, s.MoveOrgAccount(ctx, a1, eng.ID, ""))
	ids, err = s.ListOrgAccountsInUnit(ctx, "")
	ok(t, err)
	same(t, "accounts back in the root", []string{a1, a2}, ids)

	ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-ouscp001", Name: "OUSCP", Type: "SERVICE_CONTROL_POLICY", Content: "{}"}))
	ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-ouscp001", TargetID: dev.ID}))
	ok(t, s.TagOrgResource(ctx, dev.ID, []store.OrgTag{{Key: "team", Value: "dev"}}, 50))
	ok(t, s.DeleteOrgUnit(ctx, dev.ID))
	isErr(t, s.DeleteOrgUnit(ctx, dev.ID), store.ErrNotFound, "delete a deleted OU")
	targets, err := s.ListOrgTargets(ctx, "p-ouscp001", store.ListOptions{})
	ok(t, err)
	same(t, "attachments of a deleted OU", 0, len(targets))
	tags, err := s.ListOrgTags(ctx, dev.ID)
	ok(t, err)
	same(t, "tags of a deleted OU", 0, len(tags))
	ok(t, s.DeleteOrgUnit(ctx, eng.ID))

	// Tags.
	ok(t, s.TagOrgResource(ctx, a1, []store.OrgTag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}, 3))
	ok(t, s.TagOrgResource(ctx, a1, []store.OrgTag{{Key: "b", Value: "3"}}, 3))
	isErr(t, s.TagOrgResource(ctx, a1, []store.OrgTag{{Key: "c", Value: ""}, {Key: "d", Value: ""}}, 3), store.ErrConflict, "too many tags")
	tags, err = s.ListOrgTags(ctx, a1)
	ok(t, err)
	same(t, "tags by key, none of the refused ones", []store.OrgTag{{Key: "a", Value: "2"}, {Key: "b", Value: "3"}}, tags)
	ok(t, s.UntagOrgResource(ctx, a1, []string{"a", "zz"}))
	tags, err = s.ListOrgTags(ctx, a1)
	ok(t, err)
	same(t, "tags after untag", []store.OrgTag{{Key: "b", Value: "3"}}, tags)
}

// testOrgPolicyTags: deleting a policy deletes its tags.
func testOrgPolicyTags(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-tagged01", Name: "tagged", Type: "TAG_POLICY", Content: "{}"}))
	ok(t, s.TagOrgResource(ctx, "p-tagged01", []store.OrgTag{{Key: "k", Value: "v"}}, 50))
	ok(t, s.DeleteOrgPolicy(ctx, "p-tagged01"))
	tags, err := s.ListOrgTags(ctx, "p-tagged01")
	ok(t, err)
	same(t, "tags of a deleted policy", 0, len(tags))
}

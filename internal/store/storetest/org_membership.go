package storetest

import (
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// testOrgMembership covers accounts leaving, joining and closing, handshakes
// (one OPEN per target, state moves only from the expected state),
// delegated administrators, trusted services, failed CreateAccount requests
// and deleting the organization.
func testOrgMembership(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	const mgmt, a1, a2 = "999999999999", "111111111111", "222222222222"
	ok(t, s.CreateAccount(ctx, store.Account{ID: mgmt, Name: "m", Email: "m@example.com", CreatedAt: t0, Management: true}))
	for _, id := range []string{a1, a2} {
		ok(t, s.CreateAccount(ctx, store.Account{ID: id, Name: "a" + id, Email: id + "@example.com", CreatedAt: t0}))
	}
	ou := store.OrgUnit{ID: "ou-abcd-00000001", Name: "Eng", CreatedAt: t0}
	ok(t, s.CreateOrgUnit(ctx, ou))
	ok(t, s.MoveOrgAccount(ctx, a1, "", ou.ID))
	ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-member001", Name: "M", Type: "SERVICE_CONTROL_POLICY", Content: "{}"}))
	ok(t, s.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-member001", TargetID: a1}))
	ok(t, s.TagOrgResource(ctx, a1, []store.OrgTag{{Key: "k", Value: "v"}}, 50))
	ok(t, s.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: a1, ServicePrincipal: "config.amazonaws.com", DelegatedAt: t0}))

	// Removing a member takes it out of every part of the organization.
	before, err := s.LastChange(ctx)
	ok(t, err)
	ok(t, s.RemoveOrgAccount(ctx, a1))
	chs, err := s.Changes(ctx, before, 100)
	ok(t, err)
	same(t, "removal's changes", []store.ChangeKind{store.ChangeAccount, store.ChangeOrg}, kindsOf(chs))
	isErr(t, s.RemoveOrgAccount(ctx, a1), store.ErrNotFound, "remove a standalone account")
	isErr(t, s.RemoveOrgAccount(ctx, "333333333333"), store.ErrNotFound, "remove a missing account")
	got, err := s.GetAccount(ctx, a1)
	ok(t, err)
	same(t, "removed account is standalone", true, got.Standalone)
	_, err = s.OrgAccountParent(ctx, a1)
	isErr(t, err, store.ErrNotFound, "parent of a standalone account")
	ids, err := s.ListOrgAccountsInUnit(ctx, ou.ID)
	ok(t, err)
	same(t, "accounts in the OU after removal", []string(nil), ids)
	ids, err = s.ListOrgAccountsInUnit(ctx, "")
	ok(t, err)
	same(t, "accounts in the root leave out the standalone one", []string{a2, mgmt}, ids)
	ps, err := s.ListOrgPoliciesForTarget(ctx, a1)
	ok(t, err)
	same(t, "removed account's policies", []store.OrgPolicy(nil), ps)
	tags, err := s.ListOrgTags(ctx, a1)
	ok(t, err)
	same(t, "removed account's tags", []store.OrgTag(nil), tags)
	das, err := s.ListOrgDelegatedAdmins(ctx)
	ok(t, err)
	same(t, "removed account's registrations", []store.OrgDelegatedAdmin(nil), das)

	// Joining again, by invitation.
	isErr(t, s.JoinOrgAccount(ctx, a2, "INVITED", at(time.Hour)), store.ErrConflict, "join a member")
	isErr(t, s.JoinOrgAccount(ctx, "333333333333", "INVITED", at(time.Hour)), store.ErrNotFound, "join a missing account")
	ok(t, s.JoinOrgAccount(ctx, a1, "INVITED", at(time.Hour)))
	got, err = s.GetAccount(ctx, a1)
	ok(t, err)
	same(t, "joined account", store.Account{ID: a1, Name: "a" + a1, Email: a1 + "@example.com", CreatedAt: t0,
		JoinedMethod: "INVITED", JoinedAt: at(time.Hour)}, got, cmpOpts...)

	// Closing.
	ok(t, s.CloseOrgAccount(ctx, a2, at(2*time.Hour)))
	isErr(t, s.CloseOrgAccount(ctx, a2, at(3*time.Hour)), store.ErrConflict, "close a closed account")
	isErr(t, s.CloseOrgAccount(ctx, "333333333333", t0), store.ErrNotFound, "close a missing account")
	got, err = s.GetAccount(ctx, a2)
	ok(t, err)
	same(t, "closed at", at(2*time.Hour), got.ClosedAt, cmpOpts...)

	// Handshakes.
	h := store.OrgHandshake{ID: "h-00000001", OrgID: "o-abcdefghij", Action: "INVITE", State: "OPEN", Master: mgmt,
		TargetType: "EMAIL", Target: "x@example.com", TargetAcct: a1, Notes: "hi", Tags: []store.OrgTag{{Key: "k", Value: "v"}}, RequestedAt: t0, ExpiresAt: at(15 * 24 * time.Hour)}
	ok(t, s.CreateOrgHandshake(ctx, h))
	gh, err := s.GetOrgHandshake(ctx, h.ID)
	ok(t, err)
	same(t, "handshake", h, gh, cmpOpts...)
	_, err = s.GetOrgHandshake(ctx, "h-99999999")
	isErr(t, err, store.ErrNotFound, "missing handshake")
	h2 := h
	h2.ID = "h-00000002"
	isErr(t, s.CreateOrgHandshake(ctx, h2), store.ErrAlreadyExists, "a second OPEN handshake to one account")
	isErr(t, s.SetOrgHandshakeState(ctx, h.ID, "ACCEPTED", "DECLINED"), store.ErrConflict, "move from a state it is not in")
	isErr(t, s.SetOrgHandshakeState(ctx, "h-99999999", "OPEN", "DECLINED"), store.ErrNotFound, "move a missing handshake")
	ok(t, s.SetOrgHandshakeState(ctx, h.ID, "OPEN", "CANCELED"))
	ok(t, s.CreateOrgHandshake(ctx, h2)) // the first is closed now
	h3 := h2
	h3.ID, h3.OrgID, h3.TargetAcct = "h-00000003", "o-otherorgxx", a2
	ok(t, s.CreateOrgHandshake(ctx, h3))
	hs, err := s.ListOrgHandshakes(ctx, "o-abcdefghij", "")
	ok(t, err)
	same(t, "handshakes of the organization", []string{"h-00000001", "h-00000002"}, handshakeIDs(hs))
	hs, err = s.ListOrgHandshakes(ctx, "", a2)
	ok(t, err)
	same(t, "handshakes for an account", []string{"h-00000003"}, handshakeIDs(hs))

	// Delegated administrators.
	ok(t, s.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: a2, ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0}))
	ok(t, s.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: a1, ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0}))
	isErr(t, s.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: a1, ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0}),
		store.ErrAlreadyExists, "register twice")
	isErr(t, s.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: "333333333333", ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0}),
		store.ErrNotFound, "register a missing account")
	das, err = s.ListOrgDelegatedAdmins(ctx)
	ok(t, err)
	same(t, "delegated administrators", []store.OrgDelegatedAdmin{
		{Account: a1, ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0},
		{Account: a2, ServicePrincipal: "s3.amazonaws.com", DelegatedAt: t0},
	}, das, cmpOpts...)
	ok(t, s.DeregisterOrgDelegatedAdmin(ctx, a2, "s3.amazonaws.com"))
	isErr(t, s.DeregisterOrgDelegatedAdmin(ctx, a2, "s3.amazonaws.com"), store.ErrNotFound, "deregister twice")

	// Trusted services.
	ok(t, s.EnableOrgServiceAccess(ctx, store.OrgServiceAccess{ServicePrincipal: "sso.amazonaws.com", EnabledAt: t0}))
	ok(t, s.EnableOrgServiceAccess(ctx, store.OrgServiceAccess{ServicePrincipal: "sso.amazonaws.com", EnabledAt: at(time.Hour)}))
	ok(t, s.EnableOrgServiceAccess(ctx, store.OrgServiceAccess{ServicePrincipal: "config.amazonaws.com", EnabledAt: t0}))
	sa, err := s.ListOrgServiceAccess(ctx)
	ok(t, err)
	same(t, "trusted services keep their first time", []store.OrgServiceAccess{
		{ServicePrincipal: "config.amazonaws.com", EnabledAt: t0}, {ServicePrincipal: "sso.amazonaws.com", EnabledAt: t0},
	}, sa, cmpOpts...)
	ok(t, s.DisableOrgServiceAccess(ctx, "config.amazonaws.com"))
	ok(t, s.DisableOrgServiceAccess(ctx, "config.amazonaws.com"))
	sa, err = s.ListOrgServiceAccess(ctx)
	ok(t, err)
	same(t, "after disable", 1, len(sa))

	// Failed requests, a page at a time.
	for _, id := range []string{"car-bbbbbbbbbbbbbbbb", "car-aaaaaaaaaaaaaaaa", "car-cccccccccccccccc"} {
		ok(t, s.CreateOrgAccountFailure(ctx, store.OrgAccountFailure{ID: id, AccountName: "n", Reason: "EMAIL_ALREADY_EXISTS", RequestedAt: t0}))
	}
	isErr(t, s.CreateOrgAccountFailure(ctx, store.OrgAccountFailure{ID: "car-aaaaaaaaaaaaaaaa", RequestedAt: t0}), store.ErrAlreadyExists, "duplicate failure")
	f, err := s.GetOrgAccountFailure(ctx, "car-bbbbbbbbbbbbbbbb")
	ok(t, err)
	same(t, "failure", store.OrgAccountFailure{ID: "car-bbbbbbbbbbbbbbbb", AccountName: "n", Reason: "EMAIL_ALREADY_EXISTS", RequestedAt: t0}, f, cmpOpts...)
	fs, err := s.ListOrgAccountFailures(ctx, store.ListOptions{After: "car-aaaaaaaaaaaaaaaa", Limit: 1})
	ok(t, err)
	same(t, "second page of failures", "car-bbbbbbbbbbbbbbbb", fs[0].ID)
	same(t, "page size", 1, len(fs))

	// Deleting the organization leaves the accounts and AWS managed policies.
	ok(t, s.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-FullAWSAccess", Name: "FullAWSAccess", Type: "SERVICE_CONTROL_POLICY", Content: "{}", AWSManaged: true}))
	ok(t, s.PutSetting(ctx, "org.id", "o-abcdefghij"))
	ok(t, s.PutSetting(ctx, "other", "kept"))
	child := store.OrgUnit{ID: "ou-abcd-00000002", Name: "Child", ParentID: ou.ID, CreatedAt: t0}
	ok(t, s.CreateOrgUnit(ctx, child))
	ok(t, s.MoveOrgAccount(ctx, mgmt, "", child.ID))
	ok(t, s.DeleteOrg(ctx))
	_, err = s.GetSetting(ctx, "org.id")
	isErr(t, err, store.ErrNotFound, "org.id after DeleteOrg")
	v, err := s.GetSetting(ctx, "other")
	ok(t, err)
	same(t, "other settings stay", "kept", v)
	_, err = s.GetOrgUnit(ctx, ou.ID)
	isErr(t, err, store.ErrNotFound, "OU after DeleteOrg")
	_, err = s.GetOrgPolicy(ctx, "p-member001")
	isErr(t, err, store.ErrNotFound, "customer policy after DeleteOrg")
	_, err = s.GetOrgPolicy(ctx, "p-FullAWSAccess")
	ok(t, err)
	hs, err = s.ListOrgHandshakes(ctx, "", "")
	ok(t, err)
	same(t, "handshakes after DeleteOrg", 0, len(hs))
	fs, err = s.ListOrgAccountFailures(ctx, store.ListOptions{})
	ok(t, err)
	same(t, "failures after DeleteOrg", 0, len(fs))
	all, err := s.ListAccounts(ctx, store.ListOptions{})
	ok(t, err)
	same(t, "accounts after DeleteOrg", 3, len(all))
}

func kindsOf(chs []store.Change) []store.ChangeKind {
	var out []store.ChangeKind
	for _, c := range chs {
		out = append(out, c.Kind)
	}
	return out
}

func handshakeIDs(hs []store.OrgHandshake) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

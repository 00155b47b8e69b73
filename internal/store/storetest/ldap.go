package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

func ldapProvider(account, name string) store.LDAPProvider {
	return store.LDAPProvider{Account: account, Name: name, ARN: "arn:aws:iam::" + account + ":ldap-provider/" + name,
		URL: "ldaps://dc.example.com", CACertificates: "-----BEGIN CERTIFICATE-----\n", BindDN: "CN=svc,DC=example,DC=com",
		SealedBindPassword: []byte{1, 2, 3, 0, 255}, UserSearchBase: "DC=example,DC=com",
		UserFilter: "(sAMAccountName={username})", GroupMode: "memberOf", CreatedAt: t0, UpdatedAt: t0}
}

func testLDAPProviders(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p := ldapProvider(acct1, "Corp")
	ok(t, s.CreateLDAPProvider(ctx, p))
	isErr(t, s.CreateLDAPProvider(ctx, ldapProvider(acct1, "corp")), store.ErrAlreadyExists, "create a second provider differing in case")
	ok(t, s.CreateLDAPProvider(ctx, ldapProvider(acct2, "Corp"))) // another account
	ok(t, s.CreateLDAPProvider(ctx, ldapProvider(acct1, "openldap")))

	got, err := s.GetLDAPProvider(ctx, acct1, "CORP")
	ok(t, err)
	if diff := cmp.Diff(p, got, cmpOpts...); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	_, err = s.GetLDAPProvider(ctx, acct1, "nope")
	isErr(t, err, store.ErrNotFound, "get a missing provider")

	before, err := s.LastChange(ctx)
	ok(t, err)
	p.URL, p.StartTLS, p.AllowInsecure, p.CACertificates = "ldap://dir.example.com:389", true, true, ""
	p.BindDN, p.SealedBindPassword = "cn=admin,dc=example,dc=org", []byte("sealed2")
	p.UserSearchBase, p.UserFilter = "ou=people,dc=example,dc=org", "(uid={username})"
	p.GroupMode, p.GroupSearchBase, p.GroupFilter = "search", "ou=groups,dc=example,dc=org", "(member={dn})"
	p.UpdatedAt = at(time.Hour)
	ok(t, s.UpdateLDAPProvider(ctx, p))
	changes, err := s.Changes(ctx, before, 10)
	ok(t, err)
	if len(changes) != 1 || changes[0].Kind != store.ChangeLDAPProvider || changes[0].Key != p.ARN || changes[0].Name != "Corp" || changes[0].Account != acct1 {
		t.Errorf("update recorded %+v", changes)
	}
	got, err = s.GetLDAPProvider(ctx, acct1, "corp")
	ok(t, err)
	if diff := cmp.Diff(p, got, cmpOpts...); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	isErr(t, s.UpdateLDAPProvider(ctx, ldapProvider(acct1, "nope")), store.ErrNotFound, "update a missing provider")

	list, err := s.ListLDAPProviders(ctx, acct1)
	ok(t, err)
	if len(list) != 2 || list[0].Name != "Corp" || list[1].Name != "openldap" {
		t.Errorf("list %+v", list)
	}
	before, err = s.LastChange(ctx)
	ok(t, err)
	ok(t, s.DeleteLDAPProvider(ctx, acct1, "corp"))
	changes, err = s.Changes(ctx, before, 10)
	ok(t, err)
	if len(changes) != 1 || changes[0].Kind != store.ChangeLDAPProvider || changes[0].Key != p.ARN {
		t.Errorf("delete recorded %+v", changes)
	}
	isErr(t, s.DeleteLDAPProvider(ctx, acct1, "corp"), store.ErrNotFound, "delete twice")
	list, err = s.ListLDAPProviders(ctx, acct1)
	ok(t, err)
	if len(list) != 1 || list[0].Name != "openldap" {
		t.Errorf("list after delete %+v", list)
	}
	list, err = s.ListLDAPProviders(ctx, acct2)
	ok(t, err)
	if len(list) != 1 {
		t.Errorf("other account %+v", list)
	}
}

package org_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/org"
)

func (e *env) describeAccount(id string) (org.Account, error) {
	e.t.Helper()
	out, err := e.svc.DescribeAccount(e.ctx, e.root, &org.DescribeAccountInput{AccountID: id})
	if err != nil {
		return org.Account{}, err
	}
	return out.Account, nil
}

func (e *env) accountIDs() []string {
	e.t.Helper()
	out, err := e.svc.ListAccounts(e.ctx, e.root, &org.ListAccountsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, a := range out.Accounts {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestCloseAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	memberRoot := rootCaller(member)
	if err := e.authz.Check(e.ctx, memberRoot, "iam:ListUsers", "*"); err != nil {
		t.Fatalf("open member: %v", err)
	}
	_, err := e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: mgmt})
	wantCode(t, "close the management account", err, apierr.ConstraintViolationException)
	if r := reason(err); r != "CANNOT_CLOSE_MANAGEMENT_ACCOUNT" {
		t.Errorf("Reason %q", r)
	}
	_, err = e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: "999999999999"})
	wantCode(t, "close a missing account", err, apierr.AccountNotFoundException)
	_, err = e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: "12"})
	wantCode(t, "malformed id", err, apierr.OrgInvalidInputException)
	_, err = e.svc.CloseAccount(e.ctx, memberRoot, &org.CloseAccountInput{AccountID: member})
	wantCode(t, "a member closes itself", err, apierr.OrgAccessDeniedException)

	if _, err := e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: member}); err != nil {
		t.Fatal(err)
	}
	a, err := e.describeAccount(member)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "PENDING_CLOSURE" || a.State != "PENDING_CLOSURE" {
		t.Errorf("just closed: Status %s State %s", a.Status, a.State)
	}
	*e.clock = e.clock.Add(2 * time.Minute)
	if a, err = e.describeAccount(member); err != nil {
		t.Fatal(err)
	}
	if a.Status != "SUSPENDED" || a.State != "CLOSED" {
		t.Errorf("closed: Status %s State %s", a.Status, a.State)
	}
	_, err = e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: member})
	wantCode(t, "close again", err, apierr.AccountAlreadyClosedException)
	// A closed account's principals, its root too, can do nothing.
	wantCode(t, "closed account's root", e.authz.Check(e.ctx, memberRoot, "iam:ListUsers", "*"), apierr.AccessDenied)
	// It is still a member, listed until removed.
	if diff := cmp.Diff([]string{mgmt, member}, e.accountIDs()); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	// Removed, it stays closed: denied, and not to be invited.
	if _, err := e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: member}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "closed and removed account's root", e.authz.Check(e.ctx, memberRoot, "iam:ListUsers", "*"), apierr.AccessDenied)
	_, err = e.invite("ACCOUNT", member)
	wantCode(t, "invite a closed account", err, apierr.OrgInvalidInputException)
}

func TestCloseAccountQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := range 12 {
		out, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "a", Email: "a" + string(rune('a'+i)) + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.CreateAccountStatus.AccountID)
	}
	// 14 members: 10 may close in 30 days.
	for i, id := range ids {
		_, err := e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: id})
		if i < 10 && err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		if i >= 10 {
			wantCode(t, "close past the quota", err, apierr.ConstraintViolationException)
			if r := reason(err); r != "CLOSE_ACCOUNT_QUOTA_EXCEEDED" {
				t.Errorf("Reason %q", r)
			}
		}
	}
	*e.clock = e.clock.Add(31 * 24 * time.Hour)
	if _, err := e.svc.CloseAccount(e.ctx, e.root, &org.CloseAccountInput{AccountID: ids[10]}); err != nil {
		t.Errorf("close after the window: %v", err)
	}
}

func TestRemoveLeaveAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	memberRoot := rootCaller(member)
	// An SCP that denies everything, on the root: the member is bound by it.
	deny := e.createPolicy("deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny, TargetID: e.rootID()}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "member under a deny-all SCP", e.authz.Check(e.ctx, memberRoot, "iam:ListUsers", "*"), apierr.AccessDenied)
	_, err := e.svc.LeaveOrganization(e.ctx, memberRoot, &org.Empty{})
	wantCode(t, "leave under a deny-all SCP", err, apierr.OrgAccessDeniedException)

	_, err = e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: mgmt})
	wantCode(t, "remove the management account", err, apierr.MasterCannotLeaveOrganizationException)
	_, err = e.svc.LeaveOrganization(e.ctx, e.root, &org.Empty{})
	wantCode(t, "the management account leaves", err, apierr.MasterCannotLeaveOrganizationException)
	_, err = e.svc.DeleteOrganization(e.ctx, e.root, &org.Empty{})
	wantCode(t, "delete with a member", err, apierr.OrganizationNotEmptyException)

	// A delegated administrator cannot be removed.
	if _, err := e.svc.RegisterDelegatedAdministrator(e.ctx, e.root, &org.RegisterDelegatedAdministratorInput{AccountID: member, ServicePrincipal: "config.amazonaws.com"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: member})
	wantCode(t, "remove a delegated administrator", err, apierr.ConstraintViolationException)
	if _, err := e.svc.DeregisterDelegatedAdministrator(e.ctx, e.root, &org.DeregisterDelegatedAdministratorInput{AccountID: member, ServicePrincipal: "config.amazonaws.com"}); err != nil {
		t.Fatal(err)
	}

	if _, err := e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: member}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt}, e.accountIDs()); diff != "" {
		t.Errorf("accounts after removal (-want +got):\n%s", diff)
	}
	_, err = e.describeAccount(member)
	wantCode(t, "describe a removed account", err, apierr.AccountNotFoundException)
	_, err = e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: member})
	wantCode(t, "remove twice", err, apierr.AccountNotFoundException)
	_, err = e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny, TargetID: member})
	wantCode(t, "attach to a removed account", err, apierr.TargetNotFoundException)
	_, err = e.svc.ListParents(e.ctx, e.root, &org.ListParentsInput{ChildID: member})
	wantCode(t, "parents of a removed account", err, apierr.ChildNotFoundException)
	// Standalone: no SCP binds it any more.
	if err := e.authz.Check(e.ctx, memberRoot, "iam:ListUsers", "*"); err != nil {
		t.Errorf("standalone account: %v", err)
	}
	_, err = e.svc.LeaveOrganization(e.ctx, memberRoot, &org.Empty{})
	wantCode(t, "a standalone account leaves", err, apierr.OrganizationsNotInUseException)

	if _, err := e.svc.DeleteOrganization(e.ctx, e.root, &org.Empty{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{})
	wantCode(t, "describe a deleted organization", err, apierr.OrganizationsNotInUseException)
	_, err = e.svc.DeleteOrganization(e.ctx, e.root, &org.Empty{})
	wantCode(t, "delete twice", err, apierr.OrganizationsNotInUseException)
	// A new organization: the management account alone, FullAWSAccess on it.
	if _, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt}, e.accountIDs()); diff != "" {
		t.Errorf("accounts of the new organization (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{mgmt, e.rootID()}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets (-want +got):\n%s", diff)
	}
}

func TestLeaveOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.svc.LeaveOrganization(e.ctx, rootCaller(member), &org.Empty{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt}, e.accountIDs()); diff != "" {
		t.Errorf("accounts after leaving (-want +got):\n%s", diff)
	}
	_, err := e.svc.LeaveOrganization(e.ctx, rootCaller("999999999999"), &org.Empty{})
	wantCode(t, "an account the deployment does not have", err, apierr.OrgAccessDeniedException)
}

func (e *env) invite(typ, id string) (org.Handshake, error) {
	e.t.Helper()
	out, err := e.svc.InviteAccountToOrganization(e.ctx, e.root, &org.InviteAccountToOrganizationInput{
		Target: org.HandshakeParty{ID: id, Type: typ}, Notes: "welcome", Tags: []org.Tag{{Key: "team", Value: "blue"}}})
	if err != nil {
		return org.Handshake{}, err
	}
	return out.Handshake, nil
}

func TestHandshakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	memberRoot := rootCaller(member)
	_, err := e.invite("ACCOUNT", member)
	wantCode(t, "invite a member", err, apierr.HandshakeConstraintViolationException)
	if r := reason(err); r != "ALREADY_IN_AN_ORGANIZATION" {
		t.Errorf("Reason %q", r)
	}
	_, err = e.invite("ACCOUNT", "999999999999")
	wantCode(t, "invite an account the deployment does not have", err, apierr.OrgInvalidInputException)
	_, err = e.invite("ORGANIZATION", "o-abcdefghij")
	wantCode(t, "invite an organization", err, apierr.OrgInvalidInputException)
	if _, err := e.svc.LeaveOrganization(e.ctx, memberRoot, &org.Empty{}); err != nil {
		t.Fatal(err)
	}

	h, err := e.invite("EMAIL", "Member@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if h.State != "OPEN" || h.Action != "INVITE" || h.ARN != "arn:aws:organizations::"+mgmt+":handshake/"+o.Organization.ID+"/invite/"+h.ID {
		t.Errorf("handshake %+v", h)
	}
	if got := time.Time(*h.ExpirationTimestamp).Sub(time.Time(*h.RequestedTimestamp)); got != 15*24*time.Hour {
		t.Errorf("expires after %v", got)
	}
	wantParties := []org.HandshakeParty{{ID: o.Organization.ID, Type: "ORGANIZATION"}, {ID: "Member@Example.com", Type: "EMAIL"}}
	if diff := cmp.Diff(wantParties, h.Parties); diff != "" {
		t.Errorf("parties (-want +got):\n%s", diff)
	}
	_, err = e.invite("ACCOUNT", member)
	wantCode(t, "invite twice", err, apierr.DuplicateHandshakeException)

	// The invited account sees it; another account does not.
	list, err := e.svc.ListHandshakesForAccount(e.ctx, memberRoot, &org.ListHandshakesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Handshakes) != 1 || list.Handshakes[0].ID != h.ID {
		t.Errorf("member's handshakes %+v", list.Handshakes)
	}
	list, err = e.svc.ListHandshakesForAccount(e.ctx, e.root, &org.ListHandshakesInput{})
	if err != nil || len(list.Handshakes) != 0 {
		t.Errorf("management account's own handshakes %+v, %v", list, err)
	}
	list, err = e.svc.ListHandshakesForOrganization(e.ctx, e.root, &org.ListHandshakesInput{})
	if err != nil || len(list.Handshakes) != 1 {
		t.Errorf("organization's handshakes %+v, %v", list, err)
	}
	_, err = e.svc.AcceptHandshake(e.ctx, e.root, &org.HandshakeInput{HandshakeID: h.ID})
	wantCode(t, "the sender accepts", err, apierr.HandshakeNotFoundException)
	_, err = e.svc.CancelHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h.ID})
	wantCode(t, "the invited account cancels", err, apierr.HandshakeNotFoundException)
	_, err = e.svc.DescribeHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: "h-zzzzzzzzzz"})
	wantCode(t, "missing handshake", err, apierr.HandshakeNotFoundException)

	acc, err := e.svc.AcceptHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h.ID})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Handshake.State != "ACCEPTED" {
		t.Errorf("accepted: %s", acc.Handshake.State)
	}
	a, err := e.describeAccount(member)
	if err != nil {
		t.Fatal(err)
	}
	if a.JoinedMethod != "INVITED" || a.Email != "member@example.com" {
		t.Errorf("joined account %+v", a)
	}
	tags, err := e.svc.ListTagsForResource(e.ctx, e.root, &org.ListTagsForResourceInput{ResourceID: member})
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Errorf("joined account's tags %+v, %v", tags, err)
	}
	if diff := cmp.Diff([]string{mgmt, member, e.rootID()}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets (-want +got):\n%s", diff)
	}
	_, err = e.svc.AcceptHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h.ID})
	wantCode(t, "accept twice", err, apierr.HandshakeAlreadyInStateException)
	_, err = e.svc.CancelHandshake(e.ctx, e.root, &org.HandshakeInput{HandshakeID: h.ID})
	wantCode(t, "cancel an accepted one", err, apierr.InvalidHandshakeTransitionException)

	// Declined, canceled and expired invitations.
	if _, err := e.svc.LeaveOrganization(e.ctx, memberRoot, &org.Empty{}); err != nil {
		t.Fatal(err)
	}
	h2, err := e.invite("ACCOUNT", member)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.DeclineHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h2.ID}); err != nil || out.Handshake.State != "DECLINED" {
		t.Fatalf("decline: %+v, %v", out, err)
	}
	_, err = e.svc.AcceptHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h2.ID})
	wantCode(t, "accept a declined one", err, apierr.InvalidHandshakeTransitionException)
	h3, err := e.invite("ACCOUNT", member)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.CancelHandshake(e.ctx, e.root, &org.HandshakeInput{HandshakeID: h3.ID}); err != nil || out.Handshake.State != "CANCELED" {
		t.Fatalf("cancel: %+v, %v", out, err)
	}
	h4, err := e.invite("ACCOUNT", member)
	if err != nil {
		t.Fatal(err)
	}
	*e.clock = e.clock.Add(15 * 24 * time.Hour)
	d, err := e.svc.DescribeHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h4.ID})
	if err != nil || d.Handshake.State != "EXPIRED" {
		t.Fatalf("after 15 days: %+v, %v", d, err)
	}
	_, err = e.svc.AcceptHandshake(e.ctx, memberRoot, &org.HandshakeInput{HandshakeID: h4.ID})
	wantCode(t, "accept an expired one", err, apierr.InvalidHandshakeTransitionException)
	if _, err := e.invite("ACCOUNT", member); err != nil {
		t.Errorf("invite after expiry: %v", err)
	}
	list, err = e.svc.ListHandshakesForOrganization(e.ctx, e.root, &org.ListHandshakesInput{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, h := range list.Handshakes {
		states[h.State]++
	}
	if diff := cmp.Diff(map[string]int{"ACCEPTED": 1, "DECLINED": 1, "CANCELED": 1, "EXPIRED": 1, "OPEN": 1}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestDelegatedAdministratorsAndServiceAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := func(acct, sp string) error {
		_, err := e.svc.RegisterDelegatedAdministrator(e.ctx, e.root, &org.RegisterDelegatedAdministratorInput{AccountID: acct, ServicePrincipal: sp})
		return err
	}
	err := reg(mgmt, "config.amazonaws.com")
	wantCode(t, "register the management account", err, apierr.ConstraintViolationException)
	wantCode(t, "register a missing account", reg("999999999999", "config.amazonaws.com"), apierr.AccountNotFoundException)
	wantCode(t, "bad principal", reg(member, "bad principal"), apierr.OrgInvalidInputException)
	if err := reg(member, "config.amazonaws.com"); err != nil {
		t.Fatal(err)
	}
	*e.clock = e.clock.Add(time.Hour)
	if err := reg(member, "access-analyzer.amazonaws.com"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "register twice", reg(member, "config.amazonaws.com"), apierr.AccountAlreadyRegisteredException)
	admins, err := e.svc.ListDelegatedAdministrators(e.ctx, e.root, &org.ListDelegatedAdministratorsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(admins.DelegatedAdministrators) != 1 || admins.DelegatedAdministrators[0].ID != member ||
		!time.Time(*admins.DelegatedAdministrators[0].DelegationEnabledDate).Equal(epoch) {
		t.Errorf("delegated administrators %+v", admins.DelegatedAdministrators)
	}
	admins, err = e.svc.ListDelegatedAdministrators(e.ctx, e.root, &org.ListDelegatedAdministratorsInput{ServicePrincipal: "sso.amazonaws.com"})
	if err != nil || len(admins.DelegatedAdministrators) != 0 {
		t.Errorf("for another service: %+v, %v", admins, err)
	}
	svcs, err := e.svc.ListDelegatedServicesForAccount(e.ctx, e.root, &org.ListDelegatedServicesForAccountInput{AccountID: member})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs.DelegatedServices {
		names = append(names, s.ServicePrincipal)
	}
	if diff := cmp.Diff([]string{"access-analyzer.amazonaws.com", "config.amazonaws.com"}, names); diff != "" {
		t.Errorf("delegated services (-want +got):\n%s", diff)
	}
	_, err = e.svc.ListDelegatedServicesForAccount(e.ctx, e.root, &org.ListDelegatedServicesForAccountInput{AccountID: mgmt})
	wantCode(t, "services of an account not registered", err, apierr.AccountNotRegisteredException)
	_, err = e.svc.DeregisterDelegatedAdministrator(e.ctx, e.root, &org.DeregisterDelegatedAdministratorInput{AccountID: member, ServicePrincipal: "sso.amazonaws.com"})
	wantCode(t, "deregister what is not registered", err, apierr.AccountNotRegisteredException)
	_, err = e.svc.ListDelegatedAdministrators(e.ctx, rootCaller(member), &org.ListDelegatedAdministratorsInput{})
	wantCode(t, "a member lists", err, apierr.OrgAccessDeniedException)

	for _, sp := range []string{"sso.amazonaws.com", "config.amazonaws.com", "sso.amazonaws.com"} {
		if _, err := e.svc.EnableAWSServiceAccess(e.ctx, e.root, &org.ServiceAccessInput{ServicePrincipal: sp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.DisableAWSServiceAccess(e.ctx, e.root, &org.ServiceAccessInput{ServicePrincipal: "config.amazonaws.com"}); err != nil {
		t.Fatal(err)
	}
	acc, err := e.svc.ListAWSServiceAccessForOrganization(e.ctx, e.root, &org.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.EnabledServicePrincipals) != 1 || acc.EnabledServicePrincipals[0].ServicePrincipal != "sso.amazonaws.com" {
		t.Errorf("trusted services %+v", acc.EnabledServicePrincipals)
	}
}

func TestListCreateAccountStatusFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev", Email: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dup, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev2", Email: "DEV@example.com"})
	if err != nil || dup.CreateAccountStatus.State != "FAILED" {
		t.Fatalf("duplicate e-mail: %+v, %v", dup, err)
	}
	all := map[string]string{}
	for tok := ""; ; {
		one := int32(1)
		out, err := e.svc.ListCreateAccountStatus(e.ctx, e.root, &org.ListCreateAccountStatusInput{NextToken: tok, MaxResults: &one})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range out.CreateAccountStatuses {
			all[st.ID] = st.State
		}
		if tok = out.NextToken; tok == "" {
			break
		}
	}
	want := map[string]string{ok.CreateAccountStatus.ID: "SUCCEEDED", dup.CreateAccountStatus.ID: "FAILED", "car-" + member: "SUCCEEDED"}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("statuses, a page of one at a time (-want +got):\n%s", diff)
	}
	failed, err := e.svc.ListCreateAccountStatus(e.ctx, e.root, &org.ListCreateAccountStatusInput{States: []string{"FAILED"}})
	if err != nil || len(failed.CreateAccountStatuses) != 1 || failed.CreateAccountStatuses[0].FailureReason != "EMAIL_ALREADY_EXISTS" {
		t.Errorf("FAILED only: %+v, %v", failed, err)
	}
	d, err := e.svc.DescribeCreateAccountStatus(e.ctx, e.root, &org.DescribeCreateAccountStatusInput{CreateAccountRequestID: dup.CreateAccountStatus.ID})
	if err != nil || d.CreateAccountStatus.State != "FAILED" || d.CreateAccountStatus.AccountName != "dev2" {
		t.Errorf("describe the failed request: %+v, %v", d, err)
	}
}

// TestListAccountsSkipsStandalone pages through accounts a page of one at a
// time with standalone accounts between members.
func TestListAccountsSkipsStandalone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for _, n := range []string{"a", "b", "c", "d"} {
		out, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: n, Email: n + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.CreateAccountStatus.AccountID)
	}
	want := map[string]bool{mgmt: true}
	for i, id := range ids {
		if i%2 == 0 {
			if _, err := e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: id}); err != nil {
				t.Fatal(err)
			}
		} else {
			want[id] = true
		}
	}
	if _, err := e.svc.RemoveAccountFromOrganization(e.ctx, e.root, &org.RemoveAccountFromOrganizationInput{AccountID: member}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	one := int32(1)
	for tok, pages := "", 0; ; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		out, err := e.svc.ListAccounts(e.ctx, e.root, &org.ListAccountsInput{NextToken: tok, MaxResults: &one})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Accounts) != 1 {
			t.Fatalf("page of %d accounts", len(out.Accounts))
		}
		got[out.Accounts[0].ID] = true
		if tok = out.NextToken; tok == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

package org_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/org"
)

func (e *env) rootID() string {
	e.t.Helper()
	r, err := e.svc.ListRoots(e.ctx, e.root, &org.ListRootsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Roots[0].ID
}

func (e *env) createOU(parent, name string) org.OrganizationalUnit {
	e.t.Helper()
	out, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: parent, Name: name})
	if err != nil {
		e.t.Fatalf("create OU %s in %s: %v", name, parent, err)
	}
	return out.OrganizationalUnit
}

func wantCode(t *testing.T, what string, err error, c apierr.Code) {
	t.Helper()
	if !errors.Is(err, code(c)) {
		t.Fatalf("%s: got %v, want %s", what, err, c.Name)
	}
}

// reason is the Reason of an API error ("" for none).
func reason(err error) string {
	e, _ := apierr.As(err)
	if e == nil {
		return ""
	}
	return e.Reason
}

func TestOrganizationalUnits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	eng := e.createOU(root, "Eng")
	if want := "ou-" + strings.TrimPrefix(root, "r-") + "-"; !strings.HasPrefix(eng.ID, want) || len(eng.ID) != len(want)+8 {
		t.Errorf("OU id %q, want %s plus 8 characters", eng.ID, want)
	}
	if !strings.HasSuffix(eng.ARN, ":ou/"+strings.Split(eng.ARN, "/")[1]+"/"+eng.ID) || !strings.HasPrefix(eng.ARN, "arn:aws:organizations::"+mgmt+":ou/o-") {
		t.Errorf("OU ARN %q", eng.ARN)
	}
	_, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: root, Name: "Eng"})
	wantCode(t, "duplicate name", err, apierr.DuplicateOrganizationalUnitException)
	_, err = e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: "ou-zzzz-zzzzzzzz", Name: "X"})
	wantCode(t, "missing parent", err, apierr.ParentNotFoundException)
	_, err = e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: "bogus", Name: "X"})
	wantCode(t, "malformed parent", err, apierr.OrgInvalidInputException)
	_, err = e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: root, Name: ""})
	wantCode(t, "empty name", err, apierr.OrgInvalidInputException)

	// Five levels below the root, and no more.
	parent := eng.ID
	for i := 2; i <= 5; i++ {
		parent = e.createOU(parent, "L").ID
	}
	_, err = e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: parent, Name: "L6"})
	wantCode(t, "sixth level", err, apierr.ConstraintViolationException)
	if r := reason(err); r != "OU_DEPTH_LIMIT_EXCEEDED" {
		t.Errorf("Reason %q", r)
	}

	d, err := e.svc.DescribeOrganizationalUnit(e.ctx, e.root, &org.DescribeOrganizationalUnitInput{OrganizationalUnitID: eng.ID})
	if err != nil || d.OrganizationalUnit != eng {
		t.Fatalf("describe: %+v %v", d, err)
	}
	_, err = e.svc.DescribeOrganizationalUnit(e.ctx, e.root, &org.DescribeOrganizationalUnitInput{OrganizationalUnitID: "ou-zzzz-zzzzzzzz"})
	wantCode(t, "describe missing", err, apierr.OrganizationalUnitNotFoundException)

	ops := e.createOU(root, "Ops")
	_, err = e.svc.UpdateOrganizationalUnit(e.ctx, e.root, &org.UpdateOrganizationalUnitInput{OrganizationalUnitID: ops.ID, Name: "Eng"})
	wantCode(t, "rename to a sibling's name", err, apierr.DuplicateOrganizationalUnitException)
	u, err := e.svc.UpdateOrganizationalUnit(e.ctx, e.root, &org.UpdateOrganizationalUnitInput{OrganizationalUnitID: ops.ID, Name: "Operations"})
	if err != nil || u.OrganizationalUnit.Name != "Operations" || u.OrganizationalUnit.ID != ops.ID {
		t.Fatalf("rename: %+v %v", u, err)
	}

	// Pages of one.
	var ids []string
	for tok := ""; ; {
		l, err := e.svc.ListOrganizationalUnitsForParent(e.ctx, e.root, &org.ListOrganizationalUnitsForParentInput{ParentID: root, NextToken: tok, MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range l.OrganizationalUnits {
			ids = append(ids, u.ID)
		}
		if tok = l.NextToken; tok == "" {
			break
		}
	}
	want := []string{eng.ID, ops.ID}
	if eng.ID > ops.ID {
		want = []string{ops.ID, eng.ID}
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("OUs in the root (-want +got):\n%s", diff)
	}

	// MoveAccount and the lists that follow it.
	mv := func(acct, from, to string) error {
		_, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: acct, SourceParentID: from, DestinationParentID: to})
		return err
	}
	wantCode(t, "move from a missing source", mv(member, "ou-zzzz-zzzzzzzz", eng.ID), apierr.SourceParentNotFoundException)
	wantCode(t, "move to a missing destination", mv(member, root, "ou-zzzz-zzzzzzzz"), apierr.DestinationParentNotFoundException)
	wantCode(t, "move a missing account", mv("999999999999", root, eng.ID), apierr.AccountNotFoundException)
	wantCode(t, "move from a parent it is not in", mv(member, ops.ID, eng.ID), apierr.AccountNotFoundException)
	wantCode(t, "move where it is", mv(member, root, root), apierr.DuplicateAccountException)
	if err := mv(member, root, eng.ID); err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.ListParents(e.ctx, e.root, &org.ListParentsInput{ChildID: member})
	if err != nil || len(p.Parents) != 1 || p.Parents[0] != (org.Parent{ID: eng.ID, Type: "ORGANIZATIONAL_UNIT"}) {
		t.Fatalf("parents of the member: %+v %v", p, err)
	}
	p, err = e.svc.ListParents(e.ctx, e.root, &org.ListParentsInput{ChildID: eng.ID})
	if err != nil || len(p.Parents) != 1 || p.Parents[0] != (org.Parent{ID: root, Type: "ROOT"}) {
		t.Fatalf("parents of Eng: %+v %v", p, err)
	}
	_, err = e.svc.ListParents(e.ctx, e.root, &org.ListParentsInput{ChildID: "ou-zzzz-zzzzzzzz"})
	wantCode(t, "parents of a missing OU", err, apierr.ChildNotFoundException)
	a, err := e.svc.ListAccountsForParent(e.ctx, e.root, &org.ListAccountsForParentInput{ParentID: eng.ID})
	if err != nil || len(a.Accounts) != 1 || a.Accounts[0].ID != member {
		t.Fatalf("accounts in Eng: %+v %v", a, err)
	}
	orgID := strings.Split(eng.ARN, "/")[1]
	if want := []string{orgID + "/" + root + "/" + eng.ID + "/" + member + "/"}; !cmp.Equal(want, a.Accounts[0].Paths) {
		t.Errorf("Paths %v, want %v", a.Accounts[0].Paths, want)
	}
	da, err := e.svc.DescribeAccount(e.ctx, e.root, &org.DescribeAccountInput{AccountID: member})
	if err != nil || !cmp.Equal(a.Accounts[0].Paths, da.Account.Paths) {
		t.Errorf("DescribeAccount Paths %+v %v", da, err)
	}
	a, err = e.svc.ListAccountsForParent(e.ctx, e.root, &org.ListAccountsForParentInput{ParentID: root})
	if err != nil || len(a.Accounts) != 1 || a.Accounts[0].ID != mgmt {
		t.Fatalf("accounts in the root: %+v %v", a, err)
	}
	c, err := e.svc.ListChildren(e.ctx, e.root, &org.ListChildrenInput{ParentID: eng.ID, ChildType: "ACCOUNT"})
	if err != nil || len(c.Children) != 1 || c.Children[0] != (org.Child{ID: member, Type: "ACCOUNT"}) {
		t.Fatalf("account children of Eng: %+v %v", c, err)
	}
	c, err = e.svc.ListChildren(e.ctx, e.root, &org.ListChildrenInput{ParentID: eng.ID, ChildType: "ORGANIZATIONAL_UNIT"})
	if err != nil || len(c.Children) != 1 || c.Children[0].Type != "ORGANIZATIONAL_UNIT" {
		t.Fatalf("OU children of Eng: %+v %v", c, err)
	}
	_, err = e.svc.ListChildren(e.ctx, e.root, &org.ListChildrenInput{ParentID: eng.ID, ChildType: "USER"})
	wantCode(t, "bad child type", err, apierr.OrgInvalidInputException)

	// Deletes: only empty OUs.
	_, err = e.svc.DeleteOrganizationalUnit(e.ctx, e.root, &org.DeleteOrganizationalUnitInput{OrganizationalUnitID: eng.ID})
	wantCode(t, "delete a non-empty OU", err, apierr.OrganizationalUnitNotEmptyException)
	if _, err := e.svc.DeleteOrganizationalUnit(e.ctx, e.root, &org.DeleteOrganizationalUnitInput{OrganizationalUnitID: ops.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.DeleteOrganizationalUnit(e.ctx, e.root, &org.DeleteOrganizationalUnitInput{OrganizationalUnitID: ops.ID})
	wantCode(t, "delete a deleted OU", err, apierr.OrganizationalUnitNotFoundException)
}

// TestOUSCPs: an SCP on an OU binds every account below it, and an Allow is
// needed at every level from the root down.
func TestOUSCPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	top := e.createOU(root, "Top")
	mid := e.createOU(top.ID, "Mid")
	memberRoot := rootCaller(member)
	allowed := func(action string) bool {
		t.Helper()
		err := e.authz.Check(e.ctx, memberRoot, action, "*")
		if err != nil && !errors.Is(err, code(apierr.AccessDenied)) {
			t.Fatalf("check %s: %v", action, err)
		}
		return err == nil
	}
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: member, SourceParentID: root, DestinationParentID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	if !allowed("s3:GetObject") {
		t.Fatal("FullAWSAccess at every level should allow s3:GetObject")
	}

	// A Deny on the top OU reaches the account two levels below.
	deny := e.createPolicy("DenyS3", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny, TargetID: top.ID}); err != nil {
		t.Fatal(err)
	}
	if allowed("s3:GetObject") {
		t.Error("a Deny on an OU above the account must deny")
	}
	if !allowed("iam:ListUsers") {
		t.Error("actions the OU's Deny does not name stay allowed")
	}
	tg, err := e.svc.ListTargetsForPolicy(e.ctx, e.root, &org.ListTargetsForPolicyInput{PolicyID: deny})
	if err != nil || len(tg.Targets) != 1 || tg.Targets[0].Type != "ORGANIZATIONAL_UNIT" || tg.Targets[0].Name != "Top" || tg.Targets[0].ARN != top.ARN {
		t.Fatalf("targets of the OU's SCP: %+v %v", tg, err)
	}
	pf, err := e.svc.ListPoliciesForTarget(e.ctx, e.root, &org.ListPoliciesForTargetInput{TargetID: top.ID, Filter: "SERVICE_CONTROL_POLICY"})
	if err != nil || len(pf.Policies) != 2 {
		t.Fatalf("policies of the OU: %+v %v", pf, err)
	}

	// Out of the OU, the Deny no longer applies, from the next request.
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: member, SourceParentID: mid.ID, DestinationParentID: root}); err != nil {
		t.Fatal(err)
	}
	if !allowed("s3:GetObject") {
		t.Error("after MoveAccount out of the OU, s3:GetObject should be allowed")
	}

	// An OU level that allows only IAM blocks everything else below it,
	// even with FullAWSAccess on the root and the account.
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: member, SourceParentID: root, DestinationParentID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	iamOnly := e.createPolicy("IAMOnly", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: iamOnly, TargetID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: org.FullAWSAccessID, TargetID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: deny, TargetID: top.ID}); err != nil {
		t.Fatal(err)
	}
	if allowed("sts:GetFederationToken") {
		t.Error("an OU without an Allow for the action must block it below")
	}
	if !allowed("iam:ListUsers") {
		t.Error("the OU's Allow should allow IAM")
	}
	// The management account is never bound by SCPs, wherever it sits.
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: mgmt, SourceParentID: root, DestinationParentID: mid.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.authz.Check(e.ctx, e.root, "sts:GetFederationToken", "*"); err != nil {
		t.Errorf("management account: %v", err)
	}
	_ = authz.OrgRootSetting
}

func (e *env) createPolicy(name, content string) string {
	e.t.Helper()
	p, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: name, Type: "SERVICE_CONTROL_POLICY", Content: content})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Policy.PolicySummary.ID
}

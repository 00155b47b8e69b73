package org_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/org"
	"github.com/opensts/opensts/internal/policy"
)

func TestPolicyTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	types := func() []org.PolicyTypeSummary {
		t.Helper()
		r, err := e.svc.ListRoots(e.ctx, e.root, &org.ListRootsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Roots[0].PolicyTypes
	}
	if diff := cmp.Diff([]org.PolicyTypeSummary{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}}, types()); diff != "" {
		t.Errorf("initial types (-want +got):\n%s", diff)
	}
	enable := func(typ string) error {
		_, err := e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: root, PolicyType: typ})
		return err
	}
	disable := func(typ string) error {
		_, err := e.svc.DisablePolicyType(e.ctx, e.root, &org.DisablePolicyTypeInput{RootID: root, PolicyType: typ})
		return err
	}
	wantCode(t, "enable SCPs again", enable("SERVICE_CONTROL_POLICY"), apierr.PolicyTypeAlreadyEnabledException)
	wantCode(t, "disable tag policies", disable("TAG_POLICY"), apierr.PolicyTypeNotEnabledException)
	wantCode(t, "unknown type", enable("NOPE"), apierr.OrgInvalidInputException)
	_, err := e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: "r-zzzz", PolicyType: "TAG_POLICY"})
	wantCode(t, "unknown root", err, apierr.RootNotFoundException)

	// A tag policy: created while its type is disabled, attached once enabled.
	tagDoc := `{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}`
	tp, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "tags", Type: "TAG_POLICY", Content: tagDoc})
	if err != nil {
		t.Fatal(err)
	}
	if got := tp.Policy.PolicySummary.ARN; got[len(got)-len("/tag_policy/"+tp.Policy.PolicySummary.ID):] != "/tag_policy/"+tp.Policy.PolicySummary.ID {
		t.Errorf("tag policy ARN %s", got)
	}
	_, err = e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: tp.Policy.PolicySummary.ID, TargetID: member})
	wantCode(t, "attach a tag policy before enabling", err, apierr.PolicyTypeNotEnabledException)
	if err := enable("TAG_POLICY"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: tp.Policy.PolicySummary.ID, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]org.PolicyTypeSummary{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}, {Type: "TAG_POLICY", Status: "ENABLED"}}, types()); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	// A tag policy attached to the member is no guardrail.
	if err := e.authz.Check(e.ctx, rootCaller(member), "s3:GetObject", "*"); err != nil {
		t.Errorf("with a tag policy attached: %v", err)
	}
	lp, err := e.svc.ListPolicies(e.ctx, e.root, &org.ListPoliciesInput{Filter: "TAG_POLICY"})
	if err != nil || len(lp.Policies) != 1 {
		t.Fatalf("tag policies: %+v %v", lp, err)
	}

	// Content validation per type.
	for _, tc := range []struct{ typ, content string }{
		{"TAG_POLICY", `{"tags": 3}`},
		{"TAG_POLICY", `not json`},
		{"BACKUP_POLICY", `{"tags":{}}`},
		{"AISERVICES_OPT_OUT_POLICY", `[]`},
		{"RESOURCE_CONTROL_POLICY", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"x"},"Action":"s3:*","Resource":"*"}]}`},
		{"RESOURCE_CONTROL_POLICY", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:*","Resource":"*"}]}`},
	} {
		_, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "bad", Type: tc.typ, Content: tc.content})
		wantCode(t, tc.typ+" "+tc.content, err, apierr.MalformedPolicyDocumentException)
	}
	for _, tc := range []struct{ typ, content string }{
		{"BACKUP_POLICY", `{"plans":{}}`},
		{"AISERVICES_OPT_OUT_POLICY", `{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}`},
		{"RESOURCE_CONTROL_POLICY", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}]}`},
	} {
		if _, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: tc.typ, Type: tc.typ, Content: tc.content}); err != nil {
			t.Errorf("%s: %v", tc.typ, err)
		}
	}

	// SCPs disabled: a Deny attached to the member stops applying, and
	// every SCP is detached; enabled again, FullAWSAccess is back everywhere.
	deny := e.createPolicy("DenyS3", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	if err := e.authz.Check(e.ctx, rootCaller(member), "s3:GetObject", "*"); !errors.Is(err, code(apierr.AccessDenied)) {
		t.Fatalf("with the Deny: %v", err)
	}
	if err := disable("SERVICE_CONTROL_POLICY"); err != nil {
		t.Fatal(err)
	}
	if err := e.authz.Check(e.ctx, rootCaller(member), "s3:GetObject", "*"); err != nil {
		t.Errorf("SCPs disabled: %v", err)
	}
	if got := e.targets(deny); len(got) != 0 {
		t.Errorf("SCP still attached to %v", got)
	}
	if got := e.targets(tp.Policy.PolicySummary.ID); len(got) != 1 {
		t.Errorf("the tag policy's attachments %v", got)
	}
	_, err = e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny, TargetID: member})
	wantCode(t, "attach an SCP while disabled", err, apierr.PolicyTypeNotEnabledException)
	if err := enable("SERVICE_CONTROL_POLICY"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt, member, root}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets after enabling (-want +got):\n%s", diff)
	}
	if err := e.authz.Check(e.ctx, rootCaller(member), "s3:GetObject", "*"); err != nil {
		t.Errorf("SCPs enabled again: %v", err)
	}
}

// TestResourceControlPolicyType: enabling RCPs attaches RCPFullAWSAccess to
// the root, every OU and every account, and to OUs and accounts made
// afterwards; an RCP attached to the member account then bounds requests
// to its resources (not the management account's), until the type is
// disabled, which detaches every RCP.
func TestResourceControlPolicyType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	ou, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: root, Name: "before"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.targets(org.RCPFullAWSAccessID); len(got) != 0 {
		t.Fatalf("RCPFullAWSAccess attached before RCPs are enabled: %v", got)
	}
	if _, err := e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: root, PolicyType: "RESOURCE_CONTROL_POLICY"}); err != nil {
		t.Fatal(err)
	}
	after, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: root, Name: "after"})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "late", Email: "late@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	late := acct.CreateAccountStatus.AccountID
	want := []string{mgmt, member, late, ou.OrganizationalUnit.ID, after.OrganizationalUnit.ID, root}
	got := e.targets(org.RCPFullAWSAccessID)
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("RCPFullAWSAccess targets (-want +got):\n%s", diff)
	}

	// As in AWS, it cannot be detached.
	_, err = e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: org.RCPFullAWSAccessID, TargetID: member})
	wantCode(t, "detach RCPFullAWSAccess", err, apierr.ConstraintViolationException)
	if got := e.targets(org.RCPFullAWSAccessID); len(got) != len(want) {
		t.Fatalf("RCPFullAWSAccess targets after a refused detach: %v", got)
	}

	deny, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "NoGet", Type: "RESOURCE_CONTROL_POLICY",
		Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: deny.Policy.PolicySummary.ID, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	get := func(owner string) error {
		r := &authz.Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: owner}
		d, err := e.authz.Decide(e.ctx, rootCaller(owner), r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Effect != policy.Allow {
			return e.authz.Deny(rootCaller(owner), r, d)
		}
		return nil
	}
	if err := get(member); err == nil || !strings.Contains(err.Error(), "explicit deny in a resource control policy") {
		t.Fatalf("the member's object under the RCP: %v", err)
	}
	if err := get(mgmt); err != nil {
		t.Fatalf("the management account's object: %v", err)
	}
	if _, err := e.svc.DisablePolicyType(e.ctx, e.root, &org.DisablePolicyTypeInput{RootID: root, PolicyType: "RESOURCE_CONTROL_POLICY"}); err != nil {
		t.Fatal(err)
	}
	if err := get(member); err != nil {
		t.Fatalf("RCPs disabled: %v", err)
	}
	if got := e.targets(org.RCPFullAWSAccessID); len(got) != 0 {
		t.Errorf("RCPFullAWSAccess still attached to %v", got)
	}
}

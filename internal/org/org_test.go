package org_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/org"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

const (
	mgmt     = "111122223333"
	member   = "444455556666"
	adminARN = "arn:aws:iam::aws:policy/AdministratorAccess"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type env struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	authz *authz.Authorizer
	svc   *org.Service
	root  *authz.Caller
	clock *time.Time // the time now returns; tests may move it
}

// newEnv is a deployment whose organization exists (ALL features).
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newStandaloneEnv(t)
	if _, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// newStandaloneEnv is a deployment before CreateOrganization.
func newStandaloneEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	clock := epoch
	now := func() time.Time { return clock }
	cache := policy.NewCache(1 << 20)
	az := authz.New(authz.Config{Store: st, Policies: cache, Now: now})
	st.SetChangeHook(az.Invalidate) // as the server's change feed would
	for _, a := range []store.Account{
		{ID: mgmt, Name: "management", CreatedAt: epoch, Management: true},
		{ID: member, Name: "member", Email: "member@example.com", CreatedAt: epoch},
	} {
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mp := store.ManagedPolicy{Account: "aws", ID: "ANPAIWMBCKSKIEE64ZLYK", Name: "AdministratorAccess", Path: "/", ARN: adminARN,
		DefaultVersionID: "v1", CreatedAt: epoch, UpdatedAt: epoch}
	if err := st.CreateManagedPolicy(ctx, mp, store.PolicyVersion{PolicyARN: adminARN, VersionID: "v1", CreatedAt: epoch,
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}); err != nil {
		t.Fatal(err)
	}
	svc := org.New(org.Config{Store: st, Authz: az, Policies: cache, Now: now, Rand: rand.NewChaCha8([32]byte{1})})
	if err := svc.Bootstrap(ctx, mgmt); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, store: st, authz: az, svc: svc, root: rootCaller(mgmt), clock: &clock}
}

func rootCaller(account string) *authz.Caller {
	return &authz.Caller{Account: account, Type: policy.Root, ARN: authz.RootARN(account), UserID: account}
}

func code(c apierr.Code) error { return &apierr.Error{Code: c} }

func (e *env) targets(policyID string) []string {
	e.t.Helper()
	atts, err := e.store.ListOrgAttachments(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range atts {
		if a.PolicyID == policyID {
			out = append(out, a.TargetID)
		}
	}
	return out
}

func TestBootstrapIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, err := e.store.GetSetting(e.ctx, org.OrgIDSetting)
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.store.GetSetting(e.ctx, authz.OrgRootSetting)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt, member, root}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets (-want +got):\n%s", diff)
	}
	// An administrator detaches FullAWSAccess from the member (after
	// attaching another SCP); a restart must not attach it again.
	p, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "s3", Type: "SERVICE_CONTROL_POLICY",
		Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: p.Policy.PolicySummary.ID, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: org.FullAWSAccessID, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	again := org.New(org.Config{Store: e.store, Authz: e.authz, Policies: policy.NewCache(1 << 20), Rand: rand.NewChaCha8([32]byte{9})})
	if err := again.Bootstrap(e.ctx, mgmt); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetSetting(e.ctx, org.OrgIDSetting); got != id {
		t.Errorf("organization id changed: %s -> %s", id, got)
	}
	if diff := cmp.Diff([]string{mgmt, root}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets after restart (-want +got):\n%s", diff)
	}
}

func TestOnlyManagementAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.DescribeOrganization(e.ctx, rootCaller(member), &org.DescribeOrganizationInput{})
	if !errors.Is(err, code(apierr.OrgAccessDeniedException)) {
		t.Fatalf("member root: %v, want AccessDeniedException", err)
	}
	// A management user without an identity policy is denied too.
	if err := e.store.CreateUser(e.ctx, store.User{Account: mgmt, ID: "AIDAAAAAAAAAAAAAAAAAA", Name: "nobody", Path: "/", CreatedAt: epoch}); err != nil {
		t.Fatal(err)
	}
	u := &authz.Caller{Account: mgmt, Type: policy.User, ARN: authz.UserARN(mgmt, "/", "nobody"), UserID: "AIDAAAAAAAAAAAAAAAAAA", UserName: "nobody"}
	if _, err := e.svc.ListAccounts(e.ctx, u, &org.ListAccountsInput{}); !errors.Is(err, code(apierr.OrgAccessDeniedException)) {
		t.Fatalf("user without policy: %v, want AccessDeniedException", err)
	}
	if err := e.store.PutInlinePolicy(e.ctx, store.InlinePolicy{Account: mgmt, Kind: store.KindUser, Owner: "nobody", Name: "read",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:List*","Resource":"*"}]}`}); err != nil {
		t.Fatal(err)
	}
	e.authz.Invalidate()
	if _, err := e.svc.ListAccounts(e.ctx, u, &org.ListAccountsInput{}); err != nil {
		t.Fatalf("user with organizations:List*: %v", err)
	}
	if _, err := e.svc.DescribeOrganization(e.ctx, u, &org.DescribeOrganizationInput{}); !errors.Is(err, code(apierr.OrgAccessDeniedException)) {
		t.Fatalf("DescribeOrganization with only List*: %v, want AccessDeniedException", err)
	}
}

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev", Email: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	st := out.CreateAccountStatus
	if st.State != "SUCCEEDED" || len(st.AccountID) != 12 || st.ID != "car-"+st.AccountID || st.AccountName != "dev" {
		t.Fatalf("status %+v", st)
	}
	a, err := e.store.GetAccount(e.ctx, st.AccountID)
	if err != nil || a.Email != "dev@example.com" || a.Management {
		t.Fatalf("account %+v, %v", a, err)
	}
	r, err := e.store.GetRole(e.ctx, st.AccountID, org.AccessRoleName)
	if err != nil {
		t.Fatal(err)
	}
	wantTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	if r.TrustPolicy != wantTrust || r.MaxSessionDuration != 3600 || r.Path != "/" || len(r.ID) != 21 || r.ID[:4] != "AROA" {
		t.Errorf("role %+v", r)
	}
	atts, err := e.store.ListAttachments(e.ctx, st.AccountID, store.KindRole, org.AccessRoleName)
	if err != nil || len(atts) != 1 || atts[0].PolicyARN != adminARN {
		t.Errorf("role attachments %+v, %v", atts, err)
	}
	if !slices.Contains(e.targets(org.FullAWSAccessID), st.AccountID) {
		t.Errorf("FullAWSAccess not attached to the new account")
	}
	got, err := e.svc.DescribeCreateAccountStatus(e.ctx, e.root, &org.DescribeCreateAccountStatusInput{CreateAccountRequestID: st.ID})
	if err != nil || got.CreateAccountStatus.AccountID != st.AccountID {
		t.Fatalf("DescribeCreateAccountStatus %+v, %v", got, err)
	}

	// The same email again fails, as AWS reports it: a FAILED request.
	dup, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev2", Email: "DEV@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if dup.CreateAccountStatus.State != "FAILED" || dup.CreateAccountStatus.FailureReason != "EMAIL_ALREADY_EXISTS" {
		t.Fatalf("duplicate email status %+v", dup.CreateAccountStatus)
	}
	got, err = e.svc.DescribeCreateAccountStatus(e.ctx, e.root, &org.DescribeCreateAccountStatusInput{CreateAccountRequestID: dup.CreateAccountStatus.ID})
	if err != nil || got.CreateAccountStatus.State != "FAILED" {
		t.Fatalf("DescribeCreateAccountStatus of the failed request %+v, %v", got, err)
	}

	list, err := e.svc.ListCreateAccountStatus(e.ctx, e.root, &org.ListCreateAccountStatusInput{States: []string{"SUCCEEDED"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list.CreateAccountStatuses {
		ids = append(ids, s.AccountID)
	}
	want := []string{member, st.AccountID}
	slices.Sort(want)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ListCreateAccountStatus (-want +got):\n%s", diff)
	}
}

func TestInputErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	scp := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`
	p, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "deny", Type: "SERVICE_CONTROL_POLICY", Content: scp})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Policy.PolicySummary.ID
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: pid, TargetID: member}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want apierr.Code
	}{
		{"CreateOrganization", func() error {
			_, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{})
			return err
		}, apierr.AlreadyInOrganizationException},
		{"CreateAccount without email", func() error {
			_, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "x"})
			return err
		}, apierr.OrgInvalidInputException},
		{"DescribeAccount unknown", func() error {
			_, err := e.svc.DescribeAccount(e.ctx, e.root, &org.DescribeAccountInput{AccountID: "999999999999"})
			return err
		}, apierr.AccountNotFoundException},
		{"DescribeCreateAccountStatus unknown", func() error {
			_, err := e.svc.DescribeCreateAccountStatus(e.ctx, e.root, &org.DescribeCreateAccountStatusInput{CreateAccountRequestID: "car-0123456789abcdef"})
			return err
		}, apierr.CreateAccountStatusNotFoundException},
		{"CreatePolicy malformed", func() error {
			_, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "bad", Type: "SERVICE_CONTROL_POLICY", Content: `{"Statement":[]`})
			return err
		}, apierr.MalformedPolicyDocumentException},
		{"CreatePolicy tag policy with an SCP's content", func() error {
			_, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "tags", Type: "TAG_POLICY", Content: scp})
			return err
		}, apierr.MalformedPolicyDocumentException},
		{"CreatePolicy of a type OpenSTS does not keep", func() error {
			_, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "chat", Type: "CHATBOT_POLICY", Content: "{}"})
			return err
		}, apierr.PolicyTypeNotAvailableForOrganizationException},
		{"CreatePolicy duplicate name", func() error {
			_, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "deny", Type: "SERVICE_CONTROL_POLICY", Content: scp})
			return err
		}, apierr.DuplicatePolicyException},
		{"DescribePolicy unknown", func() error {
			_, err := e.svc.DescribePolicy(e.ctx, e.root, &org.DescribePolicyInput{PolicyID: "p-abcdefgh"})
			return err
		}, apierr.PolicyNotFoundException},
		{"UpdatePolicy AWS managed", func() error {
			_, err := e.svc.UpdatePolicy(e.ctx, e.root, &org.UpdatePolicyInput{PolicyID: org.FullAWSAccessID, Description: new(string)})
			return err
		}, apierr.OrgAccessDeniedException},
		{"DeletePolicy attached", func() error {
			_, err := e.svc.DeletePolicy(e.ctx, e.root, &org.DeletePolicyInput{PolicyID: pid})
			return err
		}, apierr.PolicyInUseException},
		{"AttachPolicy twice", func() error {
			_, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: pid, TargetID: member})
			return err
		}, apierr.DuplicatePolicyAttachmentException},
		{"AttachPolicy unknown account", func() error {
			_, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: pid, TargetID: "999999999999"})
			return err
		}, apierr.TargetNotFoundException},
		{"AttachPolicy OU", func() error {
			_, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: pid, TargetID: "ou-abcd-12345678"})
			return err
		}, apierr.TargetNotFoundException},
		{"DetachPolicy not attached", func() error {
			_, err := e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: pid, TargetID: mgmt})
			return err
		}, apierr.PolicyNotAttachedException},
		{"DetachPolicy the last SCP", func() error {
			_, err := e.svc.DetachPolicy(e.ctx, e.root, &org.DetachPolicyInput{PolicyID: org.FullAWSAccessID, TargetID: mgmt})
			return err
		}, apierr.ConstraintViolationException},
		{"ListPolicies bad filter", func() error {
			_, err := e.svc.ListPolicies(e.ctx, e.root, &org.ListPoliciesInput{Filter: "NOPE"})
			return err
		}, apierr.OrgInvalidInputException},
		{"ListAccounts bad token", func() error {
			_, err := e.svc.ListAccounts(e.ctx, e.root, &org.ListAccountsInput{NextToken: "!!"})
			return err
		}, apierr.OrgInvalidInputException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, code(tt.want)) {
				t.Errorf("got %v, want %s", err, tt.want.Name)
			}
		})
	}
}

func TestListAccountsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		if _, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "a", Email: "a" + string(rune('0'+i)) + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	token := ""
	two := int32(2)
	for pages := 0; ; pages++ {
		out, err := e.svc.ListAccounts(e.ctx, e.root, &org.ListAccountsInput{NextToken: token, MaxResults: &two})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Accounts) > 2 || pages > 5 {
			t.Fatalf("page of %d", len(out.Accounts))
		}
		for _, a := range out.Accounts {
			ids = append(ids, a.ID)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if len(ids) != 5 || !slices.IsSorted(ids) {
		t.Errorf("accounts %v", ids)
	}
}

// TestStandaloneUntilCreateOrganization: a deployment starts standalone, as
// an AWS account does; CreateOrganization makes the organization (ALL
// features by default: SCPs enabled, FullAWSAccess on the root and every
// account), once.
func TestStandaloneUntilCreateOrganization(t *testing.T) {
	t.Parallel()
	e := newStandaloneEnv(t)
	if _, err := e.svc.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{}); !errors.Is(err, code(apierr.OrganizationsNotInUseException)) {
		t.Fatalf("DescribeOrganization before: %v", err)
	}
	if _, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev", Email: "dev@example.com"}); !errors.Is(err, code(apierr.OrganizationsNotInUseException)) {
		t.Fatalf("CreateAccount before: %v", err)
	}
	if _, err := e.svc.ListRoots(e.ctx, e.root, &org.ListRootsInput{}); !errors.Is(err, code(apierr.OrganizationsNotInUseException)) {
		t.Fatalf("ListRoots before: %v", err)
	}
	if atts, _ := e.store.ListOrgAttachments(e.ctx); len(atts) != 0 {
		t.Fatalf("attachments before: %v", atts)
	}
	// A caller without the permission learns nothing.
	if err := e.store.CreateUser(e.ctx, store.User{Account: mgmt, ID: "AIDAAAAAAAAAAAAAAAAAA", Name: "nobody", Path: "/", CreatedAt: epoch}); err != nil {
		t.Fatal(err)
	}
	nobody := &authz.Caller{Account: mgmt, Type: policy.User, ARN: authz.UserARN(mgmt, "/", "nobody"), UserID: "AIDAAAAAAAAAAAAAAAAAA", UserName: "nobody"}
	if _, err := e.svc.DescribeOrganization(e.ctx, nobody, &org.DescribeOrganizationInput{}); !errors.Is(err, code(apierr.OrgAccessDeniedException)) {
		t.Fatalf("DescribeOrganization without permission: %v", err)
	}
	if _, err := e.svc.CreateOrganization(e.ctx, nobody, &org.CreateOrganizationInput{}); !errors.Is(err, code(apierr.OrgAccessDeniedException)) {
		t.Fatalf("CreateOrganization without permission: %v", err)
	}
	if _, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{FeatureSet: "SOME"}); !errors.Is(err, code(apierr.OrgInvalidInputException)) {
		t.Fatalf("bad feature set: %v", err)
	}
	// Another account of the deployment is a member already.
	if _, err := e.svc.CreateOrganization(e.ctx, rootCaller(member), &org.CreateOrganizationInput{}); !errors.Is(err, code(apierr.AlreadyInOrganizationException)) {
		t.Fatalf("member account: %v", err)
	}

	out, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	o := out.Organization
	if o.FeatureSet != "ALL" || o.MasterAccountID != mgmt || len(o.ID) != 12 || o.ARN != "arn:aws:organizations::"+mgmt+":organization/"+o.ID ||
		len(o.AvailablePolicyTypes) != 1 || o.AvailablePolicyTypes[0].Type != "SERVICE_CONTROL_POLICY" {
		t.Fatalf("CreateOrganization: %+v", o)
	}
	d, err := e.svc.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{})
	if err != nil || d.Organization.ID != o.ID {
		t.Fatalf("DescribeOrganization after: %+v %v", d, err)
	}
	root, err := e.store.GetSetting(e.ctx, authz.OrgRootSetting)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{mgmt, member, root}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets (-want +got):\n%s", diff)
	}
	if _, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{}); !errors.Is(err, code(apierr.AlreadyInOrganizationException)) {
		t.Fatalf("second CreateOrganization: %v", err)
	}
	if _, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "dev", Email: "dev@example.com"}); err != nil {
		t.Fatalf("CreateAccount after: %v", err)
	}
}

// TestConsolidatedBilling: an organization with consolidated billing only
// has no policy types: SCPs can be neither created nor attached, and none
// applies.
func TestConsolidatedBilling(t *testing.T) {
	t.Parallel()
	e := newStandaloneEnv(t)
	out, err := e.svc.CreateOrganization(e.ctx, e.root, &org.CreateOrganizationInput{FeatureSet: "CONSOLIDATED_BILLING"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Organization.FeatureSet != "CONSOLIDATED_BILLING" || out.Organization.AvailablePolicyTypes == nil || len(out.Organization.AvailablePolicyTypes) != 0 {
		t.Fatalf("CreateOrganization: %+v", out.Organization)
	}
	roots, err := e.svc.ListRoots(e.ctx, e.root, &org.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 || len(roots.Roots[0].PolicyTypes) != 0 {
		t.Fatalf("ListRoots: %+v %v", roots, err)
	}
	if atts, _ := e.store.ListOrgAttachments(e.ctx); len(atts) != 0 {
		t.Fatalf("attachments: %v", atts)
	}
	_, err = e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: "s3", Type: "SERVICE_CONTROL_POLICY",
		Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`})
	if !errors.Is(err, code(apierr.PolicyTypeNotAvailableForOrganizationException)) {
		t.Fatalf("CreatePolicy: %v", err)
	}
	_, err = e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: org.FullAWSAccessID, TargetID: member})
	if !errors.Is(err, code(apierr.PolicyTypeNotAvailableForOrganizationException)) {
		t.Fatalf("AttachPolicy: %v", err)
	}
	// OUs exist with consolidated billing too, without SCPs: an account
	// moved into one is not bound by anything.
	ou, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: roots.Roots[0].ID, Name: "cb"})
	if err != nil {
		t.Fatal(err)
	}
	if atts, _ := e.store.ListOrgAttachments(e.ctx); len(atts) != 0 {
		t.Fatalf("attachments after CreateOrganizationalUnit: %v", atts)
	}
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: member, SourceParentID: roots.Roots[0].ID, DestinationParentID: ou.OrganizationalUnit.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.authz.Check(e.ctx, rootCaller(member), "s3:GetObject", "*"); err != nil {
		t.Errorf("member in an OU with consolidated billing: %v", err)
	}
	_, err = e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: roots.Roots[0].ID, PolicyType: "SERVICE_CONTROL_POLICY"})
	if !errors.Is(err, code(apierr.PolicyTypeNotAvailableForOrganizationException)) {
		t.Fatalf("EnablePolicyType: %v", err)
	}
}

// TestOrganizationFromEarlierVersions: a data directory whose organization
// an earlier version made at first start (its id and root, no feature set)
// keeps it, with all features.
func TestOrganizationFromEarlierVersions(t *testing.T) {
	t.Parallel()
	e := newStandaloneEnv(t)
	if err := e.store.PutSetting(e.ctx, org.OrgIDSetting, "o-abcdefghij"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutSetting(e.ctx, authz.OrgRootSetting, "r-abcd"); err != nil {
		t.Fatal(err)
	}
	again := org.New(org.Config{Store: e.store, Authz: e.authz, Policies: policy.NewCache(1 << 20), Rand: rand.NewChaCha8([32]byte{9})})
	if err := again.Bootstrap(e.ctx, mgmt); err != nil {
		t.Fatal(err)
	}
	d, err := again.DescribeOrganization(e.ctx, e.root, &org.DescribeOrganizationInput{})
	if err != nil || d.Organization.ID != "o-abcdefghij" || d.Organization.FeatureSet != "ALL" {
		t.Fatalf("DescribeOrganization: %+v %v", d, err)
	}
	if diff := cmp.Diff([]string{mgmt, member, "r-abcd"}, e.targets(org.FullAWSAccessID)); diff != "" {
		t.Errorf("FullAWSAccess targets (-want +got):\n%s", diff)
	}
}

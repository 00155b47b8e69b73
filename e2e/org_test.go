package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const scpType = orgtypes.PolicyTypeServiceControlPolicy

func (e *env) org(akid, secret, token string) *organizations.Client {
	return organizations.NewFromConfig(e.awsConfig(akid, secret, token))
}

func (e *env) rootOrg() *organizations.Client { return e.org(testRootKeyID, testRootSecret, "") }

// wantErr fails the test unless err is the SDK's modeled error T.
func wantErr[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not %T", err, err, target)
	}
}

// principal is one set of credentials with a client for each API.
type principal struct {
	iam *iam.Client
	sts *sts.Client
	org *organizations.Client
}

func (e *env) principal(akid, secret, token string) principal {
	return principal{iam: e.iam(akid, secret, token), sts: e.sts(akid, secret, token), org: e.org(akid, secret, token)}
}

// admin creates a management-account user with AdministratorAccess.
func (e *env) admin(t *testing.T, name string) principal {
	t.Helper()
	akid, secret := e.user(t, name)
	if _, err := e.rootIAM().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	return e.principal(akid, secret, "")
}

// createOrg makes the deployment's organization (ALL features), as the
// README's quick start does; a deployment starts standalone.
func (e *env) createOrg(t *testing.T) {
	t.Helper()
	_, err := e.rootOrg().CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	var already *orgtypes.AlreadyInOrganizationException
	if err != nil && !errors.As(err, &already) {
		t.Fatal(err)
	}
}

// newAccount creates a member account (and the organization, when there is
// none yet) and returns its id.
func (e *env) newAccount(t *testing.T, name string) string {
	t.Helper()
	e.createOrg(t)
	out, err := e.rootOrg().CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	st := out.CreateAccountStatus
	if st.State != orgtypes.CreateAccountStateSucceeded || len(aws.ToString(st.AccountId)) != 12 {
		t.Fatalf("CreateAccountStatus %+v", st)
	}
	return *st.AccountId
}

// assumeInto assumes role in account as p and returns the session's principal.
func (e *env) assumeInto(t *testing.T, p principal, account, role string) principal {
	t.Helper()
	out, err := p.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + account + ":role/" + role), RoleSessionName: aws.String("ops")})
	if err != nil {
		t.Fatalf("assume %s in %s: %v", role, account, err)
	}
	c := out.Credentials
	return e.principal(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

func TestOrgDescribeOrganization(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootOrg()
	// Standalone until CreateOrganization, as an AWS account.
	_, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantErr[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	_, err = c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("early"), Email: aws.String("early@example.com")})
	wantErr[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	created := must[*organizations.CreateOrganizationOutput](t)(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})).Organization
	o := must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	id := aws.ToString(o.Id)
	if !strings.HasPrefix(id, "o-") || len(id) != 12 || o.FeatureSet != orgtypes.OrganizationFeatureSetAll ||
		aws.ToString(o.MasterAccountId) != testAccount ||
		aws.ToString(o.Arn) != "arn:aws:organizations::"+testAccount+":organization/"+id ||
		aws.ToString(o.MasterAccountArn) != "arn:aws:organizations::"+testAccount+":account/"+id+"/"+testAccount {
		t.Fatalf("organization %+v", o)
	}
	if len(o.AvailablePolicyTypes) != 1 || o.AvailablePolicyTypes[0].Type != scpType || o.AvailablePolicyTypes[0].Status != orgtypes.PolicyTypeStatusEnabled {
		t.Fatalf("AvailablePolicyTypes %+v", o.AvailablePolicyTypes)
	}
	if aws.ToString(created.Id) != id || created.FeatureSet != orgtypes.OrganizationFeatureSetAll {
		t.Fatalf("CreateOrganization %+v, then DescribeOrganization %+v", created, o)
	}
	_, err = c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	wantErr[*orgtypes.AlreadyInOrganizationException](t, err)

	roots := must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{})).Roots
	if len(roots) != 1 || !strings.HasPrefix(aws.ToString(roots[0].Id), "r-") || aws.ToString(roots[0].Name) != "Root" ||
		len(roots[0].PolicyTypes) != 1 || roots[0].PolicyTypes[0].Type != scpType {
		t.Fatalf("roots %+v", roots)
	}
	// An operation of the SDK's that OpenSTS does not serve is answered as
	// AWS's JSON services answer one: UnknownOperationException, 400.
	_, err = c.ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{Type: orgtypes.ResponsibilityTransferTypeBilling})
	wantCode(t, err, "UnknownOperationException")
	if re := (*smithyhttp.ResponseError)(nil); !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("an unknown operation: %v, want status 400", err)
	}
	// The organization survives a restart unchanged.
	e.stop()
	e2 := startIn(t, e.dataDir)
	o2 := must[*organizations.DescribeOrganizationOutput](t)(e2.rootOrg().DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	if aws.ToString(o2.Id) != id {
		t.Fatalf("organization id %s after restart, was %s", aws.ToString(o2.Id), id)
	}
}

func TestOrgAccounts(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createOrg(t)
	c := e.rootOrg()
	before := time.Now().Add(-time.Second)
	out, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	st := out.CreateAccountStatus
	acct := aws.ToString(st.AccountId)
	if st.State != orgtypes.CreateAccountStateSucceeded || !strings.HasPrefix(aws.ToString(st.Id), "car-") || aws.ToString(st.AccountName) != "dev" ||
		st.RequestedTimestamp == nil || st.RequestedTimestamp.Before(before) || st.CompletedTimestamp == nil || len(acct) != 12 {
		t.Fatalf("CreateAccountStatus %+v", st)
	}
	got := must[*organizations.DescribeCreateAccountStatusOutput](t)(c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: st.Id})).CreateAccountStatus
	if aws.ToString(got.AccountId) != acct || got.State != orgtypes.CreateAccountStateSucceeded {
		t.Fatalf("DescribeCreateAccountStatus %+v", got)
	}
	_, err = c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String("car-0123456789abcdef0123456789abcdef")})
	wantErr[*orgtypes.CreateAccountStatusNotFoundException](t, err)
	list := must[*organizations.ListCreateAccountStatusOutput](t)(c.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{States: []orgtypes.CreateAccountState{orgtypes.CreateAccountStateSucceeded}}))
	if len(list.CreateAccountStatuses) != 1 || aws.ToString(list.CreateAccountStatuses[0].AccountId) != acct {
		t.Fatalf("ListCreateAccountStatus %+v", list.CreateAccountStatuses)
	}

	a := must[*organizations.DescribeAccountOutput](t)(c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(acct)})).Account
	if aws.ToString(a.Name) != "dev" || aws.ToString(a.Email) != "dev@example.com" || a.Status != orgtypes.AccountStatusActive ||
		a.JoinedMethod != orgtypes.AccountJoinedMethodCreated || a.JoinedTimestamp == nil || !strings.HasSuffix(aws.ToString(a.Arn), "/"+acct) {
		t.Fatalf("account %+v", a)
	}
	_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
	wantErr[*orgtypes.AccountNotFoundException](t, err)

	e.newAccount(t, "test")
	e.newAccount(t, "prod")
	var ids []string
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range pg.Accounts {
			ids = append(ids, aws.ToString(a.Id))
		}
	}
	if pages != 2 || len(ids) != 4 || !slices.Contains(ids, testAccount) || !slices.Contains(ids, acct) {
		t.Fatalf("ListAccounts: %d pages, %v", pages, ids)
	}
	// An email already in use fails the request, as AWS reports it.
	dup := must[*organizations.CreateAccountOutput](t)(c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dup"), Email: aws.String("DEV@example.com")})).CreateAccountStatus
	if dup.State != orgtypes.CreateAccountStateFailed || dup.FailureReason != orgtypes.CreateAccountFailureReasonEmailAlreadyExists || dup.AccountId != nil {
		t.Fatalf("duplicate email: %+v", dup)
	}
	got = must[*organizations.DescribeCreateAccountStatusOutput](t)(c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: dup.Id})).CreateAccountStatus
	if got.State != orgtypes.CreateAccountStateFailed {
		t.Fatalf("DescribeCreateAccountStatus of the failed request %+v", got)
	}
	_, err = c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("not-an-email")})
	wantErr[*orgtypes.InvalidInputException](t, err)
	_, err = c.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("not a token")})
	wantErr[*orgtypes.InvalidInputException](t, err)
}

// TestOrgCreateAccountAndAssume: an administrator of the management account
// reaches a new account through OrganizationAccountAccessRole; the accounts
// stay isolated otherwise.
func TestOrgCreateAccountAndAssume(t *testing.T) {
	t.Parallel()
	e := start(t)
	acct := e.newAccount(t, "dev")
	admin := e.admin(t, "admin")
	// Roots may not assume roles, even the management root.
	_, err := e.rootSTS().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("root")})
	wantCode(t, err, "AccessDenied")

	dev := e.assumeInto(t, admin, acct, "OrganizationAccountAccessRole")
	id := must[*sts.GetCallerIdentityOutput](t)(dev.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Account) != acct || aws.ToString(id.Arn) != "arn:aws:sts::"+acct+":assumed-role/OrganizationAccountAccessRole/ops" {
		t.Fatalf("caller identity %+v", id)
	}
	u := must[*iam.CreateUserOutput](t)(dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})).User
	if aws.ToString(u.Arn) != "arn:aws:iam::"+acct+":user/bob" {
		t.Fatalf("user %+v", u)
	}

	// Isolation: each account sees only its own users, roles and policies.
	mgmtUsers := userNames(t, e.rootIAM())
	if slices.Contains(mgmtUsers, "bob") || !slices.Contains(mgmtUsers, "admin") {
		t.Fatalf("management users %v", mgmtUsers)
	}
	if got := userNames(t, dev.iam); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("dev users %v", got)
	}
	_, err = e.rootIAM().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bob")})
	wantCode(t, err, "NoSuchEntity")
	_, err = dev.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("admin")})
	wantCode(t, err, "NoSuchEntity")
	roles := must[*iam.ListRolesOutput](t)(e.rootIAM().ListRoles(ctx, &iam.ListRolesInput{})).Roles
	for _, r := range roles {
		if aws.ToString(r.RoleName) == "OrganizationAccountAccessRole" {
			t.Fatalf("the management account lists the member's role %s", aws.ToString(r.Arn))
		}
	}
	_, err = dev.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("admin")})
	wantCode(t, err, "NoSuchEntity")

	// Member accounts may not call Organizations, whatever their policies.
	_, err = dev.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantErr[*orgtypes.AccessDeniedException](t, err)
	_, err = dev.org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	wantErr[*orgtypes.AccessDeniedException](t, err)
	// A management user without permissions may not either.
	akid, secret := e.user(t, "nobody")
	_, err = e.org(akid, secret, "").ListAccounts(ctx, &organizations.ListAccountsInput{})
	wantErr[*orgtypes.AccessDeniedException](t, err)
	// The administrator may.
	if _, err := admin.org.ListAccounts(ctx, &organizations.ListAccountsInput{}); err != nil {
		t.Fatal(err)
	}
}

func userNames(t *testing.T, c *iam.Client) []string {
	t.Helper()
	var names []string
	for _, u := range must[*iam.ListUsersOutput](t)(c.ListUsers(ctx, &iam.ListUsersInput{})).Users {
		names = append(names, aws.ToString(u.UserName))
	}
	return names
}

// TestCrossAccountAssumeRole: both sides must allow, and an external id
// condition stops the confused deputy.
func TestCrossAccountAssumeRole(t *testing.T) {
	t.Parallel()
	e := start(t)
	acct := e.newAccount(t, "partner")
	dev := e.assumeInto(t, e.admin(t, "admin"), acct, "OrganizationAccountAccessRole")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`
	role := must[*iam.CreateRoleOutput](t)(dev.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trust)})).Role
	deputyTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + testAccount + `"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"tenant-42"}}}]}`
	deputy := must[*iam.CreateRoleOutput](t)(dev.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deputy"), AssumeRolePolicyDocument: aws.String(deputyTrust)})).Role

	akid, secret := e.user(t, "carol")
	carol := e.sts(akid, secret, "")
	// The trust policy allows the management account, but carol's own
	// policies do not allow sts:AssumeRole: denied.
	_, err := e.assume(t, carol, *role.Arn, nil)
	wantCode(t, err, "AccessDenied")
	e.userPolicy(t, "carol", "assume", allow("sts:AssumeRole", *role.Arn))
	out, err := e.assume(t, carol, *role.Arn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::"+acct+":assumed-role/reader/ss-session" {
		t.Fatalf("assumed role %s", got)
	}
	// Allowed for one role, not for another in the same account.
	_, err = e.assume(t, carol, *deputy.Arn, func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String("tenant-42") })
	wantCode(t, err, "AccessDenied")

	// A role that trusts nobody outside its account: denied even with an
	// identity policy allowing everything.
	e.userPolicy(t, "carol", "assume", allow("sts:AssumeRole", "*"))
	local := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	private := must[*iam.CreateRoleOutput](t)(dev.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("private"), AssumeRolePolicyDocument: aws.String(local)})).Role
	_, err = e.assume(t, carol, *private.Arn, nil)
	wantCode(t, err, "AccessDenied")

	// ExternalId: missing or wrong is denied, right is allowed.
	_, err = e.assume(t, carol, *deputy.Arn, nil)
	wantCode(t, err, "AccessDenied")
	_, err = e.assume(t, carol, *deputy.Arn, func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String("tenant-43") })
	wantCode(t, err, "AccessDenied")
	if _, err := e.assume(t, carol, *deputy.Arn, func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String("tenant-42") }); err != nil {
		t.Fatal(err)
	}
}

func TestOrgPolicies(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createOrg(t)
	c := e.rootOrg()
	acct := e.newAccount(t, "dev")
	roots := must[*organizations.ListRootsOutput](t)(c.ListRoots(ctx, &organizations.ListRootsInput{})).Roots
	root := aws.ToString(roots[0].Id)

	// FullAWSAccess is AWS managed and attached to the root and every account.
	full := must[*organizations.DescribePolicyOutput](t)(c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-FullAWSAccess")})).Policy
	if !full.PolicySummary.AwsManaged || aws.ToString(full.PolicySummary.Name) != "FullAWSAccess" ||
		aws.ToString(full.PolicySummary.Arn) != "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess" {
		t.Fatalf("FullAWSAccess %+v", full.PolicySummary)
	}
	var content map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(full.Content)), &content); err != nil || content["Version"] != "2012-10-17" {
		t.Fatalf("FullAWSAccess content %q", aws.ToString(full.Content))
	}
	targets := must[*organizations.ListTargetsForPolicyOutput](t)(c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String("p-FullAWSAccess")})).Targets
	var tids []string
	for _, tg := range targets {
		tids = append(tids, aws.ToString(tg.TargetId))
		if aws.ToString(tg.TargetId) == root && tg.Type != orgtypes.TargetTypeRoot {
			t.Errorf("root target %+v", tg)
		}
	}
	if !slices.Contains(tids, root) || !slices.Contains(tids, acct) || !slices.Contains(tids, testAccount) {
		t.Fatalf("FullAWSAccess targets %v", tids)
	}

	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`
	p := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("no-users"), Description: aws.String("no new users"), Type: scpType, Content: aws.String(deny)})).Policy
	pid := p.PolicySummary.Id
	if !strings.HasPrefix(aws.ToString(pid), "p-") || p.PolicySummary.AwsManaged || aws.ToString(p.Content) != deny || p.PolicySummary.Type != scpType {
		t.Fatalf("policy %+v", p.PolicySummary)
	}
	_, err := c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-users"), Description: aws.String(""), Type: scpType, Content: aws.String(deny)})
	wantErr[*orgtypes.DuplicatePolicyException](t, err)
	_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("bad"), Description: aws.String(""), Type: scpType, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}`)})
	wantErr[*orgtypes.MalformedPolicyDocumentException](t, err)
	_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("tags"), Description: aws.String(""), Type: orgtypes.PolicyTypeTagPolicy, Content: aws.String(deny)})
	wantErr[*orgtypes.MalformedPolicyDocumentException](t, err) // a tag policy needs "tags"
	_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String("p-00000000")})
	wantErr[*orgtypes.PolicyNotFoundException](t, err)
	_, err = c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String("p-FullAWSAccess"), Content: aws.String(deny)})
	wantErr[*orgtypes.AccessDeniedException](t, err)
	_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String("p-FullAWSAccess")})
	wantErr[*orgtypes.AccessDeniedException](t, err)

	list := must[*organizations.ListPoliciesOutput](t)(c.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: scpType})).Policies
	if len(list) != 2 || aws.ToString(list[0].Name) != "FullAWSAccess" || aws.ToString(list[1].Name) != "no-users" {
		t.Fatalf("ListPolicies %+v", list)
	}

	dev := e.assumeInto(t, e.admin(t, "admin"), acct, "OrganizationAccountAccessRole")
	if _, err := dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("before")}); err != nil {
		t.Fatal(err)
	}

	// Attach to the account: AdministratorAccess in dev no longer creates users.
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pid, TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pid, TargetId: aws.String(acct)})
	wantErr[*orgtypes.DuplicatePolicyAttachmentException](t, err)
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pid, TargetId: aws.String("999999999999")})
	wantErr[*orgtypes.TargetNotFoundException](t, err)
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String("p-00000000"), TargetId: aws.String(acct)})
	wantErr[*orgtypes.PolicyNotFoundException](t, err)
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: pid, TargetId: aws.String(root)})
	wantErr[*orgtypes.PolicyNotAttachedException](t, err)
	_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: pid})
	wantErr[*orgtypes.PolicyInUseException](t, err)
	forTarget := must[*organizations.ListPoliciesForTargetOutput](t)(c.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(acct), Filter: scpType})).Policies
	if len(forTarget) != 2 {
		t.Fatalf("ListPoliciesForTarget %+v", forTarget)
	}

	_, err = dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("denied")})
	wantCode(t, err, "AccessDenied")
	if got := userNames(t, dev.iam); !slices.Equal(got, []string{"before"}) {
		t.Fatalf("dev users %v", got)
	}

	// Attached to the root it binds member accounts, never the management account.
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pid, TargetId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rootIAM().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mgmt-user")}); err != nil {
		t.Fatalf("management account under a root SCP: %v", err)
	}
	if _, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: pid, TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	_, err = dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("denied")})
	wantCode(t, err, "AccessDenied") // still denied through the root
	if _, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: pid, TargetId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("after")}); err != nil {
		t.Fatalf("after detaching: %v", err)
	}

	// UpdatePolicy changes the guardrail in place.
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: pid, TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	upd := must[*organizations.UpdatePolicyOutput](t)(c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: pid, Name: aws.String("no-deletes"),
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}`)})).Policy
	if aws.ToString(upd.PolicySummary.Name) != "no-deletes" || aws.ToString(upd.PolicySummary.Description) != "no new users" {
		t.Fatalf("updated %+v", upd.PolicySummary)
	}
	if _, err := dev.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("again")}); err != nil {
		t.Fatalf("after update: %v", err)
	}
	_, err = dev.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("again")})
	wantCode(t, err, "AccessDenied")
	_, err = c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: pid, Content: aws.String(`{"Statement":`)})
	wantErr[*orgtypes.MalformedPolicyDocumentException](t, err)
	if _, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: pid, TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: pid}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: pid})
	wantErr[*orgtypes.PolicyNotFoundException](t, err)

	// An allow is needed at every level: an SCP allowing only s3:* in place
	// of FullAWSAccess on the account denies IAM there.
	s3 := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{
		Name: aws.String("s3-only"), Description: aws.String(""), Type: scpType,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})).Policy
	// The last SCP of a target cannot be detached.
	_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(acct)})
	wantErr[*orgtypes.ConstraintViolationException](t, err)
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: s3.PolicySummary.Id, TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	_, err = dev.iam.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(acct)}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.iam.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("after re-attaching FullAWSAccess: %v", err)
	}
}

func TestOrgAWSCLI(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	ok := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, code := c.run(t, root, awsCLIPath(), append(args, "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}
	if _, errOut, code := c.run(t, root, awsCLIPath(), "organizations", "describe-organization", "--endpoint-url", p.endpoint); code == 0 || !strings.Contains(errOut, "AWSOrganizationsNotInUseException") {
		t.Fatalf("describe-organization before create-organization: exit %d: %s", code, errOut)
	}
	if created := ok("organizations", "create-organization")["Organization"].(map[string]any); created["FeatureSet"] != "ALL" {
		t.Fatalf("create-organization %v", created)
	}
	o := ok("organizations", "describe-organization")["Organization"].(map[string]any)
	if o["MasterAccountId"] != testAccount || o["FeatureSet"] != "ALL" {
		t.Fatalf("describe-organization %v", o)
	}
	st := ok("organizations", "create-account", "--account-name", "cli", "--email", "cli@example.com")["CreateAccountStatus"].(map[string]any)
	if st["State"] != "SUCCEEDED" || len(st["AccountId"].(string)) != 12 {
		t.Fatalf("create-account %v", st)
	}
	accounts := ok("organizations", "list-accounts")["Accounts"].([]any)
	if len(accounts) != 2 {
		t.Fatalf("list-accounts %v", accounts)
	}
	_, errOut, code := c.run(t, root, awsCLIPath(), "organizations", "create-organization", "--endpoint-url", p.endpoint)
	if code == 0 || !strings.Contains(errOut, "AlreadyInOrganizationException") {
		t.Fatalf("create-organization: exit %d: %s", code, errOut)
	}
}

package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// TestOrgMembershipSDK drives membership with aws-sdk-go-v2: an account
// leaves, is invited back and accepts; another is closed; delegated
// administrators, trusted access, effective policies, failed requests; and
// the organization is deleted once it has no members.
func TestOrgMembershipSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootOrg()
	a := e.newAccount(t, "alpha")
	b := e.newAccount(t, "bravo")
	admin := e.admin(t, "memberadmin")
	sa := e.assumeInto(t, admin, a, "OrganizationAccountAccessRole")
	sb := e.assumeInto(t, admin, b, "OrganizationAccountAccessRole")

	// The management account can neither leave nor be removed.
	_, err := c.LeaveOrganization(ctx, &organizations.LeaveOrganizationInput{})
	wantErr[*orgtypes.MasterCannotLeaveOrganizationException](t, err)
	_, err = c.RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(testAccount)})
	wantErr[*orgtypes.MasterCannotLeaveOrganizationException](t, err)
	_, err = c.DeleteOrganization(ctx, &organizations.DeleteOrganizationInput{})
	wantErr[*orgtypes.OrganizationNotEmptyException](t, err)

	// A member leaves on its own; it is no longer listed, and its
	// principals keep working.
	must[*organizations.LeaveOrganizationOutput](t)(sa.org.LeaveOrganization(ctx, &organizations.LeaveOrganizationInput{}))
	_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(a)})
	wantErr[*orgtypes.AccountNotFoundException](t, err)
	_, err = sa.org.LeaveOrganization(ctx, &organizations.LeaveOrganizationInput{})
	wantErr[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	must[*iam.ListUsersOutput](t)(sa.iam.ListUsers(ctx, &iam.ListUsersInput{}))

	// Invited back by its e-mail address.
	inv := must[*organizations.InviteAccountToOrganizationOutput](t)(c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &orgtypes.HandshakeParty{Id: aws.String("alpha@example.com"), Type: orgtypes.HandshakePartyTypeEmail},
		Notes:  aws.String("come back"), Tags: []orgtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})).Handshake
	if inv.State != orgtypes.HandshakeStateOpen || inv.Action != orgtypes.ActionTypeInviteAccountToOrganization || len(inv.Parties) != 2 ||
		inv.ExpirationTimestamp.Sub(*inv.RequestedTimestamp).Hours() != 15*24 {
		t.Fatalf("invitation %+v", inv)
	}
	_, err = c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &orgtypes.HandshakeParty{Id: aws.String(a), Type: orgtypes.HandshakePartyTypeAccount}})
	wantErr[*orgtypes.DuplicateHandshakeException](t, err)
	_, err = c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &orgtypes.HandshakeParty{Id: aws.String(b), Type: orgtypes.HandshakePartyTypeAccount}})
	var hcv *orgtypes.HandshakeConstraintViolationException
	if !errors.As(err, &hcv) || hcv.Reason != orgtypes.HandshakeConstraintViolationExceptionReasonAlreadyInAnOrganization {
		t.Fatalf("invite a member: %v", err)
	}
	mine := must[*organizations.ListHandshakesForAccountOutput](t)(sa.org.ListHandshakesForAccount(ctx, &organizations.ListHandshakesForAccountInput{})).Handshakes
	if len(mine) != 1 || aws.ToString(mine[0].Id) != aws.ToString(inv.Id) {
		t.Fatalf("the invited account's handshakes %+v", mine)
	}
	_, err = sb.org.DescribeHandshake(ctx, &organizations.DescribeHandshakeInput{HandshakeId: inv.Id})
	wantErr[*orgtypes.HandshakeNotFoundException](t, err)
	acc := must[*organizations.AcceptHandshakeOutput](t)(sa.org.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: inv.Id})).Handshake
	if acc.State != orgtypes.HandshakeStateAccepted {
		t.Fatalf("accepted %+v", acc)
	}
	_, err = sa.org.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: inv.Id})
	wantErr[*orgtypes.HandshakeAlreadyInStateException](t, err)
	_, err = c.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: inv.Id})
	wantErr[*orgtypes.InvalidHandshakeTransitionException](t, err)
	back := must[*organizations.DescribeAccountOutput](t)(c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(a)})).Account
	if back.JoinedMethod != orgtypes.AccountJoinedMethodInvited || aws.ToString(back.Email) != "alpha@example.com" {
		t.Fatalf("account back %+v", back)
	}
	orgHS := must[*organizations.ListHandshakesForOrganizationOutput](t)(c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{})).Handshakes
	if len(orgHS) != 1 || orgHS[0].State != orgtypes.HandshakeStateAccepted {
		t.Fatalf("the organization's handshakes %+v", orgHS)
	}

	// Delegated administrators and trusted access.
	must[*organizations.RegisterDelegatedAdministratorOutput](t)(c.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{
		AccountId: aws.String(a), ServicePrincipal: aws.String("config.amazonaws.com")}))
	_, err = c.RegisterDelegatedAdministrator(ctx, &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(a), ServicePrincipal: aws.String("config.amazonaws.com")})
	wantErr[*orgtypes.AccountAlreadyRegisteredException](t, err)
	das := must[*organizations.ListDelegatedAdministratorsOutput](t)(c.ListDelegatedAdministrators(ctx, &organizations.ListDelegatedAdministratorsInput{})).DelegatedAdministrators
	if len(das) != 1 || aws.ToString(das[0].Id) != a || das[0].DelegationEnabledDate == nil {
		t.Fatalf("delegated administrators %+v", das)
	}
	ds := must[*organizations.ListDelegatedServicesForAccountOutput](t)(c.ListDelegatedServicesForAccount(ctx, &organizations.ListDelegatedServicesForAccountInput{AccountId: aws.String(a)})).DelegatedServices
	if len(ds) != 1 || aws.ToString(ds[0].ServicePrincipal) != "config.amazonaws.com" {
		t.Fatalf("delegated services %+v", ds)
	}
	_, err = c.ListDelegatedServicesForAccount(ctx, &organizations.ListDelegatedServicesForAccountInput{AccountId: aws.String(b)})
	wantErr[*orgtypes.AccountNotRegisteredException](t, err)
	var cv *orgtypes.ConstraintViolationException
	_, err = c.RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(a)})
	if !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonCannotRemoveDelegatedAdministratorFromOrg {
		t.Fatalf("remove a delegated administrator: %v", err)
	}
	must[*organizations.DeregisterDelegatedAdministratorOutput](t)(c.DeregisterDelegatedAdministrator(ctx, &organizations.DeregisterDelegatedAdministratorInput{
		AccountId: aws.String(a), ServicePrincipal: aws.String("config.amazonaws.com")}))
	_, err = c.DeregisterDelegatedAdministrator(ctx, &organizations.DeregisterDelegatedAdministratorInput{AccountId: aws.String(a), ServicePrincipal: aws.String("config.amazonaws.com")})
	wantErr[*orgtypes.AccountNotRegisteredException](t, err)
	must[*organizations.EnableAWSServiceAccessOutput](t)(c.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("sso.amazonaws.com")}))
	sps := must[*organizations.ListAWSServiceAccessForOrganizationOutput](t)(c.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})).EnabledServicePrincipals
	if len(sps) != 1 || aws.ToString(sps[0].ServicePrincipal) != "sso.amazonaws.com" || sps[0].DateEnabled == nil {
		t.Fatalf("trusted services %+v", sps)
	}
	must[*organizations.DisableAWSServiceAccessOutput](t)(c.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String("sso.amazonaws.com")}))

	// Effective tag policy: the root's, with the account's appended value.
	root := e.rootID(t)
	_, err = c.DescribeEffectivePolicy(ctx, &organizations.DescribeEffectivePolicyInput{PolicyType: orgtypes.EffectivePolicyTypeTagPolicy, TargetId: aws.String(a)})
	wantErr[*orgtypes.EffectivePolicyNotFoundException](t, err)
	must[*organizations.EnablePolicyTypeOutput](t)(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeTagPolicy}))
	for target, content := range map[string]string{
		root: `{"tags":{"env":{"tag_key":{"@@assign":"Env"},"tag_value":{"@@assign":["prod"]}}}}`,
		a:    `{"tags":{"env":{"tag_value":{"@@append":["dev"]}}}}`,
	} {
		p := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("tags-" + target),
			Description: aws.String(""), Type: orgtypes.PolicyTypeTagPolicy, Content: aws.String(content)})).Policy.PolicySummary.Id
		must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p, TargetId: aws.String(target)}))
	}
	// The member asks for its own.
	ep := must[*organizations.DescribeEffectivePolicyOutput](t)(sa.org.DescribeEffectivePolicy(ctx, &organizations.DescribeEffectivePolicyInput{PolicyType: orgtypes.EffectivePolicyTypeTagPolicy})).EffectivePolicy
	if got := aws.ToString(ep.PolicyContent); got != `{"tags":{"env":{"tag_key":"Env","tag_value":["prod","dev"]}}}` || aws.ToString(ep.TargetId) != a {
		t.Fatalf("effective policy %+v: %s", ep, got)
	}

	// A failed CreateAccount is listed as FAILED.
	failed := must[*organizations.CreateAccountOutput](t)(c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("again"), Email: aws.String("bravo@example.com")})).CreateAccountStatus
	if failed.State != orgtypes.CreateAccountStateFailed || failed.FailureReason != orgtypes.CreateAccountFailureReasonEmailAlreadyExists {
		t.Fatalf("duplicate e-mail %+v", failed)
	}
	sts := must[*organizations.ListCreateAccountStatusOutput](t)(c.ListCreateAccountStatus(ctx, &organizations.ListCreateAccountStatusInput{States: []orgtypes.CreateAccountState{orgtypes.CreateAccountStateFailed}})).CreateAccountStatuses
	if len(sts) != 1 || aws.ToString(sts[0].Id) != aws.ToString(failed.Id) {
		t.Fatalf("FAILED requests %+v", sts)
	}

	// Closing: PENDING_CLOSURE at once, and the account's principals are
	// denied from then on.
	must[*organizations.CloseAccountOutput](t)(c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(b)}))
	closed := must[*organizations.DescribeAccountOutput](t)(c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(b)})).Account
	if closed.Status != orgtypes.AccountStatusPendingClosure || closed.State != orgtypes.AccountStatePendingClosure {
		t.Fatalf("closed account %+v", closed)
	}
	_, err = c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(b)})
	wantErr[*orgtypes.AccountAlreadyClosedException](t, err)
	_, err = sb.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("a closed account's session: %v", err)
	}
	_, err = c.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(testAccount)})
	if !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonCannotCloseManagementAccount {
		t.Fatalf("close the management account: %v", err)
	}

	// Empty the organization and delete it.
	for _, id := range []string{a, b} {
		must[*organizations.RemoveAccountFromOrganizationOutput](t)(c.RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(id)}))
	}
	must[*organizations.DeleteOrganizationOutput](t)(c.DeleteOrganization(ctx, &organizations.DeleteOrganizationInput{}))
	_, err = c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantErr[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	o := must[*organizations.CreateOrganizationOutput](t)(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})).Organization
	if !strings.HasPrefix(aws.ToString(o.Id), "o-") {
		t.Fatalf("new organization %+v", o)
	}
	accts := must[*organizations.ListAccountsOutput](t)(c.ListAccounts(ctx, &organizations.ListAccountsInput{})).Accounts
	if len(accts) != 1 || aws.ToString(accts[0].Id) != testAccount {
		t.Fatalf("accounts of the new organization %+v", accts)
	}
}

// TestOrgMembershipCLI drives the operations with the real AWS CLI: a
// member's session (an IAM user of the management account assuming
// OrganizationAccountAccessRole) leaves, accepts an invitation, asks for
// its effective policy; the management account registers, closes, removes
// and deletes.
func TestOrgMembershipCLI(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	run := func(as []string, args ...string) (map[string]any, string) {
		t.Helper()
		out, errOut, code := c.run(t, as, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			return nil, errOut
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
		}
		return m, ""
	}
	ok := func(as []string, args ...string) map[string]any {
		t.Helper()
		m, errOut := run(as, args...)
		if errOut != "" {
			t.Fatalf("aws %s: %s", strings.Join(args, " "), errOut)
		}
		return m
	}
	fails := func(as []string, code string, args ...string) {
		t.Helper()
		if _, errOut := run(as, args...); !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws %s: want %s, got %q", strings.Join(args, " "), code, errOut)
		}
	}
	get := func(m map[string]any, path ...string) any {
		var v any = m
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		return v
	}
	ok(root, "organizations", "create-organization")
	a := get(ok(root, "organizations", "create-account", "--account-name", "cli-a", "--email", "cli-a@example.com"), "CreateAccountStatus", "AccountId").(string)
	b := get(ok(root, "organizations", "create-account", "--account-name", "cli-b", "--email", "cli-b@example.com"), "CreateAccountStatus", "AccountId").(string)

	// A member session through an administrator of the management account.
	ok(root, "iam", "create-user", "--user-name", "ops")
	ok(root, "iam", "attach-user-policy", "--user-name", "ops", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess")
	key := get(ok(root, "iam", "create-access-key", "--user-name", "ops"), "AccessKey").(map[string]any)
	ops := creds(key["AccessKeyId"].(string), key["SecretAccessKey"].(string), "")
	sc := get(ok(ops, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+a+":role/OrganizationAccountAccessRole", "--role-session-name", "cli"), "Credentials").(map[string]any)
	member := creds(sc["AccessKeyId"].(string), sc["SecretAccessKey"].(string), sc["SessionToken"].(string))

	// The member leaves and is invited back (error cases and the other
	// handshake actions are in TestOrgMembershipSDK: each CLI call costs a
	// Python start).
	ok(member, "organizations", "leave-organization")
	h := get(ok(root, "organizations", "invite-account-to-organization", "--target", "Id="+a+",Type=ACCOUNT", "--notes", "hello"), "Handshake").(map[string]any)
	hid := h["Id"].(string)
	if h["State"] != "OPEN" || !strings.HasPrefix(hid, "h-") {
		t.Fatalf("invitation %v", h)
	}
	if hs := ok(member, "organizations", "list-handshakes-for-account")["Handshakes"].([]any); len(hs) != 1 {
		t.Fatalf("member's handshakes %v", hs)
	}
	if st := get(ok(member, "organizations", "accept-handshake", "--handshake-id", hid), "Handshake", "State"); st != "ACCEPTED" {
		t.Fatalf("accept-handshake %v", st)
	}
	fails(member, "HandshakeAlreadyInStateException", "organizations", "accept-handshake", "--handshake-id", hid)
	if m := get(ok(root, "organizations", "describe-account", "--account-id", a), "Account", "JoinedMethod"); m != "INVITED" {
		t.Fatalf("JoinedMethod %v", m)
	}

	// Delegated administrators and trusted access.
	ok(root, "organizations", "register-delegated-administrator", "--account-id", b, "--service-principal", "guardduty.amazonaws.com")
	if das := ok(root, "organizations", "list-delegated-administrators", "--service-principal", "guardduty.amazonaws.com")["DelegatedAdministrators"].([]any); len(das) != 1 || das[0].(map[string]any)["Id"] != b {
		t.Fatalf("delegated administrators %v", das)
	}
	ok(root, "organizations", "deregister-delegated-administrator", "--account-id", b, "--service-principal", "guardduty.amazonaws.com")
	ok(root, "organizations", "enable-aws-service-access", "--service-principal", "ram.amazonaws.com")
	if sps := ok(root, "organizations", "list-aws-service-access-for-organization")["EnabledServicePrincipals"].([]any); len(sps) != 1 || sps[0].(map[string]any)["ServicePrincipal"] != "ram.amazonaws.com" {
		t.Fatalf("trusted services %v", sps)
	}

	// The member's own effective tag policy.
	rootID := ok(root, "organizations", "list-roots")["Roots"].([]any)[0].(map[string]any)["Id"].(string)
	ok(root, "organizations", "enable-policy-type", "--root-id", rootID, "--policy-type", "AISERVICES_OPT_OUT_POLICY")
	pid := get(ok(root, "organizations", "create-policy", "--name", "optout", "--description", "", "--type", "AISERVICES_OPT_OUT_POLICY",
		"--content", `{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}`), "Policy", "PolicySummary", "Id").(string)
	ok(root, "organizations", "attach-policy", "--policy-id", pid, "--target-id", rootID)
	ep := get(ok(member, "organizations", "describe-effective-policy", "--policy-type", "AISERVICES_OPT_OUT_POLICY"), "EffectivePolicy").(map[string]any)
	if ep["PolicyContent"] != `{"services":{"default":{"opt_out_policy":"optOut"}}}` || ep["TargetId"] != a {
		t.Fatalf("effective policy %v", ep)
	}

	// Closing, removing, deleting.
	ok(root, "organizations", "close-account", "--account-id", b)
	if st := get(ok(root, "organizations", "describe-account", "--account-id", b), "Account", "Status"); st != "PENDING_CLOSURE" {
		t.Fatalf("closed account's status %v", st)
	}
	fails(root, "OrganizationNotEmptyException", "organizations", "delete-organization")
	ok(root, "organizations", "remove-account-from-organization", "--account-id", b)
	ok(member, "organizations", "leave-organization")
	ok(root, "organizations", "delete-organization")
	fails(root, "AWSOrganizationsNotInUseException", "organizations", "describe-organization")
}

func withAccountEmail(email string) envOption {
	return func(c *config.Config, _ *server.Options) { c.AccountEmail = email }
}

// TestOrgManagementEmail: the management account carries the address
// OPENSTS_ACCOUNT_EMAIL names, from the first start or, for a data directory
// made without one, from a later start; an address in use refuses
// CreateAccount as EMAIL_ALREADY_EXISTS.
func TestOrgManagementEmail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startIn(t, dir)
	e.createOrg(t)
	o := must[*organizations.DescribeOrganizationOutput](t)(e.rootOrg().DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	if o.MasterAccountEmail != nil {
		t.Fatalf("no address configured: %q", aws.ToString(o.MasterAccountEmail))
	}
	e.stop()
	e = startIn(t, dir, withAccountEmail("ops@example.com"))
	c := e.rootOrg()
	o = must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	if aws.ToString(o.MasterAccountEmail) != "ops@example.com" {
		t.Fatalf("MasterAccountEmail %q", aws.ToString(o.MasterAccountEmail))
	}
	acct := must[*organizations.DescribeAccountOutput](t)(c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(testAccount)})).Account
	if aws.ToString(acct.Email) != "ops@example.com" {
		t.Fatalf("management account %+v", acct)
	}
	st := must[*organizations.CreateAccountOutput](t)(c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dup"), Email: aws.String("OPS@example.com")})).CreateAccountStatus
	if st.State != orgtypes.CreateAccountStateFailed || st.FailureReason != orgtypes.CreateAccountFailureReasonEmailAlreadyExists {
		t.Fatalf("CreateAccount with the management account's address %+v", st)
	}
	// A fresh data directory gets it at the first start.
	f := start(t, withAccountEmail("first@example.com"))
	f.createOrg(t)
	o = must[*organizations.DescribeOrganizationOutput](t)(f.rootOrg().DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	if aws.ToString(o.MasterAccountEmail) != "first@example.com" {
		t.Fatalf("first start: MasterAccountEmail %q", aws.ToString(o.MasterAccountEmail))
	}
}

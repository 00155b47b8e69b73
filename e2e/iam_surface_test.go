package e2e

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// cliRunner runs the real AWS CLI against a server as one set of
// credentials.
type cliRunner struct {
	t        *testing.T
	c        *cliEnv
	endpoint string
}

func (r cliRunner) run(env []string, args ...string) (string, string, int) {
	r.t.Helper()
	return r.c.run(r.t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", r.endpoint, "--output", "json")...)
}

func (r cliRunner) ok(env []string, args ...string) map[string]any {
	r.t.Helper()
	out, errOut, code := r.run(env, args...)
	if code != 0 {
		r.t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var m map[string]any
	if strings.TrimSpace(out) == "" {
		return m
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		r.t.Fatalf("aws %s: output not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

func (r cliRunner) fails(code string, env []string, args ...string) string {
	r.t.Helper()
	_, errOut, exit := r.run(env, args...)
	if exit == 0 || !strings.Contains(errOut, "("+code+")") {
		r.t.Fatalf("aws %s: exit %d, want error %s: %s", strings.Join(args, " "), exit, code, errOut)
	}
	return errOut
}

// newCLIRunner serves the binary with the test's root credentials.
func newCLIRunner(t *testing.T) (cliRunner, []string) {
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	return cliRunner{t: t, c: newCLIEnv(t, p.endpoint), endpoint: p.endpoint}, creds(testRootKeyID, testRootSecret, "")
}

// newUserKey creates a user with an access key and returns its credentials.
func newUserKey(t *testing.T, c *iam.Client, name string) (string, string) {
	t.Helper()
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)}))
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}

func TestIAMInstanceProfilesSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("app"), AssumeRolePolicyDocument: s(trustEC2)}))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("other"), AssumeRolePolicyDocument: s(trustEC2)}))

	created := must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: s("web"), Path: s("/app/"), Tags: []iamtypes.Tag{{Key: s("team"), Value: s("core")}}}))
	ip := created.InstanceProfile
	if *ip.Arn != "arn:aws:iam::123456789012:instance-profile/app/web" || !strings.HasPrefix(*ip.InstanceProfileId, "AIPA") || ip.CreateDate == nil || ip.Roles == nil || len(ip.Roles) != 0 {
		t.Fatalf("CreateInstanceProfile: %+v", ip)
	}
	_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: s("WEB")})
	wantCode(t, err, "EntityAlreadyExists")
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("EntityAlreadyExists is not typed: %T", err)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: s("missing")})
	wantCode(t, err, "NoSuchEntity")

	must[*iam.AddRoleToInstanceProfileOutput](t)(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: s("web"), RoleName: s("app")}))
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: s("web"), RoleName: s("other")})
	wantCode(t, err, "LimitExceeded")
	var limit *iamtypes.LimitExceededException
	if !errors.As(err, &limit) {
		t.Errorf("LimitExceeded is not typed: %T", err)
	}
	got := must[*iam.GetInstanceProfileOutput](t)(c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: s("web")}))
	if len(got.InstanceProfile.Roles) != 1 || *got.InstanceProfile.Roles[0].RoleName != "app" || len(got.InstanceProfile.Tags) != 1 {
		t.Fatalf("GetInstanceProfile: %+v", got.InstanceProfile)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("app")})
	wantCode(t, err, "DeleteConflict")
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: s("web")})
	wantCode(t, err, "DeleteConflict")
	forRole := must[*iam.ListInstanceProfilesForRoleOutput](t)(c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: s("app")}))
	if len(forRole.InstanceProfiles) != 1 || *forRole.InstanceProfiles[0].InstanceProfileName != "web" {
		t.Fatalf("ListInstanceProfilesForRole: %+v", forRole.InstanceProfiles)
	}

	must[*iam.TagInstanceProfileOutput](t)(c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: s("web"), Tags: []iamtypes.Tag{{Key: s("env"), Value: s("prod")}}}))
	must[*iam.UntagInstanceProfileOutput](t)(c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: s("web"), TagKeys: []string{"team"}}))
	tags := must[*iam.ListInstanceProfileTagsOutput](t)(c.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: s("web")}))
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "env" {
		t.Fatalf("ListInstanceProfileTags: %+v", tags.Tags)
	}

	// The SDK's paginator walks the keyset pages.
	for _, n := range []string{"p1", "p2", "p3", "p4"} {
		must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: s(n)}))
	}
	var names []string
	pg := iam.NewListInstanceProfilesPaginator(c, &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(2)})
	for pg.HasMorePages() {
		out := must[*iam.ListInstanceProfilesOutput](t)(pg.NextPage(ctx))
		for _, p := range out.InstanceProfiles {
			names = append(names, *p.InstanceProfileName)
		}
	}
	if strings.Join(names, ",") != "p1,p2,p3,p4,web" {
		t.Fatalf("paged: %v", names)
	}

	// A user without permission is denied, whether the profile exists or not.
	akid, secret := newUserKey(t, c, "nobody")
	u := e.iam(akid, secret, "")
	_, err = u.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: s("web")})
	wantCode(t, err, "AccessDenied")
	_, err = u.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: s("mine")})
	wantCode(t, err, "AccessDenied")

	must[*iam.RemoveRoleFromInstanceProfileOutput](t)(c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: s("web"), RoleName: s("app")}))
	must[*iam.DeleteInstanceProfileOutput](t)(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: s("web")}))
	must[*iam.DeleteRoleOutput](t)(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("app")}))
}

const trustEC2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestAWSCLIInstanceProfiles(t *testing.T) {
	t.Parallel()
	r, root := newCLIRunner(t)
	r.ok(root, "iam", "create-role", "--role-name", "cli-app", "--assume-role-policy-document", trustEC2)
	ip := r.ok(root, "iam", "create-instance-profile", "--instance-profile-name", "cli-web", "--path", "/x/")["InstanceProfile"].(map[string]any)
	if ip["Arn"] != "arn:aws:iam::123456789012:instance-profile/x/cli-web" {
		t.Fatalf("create-instance-profile: %v", ip)
	}
	r.fails("EntityAlreadyExists", root, "iam", "create-instance-profile", "--instance-profile-name", "cli-web")
	r.ok(root, "iam", "add-role-to-instance-profile", "--instance-profile-name", "cli-web", "--role-name", "cli-app")
	r.fails("LimitExceeded", root, "iam", "add-role-to-instance-profile", "--instance-profile-name", "cli-web", "--role-name", "cli-app")
	r.fails("DeleteConflict", root, "iam", "delete-role", "--role-name", "cli-app")
	r.fails("DeleteConflict", root, "iam", "delete-instance-profile", "--instance-profile-name", "cli-web")
	list := r.ok(root, "iam", "list-instance-profiles", "--path-prefix", "/x/")["InstanceProfiles"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)["Roles"].([]any)) != 1 {
		t.Fatalf("list-instance-profiles: %v", list)
	}
	forRole := r.ok(root, "iam", "list-instance-profiles-for-role", "--role-name", "cli-app")["InstanceProfiles"].([]any)
	if len(forRole) != 1 {
		t.Fatalf("list-instance-profiles-for-role: %v", forRole)
	}
	r.ok(root, "iam", "tag-instance-profile", "--instance-profile-name", "cli-web", "--tags", "Key=env,Value=prod")
	tags := r.ok(root, "iam", "list-instance-profile-tags", "--instance-profile-name", "cli-web")["Tags"].([]any)
	if len(tags) != 1 {
		t.Fatalf("list-instance-profile-tags: %v", tags)
	}
	r.ok(root, "iam", "untag-instance-profile", "--instance-profile-name", "cli-web", "--tag-keys", "env")
	r.ok(root, "iam", "remove-role-from-instance-profile", "--instance-profile-name", "cli-web", "--role-name", "cli-app")
	r.ok(root, "iam", "delete-instance-profile", "--instance-profile-name", "cli-web")
	r.fails("NoSuchEntity", root, "iam", "get-instance-profile", "--instance-profile-name", "cli-web")
	r.ok(root, "iam", "delete-role", "--role-name", "cli-app")
}

// TestIAMPasswordsSDK drives login profiles, ChangePassword and the password
// policy with aws-sdk-go-v2, then proves no password is in the audit trail
// or anywhere in the data directory in clear.
func TestIAMPasswordsSDK(t *testing.T) {
	t.Parallel()
	e := start(t, withStrictAudit())
	c := e.rootIAM()
	s := aws.String
	const first, second, weak = "First+Passw0rd-Audit", "Second+Passw0rd-Audit", "weakpassword"
	akid, secret := newUserKey(t, c, "pat")
	pat := e.iam(akid, secret, "")

	_, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: s("pat"), Password: s(weak)})
	wantCode(t, err, "PasswordPolicyViolation")
	var violation *iamtypes.PasswordPolicyViolationException
	if !errors.As(err, &violation) {
		t.Errorf("PasswordPolicyViolation is not typed: %T", err)
	}
	lp := must[*iam.CreateLoginProfileOutput](t)(c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: s("pat"), Password: s(first), PasswordResetRequired: true}))
	if *lp.LoginProfile.UserName != "pat" || !lp.LoginProfile.PasswordResetRequired || lp.LoginProfile.CreateDate == nil {
		t.Fatalf("CreateLoginProfile: %+v", lp.LoginProfile)
	}
	_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: s("pat"), Password: s(first)})
	wantCode(t, err, "EntityAlreadyExists")
	_, err = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: s("nobody")})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("pat")})
	wantCode(t, err, "DeleteConflict")

	// The user may not change its password until the policy allows it.
	_, err = pat.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: s(first), NewPassword: s(second)})
	wantCode(t, err, "AccessDenied")
	_, err = c.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: s(first), NewPassword: s(second)})
	wantCode(t, err, "InvalidUserType")
	_, err = pat.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantCode(t, err, "AccessDenied")
	_, err = c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantCode(t, err, "NoSuchEntity")
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireNumbers: true, AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(90)}))
	pp := must[*iam.GetAccountPasswordPolicyOutput](t)(c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}))
	if p := pp.PasswordPolicy; aws.ToInt32(p.MinimumPasswordLength) != 14 || !p.RequireNumbers || !p.AllowUsersToChangePassword || !p.ExpirePasswords || aws.ToInt32(p.MaxPasswordAge) != 90 {
		t.Fatalf("GetAccountPasswordPolicy: %+v", p)
	}
	_, err = pat.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: s(first), NewPassword: s("Short+1")})
	wantCode(t, err, "PasswordPolicyViolation")
	_, err = pat.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: s("Not+The-Passw0rd-At-All"), NewPassword: s(second)})
	wantCode(t, err, "AccessDenied")
	must[*iam.ChangePasswordOutput](t)(pat.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: s(first), NewPassword: s(second)}))
	got := must[*iam.GetLoginProfileOutput](t)(c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: s("pat")}))
	if got.LoginProfile.PasswordResetRequired {
		t.Error("PasswordResetRequired still set after ChangePassword")
	}
	must[*iam.UpdateLoginProfileOutput](t)(c.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: s("pat"), PasswordResetRequired: aws.Bool(true)}))

	trail := e.trail(t)
	for _, name := range []string{"CreateLoginProfile", "ChangePassword", "UpdateAccountPasswordPolicy"} {
		if !strings.Contains(trail, `"eventName":"`+name+`"`) {
			t.Errorf("no %s event in the trail", name)
		}
	}
	for _, pw := range []string{first, second, weak, "Not+The-Passw0rd-At-All"} {
		quoted, _ := json.Marshal(pw)
		for _, v := range []string{pw, string(quoted[1 : len(quoted)-1]), url.QueryEscape(pw)} {
			if strings.Contains(trail, v) {
				t.Errorf("the audit trail holds a password (%q)", v)
			}
		}
		assertNotStored(t, e.dataDir, pw, "")
	}

	must[*iam.DeleteLoginProfileOutput](t)(c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: s("pat")}))
	must[*iam.DeleteAccountPasswordPolicyOutput](t)(c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{}))
	_, err = c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	wantCode(t, err, "NoSuchEntity")
}

func TestAWSCLIPasswords(t *testing.T) {
	t.Parallel()
	r, root := newCLIRunner(t)
	r.ok(root, "iam", "create-user", "--user-name", "cli-pat")
	r.fails("PasswordPolicyViolation", root, "iam", "create-login-profile", "--user-name", "cli-pat", "--password", "short")
	lp := r.ok(root, "iam", "create-login-profile", "--user-name", "cli-pat", "--password", "Cli+Passw0rd-One", "--password-reset-required")["LoginProfile"].(map[string]any)
	if lp["UserName"] != "cli-pat" || lp["PasswordResetRequired"] != true {
		t.Fatalf("create-login-profile: %v", lp)
	}
	r.ok(root, "iam", "get-login-profile", "--user-name", "cli-pat")
	r.ok(root, "iam", "update-account-password-policy", "--minimum-password-length", "10", "--require-symbols", "--allow-users-to-change-password", "--password-reuse-prevention", "3")
	pp := r.ok(root, "iam", "get-account-password-policy")["PasswordPolicy"].(map[string]any)
	if pp["MinimumPasswordLength"] != float64(10) || pp["RequireSymbols"] != true || pp["PasswordReusePrevention"] != float64(3) {
		t.Fatalf("get-account-password-policy: %v", pp)
	}
	r.fails("PasswordPolicyViolation", root, "iam", "update-login-profile", "--user-name", "cli-pat", "--password", "NoSymbols1234")
	r.ok(root, "iam", "update-login-profile", "--user-name", "cli-pat", "--password", "Cli+Passw0rd-Two", "--no-password-reset-required")
	r.fails("DeleteConflict", root, "iam", "delete-user", "--user-name", "cli-pat")
	r.ok(root, "iam", "delete-login-profile", "--user-name", "cli-pat")
	r.fails("NoSuchEntity", root, "iam", "get-login-profile", "--user-name", "cli-pat")
	r.ok(root, "iam", "delete-account-password-policy")
	r.fails("NoSuchEntity", root, "iam", "get-account-password-policy")
	r.ok(root, "iam", "delete-user", "--user-name", "cli-pat")
}

func TestIAMAccountSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String

	aliases := must[*iam.ListAccountAliasesOutput](t)(c.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}))
	if aliases.AccountAliases == nil || len(aliases.AccountAliases) != 0 {
		t.Fatalf("ListAccountAliases: %#v", aliases.AccountAliases)
	}
	must[*iam.CreateAccountAliasOutput](t)(c.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: s("wire-alias")}))
	_, err := c.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: s("Bad--Alias")})
	wantCode(t, err, "ValidationError")
	aliases = must[*iam.ListAccountAliasesOutput](t)(c.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}))
	if len(aliases.AccountAliases) != 1 || aliases.AccountAliases[0] != "wire-alias" {
		t.Fatalf("ListAccountAliases: %v", aliases.AccountAliases)
	}
	_, err = c.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: s("not-mine")})
	wantCode(t, err, "NoSuchEntity")

	before := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})).SummaryMap
	akid, secret := newUserKey(t, c, "summed")
	must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: s("summed")}))
	after := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})).SummaryMap
	if after["Users"] != before["Users"]+1 || after["InstanceProfiles"] != before["InstanceProfiles"]+1 || after["AccountAccessKeysPresent"] != 1 || after["UsersQuota"] != 5000 {
		t.Fatalf("GetAccountSummary: before %v after %v", before, after)
	}
	u := e.iam(akid, secret, "")
	_, err = u.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	wantCode(t, err, "AccessDenied")
	_, err = u.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: s("stolen")})
	wantCode(t, err, "AccessDenied")

	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: s("tagged")}))
	serial := dev.VirtualMFADevice.SerialNumber
	must[*iam.TagMFADeviceOutput](t)(c.TagMFADevice(ctx, &iam.TagMFADeviceInput{SerialNumber: serial, Tags: []iamtypes.Tag{{Key: s("owner"), Value: s("ops")}, {Key: s("x"), Value: s("y")}}}))
	must[*iam.UntagMFADeviceOutput](t)(c.UntagMFADevice(ctx, &iam.UntagMFADeviceInput{SerialNumber: serial, TagKeys: []string{"x"}}))
	mt := must[*iam.ListMFADeviceTagsOutput](t)(c.ListMFADeviceTags(ctx, &iam.ListMFADeviceTagsInput{SerialNumber: serial}))
	if len(mt.Tags) != 1 || *mt.Tags[0].Key != "owner" {
		t.Fatalf("ListMFADeviceTags: %+v", mt.Tags)
	}
	_, err = c.ListMFADeviceTags(ctx, &iam.ListMFADeviceTagsInput{SerialNumber: s("arn:aws:iam::123456789012:mfa/none")})
	wantCode(t, err, "NoSuchEntity")
	_, err = u.TagMFADevice(ctx, &iam.TagMFADeviceInput{SerialNumber: serial, Tags: []iamtypes.Tag{{Key: s("a"), Value: s("b")}}})
	wantCode(t, err, "AccessDenied")
	must[*iam.DeleteAccountAliasOutput](t)(c.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: s("wire-alias")}))
}

func TestAWSCLIAccount(t *testing.T) {
	t.Parallel()
	r, root := newCLIRunner(t)
	r.ok(root, "iam", "create-account-alias", "--account-alias", "cli-alias")
	al := r.ok(root, "iam", "list-account-aliases")["AccountAliases"].([]any)
	if len(al) != 1 || al[0] != "cli-alias" {
		t.Fatalf("list-account-aliases: %v", al)
	}
	r.fails("NoSuchEntity", root, "iam", "delete-account-alias", "--account-alias", "other-alias")
	r.ok(root, "iam", "create-user", "--user-name", "cli-summed")
	sum := r.ok(root, "iam", "get-account-summary")["SummaryMap"].(map[string]any)
	if sum["Users"] != float64(1) || sum["UsersQuota"] != float64(5000) {
		t.Fatalf("get-account-summary: %v", sum)
	}
	dev := r.ok(root, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-dev", "--outfile", "/dev/null", "--bootstrap-method", "Base32StringSeed")["VirtualMFADevice"].(map[string]any)
	serial := dev["SerialNumber"].(string)
	r.ok(root, "iam", "tag-mfa-device", "--serial-number", serial, "--tags", "Key=team,Value=sec")
	tags := r.ok(root, "iam", "list-mfa-device-tags", "--serial-number", serial)["Tags"].([]any)
	if len(tags) != 1 {
		t.Fatalf("list-mfa-device-tags: %v", tags)
	}
	r.ok(root, "iam", "untag-mfa-device", "--serial-number", serial, "--tag-keys", "team")
	keys := r.ok(root, "iam", "get-context-keys-for-custom-policy", "--policy-input-list",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home/"}}}}`)["ContextKeyNames"].([]any)
	if len(keys) != 1 || keys[0] != "s3:prefix" {
		t.Fatalf("get-context-keys-for-custom-policy: %v", keys)
	}
	r.ok(root, "iam", "get-context-keys-for-principal-policy", "--policy-source-arn", "arn:aws:iam::123456789012:user/cli-summed")
	r.ok(root, "iam", "delete-account-alias", "--account-alias", "cli-alias")
}

func TestIAMContextKeysSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String
	out := must[*iam.GetContextKeysForCustomPolicyOutput](t)(c.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}`}}))
	if strings.Join(out.ContextKeyNames, ",") != "aws:MultiFactorAuthPresent,aws:PrincipalTag/team" {
		t.Fatalf("GetContextKeysForCustomPolicy: %v", out.ContextKeyNames)
	}
	_, err := c.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{`{"Statement":`}})
	wantCode(t, err, "MalformedPolicyDocument")

	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: s("keyed")}))
	must[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: s("keyed"), PolicyName: s("p"),
		PolicyDocument: s(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`)}))
	pk := must[*iam.GetContextKeysForPrincipalPolicyOutput](t)(c.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{
		PolicySourceArn: s("arn:aws:iam::123456789012:user/keyed")}))
	if strings.Join(pk.ContextKeyNames, ",") != "aws:SourceIp" {
		t.Fatalf("GetContextKeysForPrincipalPolicy: %v", pk.ContextKeyNames)
	}
	_, err = c.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceArn: s("arn:aws:iam::123456789012:user/absent")})
	wantCode(t, err, "NoSuchEntity")
	akid, secret := newUserKey(t, c, "curious")
	_, err = e.iam(akid, secret, "").GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceArn: s("arn:aws:iam::123456789012:user/keyed")})
	wantCode(t, err, "AccessDenied")
}

func TestIAMAuthorizationDetailsSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String
	akid, secret := newUserKey(t, c, "detailed")
	must[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: s("detailed"), PolicyName: s("p"),
		PolicyDocument: s(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)}))
	must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: s("detailed"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("detailed-role"), AssumeRolePolicyDocument: s(trustEC2)}))
	must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: s("detailed-ip")}))
	must[*iam.AddRoleToInstanceProfileOutput](t)(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: s("detailed-ip"), RoleName: s("detailed-role")}))

	var users, roles, policies []string
	pg := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(1)})
	for pg.HasMorePages() {
		out := must[*iam.GetAccountAuthorizationDetailsOutput](t)(pg.NextPage(ctx))
		for _, u := range out.UserDetailList {
			users = append(users, *u.UserName)
			if len(u.UserPolicyList) != 1 || len(u.AttachedManagedPolicies) != 1 {
				t.Errorf("user detail %+v", u)
			}
		}
		for _, r := range out.RoleDetailList {
			roles = append(roles, *r.RoleName)
			if len(r.InstanceProfileList) != 1 || *r.InstanceProfileList[0].InstanceProfileName != "detailed-ip" {
				t.Errorf("role detail %+v", r)
			}
		}
		for _, p := range out.Policies {
			policies = append(policies, *p.PolicyName)
			if len(p.PolicyVersionList) == 0 || p.PolicyVersionList[0].Document == nil {
				t.Errorf("policy detail %+v", p)
			}
		}
	}
	if strings.Join(users, ",") != "detailed" || strings.Join(roles, ",") != "detailed-role" || strings.Join(policies, ",") != "ReadOnlyAccess" {
		t.Fatalf("users %v roles %v policies %v", users, roles, policies)
	}
	// The user reads them through ReadOnlyAccess; a user without policies may not.
	must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.iam(akid, secret, "").GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{}))
	nobodyKey, nobodySecret := newUserKey(t, c, "nobody")
	_, err := e.iam(nobodyKey, nobodySecret, "").GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{})
	wantCode(t, err, "AccessDenied")
}

func TestAWSCLIAuthorizationDetails(t *testing.T) {
	t.Parallel()
	r, root := newCLIRunner(t)
	r.ok(root, "iam", "create-user", "--user-name", "cli-detailed")
	r.ok(root, "iam", "create-group", "--group-name", "cli-group")
	// The CLI pages through every section with its own paginator.
	out := r.ok(root, "iam", "get-account-authorization-details", "--page-size", "1")
	if len(out["UserDetailList"].([]any)) != 1 || len(out["GroupDetailList"].([]any)) != 1 {
		t.Fatalf("get-account-authorization-details: %v", out)
	}
	r.fails("ValidationError", root, "iam", "get-account-authorization-details", "--filter", "Bogus")
}

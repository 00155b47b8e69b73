package e2e

// Outside review (red team), second round: attacks that succeed on the
// current code. Each test fails because of the vulnerability it names.

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

var _ = http.MethodPost

// TestAttackStaleSessionNameSelectsAnotherUser: an MFA GetSessionToken
// session carries the user name it was issued with. Actions that default
// UserName to "the caller" (CreateAccessKey, ListAccessKeys, GetUser,
// MFA device actions) resolve that stale name, and aws:username is that
// stale name too. After the user is renamed and a new user takes the old
// name, the old session acts on the NEW user: with the common self-service
// policy "iam:*AccessKey* on user/${aws:username}" it mints an access key
// for the new user and takes it over.
func TestAttackStaleSessionNameSelectsAnotherUser(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	m := &mfaEnv{env: start(t, withClock(clk)), clk: clk, rec: &recorder{}}
	root := m.rootIAM()
	akid, secret := m.user(t, "alice")
	m.userPolicy(t, "alice", "self-service", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys","iam:GetUser"],"Resource":"arn:aws:iam::123456789012:user/${aws:username}"}]}`)
	serial, seed := m.device(t, "alice-phone", "alice")
	clk.Advance(30 * time.Second)
	st := need(m.stsc(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber: aws.String(serial), TokenCode: aws.String(m.code(t, seed, 0)), DurationSeconds: aws.Int32(3600)}))(t)
	sess := m.iamc(*st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)

	// alice leaves: her user is renamed (kept for audit), and the name is
	// given to a new administrator.
	need(root.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alice-departed")}))(t)
	need(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))(t)
	m.userPolicy(t, "alice", "admin", allow("*", "*"))
	newID := *need(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}))(t).User.UserId

	// GetUser with no UserName must describe the caller, not the newcomer.
	if got, err := sess.GetUser(ctx, &iam.GetUserInput{}); err == nil && *got.User.UserId == newID {
		t.Errorf("GetUser() of the old session describes the new user %s", newID)
	}
	// CreateAccessKey with no UserName must not create a key for the newcomer.
	k, err := sess.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err == nil {
		if k.AccessKey.UserName != nil && *k.AccessKey.UserName == "alice" {
			who := need(m.sts(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
			t.Fatalf("old session minted an access key for the NEW user alice: now acting as %s (%s)", *who.Arn, *who.UserId)
		}
	}
}

// TestAttackDeletedRoleSessionAssumesBySessionARN: "a session of a deleted
// role gets nothing" does not hold for trust policies that name the role
// session by its ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, kept
// as written): the session of a role that no longer exists still assumes
// the trusting role, because the session ARN is matched as a string and
// nothing checks that the session's role (by unique id) still exists.
func TestAttackDeletedRoleSessionAssumesBySessionARN(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	hopARN := e.role(t, "Hop", "", trustAccount)
	e.rolePolicy(t, "Hop", "p", allow("sts:AssumeRole", "*"))
	target := e.role(t, "Vault", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::123456789012:assumed-role/Hop/ci"},"Action":"sts:AssumeRole"}]}`)
	e.rolePolicy(t, "Vault", "p", allow("iam:ListUsers", "*"))
	akid, secret := e.user(t, "ci")
	e.userPolicy(t, "ci", "p", allow("sts:AssumeRole", hopARN))
	hop := need(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(hopARN), RoleSessionName: aws.String("ci")}))(t)
	hs := e.sts(*hop.Credentials.AccessKeyId, *hop.Credentials.SecretAccessKey, *hop.Credentials.SessionToken)
	need(hs.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("xx")}))(t)

	// Hop is deleted: its sessions must get nothing.
	need(root.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("Hop"), PolicyName: aws.String("p")}))(t)
	need(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Hop")}))(t)
	out, err := hs.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("xx")})
	if err == nil {
		c := out.Credentials
		_, lerr := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).ListUsers(ctx, &iam.ListUsersInput{})
		t.Fatalf("session of the deleted role Hop assumed Vault (ListUsers with it: err=%v)", lerr)
	}
	wantCode(t, err, "AccessDenied")
}

// TestAttackStaleSessionPrincipalArn: a GetSessionToken session keeps the
// ARN and user name it was issued with as aws:PrincipalArn / aws:username.
// After the user is renamed and the name is given to someone else, the old
// session satisfies conditions written for the new holder of the name.
// (No MFA needed: session-token credentials may call sts:AssumeRole.)
func TestAttackStaleSessionPrincipalArn(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	akid, secret := e.user(t, "alice")
	e.userPolicy(t, "alice", "p", allow("sts:AssumeRole", "*"))
	st := need(e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{}))(t)
	old := e.sts(*st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)

	need(root.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alice-departed")}))(t)
	need(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))(t)
	// Only the current alice may assume the payroll role.
	payroll := e.role(t, "Payroll", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole",
		"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}}]}`)
	who := need(old.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))(t)
	if _, err := old.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(payroll), RoleSessionName: aws.String("xx")}); err == nil {
		t.Fatalf("the renamed user's old session (GetCallerIdentity says %s) passed aws:PrincipalArn == user/alice meant for the new alice", *who.Arn)
	}
}

// TestAttackAssumeRoleExistenceOracle: a caller with no permission at all
// learns whether a role exists, and its MaxSessionDuration, because
// AssumeRole checks DurationSeconds against the role's maximum before it
// authorizes: an existing role answers ValidationError, a missing one
// AccessDenied. Likewise GetFederationToken looks up PolicyArns before it
// authorizes, so an unauthorized caller learns which managed policies exist.
func TestAttackAssumeRoleExistenceOracle(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	e.role(t, "SecretProject", "", trustAccount)
	need(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("SecretPolicy"), PolicyDocument: aws.String(allow("s3:GetObject", "*"))}))(t)
	akid, secret := e.user(t, "nobody") // no policies at all
	s := e.sts(akid, secret, "")
	probe := func(name string) error {
		_, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/" + name), RoleSessionName: aws.String("probe"), DurationSeconds: aws.Int32(43200)})
		return err
	}
	exists, missing := apiCode(t, probe("SecretProject")), apiCode(t, probe("NoSuchRole"))
	if exists != missing {
		t.Errorf("AssumeRole by an unauthorized caller: existing role -> %s, missing role -> %s", exists, missing)
	}
	fed := func(arn string) string {
		_, err := s.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("probe"), PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String(arn)}}})
		return apiCode(t, err)
	}
	if a, b := fed(acctARN+"policy/SecretPolicy"), fed(acctARN+"policy/NoSuchPolicy"); a != b {
		t.Errorf("GetFederationToken by an unauthorized caller: existing policy -> %s, missing policy -> %s", a, b)
	}
}

// TestAttackTransitiveTagsOverrideTargetRoleTags: when a role session with
// transitive session tags assumes another role, assumeRoleKeys replaces the
// TARGET role's aws:ResourceTag values with the caller's transitive tags.
// Under the standard ABAC rule "sts:AssumeRole where aws:ResourceTag/Team ==
// ${aws:PrincipalTag/Team}", a dev session that honestly carries Team=dev
// as a transitive tag then assumes the Finance role (tagged Team=finance):
// the role's own tag is never looked at. aws:ResourceTag must be the
// resource's tags; session tags override only aws:PrincipalTag.
func TestAttackTransitiveTagsOverrideTargetRoleTags(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	abac := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/Team":"${aws:PrincipalTag/Team}"}}}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	mk := func(name, team string) string {
		a := e.role(t, name, "", trust)
		need(root.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(name), Tags: []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String(team)}}}))(t)
		e.rolePolicy(t, name, "abac", abac)
		return a
	}
	dev := mk("Dev", "dev")
	fin := mk("Finance", "finance")
	akid, secret := e.user(t, "bob")
	need(root.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("bob"), Tags: []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String("dev")}}}))(t)
	e.userPolicy(t, "bob", "abac", abac)
	_, err := e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(fin), RoleSessionName: aws.String("ss")})
	wantCode(t, err, "AccessDenied") // the rule works without chaining
	s1 := need(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dev), RoleSessionName: aws.String("ss"),
		Tags: []ststypes.Tag{{Key: aws.String("Team"), Value: aws.String("dev")}}, TransitiveTagKeys: []string{"Team"}}))(t)
	c := s1.Credentials
	_, err = e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(fin), RoleSessionName: aws.String("ss")})
	if err == nil {
		t.Fatal("a Team=dev session assumed the Team=finance role: its transitive tag replaced the role's aws:ResourceTag/Team")
	}
	wantCode(t, err, "AccessDenied")
}

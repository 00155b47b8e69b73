package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func tag(k, v string) ststypes.Tag { return ststypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

func (e *env) sessionClients(out *sts.AssumeRoleOutput) (*sts.Client, *iam.Client) {
	c := out.Credentials
	return e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken), e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

const trustTagging = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

func TestSessionTags(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "tagger")
	e.userPolicy(t, "tagger", "sts", allow("sts:*", "*"))
	in := &iam.CreateRoleInput{RoleName: aws.String("tagged"), AssumeRolePolicyDocument: aws.String(trustTagging),
		Tags: []iamtypes.Tag{{Key: aws.String("Department"), Value: aws.String("eng")}}}
	roleARN := *must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, in)).Role.Arn
	// The role may list users only for sessions tagged department=sales
	// (the tag key compares case-insensitively) and may chain.
	e.rolePolicy(t, "tagged", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/department":"sales"}}},
		{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}},
		{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`)
	user := e.sts(akid, secret, "")

	// Role tag Department=eng: no access.
	plain := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, roleARN, nil))
	_, plainIAM := e.sessionClients(plain)
	_, err := plainIAM.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")

	// A session tag overrides the role tag of the same key, case-insensitively.
	sales := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, roleARN, func(in *sts.AssumeRoleInput) {
		in.Tags = []ststypes.Tag{tag("department", "sales"), tag("team", "a")}
		in.TransitiveTagKeys = []string{"team"}
	}))
	if sales.PackedPolicySize == nil {
		t.Fatal("PackedPolicySize missing for a tagged session")
	}
	salesSTS, salesIAM := e.sessionClients(sales)
	if _, err := salesIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("session tag should allow: %v", err)
	}

	// Transitive tags carry through the chain and cannot be overridden.
	_, err = e.assume(t, salesSTS, roleARN, func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("TEAM", "b")} })
	wantCode(t, err, "InvalidParameterValue")
	chained := must[*sts.AssumeRoleOutput](t)(e.assume(t, salesSTS, roleARN, nil))
	_, chainedIAM := e.sessionClients(chained)
	if _, err := chainedIAM.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("transitive tag team=a should reach the chained session: %v", err)
	}
	// department was not transitive.
	_, err = chainedIAM.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")

	// Tag rules.
	cases := []struct {
		name string
		mod  func(*sts.AssumeRoleInput)
		code string
	}{
		{"duplicate keys differing in case", func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("k", "1"), tag("K", "2")} }, "InvalidParameterValue"},
		{"transitive key not among the tags", func(in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{tag("k", "1")}
			in.TransitiveTagKeys = []string{"other"}
		}, "InvalidParameterValue"},
		{"aws: prefix", func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("aws:k", "1")} }, "InvalidParameterValue"},
		{"more than 50 tags", func(in *sts.AssumeRoleInput) {
			for i := 0; i < 51; i++ {
				in.Tags = append(in.Tags, tag(fmt.Sprintf("k%d", i), "v"))
			}
		}, "ValidationError"},
		{"key too long", func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag(strings.Repeat("k", 129), "v")} }, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.assume(t, user, roleARN, tc.mod)
			wantCode(t, err, tc.code)
		})
	}

	// Without sts:TagSession in the trust policy, tags are refused.
	noTag := e.role(t, "no-tag", "", trustAccount)
	_, err = e.assume(t, user, noTag, func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("k", "v")} })
	wantCode(t, err, "AccessDenied")
	// aws:RequestTag and aws:TagKeys in the trust policy.
	restricted := e.role(t, "restricted-tags", "", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:TagSession","Condition":{
			"StringEquals":{"aws:RequestTag/project":"apollo"},"ForAllValues:StringEquals":{"aws:TagKeys":["project"]}}}]}`)
	if _, err := e.assume(t, user, restricted, func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("project", "apollo")} }); err != nil {
		t.Fatal(err)
	}
	_, err = e.assume(t, user, restricted, func(in *sts.AssumeRoleInput) { in.Tags = []ststypes.Tag{tag("project", "gemini")} })
	wantCode(t, err, "AccessDenied")
	_, err = e.assume(t, user, restricted, func(in *sts.AssumeRoleInput) {
		in.Tags = []ststypes.Tag{tag("project", "apollo"), tag("cost", "1")}
	})
	wantCode(t, err, "AccessDenied")
}

func TestSourceIdentity(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "alice")
	e.userPolicy(t, "alice", "sts", allow("sts:*", "*"))
	roleARN := e.role(t, "si", "", trustTagging)
	e.rolePolicy(t, "si", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:SourceIdentity":"alice"}}},
		{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}`)
	user := e.sts(akid, secret, "")
	out := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, roleARN, func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("alice") }))
	if out.SourceIdentity == nil || *out.SourceIdentity != "alice" {
		t.Fatalf("SourceIdentity = %v", out.SourceIdentity)
	}
	sessSTS, sessIAM := e.sessionClients(out)
	if _, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("aws:SourceIdentity condition: %v", err)
	}
	// Inherited through the chain without being passed again.
	chained := must[*sts.AssumeRoleOutput](t)(e.assume(t, sessSTS, roleARN, nil))
	if chained.SourceIdentity == nil || *chained.SourceIdentity != "alice" {
		t.Fatalf("chained SourceIdentity = %v", chained.SourceIdentity)
	}
	// Immutable: a chained session cannot change it.
	_, err := e.assume(t, sessSTS, roleARN, func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("mallory") })
	wantCode(t, err, "AccessDenied")
	// The trust policy must allow sts:SetSourceIdentity.
	plain := e.role(t, "plain", "", trustAccount)
	_, err = e.assume(t, user, plain, func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("alice") })
	wantCode(t, err, "AccessDenied")
	// So must it, and the caller's policies, for a chain that carries one
	// (found by a review as an attacker: the chain set it with neither).
	_, err = e.assume(t, sessSTS, plain, nil)
	wantCode(t, err, "AccessDenied")
	narrowed := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, roleARN, func(in *sts.AssumeRoleInput) {
		in.SourceIdentity, in.Policy = aws.String("alice"), aws.String(allow("sts:AssumeRole", "*"))
	}))
	narrowedSTS, _ := e.sessionClients(narrowed)
	_, err = e.assume(t, narrowedSTS, roleARN, nil)
	wantCode(t, err, "AccessDenied")
}

// TestChainedRoleEscalation: a role session narrowed by a session policy
// cannot escape into a role that trusts its role ARN, because a role
// principal in a trust policy is still limited by the session policy.
func TestChainedRoleEscalation(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "chainer")
	e.userPolicy(t, "chainer", "sts", allow("sts:AssumeRole", "*"))
	first := e.role(t, "first", "", trustAccount)
	e.rolePolicy(t, "first", "chain", allow("sts:AssumeRole", "*"))
	second := e.role(t, "second", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+first+`"},"Action":"sts:AssumeRole"}]}`)
	if _, err := e.rootIAM().AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("second"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	user := e.sts(akid, secret, "")
	narrow := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, first, func(in *sts.AssumeRoleInput) { in.Policy = aws.String(allow("s3:GetObject", "*")) }))
	narrowSTS, _ := e.sessionClients(narrow)
	_, err := e.assume(t, narrowSTS, second, nil)
	wantCode(t, err, "AccessDenied")
	wide := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, first, nil))
	wideSTS, _ := e.sessionClients(wide)
	if _, err := e.assume(t, wideSTS, second, nil); err != nil {
		t.Fatalf("an unrestricted session of the trusted role may chain: %v", err)
	}
	// The user itself is not trusted by the second role.
	_, err = e.assume(t, user, second, nil)
	wantCode(t, err, "AccessDenied")
}

func TestFederationToken(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "broker")
	e.userPolicy(t, "broker", "p", allow("sts:GetFederationToken", "arn:aws:sts::123456789012:federated-user/*"))
	user := e.sts(akid, secret, "")
	out := must[*sts.GetFederationTokenOutput](t)(user.GetFederationToken(ctx, &sts.GetFederationTokenInput{
		Name: aws.String("jane"), DurationSeconds: aws.Int32(900), Policy: aws.String(allow("s3:*", "*"))}))
	if *out.FederatedUser.Arn != "arn:aws:sts::123456789012:federated-user/jane" || *out.FederatedUser.FederatedUserId != "123456789012:jane" {
		t.Fatalf("FederatedUser = %+v", out.FederatedUser)
	}
	c := out.Credentials
	fedSTS := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	id := must[*sts.GetCallerIdentityOutput](t)(fedSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != *out.FederatedUser.Arn || *id.UserId != "123456789012:jane" {
		t.Fatalf("identity %s %s", *id.Arn, *id.UserId)
	}
	// Federation-token sessions call no IAM and only GetCallerIdentity in STS.
	_, err := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
	_, err = fedSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/x"), RoleSessionName: aws.String("xx")})
	wantCode(t, err, "AccessDenied")
	_, err = fedSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantCode(t, err, "AccessDenied")
	_, err = fedSTS.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("again")})
	wantCode(t, err, "AccessDenied")

	// The name must be allowed by the caller's policy.
	other, otherSecret := e.user(t, "nobody")
	_, err = e.sts(other, otherSecret, "").GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("jane")})
	wantCode(t, err, "AccessDenied")
	// Validation.
	_, err = user.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("j")})
	wantCode(t, err, "ValidationError")
	_, err = user.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("jane"), Policy: aws.String("{")})
	wantCode(t, err, "MalformedPolicyDocument")
	// Role sessions cannot get federation tokens.
	roleARN := e.role(t, "r", "", trustAccount)
	e.userPolicy(t, "broker", "assume", allow("sts:AssumeRole", roleARN))
	rs := must[*sts.AssumeRoleOutput](t)(e.assume(t, user, roleARN, nil))
	rsSTS, _ := e.sessionClients(rs)
	_, err = rsSTS.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("jane")})
	wantCode(t, err, "AccessDenied")
}

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// largeManagedDoc is a managed policy of about 5,000 characters (over the
// 2,048 of an inline session policy, under the 6,144 of a managed policy)
// that allows actions on "*" and, to fill it, iam:GetUser on many users.
func largeManagedDoc(t *testing.T, actions ...string) string {
	t.Helper()
	var pad []string
	for i := 0; len(strings.Join(pad, ",")) < 4700; i++ {
		pad = append(pad, fmt.Sprintf(`"arn:aws:iam::123456789012:user/padding/user-%04d"`, i))
	}
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["` + strings.Join(actions, `","`) + `"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":"iam:GetUser","Resource":[` + strings.Join(pad, ",") + `]}]}`
	if len(doc) < 4900 || len(doc) > 6144 {
		t.Fatalf("document of %d characters", len(doc))
	}
	return doc
}

func (e *env) managedPolicy(t *testing.T, name, doc string) string {
	t.Helper()
	out, err := e.rootIAM().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatalf("create policy %s: %v", name, err)
	}
	return *out.Policy.Arn
}

// TestLargeManagedSessionPolicy: a managed policy keeps its own size quota
// when it is named in PolicyArns. AssumeRole and GetFederationToken with a
// 5,000-character managed policy succeed, the session's permissions are the
// intersection, and a session survives its managed policy growing past the
// inline session policy quota.
func TestLargeManagedSessionPolicy(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "caller")
	e.userPolicy(t, "caller", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:GetFederationToken"],"Resource":"*"}]}`)
	roleARN := e.role(t, "r", "", trustAccount)
	e.rolePolicy(t, "r", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListRoles","iam:ListGroups"],"Resource":"*"}]}`)
	big := e.managedPolicy(t, "big", largeManagedDoc(t, "iam:ListUsers", "sts:GetCallerIdentity"))
	caller := e.sts(akid, secret, "")

	out, err := caller.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("big"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String(big)}}})
	if err != nil {
		t.Fatalf("AssumeRole with a large managed session policy: %v", err)
	}
	_, sessIAM := e.sessionClients(out)
	if _, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("allowed by role and session policy: %v", err)
	}
	_, err = sessIAM.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied") // the role allows it, the session policy does not

	fed, err := caller.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("fed"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String(big)}}})
	if err != nil {
		t.Fatalf("GetFederationToken with a large managed session policy: %v", err)
	}
	fc := fed.Credentials
	if _, err := e.sts(*fc.AccessKeyId, *fc.SecretAccessKey, *fc.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("federated session: %v", err)
	}

	// A live session whose managed session policy grows past 2,048
	// characters keeps working, with the new version's permissions.
	grow := e.managedPolicy(t, "grow", allow("iam:ListUsers", "*"))
	out, err = caller.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("grow"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String(grow)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, sessIAM = e.sessionClients(out)
	_, err = sessIAM.ListGroups(ctx, &iam.ListGroupsInput{})
	wantCode(t, err, "AccessDenied")
	if _, err := e.rootIAM().CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(grow),
		PolicyDocument: aws.String(largeManagedDoc(t, "iam:ListUsers", "iam:ListGroups")), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("session after its managed policy grew: %v", err)
	}
	if _, err := sessIAM.ListGroups(ctx, &iam.ListGroupsInput{}); err != nil {
		t.Fatalf("allowed by the grown policy: %v", err)
	}
	_, err = sessIAM.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied")
}

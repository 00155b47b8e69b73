package e2e

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

const (
	taskAudit  = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
	taskDelete = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
)

// TestAssumeRoot drives AssumeRoot with aws-sdk-go-v2: a management
// account user takes a task-scoped root session in a member account, which
// may do what the task policy allows and nothing else, for at most 15
// minutes; every other caller, target, task and duration is refused as
// AWS refuses it.
func TestAssumeRoot(t *testing.T) {
	t.Parallel()
	e := start(t)
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoot","Resource":"*",
		"Condition":{"StringEquals":{"sts:TaskPolicyArn":"` + taskAudit + `"}}}]}`
	admin := e.userWith(t, "root-admin", allow)
	c := e.sts(admin.AccessKeyID, admin.SecretAccessKey, "")
	in := func(target, task string, mod ...func(*sts.AssumeRootInput)) *sts.AssumeRootInput {
		i := &sts.AssumeRootInput{TargetPrincipal: aws.String(target), TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(task)}}
		for _, m := range mod {
			m(i)
		}
		return i
	}

	// No organization yet: nobody manages member accounts.
	_, err := c.AssumeRoot(ctx, in("210987654321", taskAudit))
	wantCode(t, err, "AccessDenied")

	member := e.newAccount(t, "workloads")
	before := time.Now().Add(-time.Second)
	out := must[*sts.AssumeRootOutput](t)(c.AssumeRoot(ctx, in(member, taskAudit)))
	cr := out.Credentials
	if exp := aws.ToTime(cr.Expiration); exp.After(time.Now().Add(900*time.Second)) || exp.Before(before.Add(900*time.Second)) {
		t.Errorf("Expiration %v: want 900 s from now", exp)
	}
	rootSTS := e.sts(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)
	id := must[*sts.GetCallerIdentityOutput](t)(rootSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Arn) != "arn:aws:iam::"+member+":root" || aws.ToString(id.Account) != member {
		t.Errorf("caller identity %s in %s, want the member's root", aws.ToString(id.Arn), aws.ToString(id.Account))
	}
	rootIAM := e.iam(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)
	// The audit task: reading the root's credentials...
	must[*iam.ListAccessKeysOutput](t)(rootIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}))
	must[*iam.ListMFADevicesOutput](t)(rootIAM.ListMFADevices(ctx, &iam.ListMFADevicesInput{}))
	// ...and nothing else, though it is the root.
	_, err = rootIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("backdoor")})
	wantCode(t, err, "AccessDenied")
	_, err = rootIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	wantCode(t, err, "AccessDenied")
	_, err = rootSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("x1")})
	if err == nil {
		t.Error("the root task session assumed a role")
	}

	// A role session's source identity stays with the root session it
	// makes, and comes back (found by a review as an attacker: dropped).
	e.userPolicy(t, "root-admin", "chain", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}`)
	operator := e.role(t, "root-operator", "", trustTagging)
	e.rolePolicy(t, "root-operator", "p", allow)
	withSource := must[*sts.AssumeRoleOutput](t)(e.assume(t, c, operator, func(i *sts.AssumeRoleInput) { i.SourceIdentity = aws.String("alice") }))
	opSTS, _ := e.sessionClients(withSource)
	if root := must[*sts.AssumeRootOutput](t)(opSTS.AssumeRoot(ctx, in(member, taskAudit))); aws.ToString(root.SourceIdentity) != "alice" {
		t.Errorf("AssumeRoot from a session with a source identity: SourceIdentity %q, want alice", aws.ToString(root.SourceIdentity))
	}

	// An ARN of the member's root names it too.
	must[*sts.AssumeRootOutput](t)(c.AssumeRoot(ctx, in("arn:aws:iam::"+member+":root", taskAudit, func(i *sts.AssumeRootInput) { i.DurationSeconds = aws.Int32(60) })))

	tests := []struct {
		name string
		c    *sts.Client
		in   *sts.AssumeRootInput
		code string
	}{
		{"task the policy does not allow", c, in(member, taskDelete), "AccessDenied"},
		{"duration over 900", c, in(member, taskAudit, func(i *sts.AssumeRootInput) { i.DurationSeconds = aws.Int32(901) }), "ValidationError"},
		{"not a root task policy", c, in(member, "arn:aws:iam::aws:policy/AdministratorAccess"), "ValidationError"},
		{"target principal too short", c, in("12345", taskAudit), "ValidationError"},
		{"target not an account", c, in("arn:aws:iam::"+member+":user/bob", taskAudit), "ValidationError"},
		{"management account", c, in(testAccount, taskAudit), "AccessDenied"},
		{"unknown account", c, in("999999999999", taskAudit), "AccessDenied"},
		{"root user credentials", e.rootSTS(), in(member, taskAudit), "AccessDenied"},
		{"the root task session itself", rootSTS, in(member, taskAudit), "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.AssumeRoot(ctx, tt.in)
			wantCode(t, err, tt.code)
		})
	}
}

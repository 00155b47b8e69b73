package e2e

// Outside review (attack review of session 25): attacks that succeeded,
// kept as tests.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// TestAttackDecodeAuthorizationMessageAcrossAccounts: an encoded denial
// message names the denied account's policies, statements and condition
// values. A principal of another account, with every permission of its
// own (and the same person controlling both is enough), decoded it; and a
// principal its own account denied sts:DecodeAuthorizationMessage got it
// decoded that way. Only the message's own account decodes it now.
func TestAttackDecodeAuthorizationMessageAcrossAccounts(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "other")
	outsider := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")

	akid, secret := e.user(t, "nodecode")
	e.userPolicy(t, "nodecode", "guardrail", `{"Version":"2012-10-17","Statement":[{"Sid":"SecretStatementName","Effect":"Deny","Action":"sts:DecodeAuthorizationMessage","Resource":"*"}]}`)
	_, err := e.iam(akid, secret, "").CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})
	wantCode(t, err, "AccessDenied")
	const marker = "Encoded authorization failure message: "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		t.Fatalf("no encoded message in %q", msg)
	}
	enc := aws.String(strings.Fields(msg[i+len(marker):])[0])

	_, err = outsider.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: enc})
	wantCode(t, err, "InvalidAuthorizationMessageException")
	// The account's own administrator still decodes it.
	dec := must[*sts.DecodeAuthorizationMessageOutput](t)(admin.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: enc}))
	if !strings.Contains(aws.ToString(dec.DecodedMessage), "user/nodecode") {
		t.Fatalf("decoded %s", aws.ToString(dec.DecodedMessage))
	}
}

// TestAttackOrgDelegationScopedToPolicyTypes: the organization's resource
// policy delegated "manage org policies except SCPs", with the SCPs
// excluded as AWS's own examples do (a Deny on the SCPs' ARNs, and one on
// organizations:PolicyType). It was decided once, on the organization's
// ARN and without the key, so neither Deny ever matched: the member
// rewrote the management account's SCP to allow everything and detached
// the SCP that bound it. Each resource is now decided with the key.
func TestAttackOrgDelegationScopedToPolicyTypes(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "delegate")
	ops := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")
	root := e.rootID(t)
	must[*organizations.EnablePolicyTypeOutput](t)(admin.org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeTagPolicy}))

	scpID := must[*organizations.CreatePolicyOutput](t)(admin.org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-iam-groups"), Description: aws.String(""),
		Type: orgtypes.PolicyTypeServiceControlPolicy, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateGroup","Resource":"*"}]}`)})).Policy.PolicySummary.Id
	scp := aws.ToString(scpID)
	must[*organizations.AttachPolicyOutput](t)(admin.org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: scpID, TargetId: aws.String(member)}))
	tagsID := must[*organizations.CreatePolicyOutput](t)(admin.org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("tags"), Description: aws.String(""),
		Type: orgtypes.PolicyTypeTagPolicy, Content: aws.String(`{"tags":{"env":{"tag_key":{"@@assign":"Env"}}}}`)})).Policy.PolicySummary.Id
	tags := aws.ToString(tagsID)

	principal := `"Principal":{"AWS":"arn:aws:iam::` + member + `:root"}`
	manage := `["organizations:AttachPolicy","organizations:DetachPolicy","organizations:UpdatePolicy","organizations:DeletePolicy","organizations:CreatePolicy"]`
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Read","Effect":"Allow",` + principal + `,"Action":["organizations:Describe*","organizations:List*"],"Resource":"*"},` +
		`{"Sid":"Manage","Effect":"Allow",` + principal + `,"Action":` + manage + `,"Resource":"*"},` +
		`{"Sid":"NotSCPsByARN","Effect":"Deny",` + principal + `,"Action":` + manage + `,"Resource":"arn:aws:organizations::` + testAccount + `:policy/*/service_control_policy/*"},` +
		`{"Sid":"NotSCPsByType","Effect":"Deny",` + principal + `,"Action":` + manage + `,"Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":"SERVICE_CONTROL_POLICY"}}}]}`
	must[*organizations.PutResourcePolicyOutput](t)(admin.org.PutResourcePolicy(ctx, &organizations.PutResourcePolicyInput{Content: aws.String(doc)}))

	allowAll := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	_, err := ops.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(scp), Content: allowAll})
	wantCode(t, err, "AccessDeniedException")
	_, err = ops.org.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(scp), TargetId: aws.String(member)})
	wantCode(t, err, "AccessDeniedException")
	_, err = ops.org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("mine"), Description: aws.String(""), Type: orgtypes.PolicyTypeServiceControlPolicy, Content: allowAll})
	wantCode(t, err, "AccessDeniedException")
	// The SCP still binds the member.
	_, err = ops.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})
	wantCode(t, err, "AccessDenied")
	// What the policy does delegate, it still does.
	must[*organizations.UpdatePolicyOutput](t)(ops.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(tags), Description: aws.String("by the delegate")}))
	must[*organizations.AttachPolicyOutput](t)(ops.org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(tags), TargetId: aws.String(member)}))
	must[*organizations.ListPoliciesOutput](t)(ops.org.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeTagPolicy}))

	// A delegation scoped to a type's ARNs, as AWS's examples write it,
	// allows that type's policies only (decided on the organization's
	// ARN, it allowed nothing).
	scoped := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + principal + `,"Action":"organizations:UpdatePolicy",` +
		`"Resource":"arn:aws:organizations::` + testAccount + `:policy/*/tag_policy/*"}]}`
	must[*organizations.PutResourcePolicyOutput](t)(admin.org.PutResourcePolicy(ctx, &organizations.PutResourcePolicyInput{Content: aws.String(scoped)}))
	must[*organizations.UpdatePolicyOutput](t)(ops.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(tags), Description: aws.String("scoped")}))
	_, err = ops.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(scp), Content: allowAll})
	wantCode(t, err, "AccessDeniedException")
	// An id that names no policy tells this member nothing (it was
	// PolicyNotFoundException, so ids could be probed); the management
	// account's administrator, allowed on every policy, is told.
	_, err = ops.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String("p-00000000"), Description: aws.String("x")})
	wantCode(t, err, "AccessDeniedException")
	_, err = admin.org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String("p-00000000"), Description: aws.String("x")})
	wantCode(t, err, "PolicyNotFoundException")
}

// TestAttackRootTaskSessionReachesIAMUsers: a root-task session (AssumeRoot)
// is for the root user's own credentials, but the task policies allowed
// their IAM actions on every resource: an operator holding only
// sts:AssumeRoot listed, deleted and created the credentials of any IAM
// user of a member account. The tasks now reach the root user only.
func TestAttackRootTaskSessionReachesIAMUsers(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "workloads")
	ops := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")
	must[*iam.CreateUserOutput](t)(ops.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("victim")}))
	key := must[*iam.CreateAccessKeyOutput](t)(ops.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("victim")})).AccessKey

	operator := e.userWith(t, "rt-operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoot","Resource":"*"}]}`)
	opSTS := e.sts(operator.AccessKeyID, operator.SecretAccessKey, "")
	session := func(task string) *iam.Client {
		out := must[*sts.AssumeRootOutput](t)(opSTS.AssumeRoot(ctx, &sts.AssumeRootInput{TargetPrincipal: aws.String(member),
			TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(task)}}))
		c := out.Credentials
		return e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	}
	victim := aws.String("victim")

	audit := session(taskAudit)
	_, err := audit.GetUser(ctx, &iam.GetUserInput{UserName: victim})
	wantCode(t, err, "AccessDenied")
	_, err = audit.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: victim})
	wantCode(t, err, "AccessDenied")
	// The root's own credentials, which the task is for.
	must[*iam.ListAccessKeysOutput](t)(audit.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}))
	must[*iam.GetUserOutput](t)(audit.GetUser(ctx, &iam.GetUserInput{}))
	must[*iam.GetAccountSummaryOutput](t)(audit.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))

	del := session(taskDelete)
	_, err = del.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: victim, AccessKeyId: key.AccessKeyId})
	wantCode(t, err, "AccessDenied")
	_, err = del.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: victim})
	wantCode(t, err, "AccessDenied")
	must[*iam.ListAccessKeysOutput](t)(del.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}))

	create := session("arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword")
	_, err = create.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: victim, Password: aws.String("Planted-Passw0rd!")})
	wantCode(t, err, "AccessDenied")
	// The victim's key is still there.
	keys := must[*iam.ListAccessKeysOutput](t)(ops.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: victim}))
	if len(keys.AccessKeyMetadata) != 1 {
		t.Fatalf("victim's keys %+v", keys.AccessKeyMetadata)
	}
}

// TestAttackEffectivePolicyByTypeAndTarget: DescribeEffectivePolicy was
// decided on "*" without organizations:PolicyType, so a management
// account user denied tag policies by type, and every action on account
// B by its ARN, read B's merged tag policy; and one allowed the action
// for tag policies only was refused. It is decided on the target
// account's ARN with the type now.
func TestAttackEffectivePolicyByTypeAndTarget(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	b := e.newAccount(t, "tagged")
	root := e.rootID(t)
	must[*organizations.EnablePolicyTypeOutput](t)(admin.org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeTagPolicy}))
	tp := must[*organizations.CreatePolicyOutput](t)(admin.org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("secret-tags"), Description: aws.String(""),
		Type: orgtypes.PolicyTypeTagPolicy, Content: aws.String(`{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}`)})).Policy.PolicySummary.Id
	must[*organizations.AttachPolicyOutput](t)(admin.org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: tp, TargetId: aws.String(b)}))
	in := &organizations.DescribeEffectivePolicyInput{PolicyType: orgtypes.EffectivePolicyTypeTagPolicy, TargetId: aws.String(b)}

	byType := e.userWith(t, "no-tag-policies", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:*","Resource":"*"},
		{"Effect":"Deny","Action":"organizations:DescribeEffectivePolicy","Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":"TAG_POLICY"}}}]}`)
	_, err := e.org(byType.AccessKeyID, byType.SecretAccessKey, "").DescribeEffectivePolicy(ctx, in)
	wantCode(t, err, "AccessDeniedException")
	byTarget := e.userWith(t, "not-account-b", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:*","Resource":"*"},
		{"Effect":"Deny","Action":"organizations:*","Resource":"arn:aws:organizations::`+testAccount+`:account/*/`+b+`"}]}`)
	_, err = e.org(byTarget.AccessKeyID, byTarget.SecretAccessKey, "").DescribeEffectivePolicy(ctx, in)
	wantCode(t, err, "AccessDeniedException")
	onlyTags := e.userWith(t, "tag-policies-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:DescribeEffectivePolicy","Resource":"*",
		"Condition":{"StringEquals":{"organizations:PolicyType":"TAG_POLICY"}}}]}`)
	ep := must[*organizations.DescribeEffectivePolicyOutput](t)(e.org(onlyTags.AccessKeyID, onlyTags.SecretAccessKey, "").DescribeEffectivePolicy(ctx, in))
	if !strings.Contains(aws.ToString(ep.EffectivePolicy.PolicyContent), "CostCenter") {
		t.Fatalf("effective policy %s", aws.ToString(ep.EffectivePolicy.PolicyContent))
	}
}

// TestAttackOrgTagConditionKeys: Organizations' tag actions, and the
// creations that take tags, were decided without aws:RequestTag/KEY and
// aws:TagKeys, so a Deny on them bound nothing (IAM's own tag actions had
// them).
func TestAttackOrgTagConditionKeys(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	acct := e.newAccount(t, "tags")
	u := e.userWith(t, "tagger", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:*","Resource":"*"},
		{"Effect":"Deny","Action":["organizations:TagResource","organizations:UntagResource","organizations:CreatePolicy","organizations:CreateAccount"],"Resource":"*",
		 "Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}},
		{"Effect":"Deny","Action":"organizations:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/env":"prod"}}}]}`)
	c := e.org(u.AccessKeyID, u.SecretAccessKey, "")
	tag := func(k, v string) []orgtypes.Tag { return []orgtypes.Tag{{Key: aws.String(k), Value: aws.String(v)}} }

	_, err := c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(acct), Tags: tag("owner", "mallory")})
	wantCode(t, err, "AccessDeniedException")
	_, err = c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(acct), Tags: tag("env", "prod")})
	wantCode(t, err, "AccessDeniedException")
	must[*organizations.TagResourceOutput](t)(c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(acct), Tags: tag("env", "dev")}))
	must[*organizations.TagResourceOutput](t)(admin.org.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(acct), Tags: tag("owner", "alice")}))
	_, err = c.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(acct), TagKeys: []string{"owner"}})
	wantCode(t, err, "AccessDeniedException")
	must[*organizations.UntagResourceOutput](t)(c.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(acct), TagKeys: []string{"env"}}))
	_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("p"), Description: aws.String(""), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), Tags: tag("owner", "mallory")})
	wantCode(t, err, "AccessDeniedException")
	_, err = c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com"), Tags: tag("owner", "mallory")})
	wantCode(t, err, "AccessDeniedException")
}

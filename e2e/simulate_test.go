package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const simPolicy = `{"Version":"2012-10-17","Statement":[` +
	`{"Effect":"Allow","Action":"s3:*Object","Resource":"*"},` +
	`{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"},` +
	`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`

// ignoreSDK skips the SDK's unexported no-serde markers.
var ignoreSDK = cmpopts.IgnoreUnexported(iamtypes.EvaluationResult{}, iamtypes.Statement{}, iamtypes.Position{},
	iamtypes.ResourceSpecificResult{}, iamtypes.PermissionsBoundaryDecisionDetail{}, iamtypes.OrganizationsDecisionDetail{})

func stmt(id string, typ iamtypes.PolicySourceType, l1, c1, l2, c2 int32) iamtypes.Statement {
	return iamtypes.Statement{SourcePolicyId: aws.String(id), SourcePolicyType: typ,
		StartPosition: &iamtypes.Position{Line: l1, Column: c1}, EndPosition: &iamtypes.Position{Line: l2, Column: c2}}
}

// TestSimulateCustomPolicyOverTheWire checks that the SDK parses every part
// of the simulator's response: results, matched statements with positions,
// missing context values, boundary and cross-account decision details, and
// per-resource results.
func TestSimulateCustomPolicyOverTheWire(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String

	out := must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList:                    []string{simPolicy},
		PermissionsBoundaryPolicyInputList: []string{allow("s3:*", "*")},
		ActionNames:                        []string{"s3:GetObject", "s3:DeleteObject", "sqs:SendMessage"},
	}))
	boundary := func(ok bool) *iamtypes.PermissionsBoundaryDecisionDetail {
		return &iamtypes.PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: ok}
	}
	want := []iamtypes.EvaluationResult{
		{EvalActionName: s("s3:GetObject"), EvalResourceName: s("*"), EvalDecision: iamtypes.PolicyEvaluationDecisionTypeAllowed,
			MatchedStatements:    []iamtypes.Statement{stmt("PolicyInputList.1", iamtypes.PolicySourceTypeNone, 1, 38, 1, 93)},
			MissingContextValues: []string{}, PermissionsBoundaryDecisionDetail: boundary(true)},
		{EvalActionName: s("s3:DeleteObject"), EvalResourceName: s("*"), EvalDecision: iamtypes.PolicyEvaluationDecisionTypeExplicitDeny,
			MatchedStatements:    []iamtypes.Statement{stmt("PolicyInputList.1", iamtypes.PolicySourceTypeNone, 1, 94, 1, 153)},
			MissingContextValues: []string{}, PermissionsBoundaryDecisionDetail: boundary(true)},
		{EvalActionName: s("sqs:SendMessage"), EvalResourceName: s("*"), EvalDecision: iamtypes.PolicyEvaluationDecisionTypeImplicitDeny,
			MatchedStatements:    []iamtypes.Statement{},
			MissingContextValues: []string{"aws:SourceIp"}, PermissionsBoundaryDecisionDetail: boundary(false)},
	}
	if diff := cmp.Diff(want, out.EvaluationResults, ignoreSDK); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if out.IsTruncated || out.Marker != nil {
		t.Fatalf("IsTruncated=%v Marker=%v", out.IsTruncated, out.Marker)
	}

	// Context entries of each kind, and two resources.
	out = must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{simPolicy},
		ActionNames:     []string{"sqs:SendMessage"},
		ResourceArns:    []string{"arn:aws:sqs:us-east-1:123456789012:q1", "arn:aws:sqs:us-east-1:123456789012:q2"},
		ContextEntries: []iamtypes.ContextEntry{
			{ContextKeyName: s("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"10.9.8.7"}},
			{ContextKeyName: s("aws:TagKeys"), ContextKeyType: iamtypes.ContextKeyTypeEnumStringList, ContextKeyValues: []string{"a", "b"}},
			{ContextKeyName: s("aws:CurrentTime"), ContextKeyType: iamtypes.ContextKeyTypeEnumDate, ContextKeyValues: []string{"2026-01-02T03:04:05Z"}},
		},
	}))
	r := out.EvaluationResults[0]
	if r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || *r.EvalResourceName != "*" || len(r.ResourceSpecificResults) != 2 ||
		r.EvalDecisionDetails == nil || len(r.EvalDecisionDetails) != 0 {
		t.Fatalf("two resources: %+v", r)
	}
	for i, rr := range r.ResourceSpecificResults {
		if *rr.EvalResourceName != [2]string{"arn:aws:sqs:us-east-1:123456789012:q1", "arn:aws:sqs:us-east-1:123456789012:q2"}[i] ||
			rr.EvalResourceDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || len(rr.MatchedStatements) != 1 || *rr.MatchedStatements[0].StartPosition != (iamtypes.Position{Line: 1, Column: 154}) {
			t.Fatalf("resource %d: %+v", i, rr)
		}
	}

	// A cross-account resource policy: EvalDecisionDetails is a map.
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},` +
		`"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	out = must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{allow("s3:GetObject", "*")},
		ResourcePolicy:  s(bucketPolicy),
		CallerArn:       s("arn:aws:iam::123456789012:user/alice"),
		ResourceOwner:   s("arn:aws:iam::210987654321:root"),
		ActionNames:     []string{"s3:GetObject", "s3:PutObject"},
		ResourceArns:    []string{"arn:aws:s3:::shared/key"},
	}))
	wantDetails := map[string]map[string]iamtypes.PolicyEvaluationDecisionType{
		"s3:GetObject": {"IAM Policy": iamtypes.PolicyEvaluationDecisionTypeAllowed, "Resource Policy": iamtypes.PolicyEvaluationDecisionTypeAllowed},
		"s3:PutObject": {"IAM Policy": iamtypes.PolicyEvaluationDecisionTypeImplicitDeny, "Resource Policy": iamtypes.PolicyEvaluationDecisionTypeImplicitDeny},
	}
	for _, r := range out.EvaluationResults {
		if diff := cmp.Diff(wantDetails[*r.EvalActionName], r.EvalDecisionDetails); diff != "" {
			t.Errorf("%s details (-want +got):\n%s", *r.EvalActionName, diff)
		}
		if diff := cmp.Diff(wantDetails[*r.EvalActionName], r.ResourceSpecificResults[0].EvalDecisionDetails); diff != "" {
			t.Errorf("%s resource details (-want +got):\n%s", *r.EvalActionName, diff)
		}
	}
	if st := out.EvaluationResults[0].MatchedStatements; len(st) != 2 || st[0].SourcePolicyType != iamtypes.PolicySourceTypeResource || *st[0].SourcePolicyId != "ResourcePolicy" {
		t.Fatalf("cross-account statements: %+v", st)
	}

	// The SDK's paginator walks the results.
	var actions []string
	p := iam.NewSimulateCustomPolicyPaginator(c, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{simPolicy}, MaxItems: aws.Int32(2),
		ActionNames: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage", "sns:Publish"},
	})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 3 {
			t.Fatal("paginator does not end")
		}
		page := must[*iam.SimulateCustomPolicyOutput](t)(p.NextPage(ctx))
		for _, r := range page.EvaluationResults {
			actions = append(actions, *r.EvalActionName)
		}
	}
	if diff := cmp.Diff([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage", "sns:Publish"}, actions); diff != "" {
		t.Fatalf("paginated actions (-want +got):\n%s", diff)
	}

	// Errors.
	_, err := c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{`{"Statement":`}, ActionNames: []string{"s3:GetObject"}})
	wantCode(t, err, "MalformedPolicyDocument")
	_, err = c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{simPolicy}, ActionNames: []string{"s3:GetObject"},
		ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: s("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{"not-an-ip"}}}})
	wantCode(t, err, "InvalidInput")
	_, err = c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{simPolicy}, ActionNames: []string{"s3:GetObject"},
		ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: s("aws:SourceIp"), ContextKeyType: "address", ContextKeyValues: []string{"10.0.0.1"}}}})
	// A type out of the model's enum is the model's constraint, checked
	// first, as IAM checks its other enums (ListPolicies' Scope, ...).
	wantCode(t, err, "ValidationError")
	if err != nil && !strings.Contains(err.Error(), "at 'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: [string, stringList, ") {
		t.Errorf("unknown ContextKeyType: %v", err)
	}
}

// TestSimulatePrincipalPolicyOverTheWire simulates a user's stored
// policies, with its group's and its boundary, and a role session's.
func TestSimulatePrincipalPolicyOverTheWire(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	s := aws.String
	ok := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	u := must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: s("sim")}))
	ok(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: s("sim"), PolicyName: s("own"), PolicyDocument: s(simPolicy)}))
	ok(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: s("simgroup")}))
	ok(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: s("simgroup"), UserName: s("sim")}))
	ok(c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: s("simgroup"), PolicyName: s("grp"), PolicyDocument: s(allow("sns:Publish", "*"))}))
	bound := must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: s("simbound"), PolicyDocument: s(allow("s3:*", "*"))}))
	ok(c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: s("sim"), PermissionsBoundary: bound.Policy.Arn}))

	out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: u.User.Arn,
		ActionNames:     []string{"s3:GetObject", "s3:DeleteObject", "sns:Publish"},
		ResourceArns:    []string{"arn:aws:s3:::bucket/key"},
	}))
	type summary struct {
		Decision   iamtypes.PolicyEvaluationDecisionType
		Statements []string
		Boundary   bool
		Resources  int
	}
	got := map[string]summary{}
	for _, r := range out.EvaluationResults {
		var sts []string
		for _, st := range r.MatchedStatements {
			sts = append(sts, string(st.SourcePolicyType)+":"+*st.SourcePolicyId)
		}
		got[*r.EvalActionName] = summary{r.EvalDecision, sts, r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary, len(r.ResourceSpecificResults)}
	}
	want := map[string]summary{
		"s3:GetObject":    {iamtypes.PolicyEvaluationDecisionTypeAllowed, []string{"user:own"}, true, 1},
		"s3:DeleteObject": {iamtypes.PolicyEvaluationDecisionTypeExplicitDeny, []string{"user:own"}, true, 1},
		"sns:Publish":     {iamtypes.PolicyEvaluationDecisionTypeImplicitDeny, nil, false, 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("user simulation (-want +got):\n%s", diff)
	}

	// A role session: the role's policies apply; MissingContextValues
	// reports what a condition needed.
	ok(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("simrole"), AssumeRolePolicyDocument: s(trustAccount)}))
	e.rolePolicy(t, "simrole", "rp", simPolicy)
	rout := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: s("arn:aws:sts::123456789012:assumed-role/simrole/build"),
		ActionNames:     []string{"s3:PutObject", "sqs:SendMessage"},
	}))
	if r := rout.EvaluationResults[0]; r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || r.MatchedStatements[0].SourcePolicyType != iamtypes.PolicySourceTypeRole {
		t.Fatalf("role session s3:PutObject: %+v", r)
	}
	if r := rout.EvaluationResults[1]; r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || !cmp.Equal(r.MissingContextValues, []string{"aws:SourceIp"}) {
		t.Fatalf("role session sqs:SendMessage: %+v", r)
	}

	_, err := c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: s("arn:aws:iam::123456789012:user/nobody"), ActionNames: []string{"s3:GetObject"}})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: u.User.Arn, ActionNames: []string{"s3:GetObject"}, PolicyInputList: []string{"not json"}})
	wantCode(t, err, "MalformedPolicyDocument")
}

// TestSimulateOwnSession: beyond AWS, a role session may simulate itself, and
// its session policy narrows the result as it does for real requests; any
// caller may pass session policies for a session ARN.
func TestSimulateOwnSession(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "simmer")
	e.userPolicy(t, "simmer", "assume", allow("sts:AssumeRole", "*"))
	roleARN := e.role(t, "simrole", "", trustAccount)
	e.rolePolicy(t, "simrole", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:SimulatePrincipalPolicy","s3:*"],"Resource":"*"}]}`)
	out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("self"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:SimulatePrincipalPolicy","s3:GetObject"],"Resource":"*"}]}`)}))
	_, sessIAM := e.sessionClients(out)
	res := must[*iam.SimulatePrincipalPolicyOutput](t)(sessIAM.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: out.AssumedRoleUser.Arn, ActionNames: []string{"s3:GetObject", "s3:PutObject"}}))
	got := map[string]iamtypes.PolicyEvaluationDecisionType{}
	for _, r := range res.EvaluationResults {
		got[*r.EvalActionName] = r.EvalDecision
	}
	if got["s3:GetObject"] != iamtypes.PolicyEvaluationDecisionTypeAllowed || got["s3:PutObject"] != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Fatalf("own session simulation: %v", got)
	}
	// The role itself (no session policy) allows both.
	res = must[*iam.SimulatePrincipalPolicyOutput](t)(e.rootIAM().SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(roleARN), ActionNames: []string{"s3:PutObject"}}))
	if res.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
		t.Fatalf("role: %v", res.EvaluationResults[0].EvalDecision)
	}
}

// TestSimulateSessionPolicyInput passes session policies for a session ARN
// over the wire (SessionPolicyInputList, an OpenSTS extension).
func TestSimulateSessionPolicyInput(t *testing.T) {
	t.Parallel()
	e := start(t)
	roleARN := e.role(t, "simrole2", "", trustAccount)
	e.rolePolicy(t, "simrole2", "p", allow("s3:*", "*"))
	form := url.Values{"Action": {"SimulatePrincipalPolicy"}, "Version": {"2010-05-08"},
		"PolicySourceArn":                 {"arn:aws:sts::123456789012:assumed-role/simrole2/any"},
		"ActionNames.member.1":            {"s3:GetObject"},
		"ActionNames.member.2":            {"s3:PutObject"},
		"SessionPolicyInputList.member.1": {allow("s3:GetObject", "*")}}
	resp, body := e.raw(t, "POST", "iam", form, true, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	s := string(body)
	get := strings.Index(s, "<EvalActionName>s3:GetObject</EvalActionName>")
	put := strings.Index(s, "<EvalActionName>s3:PutObject</EvalActionName>")
	if get < 0 || put < 0 {
		t.Fatal(s)
	}
	if !strings.Contains(s[get:put], "<EvalDecision>allowed</EvalDecision>") || !strings.Contains(s[put:], "<EvalDecision>implicitDeny</EvalDecision>") {
		t.Fatalf("session policy input not applied: %s", s)
	}
	if !strings.HasSuffix(roleARN, ":role/simrole2") {
		t.Fatal(roleARN)
	}
}

// TestSimulateCustomPolicyIdentityOnlyOverTheWire: without CallerArn and
// ResourcePolicy, AWS's simulator decides from the identity policies alone,
// even for resources whose ARNs name other accounts: no cross-account
// "Resource Policy" side denies them.
func TestSimulateCustomPolicyIdentityOnlyOverTheWire(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	other, own := "arn:aws:sqs:us-east-1:210987654321:q", "arn:aws:sqs:us-east-1:123456789012:q"
	out := must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{allow("sqs:SendMessage", "*")},
		ActionNames:     []string{"sqs:SendMessage"},
		ResourceArns:    []string{other, own},
	}))
	r := out.EvaluationResults[0]
	if r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || len(r.MatchedStatements) != 1 {
		t.Errorf("decision %s with statements %+v, want allowed by the input policy", r.EvalDecision, r.MatchedStatements)
	}
	if r.EvalDecisionDetails == nil || len(r.EvalDecisionDetails) != 0 {
		t.Errorf("EvalDecisionDetails = %v, want an empty map (no cross-account sides)", r.EvalDecisionDetails)
	}
	for i, rr := range r.ResourceSpecificResults {
		if *rr.EvalResourceName != []string{other, own}[i] || rr.EvalResourceDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed || len(rr.EvalDecisionDetails) != 0 {
			t.Errorf("resource %d: %s %s %v", i, *rr.EvalResourceName, rr.EvalResourceDecision, rr.EvalDecisionDetails)
		}
	}
	if len(r.ResourceSpecificResults) != 2 {
		t.Errorf("%d resource results, want 2", len(r.ResourceSpecificResults))
	}
}

package iam_test

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/store"
)

// simDoc spreads its statements over lines so that positions are checked in
// both dimensions: statement 1 spans line 4 columns 5-64, statement 2 line 5
// columns 5-87 (the end position is just past the closing brace).
const simDoc = "{\n" +
	"  \"Version\": \"2012-10-17\",\n" +
	"  \"Statement\": [\n" +
	"    {\"Effect\": \"Allow\", \"Action\": \"s3:*Object\", \"Resource\": \"*\"},\n" +
	"    {\"Sid\": \"NoDelete\", \"Effect\": \"Deny\", \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\"}\n" +
	"  ]\n" +
	"}"

func pos(line, col int32) *iam.Position { return &iam.Position{Line: line, Column: col} }

func input(id, typ string, l1, c1, l2, c2 int32) iam.Statement {
	return iam.Statement{SourcePolicyID: id, SourcePolicyType: typ, StartPosition: pos(l1, c1), EndPosition: pos(l2, c2)}
}

// condDoc allows s3:GetObject under one condition.
func condDoc(op, key, value string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"` +
		op + `":{"` + key + `":` + value + `}}}}`
}

func entry(name, typ string, values ...string) iam.ContextEntry {
	return iam.ContextEntry{ContextKeyName: name, ContextKeyType: typ, ContextKeyValues: values}
}

func TestSimulateCustomPolicyDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{simDoc},
		ActionNames:     []string{"s3:GetObject", "s3:DeleteObject", "s3:ListBucket"},
	}))
	stmt1 := input("PolicyInputList.1", "none", 4, 5, 4, 65)
	stmt2 := input("PolicyInputList.1", "none", 5, 5, 5, 88)
	want := []iam.EvaluationResult{
		{EvalActionName: "s3:GetObject", EvalResourceName: "*", EvalDecision: "allowed",
			MatchedStatements: []iam.Statement{stmt1}, MissingContextValues: []string{}},
		{EvalActionName: "s3:DeleteObject", EvalResourceName: "*", EvalDecision: "explicitDeny",
			MatchedStatements: []iam.Statement{stmt2}, MissingContextValues: []string{}},
		{EvalActionName: "s3:ListBucket", EvalResourceName: "*", EvalDecision: "implicitDeny",
			MatchedStatements: []iam.Statement{}, MissingContextValues: []string{}},
	}
	if diff := cmp.Diff(want, out.EvaluationResults); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if out.IsTruncated || out.Marker != "" {
		t.Fatalf("page = %+v", out.Page)
	}
}

func TestSimulateCustomPolicyContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name        string
		doc         string
		entries     []iam.ContextEntry
		want        string
		wantMissing []string
	}{
		{"missing date", condDoc("DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`), nil, "implicitDeny", []string{"aws:CurrentTime"}},
		{"date", condDoc("DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`),
			[]iam.ContextEntry{entry("aws:CurrentTime", "date", "2026-03-04T05:06:07Z")}, "allowed", []string{}},
		{"date epoch", condDoc("DateLessThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`),
			[]iam.ContextEntry{entry("aws:CurrentTime", "date", "1500000000")}, "allowed", []string{}},
		{"dateList any", condDoc("ForAnyValue:DateGreaterThan", "my:Dates", `"2020-01-01"`),
			[]iam.ContextEntry{entry("my:Dates", "dateList", "2019-01-01", "2021-01-01")}, "allowed", []string{}},
		{"string", condDoc("StringEquals", "aws:PrincipalTag/team", `"blue"`),
			[]iam.ContextEntry{entry("aws:PrincipalTag/team", "string", "blue")}, "allowed", []string{}},
		{"string mismatch", condDoc("StringEquals", "aws:PrincipalTag/team", `"blue"`),
			[]iam.ContextEntry{entry("aws:PrincipalTag/team", "string", "red")}, "implicitDeny", []string{}},
		{"stringList any", condDoc("ForAnyValue:StringEquals", "aws:TagKeys", `"env"`),
			[]iam.ContextEntry{entry("aws:TagKeys", "stringList", "team", "env")}, "allowed", []string{}},
		{"stringList all", condDoc("ForAllValues:StringEquals", "aws:TagKeys", `["env","team"]`),
			[]iam.ContextEntry{entry("aws:TagKeys", "stringList", "team", "cost")}, "implicitDeny", []string{}},
		// A list key never matches a single-value operator, even with one value.
		{"stringList single-value operator", condDoc("StringEquals", "aws:TagKeys", `"env"`),
			[]iam.ContextEntry{entry("aws:TagKeys", "stringList", "env")}, "implicitDeny", []string{}},
		{"numeric", condDoc("NumericLessThan", "aws:MultiFactorAuthAge", `"3600"`),
			[]iam.ContextEntry{entry("aws:MultiFactorAuthAge", "numeric", "120")}, "allowed", []string{}},
		{"numericList", condDoc("ForAllValues:NumericLessThan", "my:Sizes", `"10"`),
			[]iam.ContextEntry{entry("my:Sizes", "numericList", "1", "2.5")}, "allowed", []string{}},
		{"boolean", condDoc("Bool", "aws:SecureTransport", `"true"`),
			[]iam.ContextEntry{entry("aws:SecureTransport", "boolean", "TRUE")}, "allowed", []string{}},
		{"booleanList", condDoc("ForAnyValue:Bool", "my:Flags", `"false"`),
			[]iam.ContextEntry{entry("my:Flags", "booleanList", "true", "false")}, "allowed", []string{}},
		{"ip", condDoc("IpAddress", "aws:SourceIp", `"10.0.0.0/8"`),
			[]iam.ContextEntry{entry("aws:SourceIp", "ip", "10.1.2.3")}, "allowed", []string{}},
		{"ip outside", condDoc("IpAddress", "aws:SourceIp", `"10.0.0.0/8"`),
			[]iam.ContextEntry{entry("aws:SourceIp", "ip", "192.0.2.1")}, "implicitDeny", []string{}},
		{"ipList", condDoc("ForAnyValue:IpAddress", "my:Ips", `"2001:db8::/32"`),
			[]iam.ContextEntry{entry("my:Ips", "ipList", "192.0.2.1", "2001:db8::1")}, "allowed", []string{}},
		{"binary", condDoc("BinaryEquals", "my:Blob", `"QmluYXJ5"`),
			[]iam.ContextEntry{entry("my:Blob", "binary", "QmluYXJ5")}, "allowed", []string{}},
		{"missing ifexists", condDoc("StringEqualsIfExists", "aws:PrincipalTag/team", `"blue"`), nil, "allowed", []string{}},
		{"username of caller", condDoc("StringEquals", "aws:username", `"alice"`), nil, "implicitDeny", []string{"aws:username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
				PolicyInputList: []string{tt.doc}, ActionNames: []string{"s3:GetObject"}, ContextEntries: tt.entries,
			}))
			r := out.EvaluationResults[0]
			if r.EvalDecision != tt.want {
				t.Errorf("decision = %s, want %s", r.EvalDecision, tt.want)
			}
			if diff := cmp.Diff(tt.wantMissing, r.MissingContextValues); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSimulateCustomPolicyBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
		PolicyInputList:                    []string{allowAll},
		PermissionsBoundaryPolicyInputList: []string{allowS3},
		ActionNames:                        []string{"s3:GetObject", "s3:PutObject"},
	}))
	got := map[string]bool{}
	for _, r := range out.EvaluationResults {
		if r.PermissionsBoundaryDecisionDetail == nil {
			t.Fatalf("%s: no PermissionsBoundaryDecisionDetail", r.EvalActionName)
		}
		got[r.EvalActionName+" "+r.EvalDecision] = r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary
	}
	want := map[string]bool{"s3:GetObject allowed": true, "s3:PutObject implicitDeny": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("boundary (-want +got):\n%s", diff)
	}
	// Without a boundary the detail is absent.
	out = must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{allowAll}, ActionNames: []string{"s3:PutObject"},
	}))
	if r := out.EvaluationResults[0]; r.PermissionsBoundaryDecisionDetail != nil || r.EvalDecision != "allowed" {
		t.Fatalf("no boundary: %+v", r)
	}
}

func TestSimulateCustomPolicyResourcePolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := "arn:aws:iam::111122223333:user/alice"
	bucketPolicy := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal +
			`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	}
	unrelated := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}`
	res := []string{"arn:aws:s3:::shared/key"}
	tests := []struct {
		name        string
		identity    string
		resource    string
		owner       string
		want        string
		wantDetails *iam.DecisionDetails
		wantStmts   []iam.Statement
	}{
		{"same account, resource policy names the user", unrelated, bucketPolicy(alice), "", "allowed",
			&iam.DecisionDetails{}, []iam.Statement{input("ResourcePolicy", "resource", 1, 38, 1, 174)}},
		{"same account, resource policy names someone else", unrelated, bucketPolicy("arn:aws:iam::111122223333:user/bob"), "", "implicitDeny",
			&iam.DecisionDetails{}, []iam.Statement{}},
		{"cross account, both allow", allowS3, bucketPolicy(alice), "arn:aws:iam::444455556666:root", "allowed",
			&iam.DecisionDetails{Entries: []iam.DecisionDetail{{Key: "IAM Policy", Value: "allowed"}, {Key: "Resource Policy", Value: "allowed"}}},
			[]iam.Statement{input("ResourcePolicy", "resource", 1, 38, 1, 174), input("PolicyInputList.1", "none", 1, 38, 1, 95)}},
		{"cross account, identity does not allow", unrelated, bucketPolicy(alice), "444455556666", "implicitDeny",
			&iam.DecisionDetails{Entries: []iam.DecisionDetail{{Key: "IAM Policy", Value: "implicitDeny"}, {Key: "Resource Policy", Value: "allowed"}}},
			[]iam.Statement{}},
		{"cross account, resource policy names someone else", allowS3, bucketPolicy("arn:aws:iam::111122223333:user/bob"), "444455556666", "implicitDeny",
			&iam.DecisionDetails{Entries: []iam.DecisionDetail{{Key: "IAM Policy", Value: "allowed"}, {Key: "Resource Policy", Value: "implicitDeny"}}},
			[]iam.Statement{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
				PolicyInputList: []string{tt.identity}, ResourcePolicy: tt.resource, CallerARN: alice, ResourceOwner: tt.owner,
				ActionNames: []string{"s3:GetObject"}, ResourceARNs: res,
			}))
			r := out.EvaluationResults[0]
			if r.EvalDecision != tt.want || r.EvalResourceName != res[0] {
				t.Errorf("decision = %s on %s, want %s", r.EvalDecision, r.EvalResourceName, tt.want)
			}
			if diff := cmp.Diff(tt.wantDetails, r.EvalDecisionDetails); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStmts, r.MatchedStatements); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
			if len(r.ResourceSpecificResults) != 1 || r.ResourceSpecificResults[0].EvalResourceDecision != tt.want {
				t.Errorf("resource specific results: %+v", r.ResourceSpecificResults)
			}
		})
	}
}

func TestSimulateCustomPolicyResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"},` +
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{doc}, ActionNames: []string{"s3:GetObject"},
		ResourceARNs: []string{"arn:aws:s3:::a/k", "arn:aws:s3:::b/k"},
	}))
	r := out.EvaluationResults[0]
	want := iam.EvaluationResult{
		EvalActionName: "s3:GetObject", EvalResourceName: "*", EvalDecision: "implicitDeny",
		MatchedStatements: []iam.Statement{}, MissingContextValues: []string{"aws:SecureTransport"},
		EvalDecisionDetails: &iam.DecisionDetails{},
		ResourceSpecificResults: []iam.ResourceSpecificResult{
			{EvalResourceName: "arn:aws:s3:::a/k", EvalResourceDecision: "allowed",
				MatchedStatements: []iam.Statement{input("PolicyInputList.1", "none", 1, 38, 1, 110)}, MissingContextValues: []string{}},
			{EvalResourceName: "arn:aws:s3:::b/k", EvalResourceDecision: "implicitDeny",
				MatchedStatements: []iam.Statement{}, MissingContextValues: []string{"aws:SecureTransport"}},
		},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
}

func TestSimulateCustomPolicyPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	actions := []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage", "ec2:RunInstances"}
	var got []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		out, err := e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{allowS3}, ActionNames: actions, MaxItems: ptr(int32(2)), Marker: marker,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.EvaluationResults) > 2 {
			t.Fatalf("page of %d", len(out.EvaluationResults))
		}
		for _, r := range out.EvaluationResults {
			got = append(got, r.EvalActionName)
		}
		if !out.IsTruncated {
			if out.Marker != "" {
				t.Fatal("marker on the last page")
			}
			break
		}
		marker = out.Marker
	}
	if diff := cmp.Diff(actions, got); diff != "" {
		t.Fatalf("actions (-want +got):\n%s", diff)
	}
	_, err := e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{allowS3}, ActionNames: actions, Marker: "!!not-a-marker",
	})
	wantErr(t, err, apierr.InvalidInput)
}

func TestSimulateCustomPolicyBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := func(in *iam.SimulateCustomPolicyInput) *iam.SimulateCustomPolicyInput {
		if in.PolicyInputList == nil {
			in.PolicyInputList = []string{allowS3}
		}
		if in.ActionNames == nil {
			in.ActionNames = []string{"s3:GetObject"}
		}
		return in
	}
	tests := []struct {
		name string
		in   *iam.SimulateCustomPolicyInput
		want apierr.Code
	}{
		{"malformed json", ok(&iam.SimulateCustomPolicyInput{PolicyInputList: []string{`{"Statement":`}}), apierr.MalformedPolicyDocument},
		{"identity policy with principal", ok(&iam.SimulateCustomPolicyInput{PolicyInputList: []string{
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`}}), apierr.MalformedPolicyDocument},
		{"malformed boundary", ok(&iam.SimulateCustomPolicyInput{PermissionsBoundaryPolicyInputList: []string{`[]`}}), apierr.MalformedPolicyDocument},
		{"resource policy without principal", ok(&iam.SimulateCustomPolicyInput{CallerARN: "arn:aws:iam::111122223333:user/a", ResourcePolicy: allowS3}), apierr.MalformedPolicyDocument},
		{"two boundaries", ok(&iam.SimulateCustomPolicyInput{PermissionsBoundaryPolicyInputList: []string{allowS3, allowS3}}), apierr.InvalidInput},
		{"unknown context type", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("aws:SourceIp", "address", "10.0.0.1")}}), apierr.InvalidInput},
		{"missing context type", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("aws:SourceIp", "", "10.0.0.1")}}), apierr.InvalidInput},
		{"bad ip", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("aws:SourceIp", "ip", "10.0.0.300")}}), apierr.InvalidInput},
		{"bad numeric", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("my:n", "numericList", "1", "two")}}), apierr.InvalidInput},
		{"bad boolean", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("aws:SecureTransport", "boolean", "yes")}}), apierr.InvalidInput},
		{"bad date", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("aws:CurrentTime", "date", "yesterday")}}), apierr.InvalidInput},
		{"bad binary", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("my:b", "binary", "%%%")}}), apierr.InvalidInput},
		{"several values for a single-valued type", ok(&iam.SimulateCustomPolicyInput{ContextEntries: []iam.ContextEntry{entry("my:s", "string", "a", "b")}}), apierr.InvalidInput},
		{"resource policy without caller", ok(&iam.SimulateCustomPolicyInput{ResourcePolicy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`}), apierr.InvalidInput},
		{"caller not a user or role", ok(&iam.SimulateCustomPolicyInput{CallerARN: "arn:aws:sts::111122223333:assumed-role/r/s"}), apierr.InvalidInput},
		{"bad resource owner", ok(&iam.SimulateCustomPolicyInput{ResourceOwner: "arn:aws:iam::1234:root"}), apierr.InvalidInput},
		{"bad resource arn", ok(&iam.SimulateCustomPolicyInput{ResourceARNs: []string{"bucket"}}), apierr.InvalidInput},
		{"wildcard action", ok(&iam.SimulateCustomPolicyInput{ActionNames: []string{"s3:*"}}), apierr.InvalidInput},
		{"action without service", ok(&iam.SimulateCustomPolicyInput{ActionNames: []string{"GetObject"}}), apierr.InvalidInput},
		{"short action", ok(&iam.SimulateCustomPolicyInput{ActionNames: []string{"s3"}}), apierr.ValidationError},
		{"unknown resource handling option", ok(&iam.SimulateCustomPolicyInput{ResourceHandlingOption: "EC2-Classic"}), apierr.InvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.SimulateCustomPolicy(e.ctx, e.rootA, tt.in)
			wantErr(t, err, tt.want)
		})
	}
}

func TestSimulateAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.user("bob", "")
	e.putUserPolicy("bob", "p", allowS3)
	_, err := e.svc.SimulateCustomPolicy(e.ctx, bob, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"s3:GetObject"}})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.SimulatePrincipalPolicy(e.ctx, bob, &iam.SimulatePrincipalPolicyInput{PolicySourceARN: bob.ARN, ActionNames: []string{"s3:GetObject"}})
	wantErr(t, err, apierr.AccessDenied)

	e.putUserPolicy("bob", "sim", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:SimulateCustomPolicy","Resource":"*"},`+
		`{"Effect":"Allow","Action":"iam:SimulatePrincipalPolicy","Resource":"arn:aws:iam::111122223333:user/bob"}]}`)
	must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, bob, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"s3:GetObject"}}))
	must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, bob, &iam.SimulatePrincipalPolicyInput{PolicySourceARN: bob.ARN, ActionNames: []string{"s3:GetObject"}}))
	_, err = e.svc.SimulatePrincipalPolicy(e.ctx, bob, &iam.SimulatePrincipalPolicyInput{PolicySourceARN: "arn:aws:iam::111122223333:user/alice", ActionNames: []string{"s3:GetObject"}})
	wantErr(t, err, apierr.AccessDenied)
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("alice", "/eng/")
	userDoc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	e.putUserPolicy("alice", "up", userDoc)
	e.createGroup("devs")
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "devs", UserName: "alice"}))
	groupDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"},` +
		`{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
	must[*iam.PutGroupPolicyOutput](t)(e.svc.PutGroupPolicy(e.ctx, e.rootA, &iam.PutGroupPolicyInput{GroupName: "devs", PolicyName: "gp", PolicyDocument: groupDoc}))
	mp := e.createPolicy("mp", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","s3:DeleteObject"],"Resource":"*"}]}`)
	e.attachUser("alice", mp)
	e.attachUser("alice", arnReadOnly)

	sim := func(in *iam.SimulatePrincipalPolicyInput) map[string]iam.EvaluationResult {
		t.Helper()
		out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, in))
		m := map[string]iam.EvaluationResult{}
		for _, r := range out.EvaluationResults {
			m[r.EvalActionName] = r
		}
		return m
	}
	actions := []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage", "ec2:RunInstances", "ec2:DescribeInstances"}
	got := sim(&iam.SimulatePrincipalPolicyInput{PolicySourceARN: alice.ARN, ActionNames: actions})
	wantStmts := map[string][]iam.Statement{
		"s3:PutObject":     {input("gp", "group", 1, 98, 1, 155)},
		"s3:DeleteObject":  {input("gp", "group", 1, 38, 1, 97)},
		"sqs:SendMessage":  {input("mp", "user-managed", 1, 38, 1, 118)},
		"ec2:RunInstances": {},
	}
	wantDecision := map[string]string{"s3:GetObject": "allowed", "s3:PutObject": "allowed", "s3:DeleteObject": "explicitDeny",
		"sqs:SendMessage": "allowed", "ec2:RunInstances": "implicitDeny", "ec2:DescribeInstances": "allowed"}
	for a, want := range wantDecision {
		if got[a].EvalDecision != want {
			t.Errorf("%s = %s, want %s", a, got[a].EvalDecision, want)
		}
		if got[a].PermissionsBoundaryDecisionDetail != nil {
			t.Errorf("%s: boundary detail without a boundary", a)
		}
	}
	for a, want := range wantStmts {
		if diff := cmp.Diff(want, got[a].MatchedStatements); diff != "" {
			t.Errorf("%s statements (-want +got):\n%s", a, diff)
		}
	}
	// s3:GetObject is allowed by the user's policy and by ReadOnlyAccess (s3:Get*).
	if st := got["s3:GetObject"].MatchedStatements; len(st) != 2 || !cmp.Equal(st[0], input("up", "user", 1, 37, 1, 94)) || st[1].SourcePolicyID != "ReadOnlyAccess" {
		t.Errorf("s3:GetObject statements: %+v", st)
	}
	if st := got["ec2:DescribeInstances"].MatchedStatements; len(st) != 1 || st[0].SourcePolicyType != "aws-managed" || st[0].SourcePolicyID != "ReadOnlyAccess" {
		t.Errorf("ReadOnlyAccess statements: %+v", st)
	}

	// The stored boundary applies; an input boundary replaces it; input
	// policies add to the stored ones.
	boundary := e.createPolicy("bound", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*","sqs:*"],"Resource":"*"}}`)
	must[*iam.PutUserPermissionsBoundaryOutput](t)(e.svc.PutUserPermissionsBoundary(e.ctx, e.rootA, &iam.PutUserPermissionsBoundaryInput{UserName: "alice", PermissionsBoundary: boundary}))
	got = sim(&iam.SimulatePrincipalPolicyInput{PolicySourceARN: alice.ARN, ActionNames: []string{"s3:GetObject", "ec2:DescribeInstances"}})
	if r := got["s3:GetObject"]; r.EvalDecision != "allowed" || !r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Errorf("stored boundary, s3:GetObject: %+v", r)
	}
	if r := got["ec2:DescribeInstances"]; r.EvalDecision != "implicitDeny" || r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Errorf("stored boundary, ec2:DescribeInstances: %+v", r)
	}
	got = sim(&iam.SimulatePrincipalPolicyInput{PolicySourceARN: alice.ARN, ActionNames: []string{"s3:GetObject", "s3:PutObject", "sns:Publish"},
		PermissionsBoundaryPolicyInputList: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:PutObject","sns:Publish"],"Resource":"*"}}`},
		PolicyInputList:                    []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}}`},
	})
	for a, want := range map[string]string{"s3:GetObject": "implicitDeny", "s3:PutObject": "allowed", "sns:Publish": "allowed"} {
		if got[a].EvalDecision != want {
			t.Errorf("input boundary: %s = %s, want %s", a, got[a].EvalDecision, want)
		}
	}
	if st := got["sns:Publish"].MatchedStatements; len(st) != 1 || st[0].SourcePolicyID != "PolicyInputList.1" {
		t.Errorf("input policy statements: %+v", st)
	}

	// The user is the principal: aws:username and aws:PrincipalArn resolve.
	got = sim(&iam.SimulatePrincipalPolicyInput{PolicySourceARN: alice.ARN, ActionNames: []string{"sns:Publish"},
		PermissionsBoundaryPolicyInputList: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sns:Publish","Resource":"*",` +
			`"Condition":{"StringEquals":{"aws:username":"alice","aws:PrincipalArn":"arn:aws:iam::111122223333:user/eng/alice"}}}}`},
	})
	if r := got["sns:Publish"]; r.EvalDecision != "allowed" || len(r.MissingContextValues) != 0 {
		t.Errorf("principal keys: %+v", r)
	}
}

func TestSimulatePrincipalPolicyRolesAndGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createRole("app")
	roleDoc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",` +
		`"Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app","aws:userid":"AROA*"}}}}`
	must[*iam.PutRolePolicyOutput](t)(e.svc.PutRolePolicy(e.ctx, e.rootA, &iam.PutRolePolicyInput{RoleName: "app", PolicyName: "rp", PolicyDocument: roleDoc}))
	e.createGroup("ops")
	must[*iam.PutGroupPolicyOutput](t)(e.svc.PutGroupPolicy(e.ctx, e.rootA, &iam.PutGroupPolicyInput{GroupName: "ops", PolicyName: "gp", PolicyDocument: allowS3}))

	tests := []struct {
		name, source, want, typ string
	}{
		{"role", "arn:aws:iam::111122223333:role/app", "allowed", "role"},
		{"role session", "arn:aws:sts::111122223333:assumed-role/app/build-42", "allowed", "role"},
		{"group", "arn:aws:iam::111122223333:group/ops", "allowed", "group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
				PolicySourceARN: tt.source, ActionNames: []string{"s3:GetObject"}}))
			r := out.EvaluationResults[0]
			if r.EvalDecision != tt.want || len(r.MatchedStatements) != 1 || r.MatchedStatements[0].SourcePolicyType != tt.typ {
				t.Fatalf("result: %+v", r)
			}
		})
	}

	bad := []struct {
		name, source string
		want         apierr.Code
	}{
		{"unknown user", "arn:aws:iam::111122223333:user/nobody", apierr.NoSuchEntity},
		{"unknown role", "arn:aws:iam::111122223333:role/nobody", apierr.NoSuchEntity},
		{"unknown session role", "arn:aws:sts::111122223333:assumed-role/nobody/s", apierr.NoSuchEntity},
		{"unknown group", "arn:aws:iam::111122223333:group/nobody", apierr.NoSuchEntity},
		{"other account", "arn:aws:iam::444455556666:role/app", apierr.NoSuchEntity},
		{"not a principal", "arn:aws:iam::111122223333:policy/app", apierr.InvalidInput},
		{"not an arn", "user/alice-is-not-an-arn", apierr.InvalidInput},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
				PolicySourceARN: tt.source, ActionNames: []string{"s3:GetObject"}})
			wantErr(t, err, tt.want)
		})
	}
	// A group has no principal of its own: a resource policy needs CallerArn.
	_, err := e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
		PolicySourceARN: "arn:aws:iam::111122223333:group/ops", ActionNames: []string{"s3:GetObject"},
		ResourcePolicy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`})
	wantErr(t, err, apierr.InvalidInput)
}

func TestSimulatePrincipalPolicySCP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Account B is a member account whose SCP allows only IAM and S3.
	scp := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","s3:*"],"Resource":"*"}]}`
	full := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	for _, err := range []error{
		e.store.PutSetting(e.ctx, authz.OrgRootSetting, "r-sim1"),
		e.store.CreateOrgPolicy(e.ctx, store.OrgPolicy{ID: "p-simfull", Name: "full", Type: "SERVICE_CONTROL_POLICY", Content: full}),
		e.store.AttachOrgPolicy(e.ctx, store.OrgAttachment{PolicyID: "p-simfull", TargetID: "r-sim1"}),
		e.store.CreateOrgPolicy(e.ctx, store.OrgPolicy{ID: "p-simulate1", Name: "iam-s3", Type: "SERVICE_CONTROL_POLICY", Content: scp}),
		e.store.AttachOrgPolicy(e.ctx, store.OrgAttachment{PolicyID: "p-simulate1", TargetID: acctB}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, e.rootB, &iam.CreateUserInput{UserName: "carol"}))
	must[*iam.PutUserPolicyOutput](t)(e.svc.PutUserPolicy(e.ctx, e.rootB, &iam.PutUserPolicyInput{UserName: "carol", PolicyName: "all",
		PolicyDocument: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`}))
	out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootB, &iam.SimulatePrincipalPolicyInput{
		PolicySourceARN: u.User.ARN, ActionNames: []string{"s3:GetObject", "sqs:SendMessage"}}))
	got := map[string]string{}
	for _, r := range out.EvaluationResults {
		if r.OrganizationsDecisionDetail == nil {
			t.Fatalf("%s: no OrganizationsDecisionDetail", r.EvalActionName)
		}
		got[r.EvalActionName] = r.EvalDecision + " " + strconv.FormatBool(r.OrganizationsDecisionDetail.AllowedByOrganizations)
	}
	want := map[string]string{"s3:GetObject": "allowed true", "sqs:SendMessage": "implicitDeny false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// The management account has no guardrails: no detail.
	alice := e.user("alice", "")
	e.putUserPolicy("alice", "p", allowS3)
	out = must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
		PolicySourceARN: alice.ARN, ActionNames: []string{"s3:GetObject"}}))
	if r := out.EvaluationResults[0]; r.OrganizationsDecisionDetail != nil || r.EvalDecision != "allowed" {
		t.Fatalf("management account: %+v", r)
	}
}

// TestSimulateCustomPolicyIdentityOnly checks that without CallerArn and
// ResourcePolicy the identity policies alone decide, as in AWS's simulator,
// whatever accounts the resources' ARNs or ResourceOwner name: the request
// is not cross-account, and no resource policy is missing.
func TestSimulateCustomPolicyIdentityOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}}`
	stmt := input("PolicyInputList.1", "none", 1, 37, 1, 97)
	other, own := "arn:aws:sqs:us-east-1:444455556666:q", "arn:aws:sqs:us-east-1:111122223333:q"
	allowed := func(resource string) iam.ResourceSpecificResult {
		return iam.ResourceSpecificResult{EvalResourceName: resource, EvalResourceDecision: "allowed",
			MatchedStatements: []iam.Statement{stmt}, MissingContextValues: []string{}}
	}
	tests := []struct {
		name string
		in   *iam.SimulateCustomPolicyInput
		want iam.EvaluationResult
	}{
		{"resources of other accounts", &iam.SimulateCustomPolicyInput{ResourceARNs: []string{other, own}},
			iam.EvaluationResult{EvalActionName: "sqs:SendMessage", EvalResourceName: "*", EvalDecision: "allowed",
				MatchedStatements: []iam.Statement{stmt}, MissingContextValues: []string{}, EvalDecisionDetails: &iam.DecisionDetails{},
				ResourceSpecificResults: []iam.ResourceSpecificResult{allowed(other), allowed(own)}}},
		{"resource owner of another account", &iam.SimulateCustomPolicyInput{ResourceARNs: []string{"arn:aws:s3:::b/k"}, ResourceOwner: "arn:aws:iam::444455556666:root"},
			iam.EvaluationResult{EvalActionName: "sqs:SendMessage", EvalResourceName: "arn:aws:s3:::b/k", EvalDecision: "allowed",
				MatchedStatements: []iam.Statement{stmt}, MissingContextValues: []string{}, EvalDecisionDetails: &iam.DecisionDetails{},
				ResourceSpecificResults: []iam.ResourceSpecificResult{allowed("arn:aws:s3:::b/k")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.PolicyInputList, tt.in.ActionNames = []string{doc}, []string{"sqs:SendMessage"}
			out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, tt.in))
			if diff := cmp.Diff([]iam.EvaluationResult{tt.want}, out.EvaluationResults); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

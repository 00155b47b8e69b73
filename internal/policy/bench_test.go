package policy

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// typicalRole is a role session's policy set: three policies, twenty
// statements in all, action and resource wildcards, three conditions and one
// policy variable.
func typicalRole(b testing.TB) *Set {
	var stmts []string
	services := []string{"ec2", "rds", "lambda", "dynamodb", "sqs", "sns", "kms", "logs", "cloudwatch", "ecr", "ecs", "sts"}
	for i, s := range services {
		stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["%s:Describe*","%s:List*","%s:Get*"],"Resource":"arn:aws:%s:*:111122223333:*"}`, i, s, s, s, s))
	}
	p1 := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	p2 := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Home","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::data/home/${aws:username}/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":"home/*"}}},
		{"Sid":"Team","Effect":"Allow","Action":"s3:*Object*","Resource":"arn:aws:s3:::team-*/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}},
		{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`
	p3 := `{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyOutside","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
		{"Sid":"Iam","Effect":"Deny","Action":"iam:*","Resource":"*"},
		{"Sid":"Org","Effect":"Deny","Action":"organizations:*","Resource":"*"},
		{"Sid":"Sec","Effect":"Deny","Action":["guardduty:Delete*","cloudtrail:StopLogging"],"Resource":"*"}]}`
	return &Set{Identity: []Named{
		{ID: "managed/ReadOnlyish", Policy: mustParse(b, Identity, p1)},
		{ID: "inline/Data", Policy: mustParse(b, Identity, p2)},
		{ID: "inline/Guard", Policy: mustParse(b, Identity, p3)},
	}}
}

func typicalContext(c *Context) {
	c.Set("aws:username", "alice")
	c.Set("aws:SourceIp", "10.1.2.3")
	c.Set("aws:SecureTransport", "true")
	c.Set("aws:PrincipalTag/team", "red")
	c.Set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Dev")
	c.Set("aws:PrincipalAccount", "111122223333")
	c.Set("aws:userid", "AROADEV00000000000:s1")
	c.Set("aws:RequestedRegion", "eu-west-1")
	c.Set("aws:MultiFactorAuthPresent", "false")
	c.Set("aws:TokenIssueTime", "2024-06-01T11:00:00Z")
}

func benchEval(b *testing.B, set *Set, req *Request, want Effect) {
	var d Decision
	set.EvaluateInto(req, &d)
	if d.Effect != want {
		b.Fatalf("decision = %v, want %v", d.Effect, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		set.EvaluateInto(req, &d)
	}
}

func BenchmarkEvaluateTypicalAllow(b *testing.B) {
	ctx := &Context{}
	typicalContext(ctx)
	req := &Request{Principal: sess, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/home/alice/report.csv", Context: ctx, Now: testNow}
	benchEval(b, typicalRole(b), req, Allow)
}

func BenchmarkEvaluateTypicalImplicitDeny(b *testing.B) {
	ctx := &Context{}
	typicalContext(ctx)
	req := &Request{Principal: sess, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/home/bob/report.csv", Context: ctx, Now: testNow}
	benchEval(b, typicalRole(b), req, ImplicitDeny)
}

func BenchmarkEvaluateTypicalExplicitDeny(b *testing.B) {
	ctx := &Context{}
	typicalContext(ctx)
	ctx.Set("aws:SourceIp", "203.0.113.9")
	req := &Request{Principal: sess, Action: "ec2:DescribeInstances", Resource: "arn:aws:ec2:eu-west-1:111122223333:instance/i-1", Context: ctx, Now: testNow}
	benchEval(b, typicalRole(b), req, ExplicitDeny)
}

func BenchmarkEvaluate100StatementsLastMatches(b *testing.B) {
	var stmts []string
	for i := 0; i < 99; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Effect":"Allow","Action":"svc%d:Get*","Resource":"arn:aws:svc%d:*:*:thing/*"}`, i, i))
	}
	stmts = append(stmts, `{"Sid":"Last","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`)
	p := mustParse(b, Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`)
	req := &Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/key", Now: testNow}
	benchEval(b, &Set{Identity: []Named{{ID: "p", Policy: p}}}, req, Allow)
}

func BenchmarkContextBuildAndEvaluate(b *testing.B) {
	set := typicalRole(b)
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		ctx := &Context{}
		typicalContext(ctx)
		req := Request{Principal: sess, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/home/alice/report.csv", Context: ctx, Now: testNow}
		set.EvaluateInto(&req, &d)
	}
	if d.Effect != Allow {
		b.Fatalf("decision = %v", d.Effect)
	}
}

func BenchmarkEvaluateAllocating(b *testing.B) {
	set := typicalRole(b)
	ctx := &Context{}
	typicalContext(ctx)
	req := &Request{Principal: sess, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/home/alice/report.csv", Context: ctx, Now: testNow}
	b.ReportAllocs()
	for b.Loop() {
		_ = Evaluate(set, req)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(Identity, fuzzSeeds[1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTrustSharedShape parses trust policies that differ in their
// principal alone, as the roles of a large account's do: after the first,
// only the principal is compiled (the shape is shared).
func BenchmarkParseTrustSharedShape(b *testing.B) {
	docs := make([]string, 1024)
	for i := range docs {
		docs[i] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/u` + strconv.Itoa(100000+i) + `"},"Action":"sts:AssumeRole"}]}`
	}
	keep, err := Parse(Trust, docs[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(Trust, docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	runtime.KeepAlive(keep)
}

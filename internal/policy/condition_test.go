package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func mustParse(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := Parse(kind, doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v\n%s", kind, err, doc)
	}
	return p
}

// condPolicy is an identity policy allowing s3:GetObject on everything
// under one condition block.
func condPolicy(cond string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":` + cond + `}]}`
}

type kv struct {
	key  string
	vals []string
	list bool
}

func ctxOf(kvs ...kv) *Context {
	c := &Context{}
	for _, e := range kvs {
		if e.list {
			c.SetList(e.key, e.vals...)
		} else {
			c.Set(e.key, e.vals...)
		}
	}
	return c
}

func one(k string, v ...string) kv  { return kv{key: k, vals: v} }
func list(k string, v ...string) kv { return kv{key: k, vals: v, list: true} }

func TestConditionOperators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cond string
		ctx  []kv
		want bool
	}{
		// String family.
		{"StringEquals match", `{"StringEquals":{"aws:username":"alice"}}`, []kv{one("aws:username", "alice")}, true},
		{"StringEquals case-sensitive", `{"StringEquals":{"aws:username":"Alice"}}`, []kv{one("aws:username", "alice")}, false},
		{"StringEquals any of values", `{"StringEquals":{"aws:username":["bob","alice"]}}`, []kv{one("aws:username", "alice")}, true},
		{"StringEquals star is literal", `{"StringEquals":{"aws:username":"a*"}}`, []kv{one("aws:username", "alice")}, false},
		{"StringEquals missing key", `{"StringEquals":{"aws:username":"alice"}}`, nil, false},
		{"StringNotEquals missing key", `{"StringNotEquals":{"aws:username":"alice"}}`, nil, true},
		{"StringNotEquals several values (NOR) hit", `{"StringNotEquals":{"aws:username":["bob","alice"]}}`, []kv{one("aws:username", "alice")}, false},
		{"StringNotEquals several values (NOR) miss", `{"StringNotEquals":{"aws:username":["bob","carol"]}}`, []kv{one("aws:username", "alice")}, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, []kv{one("aws:username", "alice")}, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, []kv{one("aws:username", "alice")}, false},
		{"StringLike star", `{"StringLike":{"s3:prefix":"home/*"}}`, []kv{one("s3:prefix", "home/a/b")}, true},
		{"StringLike question", `{"StringLike":{"s3:prefix":"h?me"}}`, []kv{one("s3:prefix", "home")}, true},
		{"StringLike case-sensitive", `{"StringLike":{"s3:prefix":"HOME*"}}`, []kv{one("s3:prefix", "home")}, false},
		{"StringNotLike", `{"StringNotLike":{"s3:prefix":["a*","b*"]}}`, []kv{one("s3:prefix", "c")}, true},
		{"key name case-insensitive", `{"StringEquals":{"AWS:USERNAME":"alice"}}`, []kv{one("aws:username", "alice")}, true},
		{"tag key suffix case-insensitive", `{"StringEquals":{"aws:PrincipalTag/TEAM":"x"}}`, []kv{one("aws:principaltag/team", "x")}, true},
		{"tag value case-sensitive", `{"StringEquals":{"aws:PrincipalTag/team":"X"}}`, []kv{one("aws:PrincipalTag/team", "x")}, false},
		// Numeric.
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"10"}}`, []kv{one("s3:max-keys", "10.0")}, true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, []kv{one("s3:max-keys", "11")}, true},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":10}}`, []kv{one("s3:max-keys", "9")}, true},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, []kv{one("s3:max-keys", "10")}, true},
		{"NumericGreaterThan false", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, []kv{one("s3:max-keys", "10")}, false},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"3600"}}`, []kv{one("aws:MultiFactorAuthAge", "7200")}, true},
		{"Numeric unparseable request value", `{"NumericEquals":{"s3:max-keys":"10"}}`, []kv{one("s3:max-keys", "ten")}, false},
		// Date.
		{"DateLessThan CurrentTime from Now", `{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, nil, true},
		{"DateGreaterThan CurrentTime from Now", `{"DateGreaterThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, nil, false},
		{"DateEquals epoch", `{"DateEquals":{"aws:EpochTime":"1717243200"}}`, nil, true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:TokenIssueTime":"2024-01-01T00:00:00Z"}}`, []kv{one("aws:TokenIssueTime", "2024-01-02T00:00:00Z")}, true},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:TokenIssueTime":"2024-01-01T00:00:00Z"}}`, []kv{one("aws:TokenIssueTime", "2024-01-01T00:00:00Z")}, true},
		{"DateGreaterThanEquals offset", `{"DateGreaterThanEquals":{"aws:TokenIssueTime":"2024-01-01T01:00:00+01:00"}}`, []kv{one("aws:TokenIssueTime", "2024-01-01T00:00:00Z")}, true},
		{"Date request value epoch", `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}`, []kv{one("aws:TokenIssueTime", "1717243200")}, true},
		{"NumericLessThan EpochTime", `{"NumericLessThan":{"aws:EpochTime":"1800000000"}}`, nil, true},
		// Bool, Binary, IP.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, []kv{one("aws:SecureTransport", "true")}, true},
		{"Bool unquoted", `{"Bool":{"aws:SecureTransport":true}}`, []kv{one("aws:SecureTransport", "TRUE")}, true},
		{"Bool false vs true", `{"Bool":{"aws:SecureTransport":"false"}}`, []kv{one("aws:SecureTransport", "true")}, false},
		{"Bool missing", `{"Bool":{"aws:MultiFactorAuthPresent":"false"}}`, nil, false},
		{"BoolIfExists missing", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, nil, true},
		{"BinaryEquals", `{"BinaryEquals":{"k:bin":"QmluYXJ5"}}`, []kv{one("k:bin", "QmluYXJ5")}, true},
		{"IpAddress v4 CIDR", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, []kv{one("aws:SourceIp", "10.1.2.3")}, true},
		{"IpAddress single", `{"IpAddress":{"aws:SourceIp":"192.0.2.1"}}`, []kv{one("aws:SourceIp", "192.0.2.1")}, true},
		{"IpAddress v6", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, []kv{one("aws:SourceIp", "2001:db8:1234:5678::1")}, true},
		{"IpAddress v6 outside", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, []kv{one("aws:SourceIp", "2001:db8:1234:5679::1")}, false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, []kv{one("aws:SourceIp", "172.16.0.1")}, true},
		{"NotIpAddress inside one", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, []kv{one("aws:SourceIp", "192.168.1.1")}, false},
		{"NotIpAddress missing", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		// ARN family: * does not cross ':'.
		{"ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket-*"}}`, []kv{one("aws:SourceArn", "arn:aws:s3:::bucket-1")}, true},
		{"ArnEquals with wildcard segment", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic"}}`, []kv{one("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic")}, true},
		{"ArnLike star stops at colon", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}}`, []kv{one("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic")}, false},
		{"StringLike star crosses colon", `{"StringLike":{"aws:SourceArn":"arn:aws:sns:*"}}`, []kv{one("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic")}, true},
		{"ArnNotEquals", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin"}}`, []kv{one("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Dev")}, true},
		{"ArnNotLike match", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}`, []kv{one("aws:PrincipalArn", "arn:aws:iam::111122223333:role/AdminX")}, false},
		// Null.
		{"Null true absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{"Null true present", `{"Null":{"aws:TokenIssueTime":"true"}}`, []kv{one("aws:TokenIssueTime", "x")}, false},
		{"Null false present", `{"Null":{"aws:TokenIssueTime":false}}`, []kv{one("aws:TokenIssueTime", "x")}, true},
		{"Null empty set is null", `{"Null":{"aws:TagKeys":"true"}}`, []kv{list("aws:TagKeys")}, true},
		// IfExists.
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}}`, nil, true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}}`, []kv{one("ec2:InstanceType", "m5.large")}, false},
		// Set qualifiers.
		{"ForAllValues missing key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, nil, true},
		{"ForAllValues empty set is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, []kv{list("aws:TagKeys")}, true},
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, []kv{list("aws:TagKeys", "a", "b")}, true},
		{"ForAllValues not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, []kv{list("aws:TagKeys", "a", "c")}, false},
		{"ForAnyValue missing key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, nil, false},
		{"ForAnyValue empty set is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, []kv{list("aws:TagKeys")}, false},
		{"ForAnyValue one matches", `{"ForAnyValue:StringLike":{"aws:TagKeys":"team*"}}`, []kv{list("aws:TagKeys", "x", "team-a")}, true},
		{"ForAnyValue:StringNotEquals some differ", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}`, []kv{list("aws:TagKeys", "a", "b")}, true},
		{"ForAllValues:StringNotEquals none listed", `{"ForAllValues:StringNotEquals":{"aws:CalledVia":["athena.amazonaws.com"]}}`, []kv{list("aws:CalledVia", "dynamodb.amazonaws.com")}, true},
		{"ForAllValues:StringNotEquals listed", `{"ForAllValues:StringNotEquals":{"aws:CalledVia":["athena.amazonaws.com"]}}`, []kv{list("aws:CalledVia", "athena.amazonaws.com")}, false},
		{"ForAnyValue:StringEqualsIfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, nil, true},
		{"single operator on list key never matches", `{"StringLike":{"ec2:InstanceType":"t2.*"}}`, []kv{list("ec2:InstanceType", "t2.micro")}, false},
		{"single operator on multi-valued Set", `{"StringEquals":{"aws:RequestedRegion":["us-east-1"]}}`, []kv{one("aws:RequestedRegion", "us-east-1", "eu-west-1")}, false},
		// AND across operators and keys.
		{"AND both true", `{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}`, []kv{one("aws:username", "alice"), one("aws:SecureTransport", "true")}, true},
		{"AND one false", `{"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"x"}}`, []kv{one("aws:username", "alice")}, false},
		{"empty condition block", `{}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, Identity, condPolicy(tt.cond))
			req := &Request{Principal: Principal{Type: User, Account: "111122223333"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctxOf(tt.ctx...), Now: testNow}
			d := Evaluate(&Set{Identity: []Named{{ID: "p", Policy: p}}}, req)
			if got := d.Effect == Allow; got != tt.want {
				t.Errorf("allowed = %v, want %v (missing %v)", got, tt.want, d.Missing)
			}
		})
	}
}

func TestPolicyVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		version  string
		resource string
		cond     string
		reqRes   string
		ctx      []kv
		want     bool
	}{
		{"username in resource", "2012-10-17", "arn:aws:s3:::home/${aws:username}/*", "", "arn:aws:s3:::home/alice/f", []kv{one("aws:username", "alice")}, true},
		{"username other user", "2012-10-17", "arn:aws:s3:::home/${aws:username}/*", "", "arn:aws:s3:::home/bob/f", []kv{one("aws:username", "alice")}, false},
		{"unresolvable variable matches nothing", "2012-10-17", "arn:aws:s3:::home/${aws:username}/*", "", "arn:aws:s3:::home//f", nil, false},
		{"tag variable key case-insensitive", "2012-10-17", "arn:aws:s3:::t/${aws:PrincipalTag/Team}", "", "arn:aws:s3:::t/red", []kv{one("aws:principaltag/team", "red")}, true},
		{"default value", "2012-10-17", "arn:aws:s3:::t/${aws:PrincipalTag/team, 'shared'}", "", "arn:aws:s3:::t/shared", nil, true},
		{"default not used when present", "2012-10-17", "arn:aws:s3:::t/${aws:PrincipalTag/team, 'shared'}", "", "arn:aws:s3:::t/shared", []kv{one("aws:PrincipalTag/team", "red")}, false},
		{"escape star is literal", "2012-10-17", "arn:aws:s3:::b/${*}", "", "arn:aws:s3:::b/x", nil, false},
		{"escape star matches star", "2012-10-17", "arn:aws:s3:::b/${*}", "", "arn:aws:s3:::b/*", nil, true},
		{"escape question and dollar", "2012-10-17", "arn:aws:s3:::b/${?}${$}", "", "arn:aws:s3:::b/?$", nil, true},
		{"variable value is literal", "2012-10-17", "arn:aws:s3:::b/${aws:username}", "", "arn:aws:s3:::b/anything", []kv{one("aws:username", "*")}, false},
		{"2008 version keeps literal", "2008-10-17", "arn:aws:s3:::b/${aws:username}", "", "arn:aws:s3:::b/${aws:username}", []kv{one("aws:username", "alice")}, true},
		{"2008 version no substitution", "2008-10-17", "arn:aws:s3:::b/${aws:username}", "", "arn:aws:s3:::b/alice", []kv{one("aws:username", "alice")}, false},
		{"multivalued key cannot be a variable", "2012-10-17", "arn:aws:s3:::b/${aws:TagKeys}", "", "arn:aws:s3:::b/a", []kv{list("aws:TagKeys", "a")}, false},
		{"variable in StringEquals", "2012-10-17", "*", `{"StringEquals":{"s3:prefix":"home/${aws:username}"}}`, "x", []kv{one("aws:username", "alice"), one("s3:prefix", "home/alice")}, true},
		{"variable in StringLike with wildcard", "2012-10-17", "*", `{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`, "x", []kv{one("aws:username", "alice"), one("s3:prefix", "home/alice/docs")}, true},
		{"unresolved variable in StringNotEquals matches", "2012-10-17", "*", `{"StringNotEquals":{"s3:prefix":"home/${aws:username}"}}`, "x", []kv{one("s3:prefix", "home/alice")}, true},
		{"variable in ArnLike", "2012-10-17", "*", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${aws:username}-*"}}`, "x", []kv{one("aws:username", "alice"), one("aws:SourceArn", "arn:aws:s3:::alice-b")}, true},
		{"CurrentTime as variable", "2012-10-17", "*", `{"StringLike":{"k:t":"${aws:CurrentTime}"}}`, "x", []kv{one("k:t", "2024-06-01T12:00:00Z")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cond := ""
			if tt.cond != "" {
				cond = `,"Condition":` + tt.cond
			}
			doc := fmt.Sprintf(`{"Version":%q,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":%q%s}}`, tt.version, tt.resource, cond)
			kind := Identity
			if tt.version != "2012-10-17" {
				kind = SCP // identity policies require 2012-10-17
			}
			p := mustParse(t, kind, doc)
			set := &Set{Identity: []Named{{ID: "p", Policy: p}}}
			if kind == SCP {
				set = &Set{Identity: []Named{{ID: "all", Policy: mustParse(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}}, SCP: [][]Named{{{ID: "p", Policy: p}}}}
			}
			req := &Request{Principal: Principal{Type: User, Account: "111122223333"}, Action: "s3:GetObject", Resource: tt.reqRes, Context: ctxOf(tt.ctx...), Now: testNow}
			if got := Evaluate(set, req).Effect == Allow; got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestActionAndResourceMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stmt, action, resource string
		want                         bool
	}{
		{"action case-insensitive", `"Action":"IAM:listaccesskeys","Resource":"*"`, "iam:ListAccessKeys", "*", true},
		{"action star middle", `"Action":"iam:*AccessKey*","Resource":"*"`, "iam:CreateAccessKey", "*", true},
		{"action question", `"Action":"s3:?etObject","Resource":"*"`, "s3:GetObject", "*", true},
		{"action other service", `"Action":"s3:*","Resource":"*"`, "s3x:GetObject", "*", false},
		{"NotAction with Allow grants the rest", `"NotAction":"iam:*","Resource":"*"`, "s3:GetObject", "*", true},
		{"NotAction with Allow excludes listed", `"NotAction":"iam:*","Resource":"*"`, "iam:CreateUser", "*", false},
		{"resource star spans slash", `"Action":"*","Resource":"arn:aws:s3:::b/*"`, "s3:GetObject", "arn:aws:s3:::b/x/y/z", true},
		{"resource star not colon", `"Action":"*","Resource":"arn:aws:ec2:*"`, "ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", false},
		{"resource per-segment", `"Action":"*","Resource":"arn:aws:iam::*:user/*"`, "iam:GetUser", "arn:aws:iam::111122223333:user/a", true},
		{"resource case-sensitive", `"Action":"*","Resource":"arn:aws:s3:::B/*"`, "s3:GetObject", "arn:aws:s3:::b/x", false},
		{"NotResource allow", `"Action":"*","NotResource":"arn:aws:s3:::secret/*"`, "s3:GetObject", "arn:aws:s3:::public/x", true},
		{"NotResource excluded", `"Action":"*","NotResource":"arn:aws:s3:::secret/*"`, "s3:GetObject", "arn:aws:s3:::secret/x", false},
		{"resource star request", `"Action":"*","Resource":"arn:aws:s3:::*"`, "s3:ListAllMyBuckets", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow",`+tt.stmt+`}}`)
			req := &Request{Principal: Principal{Type: User, Account: "111122223333"}, Action: tt.action, Resource: tt.resource, Now: testNow}
			if got := Evaluate(&Set{Identity: []Named{{ID: "p", Policy: p}}}, req).Effect == Allow; got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMissingDiagnostics(t *testing.T) {
	t.Parallel()
	p := mustParse(t, Identity, condPolicy(`{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEqualsIfExists":{"k:x":"y"},"Null":{"k:z":"false"}}`))
	req := &Request{Principal: Principal{Type: User}, Action: "s3:GetObject", Resource: "*", Now: testNow}
	d := Evaluate(&Set{Identity: []Named{{ID: "p", Policy: p}}}, req)
	if diff := cmp.Diff([]string{"aws:MultiFactorAuthPresent"}, d.Missing); diff != "" {
		t.Errorf("Missing mismatch (-want +got):\n%s", diff)
	}
	if d.Effect != ImplicitDeny || d.DeniedBy != Identity {
		t.Errorf("decision = %v by %v", d.Effect, d.DeniedBy)
	}
	if got, want := d.Explain("s3:GetObject"), "because no identity-based policy allows the s3:GetObject action"; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestContext(t *testing.T) { // not parallel: it counts allocations
	var c Context
	for i := 0; i < 40; i++ {
		c.Set(fmt.Sprintf("k:Key%d", i), fmt.Sprint(i))
	}
	c.Set("K:KEY3", "x", "y")
	if got, ok := c.Get("k:key3"); !ok || !cmp.Equal(got, []string{"x", "y"}) {
		t.Errorf("Get(k:key3) = %v, %v", got, ok)
	}
	if got, ok := c.Get("K:KEY39"); !ok || !cmp.Equal(got, []string{"39"}) {
		t.Errorf("Get(K:KEY39) = %v, %v", got, ok)
	}
	if c.Len() != 40 || len(c.Keys()) != 40 {
		t.Errorf("Len = %d", c.Len())
	}
	c.Reset()
	if _, ok := c.Get("k:key3"); ok || c.Len() != 0 {
		t.Error("Reset kept keys")
	}
	var nilCtx *Context
	if _, ok := nilCtx.Get("x"); ok {
		t.Error("nil context has keys")
	}
	allocs := testing.AllocsPerRun(100, func() {
		c.Reset()
		c.Set("aws:SourceIp", "10.0.0.1")
		c.Set("aws:username", "alice")
		c.Set("aws:PrincipalTag/team", "red")
		c.Set("aws:SecureTransport", "true")
	})
	if allocs != 0 {
		t.Errorf("rebuilding a context allocates %v times", allocs)
	}
	if !strings.EqualFold(c.Keys()[0], "aws:sourceip") {
		t.Errorf("Keys()[0] = %q", c.Keys()[0])
	}
}

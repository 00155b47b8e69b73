package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var fuzzSeeds = []string{
	allowDoc("s3:*", "*"),
	`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*","s3:Get?bject"],"NotResource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericLessThanEquals":{"s3:max-keys":"10"},"Null":{"x:y":"true"}}}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/alice"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"${aws:PrincipalTag/x, 'd'}"},"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${*}"}}}}`,
	`{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":false}}}}`,
	`"not a document"`,
	`{"Version":"2012-10-17","Statement":[]}`,
}

// FuzzParse checks that Parse never panics, that a valid document's
// statement spans locate its statements, and that it compiles through the
// cache to a policy deciding like a freshly parsed one.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		for k := Identity; k <= Managed; k++ {
			f.Add(uint8(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, doc string) {
		k := Kind(kind%uint8(Managed) + 1)
		p, err := Parse(k, doc)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse returned %T, want *Error", err)
			}
			return
		}
		checkSpans(t, doc, p)
		c := NewCache(1 << 20)
		q, err := c.Compile(k, doc)
		if err != nil {
			t.Fatalf("cache rejected a valid document: %v", err)
		}
		req := &Request{Principal: sess, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/k", Context: ctxOf(one("aws:username", "alice"), list("aws:TagKeys", "a")), Now: testNow}
		slot := func(p *Policy) *Set {
			n := []Named{{ID: "p", Policy: p}}
			switch k {
			case Resource, Trust:
				return &Set{Resource: n}
			case SCP:
				return &Set{SCP: [][]Named{n}}
			case Boundary:
				return &Set{Boundary: n}
			case Session:
				return &Set{Session: n}
			}
			return &Set{Identity: n}
		}
		if diff := cmp.Diff(Evaluate(slot(p), req), Evaluate(slot(q), req)); diff != "" {
			t.Fatalf("cached policy decides differently:\n%s", diff)
		}
	})
}

// FuzzEvaluate evaluates fuzzed requests against fixed policies: no panics,
// and Evaluate agrees with EvaluateInto on a reused Decision.
func FuzzEvaluate(f *testing.F) {
	f.Add("s3:GetObject", "arn:aws:s3:::b/alice/k", "aws:username", "alice", "10.0.0.1")
	f.Add("sts:AssumeRole", "arn:aws:iam::111122223333:role/R", "aws:PrincipalTag/team", "red", "::1")
	f.Add("", "", "", "", "")
	f.Add("*", "*:*:*:*:*:*", "aws:CurrentTime", "2020-01-01T00:00:00Z", "x")
	var policies []*Policy
	for _, s := range fuzzSeeds[:3] {
		for _, k := range []Kind{Identity, Resource, Trust} {
			if p, err := Parse(k, s); err == nil {
				policies = append(policies, p)
			}
		}
	}
	var reused Decision
	f.Fuzz(func(t *testing.T, action, resource, key, value, ip string) {
		ctx := ctxOf(one(key, value), one("aws:SourceIp", ip), list("aws:TagKeys", value, key))
		for _, pr := range []Principal{alice, sess, root, ec2Svc, oidc, {}} {
			req := &Request{Principal: pr, Action: action, Resource: resource, Context: ctx, Now: testNow}
			set := &Set{ResourceAccount: acctB}
			for _, p := range policies {
				n := []Named{{ID: "p", Policy: p}}
				switch p.Kind() {
				case Identity:
					set.Identity, set.Boundary, set.Session = n, n, n
				default:
					set.Resource = n
				}
			}
			d := Evaluate(set, req)
			set.EvaluateInto(req, &reused)
			if diff := cmp.Diff(d, reused, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("EvaluateInto differs:\n%s", diff)
			}
			_ = d.Explain(action)
		}
	})
}

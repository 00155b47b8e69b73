package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensts/opensts/internal/server"
)

// The attacks of the security review's resource-exhaustion finding, over
// the wire with aws-sdk-go-v2.

// pathologicalSimulation is the review's request: 40 actions on 400
// resource ARNs of 2,048 characters, and a policy whose Resource is a
// wildcard that made the old matcher quadratic.
func pathologicalSimulation() *iam.SimulateCustomPolicyInput {
	in := &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*` + strings.Repeat("a", 40) + `?b"}}`},
		MaxItems:        aws.Int32(1000),
	}
	for i := range 40 {
		in.ActionNames = append(in.ActionNames, fmt.Sprintf("s3:Action%d", i))
	}
	for i := range 400 {
		tail := fmt.Sprint(i)
		in.ResourceArns = append(in.ResourceArns, "arn:aws:s3:::"+strings.Repeat("a", 2048-13-len(tail))+tail)
	}
	return in
}

// TestPathologicalSimulation checks that the review's request is refused
// as too large (InvalidInput, before any evaluation), and that the same
// simulation in pages the bound allows is answered, each page decided.
func TestPathologicalSimulation(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	in := pathologicalSimulation()
	_, err := c.SimulateCustomPolicy(ctx, in)
	wantCode(t, err, "InvalidInput")

	in.MaxItems = aws.Int32(5)
	pages := 0
	for p := iam.NewSimulateCustomPolicyPaginator(c, in); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		for _, r := range out.EvaluationResults {
			if r.EvalDecision != "implicitDeny" || len(r.ResourceSpecificResults) != 400 {
				t.Fatalf("%s: %s on %d resources", *r.EvalActionName, r.EvalDecision, len(r.ResourceSpecificResults))
			}
		}
		if pages > 2 {
			break // the pages are alike; three show the bound is per page
		}
	}
}

// TestSimulatedPoliciesNotCached sends many distinct 10 KB policies through
// SimulateCustomPolicy and checks that the server's compiled-policy cache
// does not grow (simulation inputs are parsed per request) and that every
// cache stays within its byte bound.
func TestSimulatedPoliciesNotCached(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	before := e.srv.CacheStats()
	for i := range 200 {
		var b strings.Builder
		fmt.Fprintf(&b, `{"Version":"2012-10-17","Statement":[{"Sid":"S%d","Effect":"Allow","Action":["s3:GetObject"],"Resource":[`, i)
		for n := 0; b.Len() < 10000; n++ {
			if n > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"arn:aws:s3:::bucket-%d/prefix-%d/*"`, i, n)
		}
		b.WriteString(`]}]}`)
		if _, err := c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{b.String()}, ActionNames: []string{"s3:GetObject"}}); err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
	}
	after := e.srv.CacheStats()
	if after.Policies.Entries > before.Policies.Entries || after.Policies.Bytes > before.Policies.Bytes {
		t.Errorf("policy cache grew from %+v to %+v", before.Policies, after.Policies)
	}
	for name, st := range map[string]server.CacheStat{
		"policies": after.Policies, "authz": after.Authz, "keys": after.Keys, "sessions": after.Sessions,
	} {
		if st.Bytes > st.MaxBytes {
			t.Errorf("%s cache: %d bytes, bound %d", name, st.Bytes, st.MaxBytes)
		}
	}
}

// TestSimulatePrincipalPolicyWrongPath: a caller allowed on user/team/*
// cannot simulate the user /lim by naming it user/team/lim; the answers
// are those for a missing user.
func TestSimulatePrincipalPolicyWrongPath(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("lim")}); err != nil {
		t.Fatal(err)
	}
	akid, secret := e.user(t, "bob")
	e.userPolicy(t, "bob", "sim", allow("iam:SimulatePrincipalPolicy", "arn:aws:iam::123456789012:user/team/*"))
	bob := e.iam(akid, secret, "")
	sim := func(c *iam.Client, source string) error {
		_, err := c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(source), ActionNames: []string{"s3:GetObject"}})
		return err
	}
	wantCode(t, sim(bob, "arn:aws:iam::123456789012:user/team/lim"), "NoSuchEntity")
	wantCode(t, sim(bob, "arn:aws:iam::123456789012:user/team/nobody"), "NoSuchEntity")
	wantCode(t, sim(bob, "arn:aws:iam::123456789012:user/lim"), "AccessDenied")
	wantCode(t, sim(root, "arn:aws:iam::123456789012:user/team/lim"), "NoSuchEntity")
	if err := sim(root, "arn:aws:iam::123456789012:user/lim"); err != nil {
		t.Fatal(err)
	}
}

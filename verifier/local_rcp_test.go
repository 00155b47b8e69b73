package verifier_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/opensts/opensts/verifier"
)

// TestResourceControlPolicies checks both modes against the resource
// control policies of the resource's account: an RCP attached to a member
// account denies a request to its resources that its identity policies
// allow, in remote mode at once and in local mode (which gets the RCPs
// with the revocation set) within the freshness bound; detached, the
// request is allowed again the same way. A resource of another account
// (here the management account's, which RCPs do not bind) is decided by
// the server.
func TestResourceControlPolicies(t *testing.T) {
	const freshness = time.Second
	sess, member := memberSession(t, "rcp")
	org := organizations.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(openstsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(rootKeyID, rootSecret, "")})
	roots := mustDo[*organizations.ListRootsOutput](t)(org.ListRoots(bg, &organizations.ListRootsInput{}))
	_, err := org.EnablePolicyType(bg, &organizations.EnablePolicyTypeInput{RootId: roots.Roots[0].Id, PolicyType: orgtypes.PolicyTypeResourceControlPolicy})
	var enabled *orgtypes.PolicyTypeAlreadyEnabledException
	if err != nil && !errors.As(err, &enabled) {
		t.Fatal(err)
	}
	rcp := mustDo[*organizations.CreatePolicyOutput](t)(org.CreatePolicy(bg, &organizations.CreatePolicyInput{Name: aws.String("rcp-no-get"),
		Description: aws.String("no reads"), Type: orgtypes.PolicyTypeResourceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"NoGet","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)}))

	// The member account's session is its own verifier (its role may do
	// everything) and the principal asked about.
	remote := newVerifier(t, verifier.Remote, sess, 0)
	local := newVerifier(t, verifier.Local, sess, freshness)
	ask := func(v *verifier.Verifier, opts ...verifier.Option) *verifier.Decision {
		t.Helper()
		d, err := v.AuthorizeSessionToken(bg, sess.AccessKeyID, sess.SessionToken, "192.0.2.1", "s3:GetObject", "arn:aws:s3:::data/a.txt", nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for name, v := range map[string]*verifier.Verifier{"remote": remote, "local": local} {
		if d := ask(v); d.Decision != "Allow" {
			t.Fatalf("%s, before the RCP: %s %s", name, d.Decision, d.Explanation)
		}
	}

	mustDo[*organizations.AttachPolicyOutput](t)(org.AttachPolicy(bg, &organizations.AttachPolicyInput{PolicyId: rcp.Policy.PolicySummary.Id, TargetId: aws.String(member)}))
	waitFor(t, "the server denies", func() bool { return ask(remote).Decision == "Deny" })
	applied := time.Now()
	if d := ask(remote); d.DeniedBy != "rcp" || d.Reason != "ExplicitDeny" {
		t.Errorf("remote: denied by %q (%s), want rcp", d.DeniedBy, d.Reason)
	}
	// The management account's resource: RCPs do not bind it, and local
	// mode, which holds its own account's RCPs only, lets the server
	// decide.
	grant := verifier.WithResourcePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + member + `"},"Action":"s3:GetObject","Resource":"*"}]}`)
	if d := ask(local, verifier.WithResourceAccount(account), grant); d.Decision != "Allow" {
		t.Errorf("local, a management account's resource: %s %s", d.Decision, d.Explanation)
	}
	time.Sleep(time.Until(applied.Add(freshness)))
	if d := ask(local); d.Decision != "Deny" || d.DeniedBy != "rcp" {
		t.Errorf("local, the freshness bound after the attachment: %s by %q", d.Decision, d.DeniedBy)
	}

	mustDo[*organizations.DetachPolicyOutput](t)(org.DetachPolicy(bg, &organizations.DetachPolicyInput{PolicyId: rcp.Policy.PolicySummary.Id, TargetId: aws.String(member)}))
	waitFor(t, "the server allows", func() bool { return ask(remote).Decision == "Allow" })
	applied = time.Now()
	time.Sleep(time.Until(applied.Add(freshness)))
	if d := ask(local); d.Decision != "Allow" {
		t.Errorf("local, the freshness bound after the detachment: %s %s", d.Decision, d.Explanation)
	}
}

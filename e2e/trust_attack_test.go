package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAttackTrustEvasions: trust policies that look narrowed but let a
// stranger (a user or role session of another account, choosing its own
// names and bringing no external id) assume the role. Each role is assumed
// by the stranger through the API, and each is reported by `opensts report
// trust` and raises trust-opened; before, the report and the alert said
// nothing of any of them.
func TestAttackTrustEvasions(t *testing.T) {
	t.Parallel()
	e := start(t)
	stranger := e.newAccount(t, "stranger")
	ops := e.admin(t, "ops")
	admin := e.assumeInto(t, ops, stranger, "OrganizationAccountAccessRole")
	// The stranger's own role "deploy", and a session of it named "admin".
	if _, err := admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deploy"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + stranger + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deploy"), PolicyName: aws.String("p"), PolicyDocument: aws.String(allow("sts:AssumeRole", "*"))}); err != nil {
		t.Fatal(err)
	}
	out, err := admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + stranger + ":role/deploy"), RoleSessionName: aws.String("admin")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	deploy := e.principal(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)

	stmt := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":` + cond + `}]}`
	}
	roles := map[string]string{
		"no-external-id": stmt(`{"Null":{"sts:ExternalId":"true"}}`),
		"not-the-probes": stmt(`{"StringNotEquals":{"aws:PrincipalAccount":["999999999999","987654321098","135792468013","246813579024"]}}`),
		"role-name":      stmt(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"}}`),
		"session-name":   stmt(`{"StringLike":{"aws:userid":"*:admin"}}`),
		"by-condition":   stmt(`{"StringEquals":{"aws:PrincipalAccount":"` + stranger + `"}}`),
	}
	for name, doc := range roles {
		e.role(t, name, "", doc)
		if _, err := deploy.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + name), RoleSessionName: aws.String("in")}); err != nil {
			t.Errorf("the stranger could not assume %s (the attack is moot): %v", name, err)
		}
	}

	cli := newCLIEnv(t, e.endpoint)
	stdout, errOut, code := cli.run(t, creds(testRootKeyID, testRootSecret, ""), binary(t), "report", "trust", "--endpoint-url", e.endpoint, "--output", "json")
	if code != 0 {
		t.Fatalf("report trust: exit %d: %s", code, errOut)
	}
	var report struct {
		Findings []struct{ Role, Severity, Finding string }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatal(err)
	}
	high := map[string]bool{}
	for _, f := range report.Findings {
		if f.Severity == "HIGH" {
			high[f.Role] = true
		}
	}
	for name := range roles {
		if !high[name] {
			t.Errorf("report trust did not report %s: %+v", name, report.Findings)
		}
	}

	waitAlerts(t, e, "trust-opened")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		trail := e.trail(t)
		var missing []string
		for name := range roles {
			if !strings.Contains(trail, `"detail":"role `+name+`: `) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no trust-opened alert for %v", missing)
		}
	}
}

// TestAttackTrustEvasionWebIdentity: a role that trusts "*" for web
// identity with a condition on its provider's audience only lets in any
// identity of that provider (for GitHub Actions, any repository): a token
// of a subject nobody named assumes it, and trust-opened reports it.
func TestAttackTrustEvasionWebIdentity(t *testing.T) {
	t.Parallel()
	o := startOIDC(t, 0, 5*time.Second)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + o.prefix + `:aud":"` + oidcClientID + `"}}}]}`
	o.role(t, "any-subject", "", doc)
	if _, err := o.assume("any-subject", o.idp.Sign(t, "rsa1", o.idp.claims("someone-else", oidcClientID))); err != nil {
		t.Fatalf("a token of any subject could not assume the role (the attack is moot): %v", err)
	}
	waitAlerts(t, o.env, "trust-opened")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(o.trail(t), `"detail":"role any-subject: `); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no trust-opened alert for any-subject")
		}
	}
}

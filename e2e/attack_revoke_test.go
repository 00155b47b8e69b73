package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// An outsider chooses the access key id of an unauthenticated request (a
// presigned URL's X-Amz-Credential may hold any character): the
// invalid-credentials alert it raises must not forge rows or reach the
// operator's terminal as escapes in `opensts alerts list`.
func TestAttackAlertsListForgedKeyID(t *testing.T) {
	t.Parallel()
	e := start(t)
	now := time.Now().UTC()
	forged := "AKIAFAKE\n2026-01-01T00:00:00Z\tself-escalation\tcritical\t\x1b[2Jforged"
	q := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "X-Amz-Algorithm": {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential": {forged + "/" + now.Format("20060102") + "/us-east-1/sts/aws4_request"}, "X-Amz-Date": {now.Format("20060102T150405Z")},
		"X-Amz-Expires": {"60"}, "X-Amz-SignedHeaders": {"host"}, "X-Amz-Signature": {strings.Repeat("0", 64)}}
	resp, err := http.Get(e.endpoint + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "InvalidClientTokenId") {
		t.Fatalf("forged key id: %d %s", resp.StatusCode, body)
	}
	if a := waitAlerts(t, e, "invalid-credentials")["invalid-credentials"]; a.UserIdentity.AccessKeyID != forged {
		t.Fatalf("alert names %q", a.UserIdentity.AccessKeyID)
	}
	c := newCLIEnv(t, e.endpoint)
	out, errOut, code := c.run(t, creds(testRootKeyID, testRootSecret, ""), binary(t), "alerts", "list", "--endpoint-url", e.endpoint, "--since", "1h")
	if code != 0 {
		t.Fatalf("alerts list: %d %s", code, errOut)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "2026-01-01T00:00:00Z  self-escalation") {
		t.Fatalf("the forged key id reached the table raw:\n%q", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !strings.Contains(line, "invalid-credentials") && !strings.Contains(line, "root-key-use") {
			t.Errorf("a row that is no alert: %q", line)
		}
	}
	if !strings.Contains(out, `AKIAFAKE\n2026-01-01T00:00:00Z\tself-escalation\tcritical\t\x1b[2Jforged`) {
		t.Errorf("the key id is not shown escaped:\n%s", out)
	}
}

// The natural response to a stolen key is to delete it, then revoke every
// session its user created: the sessions the thief started from the key
// (AssumeRole, GetFederationToken, and a chain from them) must go too,
// though the key is no longer there to name them.
func TestAttackRevokePrincipalAfterKeyDeleted(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	r.userPolicy(t, "alice", "federate", allow("sts:GetFederationToken", "*"))
	app := r.assumeApp("thief")
	chained := r.assumeDB(app, "thief2")
	pol, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}})
	fed := credsOf(must[*sts.GetFederationTokenOutput](t)(r.sts(r.akid, r.secret, "").GetFederationToken(ctx,
		&sts.GetFederationTokenInput{Name: aws.String("thief"), Policy: aws.String(string(pol))})).Credentials)
	gst := r.sessionTokenOf()
	for name, c := range map[string]creds3{"AssumeRole": app, "chained": chained, "GetFederationToken": fed, "GetSessionToken": gst} {
		if !r.works(t, c) {
			t.Fatalf("%s session refused before the revocation", name)
		}
	}
	bk, bs := r.user(t, "bob")
	r.userPolicy(t, "bob", "assume", allow("sts:AssumeRole", r.appARN))
	bob := credsOf(must[*sts.AssumeRoleOutput](t)(r.sts(bk, bs, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(r.appARN), RoleSessionName: aws.String("bob")})).Credentials)
	bob2 := r.assumeDB(bob, "bob2")
	must[*iam.DeleteAccessKeyOutput](t)(r.rootIAM().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(r.akid)}))
	time.Sleep(1100 * time.Millisecond) // sessions carry whole seconds
	r.revoke(t, map[string]any{"PrincipalArn": "arn:aws:iam::" + testAccount + ":user/alice"})
	for name, c := range map[string]creds3{"AssumeRole": app, "chained": chained, "GetFederationToken": fed, "GetSessionToken": gst} {
		if r.works(t, c) {
			t.Errorf("%s session of alice's deleted key still works after revoking alice", name)
		}
	}
	if !r.works(t, bob) || !r.works(t, bob2) {
		t.Error("bob's sessions were revoked with alice")
	}
}

// A key id is no secret, and a request that fails its signature proves
// nothing about who sent it: a detection response (here deactivate-key on
// signature-mismatch) must not act on such an alert, or any outsider who
// knows a key id could deactivate it.
func TestAttackResponseNeedsAuthenticatedSubject(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  signature-mismatch: {response: deactivate-key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startRevoke(t, withAlertRules(rules))
	outsider := r.sts(r.akid, "not-the-secret-0000000000000000000000000", "")
	for range 5 {
		_, err := outsider.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantCode(t, err, "SignatureDoesNotMatch")
	}
	a := waitAlerts(t, r.env, "signature-mismatch")["signature-mismatch"]
	if a.UserIdentity.AccessKeyID != r.akid || a.RequestParameters.Response != "deactivate-key" {
		t.Fatalf("alert %+v", a)
	}
	time.Sleep(200 * time.Millisecond) // the response ran before the alert was recorded
	if !r.works(t, r.alice) {
		t.Fatal("an outsider who knew only the key id had alice's key deactivated")
	}
	if !strings.Contains(r.trail(t), "not authenticated") {
		t.Error("the alert does not tell why nothing was done")
	}
}

// An account-wide revocation reaches what the account's users opened in
// other accounts: a user's role session in a member account goes with its
// account's sessions.
func TestAttackRevokeAccountReachesCrossAccountSessions(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	member := r.newAccount(t, "member")
	admin := r.admin(t, "admin")
	into := must[*sts.AssumeRoleOutput](t)(admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("ops")}))
	s := credsOf(into.Credentials)
	if !r.works(t, s) {
		t.Fatal("the cross-account session is refused before the revocation")
	}
	time.Sleep(1100 * time.Millisecond) // sessions carry whole seconds
	r.revoke(t, map[string]any{"AccountId": testAccount})
	if r.works(t, s) {
		t.Error("a session that the revoked account's user opened in account " + member + " still works")
	}
}

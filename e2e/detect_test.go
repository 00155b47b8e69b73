package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/verifier"
)

func withAlertRules(path string) envOption {
	return func(c *config.Config, _ *server.Options) { c.AlertRules = path }
}

// alertRecord is the part of an OpenSTSAlert event the tests read.
type alertRecord struct {
	EventType    string `json:"eventType"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	EventID      string `json:"eventID"`
	SourceIP     string `json:"sourceIPAddress"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		ARN         string `json:"arn"`
		AccessKeyID string `json:"accessKeyId"`
	} `json:"userIdentity"`
	RequestParameters struct {
		Severity, Detail, Response, Mode string
		TriggeringEventIDs               []string `json:"triggeringEventIds"`
	} `json:"requestParameters"`
}

// alertsIn reads the alerts of a trail's text.
func alertsIn(t *testing.T, trail string) map[string]alertRecord {
	t.Helper()
	out := map[string]alertRecord{}
	for _, line := range strings.Split(trail, "\n") {
		if !strings.Contains(line, `"OpenSTSAlert"`) {
			continue
		}
		var a alertRecord
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out[a.EventName] = a
	}
	return out
}

// waitAlerts polls the trail until every rule in want has alerted.
func waitAlerts(t *testing.T, e *env, want ...string) map[string]alertRecord {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := alertsIn(t, e.trail(t))
		missing := 0
		for _, w := range want {
			if _, ok := got[w]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts %v, want %v", keys(got), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDetection: scripted attacks raise their alerts (audit events of type
// OpenSTSAlert that name the triggering events, found with the AWS CLI's
// lookup-events and with `opensts alerts list`); the same user's normal
// work before them raised none.
func TestDetection(t *testing.T) {
	t.Parallel()
	e := start(t, withStrictAudit())
	ctx := context.Background()
	root := e.rootIAM()
	must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	must[*iam.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("admin-ish"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"}]}`)}))
	k := must[*iam.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	aliceKey, aliceSecret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	alice := e.iam(aliceKey, aliceSecret, "")
	aliceSTS := e.sts(aliceKey, aliceSecret, "")
	must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("locked"),
		AssumeRolePolicyDocument: aws.String(trustDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`))}))

	// Normal work: reads, a role with a narrow trust, an inline policy on
	// someone else, a couple of denied calls.
	for range 5 {
		must[*sts.GetCallerIdentityOutput](t)(aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
		must[*iam.ListUsersOutput](t)(alice.ListUsers(ctx, &iam.ListUsersInput{}))
	}
	must[*iam.CreateRoleOutput](t)(alice.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ci"),
		AssumeRolePolicyDocument: aws.String(trustDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/alice"},"Action":"sts:AssumeRole"}`))}))
	must[*iam.CreateUserOutput](t)(alice.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	must[*iam.AttachUserPolicyOutput](t)(alice.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	for range 2 {
		_, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/locked"), RoleSessionName: aws.String("xx")})
		wantCode(t, err, "AccessDenied")
	}
	time.Sleep(500 * time.Millisecond) // let the engine see it all
	for rule := range alertsIn(t, e.trail(t)) {
		if rule != "root-key-use" { // the set-up above is root's
			t.Errorf("benign work raised %s", rule)
		}
	}

	// The attacks.
	_, err := e.sts("ASIAQQQQQQQQQQQQQQQQ", "forged/secret/0123456789012345678901234", "forged-token").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	must[*iam.AttachUserPolicyOutput](t)(alice.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}))
	must[*iam.CreateRoleOutput](t)(alice.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("open"),
		AssumeRolePolicyDocument: aws.String(trustDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`))}))
	for range 8 {
		_, err := aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/locked"), RoleSessionName: aws.String("xx")})
		wantCode(t, err, "AccessDenied")
	}
	got := waitAlerts(t, e, "invalid-credentials", "self-escalation", "trust-opened", "assume-role-failures")
	esc := got["self-escalation"]
	if esc.EventType != "OpenSTSAlert" || esc.EventSource != "opensts.detect" || esc.Recipient != testAccount ||
		esc.UserIdentity.ARN != "arn:aws:iam::"+testAccount+":user/alice" || esc.UserIdentity.AccessKeyID != aliceKey ||
		esc.RequestParameters.Severity != "critical" || !strings.Contains(esc.RequestParameters.Detail, "AdministratorAccess") ||
		len(esc.RequestParameters.TriggeringEventIDs) != 1 {
		t.Errorf("self-escalation alert %+v", esc)
	}
	// The triggering event is in the trail: the alert joins to it.
	trail := e.trail(t)
	if !strings.Contains(trail, `"eventName":"AttachUserPolicy"`) || !strings.Contains(trail, `"eventID":"`+esc.RequestParameters.TriggeringEventIDs[0]+`"`) {
		t.Errorf("the triggering event %s is not in the trail", esc.RequestParameters.TriggeringEventIDs)
	}
	if inv := got["invalid-credentials"]; inv.UserIdentity.AccessKeyID != "ASIAQQQQQQQQQQQQQQQQ" || inv.SourceIP != "127.0.0.1" {
		t.Errorf("invalid-credentials alert %+v", inv)
	}
	if strings.Contains(trail, "forged/secret") || strings.Contains(trail, "forged-token") || strings.Contains(trail, aliceSecret) {
		t.Error("a secret is in the trail")
	}

	// Found with the AWS CLI and with `opensts alerts list`.
	c := newCLIEnv(t, e.endpoint)
	out, errOut, code := c.run(t, creds(testRootKeyID, testRootSecret, ""), awsCLIPath(), "cloudtrail", "lookup-events", "--endpoint-url", e.endpoint,
		"--lookup-attributes", "AttributeKey=EventSource,AttributeValue=opensts.detect", "--output", "json")
	if code != 0 {
		t.Fatalf("lookup-events: %d %s", code, errOut)
	}
	for _, rule := range []string{"invalid-credentials", "self-escalation", "trust-opened", "assume-role-failures"} {
		if !strings.Contains(out, `"EventName": "`+rule+`"`) {
			t.Errorf("lookup-events does not list %s", rule)
		}
	}
	out, errOut, code = c.run(t, creds(testRootKeyID, testRootSecret, ""), binary(t), "alerts", "list", "--endpoint-url", e.endpoint, "--since", "1h")
	if code != 0 || !strings.Contains(out, "self-escalation") || !strings.Contains(out, "critical") || !strings.Contains(out, "user/alice") {
		t.Fatalf("alerts list: %d %s %s", code, out, errOut)
	}
	// A principal without cloudtrail:LookupEvents sees none.
	must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nobody")}))
	nk := must[*iam.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")}))
	_, errOut, code = c.run(t, creds(aws.ToString(nk.AccessKey.AccessKeyId), aws.ToString(nk.AccessKey.SecretAccessKey), ""), binary(t), "alerts", "list", "--endpoint-url", e.endpoint)
	if code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Fatalf("alerts list without permission: %d %s", code, errOut)
	}
}

// TestAlertRulesFile: a rule switched off in --alert-rules stays quiet; a
// rules file with a mistake stops the server from starting.
func TestAlertRulesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  trust-opened:\n    enabled: false\n  self-escalation:\n    mode: observe\n    response: deactivate-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, withStrictAudit(), withAlertRules(rules))
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("open"),
		AssumeRolePolicyDocument: aws.String(trustDoc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`))}))
	_, err := e.sts("ASIAQQQQQQQQQQQQQQQQ", "forged/secret/0123456789012345678901234", "forged-token").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	got := waitAlerts(t, e, "invalid-credentials")
	if _, ok := got["trust-opened"]; ok {
		t.Error("a rule switched off alerted")
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  trust-opend: {enabled: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.AlertRules = t.TempDir(), bad
	if s, err := server.New(ctx, cfg, server.Options{}); err == nil || !strings.Contains(err.Error(), "trust-opend") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("a rules file with an unknown rule: %v", err)
	}
}

// TestDetectionTwoNodesOnPostgres: the same incident seen by two nodes of
// one deployment raises one alert, not one per node.
func TestDetectionTwoNodesOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn), withStrictAudit())
	b := start(t, withPostgres(dsn), withStrictAudit())
	ctx := context.Background()
	for _, e := range []*env{a, b, a, b} {
		_, err := e.sts("ASIAQQQQQQQQQQQQQQQQ", "forged/secret/0123456789012345678901234", "forged-token").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantCode(t, err, "InvalidClientTokenId")
	}
	time.Sleep(time.Second) // both engines have seen both requests
	n := 0
	for _, e := range []*env{a, b} {
		for _, line := range strings.Split(e.trail(t), "\n") {
			if strings.Contains(line, `"OpenSTSAlert"`) && strings.Contains(line, `"eventName":"invalid-credentials"`) {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d invalid-credentials alerts across two nodes, want 1", n)
	}
}

// TestDetectionBaselinesPersist: what a node learned survives its restart,
// warm-up included: after it, a known client is quiet and a new one alerts.
func TestDetectionBaselinesPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`{"warmup":"2s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startIn(t, dir, withStrictAudit(), withAlertRules(rules))
	akid, secret := e.user(t, "alice")
	roleARN := e.role(t, "app", "", trustAccount)
	e.userPolicy(t, "alice", "assume", allow("sts:AssumeRole", roleARN))
	ctx := context.Background()
	assume := func(e *env) {
		t.Helper()
		must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sdk")}))
	}
	assume(e)
	e.stop() // writes the baselines
	time.Sleep(2500 * time.Millisecond)

	e = startIn(t, dir, withStrictAudit(), withAlertRules(rules))
	assume(e)
	c := newCLIEnv(t, e.endpoint)
	out, errOut, code := c.run(t, creds(akid, secret, ""), awsCLIPath(), "sts", "assume-role", "--endpoint-url", e.endpoint,
		"--role-arn", roleARN, "--role-session-name", "cli")
	if code != 0 {
		t.Fatalf("assume-role: %d %s %s", code, out, errOut)
	}
	got := waitAlerts(t, e, "new-user-agent")
	if _, ok := got["new-network"]; ok {
		t.Error("the known network alerted after the restart")
	}
	if d := got["new-user-agent"].RequestParameters.Detail; !strings.Contains(d, "aws-cli") || !strings.Contains(d, "role/app") {
		t.Errorf("new-user-agent: %s", d)
	}
}

// TestDetectionSeesAuthorizedRequests: the requests a resource server
// asks the authorize API about are events for the rules, as its clients'
// own: guessed secrets raise signature-mismatch, a burst of denials
// access-denied-burst for the principal denied, with the client's address.
// Before, the rules saw only the resource server's successful Authorize
// calls (found by a review as an attacker).
func TestDetectionSeesAuthorizedRequests(t *testing.T) {
	t.Parallel()
	e := start(t, withStrictAudit())
	rs := e.userWith(t, "resource-server", allowAuthorize)
	alice := e.userWith(t, "alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/home/*"}]}`)
	v, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: rs}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(k aws.Credentials, path string) *verifier.Decision {
		req, _ := http.NewRequest(http.MethodGet, "http://data.s3.test/data"+path, nil)
		req.Header.Set("X-Amz-Content-Sha256", sum256(""))
		if err := v4.NewSigner().SignHTTP(ctx, k, req, sum256(""), "s3", "us-east-1", time.Now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, req.URL.String(), nil)
		r.Header = req.Header
		r.RemoteAddr = "198.51.100.23:40000"
		d, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	guessed := alice
	guessed.SecretAccessKey = "a guessed secret"
	for range 5 {
		if d := get(guessed, "/home/a"); d.Allowed() || d.AuthenticationError == nil {
			t.Fatalf("a guessed secret: %+v", d)
		}
	}
	for range 20 {
		if d := get(alice, "/private/a"); d.Allowed() || d.AuthenticationError != nil {
			t.Fatalf("alice's request for private/: %+v %+v", d, d.AuthenticationError)
		}
	}
	got := waitAlerts(t, e, "signature-mismatch", "access-denied-burst")
	if a := got["signature-mismatch"]; a.UserIdentity.AccessKeyID != alice.AccessKeyID {
		t.Errorf("signature-mismatch names %+v", a.UserIdentity)
	}
	if a := got["access-denied-burst"]; a.UserIdentity.ARN != "arn:aws:iam::"+testAccount+":user/alice" {
		t.Errorf("access-denied-burst names %+v", a.UserIdentity)
	}
}

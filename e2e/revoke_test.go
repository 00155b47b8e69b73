package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// revokeCall calls the revocation API (AWS JSON 1.1, service opensts) with
// the given credentials; it returns the HTTP status and the decoded body.
func (e *env) revokeCall(t *testing.T, akid, secret, token, action string, in any) (int, map[string]any) {
	t.Helper()
	return e.revokeCallAt(t, time.Now(), akid, secret, token, action, in)
}

// revokeCallAt is revokeCall signed at a given time (a test clock's).
func (e *env) revokeCallAt(t *testing.T, at time.Time, akid, secret, token, action string, in any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", e.endpoint+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "OpenSTSRevocation_20261204."+action)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		req, hex.EncodeToString(sum[:]), "opensts", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %d %s", action, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// revoke revokes as root and returns the entry's id.
func (e *env) revoke(t *testing.T, in map[string]any) string {
	t.Helper()
	status, out := e.revokeCall(t, testRootKeyID, testRootSecret, "", "RevokeSessions", in)
	if status != 200 {
		t.Fatalf("revoke %v: %d %v", in, status, out)
	}
	return out["Revocation"].(map[string]any)["Id"].(string)
}

type creds3 struct{ akid, secret, token string }

func credsOf(c *ststypes.Credentials) creds3 {
	return creds3{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

// works reports whether the credentials still authenticate.
func (e *env) works(t *testing.T, c creds3) bool {
	t.Helper()
	_, err := e.sts(c.akid, c.secret, c.token).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil {
		return true
	}
	wantCode(t, err, "InvalidClientTokenId")
	return false
}

// revokeEnv: alice may assume app; app may assume db (a chain).
type revokeEnv struct {
	*env
	akid, secret   string
	appARN, dbARN  string
	alice          creds3
	assumeApp      func(name string) creds3
	assumeDB       func(from creds3, name string) creds3
	sessionTokenOf func() creds3
}

func startRevoke(t *testing.T, opts ...envOption) *revokeEnv {
	t.Helper()
	e := start(t, opts...)
	akid, secret := e.user(t, "alice")
	appARN := e.role(t, "app", "", trustAccount)
	dbARN := e.role(t, "db", "", trustAccount)
	e.userPolicy(t, "alice", "assume", allow("sts:AssumeRole", appARN))
	e.rolePolicy(t, "app", "assume", allow("sts:AssumeRole", dbARN))
	r := &revokeEnv{env: e, akid: akid, secret: secret, appARN: appARN, dbARN: dbARN, alice: creds3{akid, secret, ""}}
	r.assumeApp = func(name string) creds3 {
		t.Helper()
		out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(appARN), RoleSessionName: aws.String(name)}))
		return credsOf(out.Credentials)
	}
	r.assumeDB = func(from creds3, name string) creds3 {
		t.Helper()
		out := must[*sts.AssumeRoleOutput](t)(e.sts(from.akid, from.secret, from.token).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(dbARN), RoleSessionName: aws.String(name)}))
		return credsOf(out.Credentials)
	}
	r.sessionTokenOf = func() creds3 {
		t.Helper()
		out := must[*sts.GetSessionTokenOutput](t)(e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
		return credsOf(out.Credentials)
	}
	return r
}

// TestRevokeEveryKind revokes sessions in use, by each kind, and checks
// what is refused (InvalidClientTokenId on every call, chained sessions
// included, and no more AssumeRole) and what is not.
func TestRevokeEveryKind(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	t.Run("session", func(t *testing.T) {
		s1, other := r.assumeApp("one"), r.assumeApp("one")
		s2 := r.assumeDB(s1, "chained")
		if !r.works(t, s1) || !r.works(t, s2) {
			t.Fatal("fresh sessions refused")
		}
		start := time.Now()
		id := r.revoke(t, map[string]any{"AccessKeyId": s1.akid, "Reason": "laptop stolen"})
		if r.works(t, s1) {
			t.Fatal("the revoked session still works")
		}
		t.Logf("refused %v after the revocation was made (same node)", time.Since(start))
		if r.works(t, s2) {
			t.Error("a session chained from the revoked one still works")
		}
		_, err := r.sts(s1.akid, s1.secret, s1.token).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(r.dbARN), RoleSessionName: aws.String("again")})
		wantCode(t, err, "InvalidClientTokenId")
		_, err = r.iam(s1.akid, s1.secret, s1.token).ListRoles(ctx, &iam.ListRolesInput{})
		wantCode(t, err, "InvalidClientTokenId")
		if !r.works(t, other) {
			t.Error("another session of the same name was refused")
		}
		// Deleting the entry lets the session back in.
		if status, out := r.revokeCall(t, testRootKeyID, testRootSecret, "", "DeleteRevocation", map[string]any{"Id": id}); status != 200 {
			t.Fatalf("delete: %d %v", status, out)
		}
		if !r.works(t, s1) {
			t.Error("the session is still refused after its revocation was deleted")
		}
	})
	t.Run("principal: a role session", func(t *testing.T) {
		s := r.assumeApp("mallory")
		child := r.assumeDB(s, "child")
		r.revoke(t, map[string]any{"PrincipalArn": "arn:aws:sts::" + testAccount + ":assumed-role/app/mallory"})
		if r.works(t, s) || r.works(t, child) {
			t.Fatal("the principal's sessions still work")
		}
		time.Sleep(1100 * time.Millisecond) // sessions carry whole seconds
		if later := r.assumeApp("mallory"); !r.works(t, later) {
			t.Error("a session made after the revocation is refused")
		}
	})
	t.Run("principal: a user", func(t *testing.T) {
		gst, role := r.sessionTokenOf(), r.assumeApp("as-alice")
		r.revoke(t, map[string]any{"PrincipalArn": "arn:aws:iam::" + testAccount + ":user/alice"})
		if r.works(t, gst) || r.works(t, role) {
			t.Fatal("sessions alice created still work")
		}
		if _, err := r.sts(r.akid, r.secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("alice's long-term key: %v", err)
		}
		time.Sleep(1100 * time.Millisecond)
		if !r.works(t, r.assumeApp("new")) {
			t.Error("a new session of alice's is refused")
		}
	})
	t.Run("role, issued before", func(t *testing.T) {
		old := r.assumeApp("old")
		time.Sleep(2100 * time.Millisecond)
		cut := time.Now().Add(-time.Second).UTC()
		recent := r.assumeApp("recent")
		// Chained after the cut: from the old session (which goes with
		// it, as everything chained from a revoked session does) and from
		// the recent one (which stays).
		oldChild, recentChild := r.assumeDB(old, "old-child"), r.assumeDB(recent, "recent-child")
		r.revoke(t, map[string]any{"RoleArn": r.appARN, "IssuedBefore": float64(cut.UnixMilli()) / 1000})
		if r.works(t, old) {
			t.Error("a session issued before the cut still works")
		}
		if r.works(t, oldChild) {
			t.Error("a session chained after the cut from one issued before it still works")
		}
		if !r.works(t, recent) || !r.works(t, recentChild) {
			t.Error("a session issued after the cut, or chained from one, is refused")
		}
	})
	t.Run("account", func(t *testing.T) {
		s, gst := r.assumeApp("acct"), r.sessionTokenOf()
		r.revoke(t, map[string]any{"AccountId": testAccount})
		if r.works(t, s) || r.works(t, gst) {
			t.Fatal("the account's sessions still work")
		}
	})
	status, out := r.revokeCall(t, testRootKeyID, testRootSecret, "", "ListRevocations", map[string]any{})
	list, _ := out["Revocations"].([]any)
	if status != 200 || len(list) != 4 {
		t.Fatalf("list: %d %v", status, out)
	}
	first := list[0].(map[string]any)
	if first["Kind"] != "principal" || first["CreatedBy"] != "arn:aws:iam::"+testAccount+":root" || first["ExpiresAt"].(float64) <= first["CreatedAt"].(float64) {
		t.Errorf("entry %v", first)
	}
}

// TestRevokeAuthorizationAndInput: callers need the opensts: actions, act
// on their own account only, and bad input gets AWS JSON errors.
func TestRevokeAuthorizationAndInput(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	bob, bobSecret := r.user(t, "bob")
	code := func(status int, out map[string]any) string {
		if status == 200 {
			return "OK"
		}
		s, _ := out["__type"].(string)
		return s[strings.LastIndexByte(s, '#')+1:]
	}
	s := r.assumeApp("target")
	if got := code(r.revokeCall(t, bob, bobSecret, "", "RevokeSessions", map[string]any{"AccessKeyId": s.akid})); got != "AccessDeniedException" {
		t.Fatalf("bob without permission: %s", got)
	}
	if got := code(r.revokeCall(t, bob, bobSecret, "", "ListRevocations", map[string]any{})); got != "AccessDeniedException" {
		t.Fatalf("bob list: %s", got)
	}
	if !r.works(t, s) {
		t.Fatal("a denied revocation revoked")
	}
	r.userPolicy(t, "bob", "revoke", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:RevokeSessions","Resource":"arn:aws:sts::`+testAccount+`:assumed-role/app/*"}]}`)
	if got := code(r.revokeCall(t, bob, bobSecret, "", "RevokeSessions", map[string]any{"PrincipalArn": "arn:aws:sts::" + testAccount + ":assumed-role/db/x"})); got != "AccessDeniedException" {
		t.Errorf("bob outside his resource: %s", got)
	}
	if got := code(r.revokeCall(t, bob, bobSecret, "", "RevokeSessions", map[string]any{"PrincipalArn": "arn:aws:sts::" + testAccount + ":assumed-role/app/target"})); got != "OK" {
		t.Fatalf("bob within his resource: %s", got)
	}
	if r.works(t, s) {
		t.Fatal("bob's revocation did not apply")
	}
	// A revoked session cannot revoke (or list) anything.
	if got := code(r.revokeCall(t, s.akid, s.secret, s.token, "ListRevocations", map[string]any{})); got != "InvalidClientTokenId" {
		t.Errorf("revoked caller: %s", got)
	}
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{}, "ValidationException"},
		{map[string]any{"AccessKeyId": "ASIAAAAAAAAAAAAAAAAA", "AccountId": testAccount}, "ValidationException"},
		{map[string]any{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"}, "ValidationException"},
		{map[string]any{"AccessKeyId": "ASIA<script>"}, "ValidationException"},
		{map[string]any{"AccountId": "999999999999"}, "ValidationException"},
		{map[string]any{"AccountId": "12"}, "ValidationException"},
		{map[string]any{"PrincipalArn": "arn:aws:iam::999999999999:user/x"}, "ValidationException"},
		{map[string]any{"PrincipalArn": "not an arn"}, "ValidationException"},
		{map[string]any{"PrincipalArn": "arn:aws:iam::" + testAccount + ":group/devs"}, "ValidationException"},
		{map[string]any{"PrincipalArn": "arn:aws:iam::" + testAccount + ":user/nobody"}, "ResourceNotFoundException"},
		{map[string]any{"RoleArn": "arn:aws:iam::" + testAccount + ":role/none"}, "ResourceNotFoundException"},
		{map[string]any{"RoleArn": "arn:aws:iam::999999999999:role/app"}, "ValidationException"},
		{map[string]any{"RoleArn": r.appARN, "IssuedBefore": float64(time.Now().Add(time.Hour).Unix())}, "ValidationException"},
		{map[string]any{"RoleArn": r.appARN, "IssuedBefore": float64(time.Now().Add(-48 * time.Hour).Unix())}, "ValidationException"},
		{map[string]any{"AccessKeyId": s.akid, "IssuedBefore": float64(time.Now().Unix())}, "ValidationException"},
		{map[string]any{"AccessKeyId": s.akid, "Reason": strings.Repeat("x", 1025)}, "ValidationException"},
	} {
		if got := code(r.revokeCall(t, testRootKeyID, testRootSecret, "", "RevokeSessions", tc.in)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.in, got, tc.want)
		}
	}
	for id, want := range map[string]string{"rev-0000000000000000": "ResourceNotFoundException", "../etc": "ValidationException"} {
		if got := code(r.revokeCall(t, testRootKeyID, testRootSecret, "", "DeleteRevocation", map[string]any{"Id": id})); got != want {
			t.Errorf("delete %s: %s, want %s", id, got, want)
		}
	}
	// Another account's root cannot delete this account's entries, nor
	// see them.
	acct := r.newAccount(t, "other")
	admin := r.admin(t, "admin")
	ao := must[*sts.AssumeRoleOutput](t)(admin.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("ops")}))
	o := credsOf(ao.Credentials)
	status, out := r.revokeCall(t, o.akid, o.secret, o.token, "ListRevocations", map[string]any{})
	if list, _ := out["Revocations"].([]any); status != 200 || len(list) != 0 {
		t.Errorf("the other account lists %d %v", status, out)
	}
	_, out = r.revokeCall(t, testRootKeyID, testRootSecret, "", "ListRevocations", map[string]any{})
	mine, _ := out["Revocations"].([]any)
	if len(mine) != 1 {
		t.Fatalf("own list %v", out)
	}
	id := mine[0].(map[string]any)["Id"].(string)
	if got := code(r.revokeCall(t, o.akid, o.secret, o.token, "DeleteRevocation", map[string]any{"Id": id})); got != "ResourceNotFoundException" {
		t.Errorf("the other account deletes this one's entry: %s", got)
	}
	// The other account cannot revoke this account's session by its key id
	// (the entry acts on its own account only).
	s2 := r.assumeApp("target2")
	if got := code(r.revokeCall(t, o.akid, o.secret, o.token, "RevokeSessions", map[string]any{"AccessKeyId": s2.akid})); got != "OK" {
		t.Fatalf("the other account's own-account entry: %s", got)
	}
	if !r.works(t, s2) {
		t.Error("another account revoked this account's session")
	}
}

// TestRevocationsExpire: an entry leaves the set once the last session it
// can match has expired (36 hours).
func TestRevocationsExpire(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	r := startRevoke(t, withClock(clk))
	if status, out := r.revokeCallAt(t, clk.Now(), testRootKeyID, testRootSecret, "", "RevokeSessions", map[string]any{"AccountId": testAccount}); status != 200 {
		t.Fatalf("revoke: %d %v", status, out)
	}
	list := func() int {
		status, out := r.revokeCallAt(t, clk.Now(), testRootKeyID, testRootSecret, "", "ListRevocations", map[string]any{})
		if status != 200 {
			t.Fatalf("list: %d %v", status, out)
		}
		l, _ := out["Revocations"].([]any)
		return len(l)
	}
	if list() != 1 {
		t.Fatal("no entry")
	}
	clk.Advance(35 * time.Hour)
	if list() != 1 {
		t.Fatal("the entry left while a session could still match")
	}
	clk.Advance(time.Hour + time.Second)
	if list() != 0 {
		t.Fatal("the entry outlived every session it could match")
	}
}

// TestQuarantinePolicy: attaching AWSCompromisedKeyQuarantine to a user
// denies the user everything and refuses every session started from its
// keys, chained ones included.
func TestQuarantinePolicy(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	s := r.assumeApp("before")
	child := r.assumeDB(s, "child")
	gst := r.sessionTokenOf()
	must[*iam.AttachUserPolicyOutput](t)(r.rootIAM().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine")}))
	for name, c := range map[string]creds3{"role session": s, "chained": child, "session token": gst} {
		if r.works(t, c) {
			t.Errorf("%s started from the quarantined key still works", name)
		}
	}
	_, err := r.sts(r.akid, r.secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(r.appARN), RoleSessionName: aws.String("after")})
	wantCode(t, err, "AccessDenied")
}

// TestRevokeTwoNodesOnPostgres: a revocation made on one node applies on
// the other within its refresh interval; the time is measured and logged.
func TestRevokeTwoNodesOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn))
	b := start(t, withPostgres(dsn))
	akid, secret := a.user(t, "pg-user")
	roleARN := a.role(t, "pg-role", "", trustAccount)
	a.userPolicy(t, "pg-user", "assume", allow("sts:AssumeRole", roleARN))
	var worst time.Duration
	for i := range 3 {
		out := must[*sts.AssumeRoleOutput](t)(b.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s" + string(rune('a'+i)))}))
		c := credsOf(out.Credentials)
		if !b.works(t, c) {
			t.Fatal("fresh session refused")
		}
		start := time.Now()
		a.revoke(t, map[string]any{"AccessKeyId": c.akid})
		if a.works(t, c) {
			t.Fatal("not refused on the node that revoked")
		}
		for b.works(t, c) {
			if time.Since(start) > 10*time.Second {
				t.Fatal("the other node still accepts the session after 10 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("revocation reached the other node within %v (worst of 3; refresh interval 200 ms in this test, 1 s by default)", worst)
}

// TestRevokeCLI drives `opensts revoke` with the standard credential chain.
func TestRevokeCLI(t *testing.T) {
	t.Parallel()
	r := startRevoke(t)
	s := r.assumeApp("cli")
	bin := binary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[ops]\naws_access_key_id = "+testRootKeyID+"\naws_secret_access_key = "+testRootSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLIEnv(t, r.endpoint)
	env := []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials")}
	out, errOut, code := c.run(t, env, bin, "revoke", "--endpoint-url", r.endpoint, "--profile", "ops", "--access-key-id", s.akid, "--reason", "cli test")
	if code != 0 || !strings.Contains(out, "session") || !strings.Contains(out, s.akid) || !strings.Contains(out, "cli test") {
		t.Fatalf("revoke: %d %s %s", code, out, errOut)
	}
	if r.works(t, s) {
		t.Fatal("the session still works")
	}
	out, errOut, code = c.run(t, env, bin, "revoke", "--endpoint-url", r.endpoint, "--profile", "ops", "--list", "--output", "json")
	var l struct {
		Revocations []struct{ ID, Kind, Target string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Revocations) != 1 || l.Revocations[0].Target != s.akid {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	_, errOut, code = c.run(t, env, bin, "revoke", "--endpoint-url", r.endpoint, "--profile", "ops", "--delete", l.Revocations[0].ID)
	if code != 0 || !r.works(t, s) {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	_, errOut, code = c.run(t, env, bin, "revoke", "--endpoint-url", r.endpoint, "--profile", "ops", "--list", "--access-key-id", s.akid)
	if code == 0 || !strings.Contains(errOut, "exactly one") {
		t.Fatalf("two targets: %d %s", code, errOut)
	}
	// Credentials from the environment, without permission: the API's
	// error, and a non-zero exit.
	bob, bobSecret := r.user(t, "bob")
	_, errOut, code = c.run(t, creds(bob, bobSecret, ""), bin, "revoke", "--endpoint-url", r.endpoint, "--account-id", testAccount)
	if code == 0 || !strings.Contains(errOut, "AccessDeniedException") {
		t.Fatalf("bob: %d %s", code, errOut)
	}
}

// TestStolenSessionStopped: a session used from a second network is
// revoked by the detection rule's response, and its next call fails.
func TestStolenSessionStopped(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  session-two-networks: {response: revoke-session}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startRevoke(t, withStrictAudit(), withAlertRules(rules))
	s := r.assumeApp("victim")
	if !r.works(t, s) {
		t.Fatal("fresh session refused")
	}
	// The thief: the same credentials, from 127.1.0.9 (another /24).
	thief := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.1.0.9")}}).DialContext}}
	cfg := r.awsConfig(s.akid, s.secret, s.token)
	cfg.HTTPClient = thief
	stolen := sts.NewFromConfig(cfg)
	if _, err := stolen.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the thief's first call: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := stolen.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			wantCode(t, err, "InvalidClientTokenId")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stolen session was not revoked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.works(t, s) {
		t.Error("the victim's copy of the session still works")
	}
	a := waitAlerts(t, r.env, "session-two-networks")["session-two-networks"]
	if a.RequestParameters.Response != "revoke-session" || a.UserIdentity.AccessKeyID != s.akid || !strings.Contains(a.RequestParameters.Detail, "127.1.0.0/24") {
		t.Errorf("alert %+v", a)
	}
	if trail := r.trail(t); strings.Contains(trail, s.token) || strings.Contains(trail, s.secret) {
		t.Error("the session's secret or token is in the trail")
	}
}

// TestDetectionResponses: each response kind, end to end, triggered by its
// rule on an authenticated subject probing what it may do
// (access-denied-burst): deactivate-key and quarantine-key on alice's
// long-term key, revoke-principal on a role session (that session, by its
// key: another session of the same name is spared). (Responses never act
// on unauthenticated requests: anyone can name any key id.)
func TestDetectionResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, rules string }{
		{"deactivate-key", "rules:\n  access-denied-burst: {threshold: 3, response: deactivate-key}\n"},
		{"quarantine-key", "rules:\n  access-denied-burst: {threshold: 3, response: quarantine-key}\n"},
		{"revoke-principal", "rules:\n  access-denied-burst: {threshold: 5, response: revoke-principal}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(rules, []byte(tc.rules), 0o600); err != nil {
				t.Fatal(err)
			}
			r := startRevoke(t, withStrictAudit(), withAlertRules(rules))
			s := r.assumeApp("prober")
			if tc.name == "revoke-principal" {
				// Another session of the role under the same name (found
				// by a review as an attacker: a session's name is its
				// caller's choice, and the ARN was revoked) is spared.
				twin := r.assumeApp("prober")
				for range 5 {
					_, err := r.iam(s.akid, s.secret, s.token).ListUsers(ctx, &iam.ListUsersInput{})
					wantCode(t, err, "AccessDenied")
				}
				waitAlerts(t, r.env, "access-denied-burst")
				if r.works(t, s) {
					t.Fatal("the prober's session still works")
				}
				if !r.works(t, twin) {
					t.Error("another session of the same name was revoked too")
				}
				if !r.works(t, r.alice) {
					t.Error("alice's long-term key was cut off too")
				}
				return
			}
			for range 3 {
				_, err := r.iam(r.akid, r.secret, "").ListUsers(ctx, &iam.ListUsersInput{})
				wantCode(t, err, "AccessDenied")
			}
			a := waitAlerts(t, r.env, "access-denied-burst")["access-denied-burst"]
			if a.RequestParameters.Response != tc.name {
				t.Errorf("alert %+v", a)
			}
			deadline := time.Now().Add(10 * time.Second)
			for r.works(t, s) {
				if time.Now().After(deadline) {
					t.Fatal("the session started from the key still works")
				}
				time.Sleep(50 * time.Millisecond)
			}
			_, err := r.iam(r.akid, r.secret, "").ListUsers(ctx, &iam.ListUsersInput{})
			if tc.name == "deactivate-key" {
				wantCode(t, err, "InvalidClientTokenId")
				k := must[*iam.ListAccessKeysOutput](t)(r.rootIAM().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")}))
				if k.AccessKeyMetadata[0].Status != "Inactive" {
					t.Errorf("key status %s", k.AccessKeyMetadata[0].Status)
				}
			} else {
				wantCode(t, err, "AccessDenied")
				p := must[*iam.ListAttachedUserPoliciesOutput](t)(r.rootIAM().ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("alice")}))
				if len(p.AttachedPolicies) != 1 || aws.ToString(p.AttachedPolicies[0].PolicyName) != "AWSCompromisedKeyQuarantine" {
					t.Errorf("attached %+v", p.AttachedPolicies)
				}
			}
		})
	}
}

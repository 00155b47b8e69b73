package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const acct = "123456789012"

var t0 = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

type recorder struct{ alerts []Alert }

func (r *recorder) emit(a Alert) { r.alerts = append(r.alerts, a) }

func (r *recorder) rules() []string {
	var out []string
	for _, a := range r.alerts {
		out = append(out, a.Rule)
	}
	return out
}

func newEngine(t testing.TB, cfg Config, opts ...func(*Options)) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{}
	o := Options{Config: cfg, Emit: rec.emit, Now: func() time.Time { return t0 }}
	for _, f := range opts {
		f(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e, rec
}

func params(kv ...string) Params {
	var p Params
	for i := 0; i+1 < len(kv); i += 2 {
		if p.field(kv[i]) == nil {
			panic("unknown parameter " + kv[i])
		}
		p.Set(kv[i], kv[i+1])
	}
	return p
}

var seq int

func ev(name, source string, mod ...func(*Event)) Event {
	seq++
	e := Event{Time: t0, ID: fmt.Sprintf("ev-%d", seq), Name: name, Source: source + ".amazonaws.com", Account: acct,
		Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/alice", UserName: "alice", AccessKeyID: "AKIAALICE",
		SourceIP: "203.0.113.7", UserAgent: "aws-cli/2.9.19 Python/3.11"}
	for _, m := range mod {
		m(&e)
	}
	return e
}

func at(d time.Duration) func(*Event) { return func(e *Event) { e.Time = t0.Add(d) } }
func fails(code, msg string) func(*Event) {
	return func(e *Event) { e.ErrorCode, e.ErrorMessage = code, msg }
}
func from(ip string) func(*Event)     { return func(e *Event) { e.SourceIP = ip } }
func with(kv ...string) func(*Event)  { return func(e *Event) { e.Params = params(kv...) } }
func agent(ua string) func(*Event)    { return func(e *Event) { e.UserAgent = ua } }
func key(id string) func(*Event)      { return func(e *Event) { e.AccessKeyID = id } }
func as(typ, arn string) func(*Event) { return func(e *Event) { e.Type, e.ARN = typ, arn } }
func issuer(role string) func(*Event) { return func(e *Event) { e.IssuerARN = role } }
func run(e *Engine, evs ...Event) {
	ctx := context.Background()
	for _, x := range evs {
		e.Process(ctx, x)
	}
}
func count(r *recorder, rule string) int {
	n := 0
	for _, a := range r.alerts {
		if a.Rule == rule {
			n++
		}
	}
	return n
}

// burst sends n events spaced by step.
func burst(n int, step time.Duration, name, source string, mod ...func(*Event)) []Event {
	var out []Event
	for i := range n {
		out = append(out, ev(name, source, append([]func(*Event){at(time.Duration(i) * step)}, mod...)...))
	}
	return out
}

func TestBursts(t *testing.T) {
	denied := fails("AccessDenied", "User: ... is not authorized")
	mfa := fails("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
	for _, tc := range []struct {
		rule          string
		attack, quiet []Event
	}{
		{"access-denied-burst", burst(20, time.Second, "ListUsers", "iam", denied), burst(19, time.Second, "ListUsers", "iam", denied)},
		// The same count spread over more than the window is benign.
		{"access-denied-burst", burst(20, time.Second, "ListUsers", "iam", denied), burst(20, 20*time.Second, "ListUsers", "iam", denied)},
		{"assume-role-failures", burst(10, time.Second, "AssumeRole", "sts", denied), burst(10, time.Second, "AssumeRole", "sts")},
		{"mfa-failures", burst(5, time.Second, "GetSessionToken", "sts", mfa), burst(5, 2*time.Minute, "GetSessionToken", "sts", mfa)},
		// Only STS's refusal of a code counts: not another error whose
		// message quotes a request holding the words (attack review).
		{"mfa-failures", burst(5, time.Second, "GetSessionToken", "sts", mfa),
			burst(5, time.Second, "GetSessionToken", "sts", fails("ValidationError", "MultiFactorAuthentication failed with invalid MFA one time pass code."))},
		{"mfa-failures", burst(5, time.Second, "GetSessionToken", "sts", mfa),
			burst(5, time.Second, "GetSessionToken", "sts", fails("AccessDenied", "Value 'MultiFactorAuthentication failed' at 'tokenCode'"))},
		{"ldap-bind-failures", burst(5, time.Second, "AssumeRoleWithLDAPIdentity", "sts", denied, with("ldapUsername", "erin")),
			burst(4, time.Second, "AssumeRoleWithLDAPIdentity", "sts", denied, with("ldapUsername", "erin"))},
		{"expired-credentials", burst(5, time.Second, "GetCallerIdentity", "sts", fails("ExpiredToken", "expired"), key("ASIAOLD")),
			burst(2, time.Second, "GetCallerIdentity", "sts", fails("ExpiredToken", "expired"), key("ASIAOLD"))},
		{"invalid-credentials", burst(1, 0, "GetCallerIdentity", "sts", fails("InvalidClientTokenId", "The security token included in the request is invalid."), key("ASIAREVOKED")),
			burst(3, time.Second, "GetCallerIdentity", "sts", key("ASIAGOOD"))},
		{"signature-mismatch", burst(5, time.Second, "GetCallerIdentity", "sts", fails("SignatureDoesNotMatch", "no")),
			burst(4, time.Second, "GetCallerIdentity", "sts", fails("SignatureDoesNotMatch", "no"))},
		// The AWS JSON services' codes (Organizations, CloudTrail).
		{"expired-credentials", burst(5, time.Second, "ListAccounts", "organizations", fails("ExpiredTokenException", "expired"), key("ASIAOLD")),
			burst(5, time.Second, "AssumeRoleWithWebIdentity", "sts", fails("ExpiredTokenException", "Token expired"), key(""), as("WebIdentityUser", ""))},
		{"invalid-credentials", burst(1, 0, "ListAccounts", "organizations", fails("UnrecognizedClientException", "The security token included in the request is invalid."), key("ASIAREVOKED")),
			burst(3, time.Second, "ListAccounts", "organizations", key("ASIAGOOD"))},
		{"signature-mismatch", burst(5, time.Second, "LookupEvents", "cloudtrail", fails("InvalidSignatureException", "no")),
			burst(4, time.Second, "LookupEvents", "cloudtrail", fails("InvalidSignatureException", "no"))},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e, r := newEngine(t, Config{})
			run(e, tc.attack...)
			if count(r, tc.rule) == 0 {
				t.Fatalf("attack: no %s alert (got %v)", tc.rule, r.rules())
			}
			a := r.alerts[0]
			if a.Account != acct || a.SourceIP != "203.0.113.7" || len(a.EventIDs) == 0 || a.EventIDs[len(a.EventIDs)-1] != tc.attack[len(tc.attack)-1].ID {
				t.Errorf("alert %+v", a)
			}
			e, r = newEngine(t, Config{})
			run(e, tc.quiet...)
			if n := count(r, tc.rule); n != 0 {
				t.Fatalf("benign: %d %s alerts", n, tc.rule)
			}
		})
	}
}

// One alert per incident: a continuing burst stays quiet for the cool-down,
// then alerts again.
func TestCooldown(t *testing.T) {
	e, r := newEngine(t, Config{})
	run(e, burst(60, time.Second, "ListUsers", "iam", fails("AccessDenied", "x"))...)
	// by principal and by source: two subjects, one alert each.
	if n := count(r, "access-denied-burst"); n != 2 {
		t.Fatalf("%d alerts in the cool-down, want 2", n)
	}
	run(e, burst(20, time.Second, "ListUsers", "iam", fails("AccessDenied", "x"), at(16*time.Minute))...)
	if n := count(r, "access-denied-burst"); n != 4 {
		t.Fatalf("%d alerts after the cool-down, want 4", n)
	}
}

func TestRoot(t *testing.T) {
	root := as("Root", "arn:aws:iam::"+acct+":root")
	e, r := newEngine(t, Config{})
	run(e, ev("ListUsers", "iam", root, key("AKIAROOT")))
	run(e, ev("CreateAccessKey", "iam", root, key("AKIAROOT"), at(time.Hour)))
	if count(r, "root-key-use") != 2 || count(r, "root-access-key-created") != 1 {
		t.Fatalf("%v", r.rules())
	}
	// Root creating a key for a user is root-key-use, not a root key.
	e, r = newEngine(t, Config{})
	run(e, ev("CreateAccessKey", "iam", root, key("AKIAROOT"), with("userName", "bob")))
	if count(r, "root-access-key-created") != 0 {
		t.Fatalf("%v", r.rules())
	}
	// A user creating its own key is nothing.
	e, r = newEngine(t, Config{})
	run(e, ev("CreateAccessKey", "iam"))
	if len(r.alerts) != 0 {
		t.Fatalf("%v", r.rules())
	}
}

type dir struct {
	groups   map[string]bool // user/group
	assume   map[string]bool // principal ARN|role
	all      map[string]bool // policy ARN
	attached map[string]bool // principal ARN|policy ARN
}

func (d dir) InGroup(_ context.Context, _, u, g string) bool { return d.groups[u+"/"+g] }
func (d dir) CanAssume(_ context.Context, p, _, _, r string) bool {
	return d.assume[p+"|"+r]
}
func (d dir) GrantsAll(_ context.Context, p string) bool { return d.all[p] }
func (d dir) AttachedToPrincipal(_ context.Context, p, pol string) bool {
	return d.attached[p+"|"+pol]
}

func TestSelfEscalation(t *testing.T) {
	alice := "arn:aws:iam::" + acct + ":user/alice"
	custom := "arn:aws:iam::" + acct + ":policy/everything"
	d := dir{groups: map[string]bool{"alice/devs": true}, assume: map[string]bool{alice + "|deploy": true},
		all: map[string]bool{custom: true}, attached: map[string]bool{alice + "|" + custom: true}}
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	star := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	narrow := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	conditional := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
	for _, tc := range []struct {
		name  string
		event Event
		want  bool
	}{
		{"attach admin to self", ev("AttachUserPolicy", "iam", with("userName", "alice", "policyArn", admin)), true},
		{"attach admin to another user", ev("AttachUserPolicy", "iam", with("userName", "bob", "policyArn", admin)), false},
		{"attach readonly to self", ev("AttachUserPolicy", "iam", with("userName", "alice", "policyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess")), false},
		{"attach *:* customer policy to own group", ev("AttachGroupPolicy", "iam", with("groupName", "devs", "policyArn", custom)), true},
		{"attach admin to a group it is not in", ev("AttachGroupPolicy", "iam", with("groupName", "ops", "policyArn", admin)), false},
		{"attach admin to a role it can assume", ev("AttachRolePolicy", "iam", with("roleName", "deploy", "policyArn", admin)), true},
		{"attach admin to a role it cannot assume", ev("AttachRolePolicy", "iam", with("roleName", "other", "policyArn", admin)), false},
		{"put *:* inline on self", ev("PutUserPolicy", "iam", with("userName", "alice", "policyName", "p", "policyDocument", star)), true},
		{"put narrow inline on self", ev("PutUserPolicy", "iam", with("userName", "alice", "policyName", "p", "policyDocument", narrow)), false},
		{"put conditional * on self", ev("PutUserPolicy", "iam", with("userName", "alice", "policyName", "p", "policyDocument", conditional)), false},
		{"put *:* on own role", ev("PutRolePolicy", "iam", as("AssumedRole", "arn:aws:sts::"+acct+":assumed-role/deploy/s"),
			issuer("arn:aws:iam::"+acct+":role/deploy"), with("roleName", "deploy", "policyName", "p", "policyDocument", star)), true},
		{"widen a policy attached to itself", ev("CreatePolicyVersion", "iam", with("policyArn", custom, "setAsDefault", "true", "policyDocument", star)), true},
		{"a non-default version", ev("CreatePolicyVersion", "iam", with("policyArn", custom, "policyDocument", star)), false},
		{"widen a policy not attached to it", ev("CreatePolicyVersion", "iam", with("policyArn", "arn:aws:iam::"+acct+":policy/other", "setAsDefault", "true", "policyDocument", star)), false},
		{"delete own boundary", ev("DeleteUserPermissionsBoundary", "iam", with("userName", "alice")), true},
		{"delete another's boundary", ev("DeleteUserPermissionsBoundary", "iam", with("userName", "bob")), false},
		{"denied attempt", ev("AttachUserPolicy", "iam", with("userName", "alice", "policyArn", admin), fails("AccessDenied", "no")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, r := newEngine(t, Config{}, func(o *Options) { o.Directory = d })
			run(e, tc.event)
			if got := count(r, "self-escalation") == 1; got != tc.want {
				t.Fatalf("alert %v, want %v (%v)", got, tc.want, r.alerts)
			}
		})
	}
}

func TestTrustOpened(t *testing.T) {
	doc := func(stmt string) string { return `{"Version":"2012-10-17","Statement":[` + stmt + `]}` }
	oidc := "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com"
	for _, tc := range []struct {
		name, doc string
		want      int
	}{
		{"everyone", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), 1},
		{"AWS *", doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`), 1},
		{"everyone in the organization", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}`), 0},
		{"foreign account", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}`), 1},
		{"foreign account id", doc(`{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole"}`), 1},
		{"foreign account with ExternalId", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}`), 0},
		{"foreign role", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:role/ci"},"Action":"sts:AssumeRole"}`), 0},
		{"own account", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}`), 0},
		{"web identity without sub", doc(`{"Effect":"Allow","Principal":{"Federated":"` + oidc + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}`), 1},
		{"web identity, any repository", doc(`{"Effect":"Allow","Principal":{"Federated":"` + oidc + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}`), 1},
		{"web identity with sub", doc(`{"Effect":"Allow","Principal":{"Federated":"` + oidc + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/app:*"}}}`), 0},
		{"deny", doc(`{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}`), 0},
		// Spellings that open the role while looking narrowed.
		{"everyone, IfExists organization", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-abc"}}}`), 1},
		{"everyone, any principal ARN", doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}}`), 1},
		{"everyone, only a caller's choice", doc(`{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`), 1},
		{"foreign account, any ExternalId", doc(`{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:ExternalId":"*"}}}`), 1},
		{"foreign account, all but one", doc(`{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::999999999999:role/x"}}}`), 1},
		{"foreign account narrowed to a role", doc(`{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::999999999999:role/ci"}}}`), 0},
		// Evasions confirmed against a running server.
		{"everyone, no ExternalId", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"true"}}}`), 1},
		{"everyone, all but the probe's accounts", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalAccount":["999999999999","987654321098","135792468013","246813579024"]}}}`), 1},
		{"everyone, a role name", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"}}}`), 1},
		{"everyone, a session name", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:userid":"*:admin"}}}`), 1},
		{"web identity, any repository's environment", doc(`{"Effect":"Allow","Principal":{"Federated":"` + oidc + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*:environment:prod"}}}`), 1},
		{"everyone, a foreign account by condition", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}}`), 1},
		{"everyone, a foreign role by condition", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::999999999999:role/ci"}}}`), 0},
		{"everyone, own account by condition", doc(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"` + acct + `"}}}`), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TrustFindings(tc.doc, acct); len(got) != tc.want {
				t.Fatalf("%v", got)
			}
			e, r := newEngine(t, Config{})
			run(e, ev("UpdateAssumeRolePolicy", "iam", with("roleName", "app", "policyDocument", tc.doc)))
			run(e, ev("CreateRole", "iam", with("roleName", "app2", "assumeRolePolicyDocument", tc.doc)))
			if got := count(r, "trust-opened"); got != 2*tc.want {
				t.Fatalf("%d alerts", got)
			}
		})
	}
}

// anomaly config: a one-hour warm-up.
var warm = Config{Warmup: Duration(time.Hour)}

func TestNewNetworkAndAgent(t *testing.T) {
	role := "arn:aws:iam::" + acct + ":role/app"
	off := false
	e, r := newEngine(t, Config{Warmup: warm.Warmup, Rules: map[string]RuleConfig{"new-hour": {Enabled: &off}}})
	// Normal traffic during the warm-up: two networks, the CLI and boto3.
	for i := range 60 {
		ip, ua := "203.0.113.7", "aws-cli/2.9.19"
		if i%2 == 0 {
			ip, ua = "198.51.100.20", "Boto3/1.26.27 Python/3.11"
		}
		run(e, ev("AssumeRole", "sts", at(time.Duration(i)*time.Minute), from(ip), agent(ua), with("roleArn", role)))
	}
	// After it: the same networks and clients are quiet, also another
	// address in a known /24.
	run(e, ev("AssumeRole", "sts", at(2*time.Hour), from("203.0.113.99"), agent("aws-cli/2.13.0"), with("roleArn", role)))
	if len(r.alerts) != 0 {
		t.Fatalf("benign: %v", r.alerts)
	}
	run(e, ev("AssumeRole", "sts", at(2*time.Hour+time.Minute), from("192.0.2.66"), agent("curl/8.0"), with("roleArn", role)))
	if count(r, "new-network") != 1 || count(r, "new-user-agent") != 1 {
		t.Fatalf("attack: %v", r.rules())
	}
	// Learned: the next one is quiet.
	run(e, ev("AssumeRole", "sts", at(2*time.Hour+2*time.Minute), from("192.0.2.67"), agent("curl/8.1"), with("roleArn", role)))
	if len(r.alerts) != 2 {
		t.Fatalf("repeat: %v", r.rules())
	}
}

func TestSessionTwoNetworks(t *testing.T) {
	e, r := newEngine(t, Config{})
	s := key("ASIASTOLEN")
	run(e, ev("GetCallerIdentity", "sts", s, from("203.0.113.7")),
		ev("GetCallerIdentity", "sts", s, from("203.0.113.8"), at(time.Minute)), // same /24
		ev("GetCallerIdentity", "sts", key("ASIAOTHER"), from("192.0.2.1"), at(2*time.Minute)))
	if len(r.alerts) != 0 {
		t.Fatalf("benign: %v", r.alerts)
	}
	run(e, ev("GetCallerIdentity", "sts", s, from("192.0.2.9"), at(3*time.Minute)))
	if count(r, "session-two-networks") != 1 {
		t.Fatalf("attack: %v", r.rules())
	}
	// Long-term keys and a move after the window are not this rule's.
	e, r = newEngine(t, Config{})
	run(e, ev("GetCallerIdentity", "sts", from("203.0.113.7")), ev("GetCallerIdentity", "sts", from("192.0.2.9"), at(time.Minute)),
		ev("GetCallerIdentity", "sts", key("ASIAMOVED"), from("203.0.113.7")), ev("GetCallerIdentity", "sts", key("ASIAMOVED"), from("192.0.2.9"), at(time.Hour)))
	if len(r.alerts) != 0 {
		t.Fatalf("benign: %v", r.alerts)
	}
}

func TestBehaviour(t *testing.T) {
	cfg := Config{Warmup: Duration(90 * time.Minute)}
	e, r := newEngine(t, cfg)
	// 100 minutes of normal work, 5 calls a minute, from 09:00 (the warm-up
	// ends at 10:30, having seen the hours 9 and 10).
	for m := range 100 {
		for i := range 5 {
			name := []string{"ListUsers", "GetUser"}[i%2]
			run(e, ev(name, "iam", at(time.Duration(m)*time.Minute+time.Duration(i)*time.Second)))
		}
	}
	// A busy but normal minute (10:41), at a known hour, of known actions.
	for i := range 20 {
		run(e, ev("ListUsers", "iam", at(101*time.Minute+time.Duration(i)*time.Second)))
	}
	if len(r.alerts) != 0 {
		t.Fatalf("benign: %v", r.alerts)
	}
	// A flood at 10:45 (100 calls in 50 s), a new action, a new hour.
	for i := range 100 {
		run(e, ev("ListUsers", "iam", at(105*time.Minute+time.Duration(i)*500*time.Millisecond)))
	}
	run(e, ev("CreateAccessKey", "iam", at(110*time.Minute)))
	run(e, ev("ListUsers", "iam", at(5*time.Hour)))
	if count(r, "rate-spike") != 1 || count(r, "new-action") != 1 || count(r, "new-hour") != 1 {
		t.Fatalf("attack: %v", r.rules())
	}
	// Nothing is judged during the warm-up.
	e, r = newEngine(t, cfg)
	run(e, ev("ListUsers", "iam"), ev("CreateAccessKey", "iam", at(time.Minute)), ev("GetUser", "iam", at(80*time.Minute)))
	if len(r.alerts) != 0 {
		t.Fatalf("warm-up: %v", r.alerts)
	}
}

// Baselines outlive a restart.
func TestBaselinesPersist(t *testing.T) {
	role := "arn:aws:iam::" + acct + ":role/app"
	e, _ := newEngine(t, warm)
	run(e, ev("AssumeRole", "sts", with("roleArn", role)), ev("ListUsers", "iam"))
	var buf bytes.Buffer
	if err := e.SaveBaselines(&buf); err != nil {
		t.Fatal(err)
	}
	e2, r := newEngine(t, warm)
	if err := e2.LoadBaselines(&buf); err != nil {
		t.Fatal(err)
	}
	run(e2, ev("AssumeRole", "sts", with("roleArn", role), at(2*time.Hour)), ev("ListUsers", "iam", at(2*time.Hour)))
	if count(r, "new-network") != 0 || count(r, "new-action") != 0 {
		t.Fatalf("restored baselines forgot: %v", r.rules())
	}
	run(e2, ev("AssumeRole", "sts", with("roleArn", role), from("192.0.2.1"), at(2*time.Hour)))
	if count(r, "new-network") != 1 {
		t.Fatalf("restored baselines not warm: %v", r.rules())
	}
}

type responder struct {
	calls []string
	err   error
}

func (r *responder) Respond(_ context.Context, a *Alert) error {
	subject := a.AccessKeyID
	if a.Response == RevokePrincipal {
		subject = a.PrincipalARN
	}
	r.calls = append(r.calls, string(a.Response)+" "+subject)
	return r.err
}

func TestResponses(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
rules:
  session-two-networks: {response: revoke-session}
  root-key-use: {response: deactivate-key, mode: observe}
  invalid-credentials: {enabled: false}
  signature-mismatch: {response: quarantine-key, threshold: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &responder{}
	e, r := newEngine(t, cfg, func(o *Options) { o.Responder = resp })
	s := key("ASIASTOLEN")
	run(e, ev("GetCallerIdentity", "sts", s), ev("GetCallerIdentity", "sts", s, from("192.0.2.9"), at(time.Second)),
		ev("ListUsers", "iam", as("Root", "arn:aws:iam::"+acct+":root"), key("AKIAROOT")),
		ev("GetCallerIdentity", "sts", fails("InvalidClientTokenId", "x"), key("ASIAX")),
		ev("GetCallerIdentity", "sts", fails("SignatureDoesNotMatch", "x"), key("AKIALEAK")),
		ev("GetCallerIdentity", "sts", fails("SignatureDoesNotMatch", "x"), key("AKIALEAK"), at(time.Second)))
	if strings.Join(resp.calls, ",") != "revoke-session ASIASTOLEN,quarantine-key AKIALEAK" {
		t.Fatalf("responses %v", resp.calls)
	}
	got := map[string]string{}
	for _, a := range r.alerts {
		got[a.Rule] = a.Outcome
	}
	if len(got) != 3 || got["session-two-networks"] != "done" || got["root-key-use"] != "observed" || got["signature-mismatch"] != "done" {
		t.Fatalf("%v", got)
	}
	// A failed response is reported in the alert.
	resp.err = errors.New("AccessDenied")
	run(e, ev("GetCallerIdentity", "sts", key("ASIAB")), ev("GetCallerIdentity", "sts", key("ASIAB"), from("192.0.2.10"), at(time.Second)))
	if last := r.alerts[len(r.alerts)-1]; last.Outcome != "AccessDenied" {
		t.Fatalf("%+v", last)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, doc := range []string{
		`rules: {no-such-rule: {}}`,
		`rules: {mfa-failures: {treshold: 3}}`,
		`rules: {mfa-failures: {threshold: -1}}`,
		`rules: {mfa-failures: {window: forever}}`,
		`rules: {mfa-failures: {response: nuke}}`,
		`rules: {mfa-failures: {mode: maybe}}`,
		`{"rules": [1]}`,
		`warmup: 3`,
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", doc)
		}
	}
	c, err := ParseConfig([]byte(`{"warmup":"48h","rules":{"mfa-failures":{"threshold":3,"window":"1m"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := c.rules()
	if rs["mfa-failures"].threshold != 3 || rs["mfa-failures"].window != time.Minute || time.Duration(c.Warmup) != 48*time.Hour {
		t.Fatalf("%+v", rs["mfa-failures"])
	}
}

// State is bounded: a flood of distinct subjects keeps at most MaxSubjects.
func TestBounded(t *testing.T) {
	e, _ := newEngine(t, Config{}, func(o *Options) { o.MaxSubjects = 100 })
	for i := range 10_000 {
		run(e, ev("GetCallerIdentity", "sts", key(fmt.Sprintf("ASIA%06d", i)), from(fmt.Sprintf("10.%d.%d.1", i/256%256, i%256)),
			fails("AccessDenied", "x"), as("IAMUser", fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, i))))
	}
	if e.counts.len() > 100 || e.cooldowns.len() > 100 || e.base.subjects.len() > 100 || e.base.sessions.len() > 100 {
		t.Fatalf("tables %d %d %d %d", e.counts.len(), e.cooldowns.len(), e.base.subjects.len(), e.base.sessions.len())
	}
}

// Observe never blocks: a full queue drops and counts.
func TestObserveNeverBlocks(t *testing.T) {
	e, _ := newEngine(t, Config{}, func(o *Options) { o.Queue = 4 })
	for range 10 {
		e.Observe(ev("GetCallerIdentity", "sts"))
	}
	if _, dropped, _ := e.Stats(); dropped != 6 {
		t.Fatalf("dropped %d", dropped)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, _, _ := e.Stats(); p == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not drain the queue")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

// Events queued when Run ends are evaluated and learned from before its
// last flush: a server stopped right after a call keeps what the call
// taught (e2e TestDetectionBaselinesPersist lost it when a batch was still
// queued at the stop).
func TestRunDrainsQueueWhenItEnds(t *testing.T) {
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh })
	for i := range 50 {
		e.Observe(ev("AssumeRole", "sts", as("IAMUser", fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, i))))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	<-e.wake // Run sees the end, not the batch's wake-up
	e.Run(ctx)
	if p, _, _ := e.Stats(); p != 50 {
		t.Fatalf("processed %d of 50 queued events", p)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := range 50 {
		if _, ok := sh.base[fmt.Sprintf("principal:arn:aws:iam::%s:user/u%d", acct, i)]; !ok {
			t.Fatalf("u%d's baseline was not written", i)
		}
	}
}

// BenchmarkProcess: events per second on one core with every default rule.
//
//	go test ./internal/detect -run '^$' -bench Process -cpu 1
func BenchmarkProcess(b *testing.B) {
	e, _ := newEngine(b, Config{})
	evs := make([]Event, 1024)
	for i := range evs {
		evs[i] = ev([]string{"AssumeRole", "GetCallerIdentity", "ListUsers", "GetUser"}[i%4], []string{"sts", "sts", "iam", "iam"}[i%4],
			key(fmt.Sprintf("ASIA%06d", i%100)), from(fmt.Sprintf("10.0.%d.%d", i%7, i%250)), at(time.Duration(i)*time.Millisecond),
			as("AssumedRole", fmt.Sprintf("arn:aws:sts::%s:assumed-role/r%d/s", acct, i%50)), issuer(fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i%50)),
			with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i%50)))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := evs[i%len(evs)]
		x.Time = t0.Add(time.Duration(i) * time.Millisecond)
		e.Process(ctx, x)
		i++
	}
}

// memShared is the shared state of a deployment, in memory, as the store
// keeps it (store.DetectState; storetest checks the real ones).
type memShared struct {
	mu     sync.Mutex
	claims map[string]time.Time
	base   map[string][]byte
	puts   int // baselines written
	gets   int // GetBaselines calls
	read   int // subjects asked for by GetBaselines
}

// A subject that keeps doing what it was seen doing costs the shared state
// no write: only what it learns (a value, an hour, its first sighting, ten
// more minutes of rate history) is written back.
func TestBaselinesWrittenWhenLearned(t *testing.T) {
	noSavePhase(t)
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh })
	role := "arn:aws:iam::" + acct + ":role/app"
	call := func(d time.Duration, opts ...func(*Event)) {
		run(e, ev("AssumeRole", "sts", append([]func(*Event){with("roleArn", role), at(d)}, opts...)...))
	}
	call(0)
	e.Flush(context.Background())
	first := sh.puts
	if first != 2 { // the role's baseline and its caller's
		t.Fatalf("first flush wrote %d baselines, want 2", first)
	}
	for i := range 50 {
		call(time.Duration(i) * time.Second)
	}
	e.Flush(context.Background())
	if sh.puts != first {
		t.Fatalf("repeated calls wrote %d baselines", sh.puts-first)
	}
	call(time.Minute, from("198.51.100.7")) // a new network for the role
	e.Flush(context.Background())
	if sh.puts != first+1 {
		t.Fatalf("a new network wrote %d baselines, want 1", sh.puts-first)
	}
	call(10*time.Minute + time.Second) // ten minutes of the caller's rate history, a new network for neither
	e.Flush(context.Background())
	if sh.puts != first+2 {
		t.Fatalf("rate history wrote %d baselines, want 1 more", sh.puts-first-1)
	}
}

// Run reads the baselines of a batch's new subjects in one query, not one
// a subject, and what it read counts (a stored baseline is not new).
func TestPrefetchBaselines(t *testing.T) {
	sh := newMemShared()
	known := "arn:aws:iam::" + acct + ":user/u7"
	sh.base["principal:"+known] = []byte(`{"first":"2020-01-01T00:00:00Z","actions":["sts.amazonaws.com:GetCallerIdentity"]}`)
	e, r := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh })
	for i := range 100 {
		e.Observe(ev("AssumeRole", "sts", as("IAMUser", fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, i)),
			with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i))))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if p, _, _ := e.Stats(); p == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not drain the queue")
		}
	}
	cancel()
	<-done
	sh.mu.Lock()
	gets := sh.gets
	sh.mu.Unlock()
	if gets > 2 { // the prefetch, and the flush when Run ends
		t.Fatalf("%d reads of the shared baselines for 200 new subjects", gets)
	}
	// u7's stored baseline was read: it is warm, and AssumeRole is new to it.
	if n := count(r, "new-action"); n != 1 {
		t.Fatalf("new-action alerts %d, want 1 (u7's): %v", n, r.rules())
	}
}

func newMemShared() *memShared {
	return &memShared{claims: map[string]time.Time{}, base: map[string][]byte{}}
}

func (m *memShared) Claim(_ context.Context, key string, until, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.claims[key]; ok && u.After(now) {
		return false, nil
	}
	m.claims[key] = until
	return true, nil
}

func (m *memShared) GetBaselines(_ context.Context, keys []string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	m.read += len(keys)
	return m.holds(keys), nil
}

// holds is what m holds of keys; the caller holds m.mu.
func (m *memShared) holds(keys []string) map[string][]byte {
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := m.base[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (m *memShared) PutBaselines(_ context.Context, b map[string][]byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts += len(b)
	for k, v := range b {
		m.base[k] = v
	}
	return nil
}

// snapshot is what m holds of keys.
func (m *memShared) snapshot(keys []string) map[string][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holds(keys)
}

// MergeBaselines reads, merges and writes under the lock, as the store
// does in one transaction.
func (m *memShared) MergeBaselines(_ context.Context, keys []string, _ time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	m.read += len(keys)
	out, err := merge(m.holds(keys)) // the lock held throughout
	if err != nil {
		return err
	}
	m.puts += len(out)
	for k, v := range out {
		if slices.Contains(keys, k) {
			m.base[k] = v
		}
	}
	return nil
}

// Two nodes: one alert per incident, and what one node learned the other
// knows after a flush (and a restarted node remembers).
func TestSharedAcrossNodes(t *testing.T) {
	sh := newMemShared()
	cfg := Config{Warmup: Duration(time.Hour)}
	withShared := func(o *Options) { o.Shared = sh }
	a, ra := newEngine(t, cfg, withShared)
	b, rb := newEngine(t, cfg, withShared)
	forged := ev("GetCallerIdentity", "sts", fails("InvalidClientTokenId", "x"), key("ASIAFORGED"))
	run(a, forged)
	run(b, forged)
	if n := count(ra, "invalid-credentials") + count(rb, "invalid-credentials"); n != 1 {
		t.Fatalf("%d alerts for one incident on two nodes", n)
	}

	role := "arn:aws:iam::" + acct + ":role/app"
	// Node a sees the role assumed from two networks during the warm-up.
	run(a, ev("AssumeRole", "sts", with("roleArn", role)), ev("AssumeRole", "sts", with("roleArn", role), from("198.51.100.5"), at(time.Minute)))
	a.Flush(context.Background())
	// Node b, after the warm-up, sees the second network for the first
	// time itself: no alert; a third network alerts once, on one node.
	run(b, ev("AssumeRole", "sts", with("roleArn", role), from("198.51.100.9"), at(2*time.Hour)))
	if n := count(rb, "new-network"); n != 0 {
		t.Fatalf("node b alerted on a network node a had learned")
	}
	run(b, ev("AssumeRole", "sts", with("roleArn", role), from("192.0.2.1"), at(2*time.Hour)))
	run(a, ev("AssumeRole", "sts", with("roleArn", role), from("192.0.2.1"), at(2*time.Hour)))
	if n := count(ra, "new-network") + count(rb, "new-network"); n != 1 {
		t.Fatalf("%d new-network alerts", n)
	}
	// A restarted node reads the merged baseline.
	b.Flush(context.Background())
	c, rc := newEngine(t, cfg, withShared)
	run(c, ev("AssumeRole", "sts", with("roleArn", role), from("192.0.2.200"), at(150*time.Minute)), ev("AssumeRole", "sts", with("roleArn", role), at(150*time.Minute)))
	if len(rc.alerts) != 0 {
		t.Fatalf("restarted node: %v", rc.rules())
	}
}

// An unauthenticated request names any access key id it likes: a flood of
// made-up ids from one source raises a bounded number of alerts, while
// other sources, and the same source after the cool-down, still raise
// theirs.
func TestInvalidCredentialsBoundedBySource(t *testing.T) {
	bad := fails("InvalidClientTokenId", "The security token included in the request is invalid.")
	unauth := func(e *Event) { e.Account, e.Type, e.ARN, e.UserName = "", "Unknown", "", "" }
	e, r := newEngine(t, Config{})
	for i := range 1000 {
		run(e, ev("GetCallerIdentity", "sts", bad, unauth, key(fmt.Sprintf("AKIAMADEUP%06d", i)), at(time.Duration(i)*time.Millisecond)))
	}
	if n := count(r, "invalid-credentials"); n != maxSourceAlerts {
		t.Fatalf("1,000 made-up keys from one source: %d alerts, want %d", n, maxSourceAlerts)
	}
	run(e, ev("GetCallerIdentity", "sts", bad, unauth, key("ASIAREVOKED"), from("198.51.100.9"), at(time.Second)))
	if n := count(r, "invalid-credentials"); n != maxSourceAlerts+1 {
		t.Fatalf("another source: %d alerts, want %d", n, maxSourceAlerts+1)
	}
	run(e, ev("GetCallerIdentity", "sts", bad, unauth, key("ASIAREVOKED"), at(16*time.Minute)))
	if n := count(r, "invalid-credentials"); n != maxSourceAlerts+2 {
		t.Fatalf("after the cool-down: %d alerts, want %d", n, maxSourceAlerts+2)
	}
	// IPv6: one /48 is one source.
	for i := range 100 {
		run(e, ev("GetCallerIdentity", "sts", bad, unauth, key(fmt.Sprintf("AKIAV6%06d", i)), from(fmt.Sprintf("2001:db8:1:%x::1", i)), at(time.Hour)))
	}
	if n := count(r, "invalid-credentials"); n != 2*maxSourceAlerts+2 {
		t.Fatalf("IPv6 /48: %d alerts, want %d", n, 2*maxSourceAlerts+2)
	}
}

// Baselines written before the sets were arrays (JSON objects) still
// read, and sets stay sorted and without duplicates.
func TestBaselineSetsJSON(t *testing.T) {
	var bl baseline
	if err := json.Unmarshal([]byte(`{"first":"2026-01-01T00:00:00Z","networks":{"10.0.0.0/24":{},"192.0.2.0/24":{}},"actions":["b","a","b"]}`), &bl); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bl.Networks, strSet{"10.0.0.0/24", "192.0.2.0/24"}) || !slices.Equal(bl.Actions, strSet{"a", "b"}) {
		t.Fatalf("read %v %v", bl.Networks, bl.Actions)
	}
	if !learn(&bl.Actions, "aa", maxActions) || learn(&bl.Actions, "a", maxActions) || !slices.Equal(bl.Actions, strSet{"a", "aa", "b"}) {
		t.Fatalf("learn: %v", bl.Actions)
	}
	out, err := json.Marshal(&bl)
	if err != nil || !strings.Contains(string(out), `"actions":["a","aa","b"]`) {
		t.Fatalf("wrote %s, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"networks":7}`), &bl); err == nil {
		t.Fatal("a number read as a set")
	}
}

// What detection keeps per entity at scale: n users each assuming its own
// role once (a role baseline and a principal baseline each), measured as
// live heap. The bound is generous; the figure is in the log:
//
//	go test ./internal/detect -run BytesPerEntity -v
func TestBytesPerEntity(t *testing.T) {
	const n = 20000
	e, _ := newEngine(t, Config{})
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = ev("AssumeRole", "sts", as("IAMUser", fmt.Sprintf("arn:aws:iam::%s:user/u%07d", acct, i)),
			with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%07d", acct, i)), key(fmt.Sprintf("AKIA%016d", i)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx := context.Background()
	for i := range evs {
		e.Process(ctx, evs[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes of live heap an entity (%d subjects)", per, e.base.subjects.len())
	if per > 2048 {
		t.Fatalf("%d bytes an entity", per)
	}
	runtime.KeepAlive(evs)
	runtime.KeepAlive(e)
}

// The queue's chunks are reused: a burst's extra chunks are let go (at
// most maxFreeChunks kept), events come out in order, and queueing into a
// kept chunk allocates nothing.
func TestQueueChunksReused(t *testing.T) {
	e, _ := newEngine(t, Config{})
	n := (maxFreeChunks+2)*chunkEvents + 5
	for i := range n {
		e.Observe(Event{ID: itoa(i)})
	}
	batch := e.take()
	if len(batch) != maxFreeChunks+3 {
		t.Fatalf("%d chunks for %d events", len(batch), n)
	}
	got := 0
	for i, ev := range events(batch) {
		if ev.ID != itoa(i) {
			t.Fatalf("event %d is %q", i, ev.ID)
		}
		got++
	}
	if got != n {
		t.Fatalf("%d events, want %d", got, n)
	}
	e.done(batch)
	if len(e.free) != maxFreeChunks {
		t.Fatalf("kept %d chunks, want %d", len(e.free), maxFreeChunks)
	}
	for _, c := range e.free {
		if c.n != 0 || c.ev[0].ID != "" {
			t.Fatal("a kept chunk holds an event")
		}
	}
	if a := testing.AllocsPerRun(100, func() { e.Observe(Event{ID: "x"}) }); a != 0 {
		t.Fatalf("Observe allocates %v times", a)
	}
	e.done(e.take())
}

// A stolen session used from a second network is caught after more
// sessions than the baselines held decoded (Options.Baselines, which the
// server keeps small): the sessions remembered are bounded by MaxSubjects.
func TestSessionTwoNetworksPastBaselines(t *testing.T) {
	e, r := newEngine(t, Config{}, func(o *Options) { o.MaxSubjects, o.Baselines = 1000, 10 })
	s := key("ASIASTOLEN")
	run(e, ev("GetCallerIdentity", "sts", s, from("203.0.113.7")))
	for i := range 500 {
		run(e, ev("GetCallerIdentity", "sts", key(fmt.Sprintf("ASIAOTHER%06d", i)), from("203.0.113.7"), at(time.Second)))
	}
	if e.base.subjects.len() > 10 {
		t.Fatalf("%d baselines held, bound 10", e.base.subjects.len())
	}
	run(e, ev("GetCallerIdentity", "sts", s, from("192.0.2.9"), at(2*time.Minute)))
	if count(r, "session-two-networks") != 1 {
		t.Fatalf("the stolen session's second network was not caught: %v", r.rules())
	}
}

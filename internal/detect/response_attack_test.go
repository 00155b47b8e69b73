package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// unauthenticated is an event of an unsigned request (an LDAP sign-in):
// no account, as the server makes it.
func unauthenticated(x *Event) { x.Account = "" }

// TestResponseSparesABystanderOfASourceBurst: a source-keyed window (here
// access-denied-burst by source address) is filled by an attacker's own
// low-privilege key; the one AccessDenied of another principal from the same
// address (a NAT, a proxy, or any client: the main listener has no
// X-Forwarded-For support, so behind a load balancer every client shares one
// source) crosses the threshold, and the rule's response is carried out on
// that bystander, whose only failure was one denied call.
func TestResponseSparesABystanderOfASourceBurst(t *testing.T) {
	cfg, err := ParseConfig([]byte(`rules: {access-denied-burst: {response: quarantine-key}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &responder{}
	e, r := newEngine(t, cfg, func(o *Options) { o.Responder = resp })
	mallory := as("IAMUser", "arn:aws:iam::"+acct+":user/mallory")
	for i := range 19 {
		run(e, ev("ListUsers", "iam", mallory, key("AKIAMALLORY"), fails("AccessDenied", "x"), from("10.0.0.1"), at(time.Duration(i)*time.Second)))
	}
	run(e, ev("ListUsers", "iam", key("AKIAALICE"), fails("AccessDenied", "x"), from("10.0.0.1"), at(30*time.Second)))
	for _, c := range resp.calls {
		if strings.Contains(c, "AKIAALICE") {
			t.Fatalf("alice (one AccessDenied) was the subject of the response to mallory's burst: %v", resp.calls)
		}
	}
	// The source's alert is raised, its response not carried out.
	if n := count(r, "access-denied-burst"); n != 1 || !strings.HasPrefix(r.alerts[0].Outcome, "not carried out") {
		t.Fatalf("%d alerts, %+v", n, r.alerts)
	}
}

// TestResponseSparesAnotherSessionOfARoleSpike: rate-spike counts a role's
// calls across all its sessions but responds to the session whose call
// crossed the threshold: one session of a shared role makes 29 calls, the
// next call of another session of the role gets that session revoked.
func TestResponseSparesAnotherSessionOfARoleSpike(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"warmup":"1h","rules":{"rate-spike":{"response":"revoke-session"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &responder{}
	e, _ := newEngine(t, cfg, func(o *Options) { o.Responder = resp })
	role := "arn:aws:iam::" + acct + ":role/worker"
	sess := func(name, k string) []func(*Event) {
		return []func(*Event){as("AssumedRole", "arn:aws:sts::"+acct+":assumed-role/worker/"+name), issuer(role), key(k)}
	}
	// Two hours of a quiet baseline (one call a minute, the victim's).
	for m := range 120 {
		run(e, ev("GetCallerIdentity", "sts", append(sess("pod-b", "ASIAVICTIM"), at(time.Duration(m)*time.Minute))...))
	}
	base := 121 * time.Minute
	for i := range 29 {
		run(e, ev("GetCallerIdentity", "sts", append(sess("pod-a", "ASIAATTACKER"), at(base+time.Duration(i)*time.Second))...))
	}
	run(e, ev("GetCallerIdentity", "sts", append(sess("pod-b", "ASIAVICTIM"), at(base+40*time.Second))...))
	for _, c := range resp.calls {
		if strings.Contains(c, "ASIAVICTIM") {
			t.Fatalf("the victim session was revoked for the attacker's spike: %v", resp.calls)
		}
	}
}

// TestLDAPUserNamesCannotFloodAlerts: ldap-bind-failures counts by the
// user name as typed, with no bound per source (invalid-credentials has
// maxSourceAlerts for this reason): one unauthenticated source raises a
// high-severity alert (and a store claim, audit event, webhook message)
// per five requests, even with no LDAP provider configured.
func TestLDAPUserNamesCannotFloodAlerts(t *testing.T) {
	e, r := newEngine(t, Config{})
	for u := range 200 {
		for i := range 5 {
			run(e, ev("AssumeRoleWithLDAPIdentity", "sts", as("Unknown", ""), key(""), unauthenticated,
				fails("InvalidParameterValue", "x"), with("ldapUsername", fmt.Sprintf("nobody%d", u)), at(time.Duration(u*5+i)*time.Millisecond)))
		}
	}
	if n := count(r, "ldap-bind-failures"); n > maxSourceAlerts+1 {
		t.Fatalf("one source raised %d ldap-bind-failures alerts with made-up user names", n)
	}
}

// TestUnauthenticatedKeysCannotEvictWindows: the counting windows of every rule
// share one LRU table of MaxSubjects keys, and an unauthenticated request
// adds a key of its choosing (an LDAP user name): 19 AccessDenied of a
// stolen key, 20,000 one-shot LDAP failures (which alert on nothing but
// one source alert), 19 more AccessDenied: 38 within 5 minutes, no
// access-denied-burst for the key.
func TestUnauthenticatedKeysCannotEvictWindows(t *testing.T) {
	e, r := newEngine(t, Config{})
	thief := []func(*Event){key("AKIASTOLEN"), from("198.51.100.1")}
	denied := fails("AccessDenied", "x")
	clock := time.Duration(0)
	tick := func() func(*Event) { clock += time.Millisecond; return at(clock) }
	for round := range 2 {
		for range 19 {
			run(e, ev("ListUsers", "iam", append(thief, denied, tick())...))
		}
		if round == 0 {
			for u := range 20_000 {
				run(e, ev("AssumeRoleWithLDAPIdentity", "sts", as("Unknown", ""), key(""), unauthenticated, from("203.0.113.99"),
					fails("InvalidParameterValue", "x"), with("ldapUsername", fmt.Sprintf("junk%d", u)), tick()))
			}
		}
	}
	if clock > 5*time.Minute {
		t.Fatalf("took %v", clock)
	}
	if count(r, "access-denied-burst") == 0 {
		t.Fatalf("38 AccessDenied of one key within %v raised no access-denied-burst (alerts: %d ldap-bind-failures)", clock, count(r, "ldap-bind-failures"))
	}
}

// TestSessionsOfOneNameCountApart (found by a review as an attacker): a
// session's ARN ends in the name its caller chose, so mallory's session of
// a role, named as alice's, filled the window of alice's ARN and the
// response named it. Each session's own key now keys its window.
func TestSessionsOfOneNameCountApart(t *testing.T) {
	cfg, err := ParseConfig([]byte(`rules: {access-denied-burst: {response: revoke-session}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &responder{}
	e, r := newEngine(t, cfg, func(o *Options) { o.Responder = resp })
	sess := func(k string) []func(*Event) {
		return []func(*Event){as("AssumedRole", "arn:aws:sts::"+acct+":assumed-role/ci/alice.smith"), issuer("arn:aws:iam::" + acct + ":role/ci"), key(k)}
	}
	for i := range 19 {
		run(e, ev("ListUsers", "iam", append(sess("ASIAMALLORY"), fails("AccessDenied", "x"), from(fmt.Sprintf("10.0.0.%d", i)), at(time.Duration(i)*time.Second))...))
	}
	run(e, ev("ListUsers", "iam", append(sess("ASIAALICE"), fails("AccessDenied", "x"), from("10.1.0.1"), at(30*time.Second))...))
	if n := count(r, "access-denied-burst"); n != 0 {
		t.Fatalf("19 and 1 AccessDenied of two sessions raised %d alerts: %+v", n, r.alerts)
	}
	run(e, ev("ListUsers", "iam", append(sess("ASIAMALLORY"), fails("AccessDenied", "x"), from("10.0.0.99"), at(31*time.Second))...))
	if n := count(r, "access-denied-burst"); n != 1 || r.alerts[0].AccessKeyID != "ASIAMALLORY" || len(resp.calls) != 1 || !strings.Contains(resp.calls[0], "ASIAMALLORY") {
		t.Fatalf("mallory's twentieth: %+v %v", r.alerts, resp.calls)
	}
}

// TestRoleSpellingsShareABaseline (found by a review as an attacker): a
// role's baseline was keyed on the RoleArn the request gave, which
// AssumeRole accepts in any case (and with any path): role/dEPLOY started
// a baseline of its own, in warm-up, and a new network or client went
// unremarked. The role is now read from the answer's session ARN.
func TestRoleSpellingsShareABaseline(t *testing.T) {
	e, r := newEngine(t, Config{Warmup: Duration(time.Hour)})
	assume := func(typed, session, ip string, d time.Duration) {
		run(e, ev("AssumeRole", "sts", from(ip), at(d), func(x *Event) {
			x.Params.RoleArn, x.AssumedRoleARN = typed, "arn:aws:sts::"+acct+":assumed-role/Deploy/"+session
		}))
	}
	for m := range 120 {
		assume("arn:aws:iam::"+acct+":role/Deploy", "ci", "10.0.0.1", time.Duration(m)*time.Minute)
	}
	assume("arn:aws:iam::"+acct+":role/team/dEPLOY", "x", "198.51.100.7", 121*time.Minute)
	if count(r, "new-network") != 1 {
		t.Fatalf("role/team/dEPLOY from a new network: %+v", r.alerts)
	}
	if got := assumedRole("arn:aws:sts::" + acct + ":assumed-role/Deploy/s"); got != "arn:aws:iam::"+acct+":role/Deploy" {
		t.Fatal(got)
	}
	for _, bad := range []string{"", "arn:aws:iam::" + acct + ":role/Deploy", "arn:aws:sts::" + acct + ":assumed-role/Deploy", "arn:aws:sts::" + acct + ":federated-user/x"} {
		if got := assumedRole(bad); got != "" {
			t.Errorf("assumedRole(%q) = %q", bad, got)
		}
	}
}

// TestRelayedEventsAreNotActedOn: a resource server reports its clients'
// requests through the authorize API, choosing the action and resource
// asked about and free to replay a client's signed request: twenty Denies
// it reports for alice raise the alert, and no response is carried out on
// her.
func TestRelayedEventsAreNotActedOn(t *testing.T) {
	cfg, err := ParseConfig([]byte(`rules: {access-denied-burst: {response: quarantine-key}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &responder{}
	e, r := newEngine(t, cfg, func(o *Options) { o.Responder = resp })
	for i := range 20 {
		run(e, ev("GetObject", "s3", fails("AccessDenied", "x"), at(time.Duration(i)*time.Second), func(x *Event) { x.Relayed = true }))
	}
	if count(r, "access-denied-burst") == 0 || len(resp.calls) != 0 {
		t.Fatalf("alerts %+v, responses %v", r.alerts, resp.calls)
	}
	for _, a := range r.alerts {
		if !strings.HasPrefix(a.Outcome, "not carried out") {
			t.Fatalf("outcome %q", a.Outcome)
		}
	}
}

// TestMadeUpKeysCannotSilenceARealOne: the bound on alerts for made-up
// key ids is per source; spent on made-up ids, it must not silence the
// alerts about a real key whose secret the same source then guesses.
func TestMadeUpKeysCannotSilenceARealOne(t *testing.T) {
	e, r := newEngine(t, Config{})
	clock := time.Duration(0)
	bad := func(id string) {
		clock += time.Second
		run(e, ev("GetCallerIdentity", "sts", unauthenticated, key(id), as("Unknown", ""), fails("SignatureDoesNotMatch", "x"), from("198.51.100.9"), at(clock),
			func(x *Event) { x.RealCredential = id == "AKIAREAL" }))
	}
	for i := range 20 {
		for range 5 {
			bad(fmt.Sprintf("AKIAMADEUP%04d", i))
		}
	}
	if n := count(r, "signature-mismatch"); n != maxSourceAlerts {
		t.Fatalf("%d alerts for 20 made-up ids, want %d", n, maxSourceAlerts)
	}
	for range 5 {
		bad("AKIAREAL")
	}
	if n := count(r, "signature-mismatch"); n != maxSourceAlerts+1 || r.alerts[len(r.alerts)-1].AccessKeyID != "AKIAREAL" {
		t.Fatalf("the real key's guesses raised nothing: %d alerts", n)
	}
}

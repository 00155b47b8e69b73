package verifier_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// holdingTransport holds the first GetVerificationData call for key
// until another GetVerificationData call for key is made (or a while has
// passed), and tells when it holds it.
type holdingTransport struct {
	key     string
	mu      sync.Mutex
	calls   int
	held    chan struct{}
	release chan struct{}
}

func (h *holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetVerificationData") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if bytes.Contains(b, []byte(h.key)) {
			h.mu.Lock()
			h.calls++
			n := h.calls
			h.mu.Unlock()
			switch n {
			case 1:
				close(h.held)
				select {
				case <-h.release:
				case <-time.After(3 * time.Second):
				}
			case 2:
				close(h.release)
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestAttackLocalFlightPoisoning: in local mode, concurrent requests for
// one access key and scope share one fetch of its verification data, made
// with the proof (string to sign and signature) of whichever came first.
// An attacker who knows only alice's access key id sent a request with a
// wrong signature for her scope; alice's own request, arriving while that
// fetch was under way, was answered with the attacker's
// SignatureDoesNotMatch. Kept up, this refused every request of alice's
// whose key was not cached. A fetch is now shared only by requests with
// the same proof.
func TestAttackLocalFlightPoisoning(t *testing.T) {
	self, err := newUser("flight-svc", verifierPolicy)
	if err != nil {
		t.Fatal(err)
	}
	read := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	alice, err := newUser("flight-alice", read)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := newUser("flight-bob", read)
	if err != nil {
		t.Fatal(err)
	}
	ht := &holdingTransport{key: alice.AccessKeyID, held: make(chan struct{}), release: make(chan struct{})}
	v, err := verifier.New(verifier.Config{Mode: verifier.Local, Endpoint: openstsEndpoint, Credentials: credentials.StaticCredentialsProvider{Value: self},
		HTTPClient: &http.Client{Transport: ht}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// The revocation set is fetched (with bob's first decision).
	if got := decide(t, v, bob); got != "Allow" {
		t.Fatalf("bob: %s", got)
	}
	forged := aws.Credentials{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "not alice's secret"}
	attacker := make(chan string, 1)
	go func() {
		d, err := v.Authorize(bg, signedRequest(t, forged, "http://data.s3.test/data/a.txt", "us-east-1", "s3"), emptyHash, "s3:GetObject", "arn:aws:s3:::data/a.txt", nil)
		switch {
		case err != nil:
			attacker <- err.Error()
		case d.AuthenticationError != nil:
			attacker <- d.AuthenticationError.Code
		default:
			attacker <- d.Decision
		}
	}()
	<-ht.held // the attacker's fetch is under way
	if got := decide(t, v, alice); got != "Allow" {
		t.Errorf("alice's own request during the attacker's fetch: %s, want Allow", got)
	}
	if got := <-attacker; got != "SignatureDoesNotMatch" {
		t.Errorf("the attacker's request: %s", got)
	}
}

// TestAttackFragment: a request signed for data/a.txt, received with
// "#x" after its path (net/http leaves a raw "#" in RequestURI), must not
// be allowed in either mode: the resource server would act on
// "data/a.txt#x". Local mode verifies the path as received (the
// signature does not match); remote mode's server refuses a URL with a
// fragment.
func TestAttackFragment(t *testing.T) {
	self, err := newUser("frag-svc", verifierPolicy)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := newUser("frag-alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []verifier.Mode{verifier.Local, verifier.Remote} {
		v := newVerifier(t, mode, self, 0)
		if got := decide(t, v, alice); got != "Allow" {
			t.Fatalf("%s: the signed request: %s", mode, got)
		}
		r := signedRequest(t, alice, "http://data.s3.test/data/a.txt", "us-east-1", "s3")
		r.RequestURI = "/data/a.txt#x"
		d, err := v.Authorize(bg, r, emptyHash, "s3:GetObject", "arn:aws:s3:::data/a.txt#x", nil)
		if err == nil && d.Allowed() {
			t.Errorf("%s: a request with a fragment was allowed", mode)
		}
	}
}

// TestAttackVerificationDataOtherAccount: a verifier's own identity could
// read the policies, tags and session of any account's credentials it
// was shown (GetVerificationData), a signing key of their secret for its
// service (which signs those principals' requests to another account's
// service of the same name), and every account's revocation entries
// (GetRevocations). It now learns only that the credentials are another
// account's, and its own account's revocations; local mode asks the
// authorize API about the others and still decides as remote mode does.
func TestAttackVerificationDataOtherAccount(t *testing.T) {
	f := newFixture(t, "xacct")
	// A signed request of the member account's session, and its proof.
	r := signedRequest(t, f.memberSess, "http://data.s3.test/ext/a.txt", "us-east-1", "s3")
	sr, err := sigv4.NewVerifier(now).ParseHashAt(r, emptyHash, now())
	if err != nil {
		t.Fatal(err)
	}
	status, body := signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetVerificationData", map[string]any{
		"AccessKeyId": f.memberSess.AccessKeyID, "SessionToken": f.memberSess.SessionToken, "StringToSign": sr.StringToSign(), "Signature": sr.Signature()})
	if status != 200 {
		t.Fatalf("GetVerificationData: %d %s", status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out["OtherAccount"] != true || len(out) != 1 {
		t.Fatalf("another account's credentials: %s, want only OtherAccount", body)
	}
	// Without the proof, nothing either (and no oracle: a refusal).
	status, body = signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetVerificationData", map[string]any{
		"AccessKeyId": f.memberSess.AccessKeyID, "SessionToken": f.memberSess.SessionToken, "StringToSign": sr.StringToSign(), "Signature": strings.Repeat("0", 64)})
	if status != 200 || !bytes.Contains(body, []byte("AuthenticationError")) || bytes.Contains(body, []byte("OtherAccount")) {
		t.Fatalf("a wrong proof: %d %s", status, body)
	}
	// And no oracle of which credentials exist in other accounts: another
	// account's token or long-term key without a valid proof is answered
	// exactly as one that does not exist.
	_, unknownTok := signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetVerificationData", map[string]any{
		"AccessKeyId": "ASIAZZZZZZZZZZZZZZZZ", "SessionToken": f.memberSess.SessionToken[:40] + "x", "StringToSign": sr.StringToSign(), "Signature": strings.Repeat("0", 64)})
	if !bytes.Equal(body, unknownTok) {
		t.Fatalf("another account's token with a wrong proof: %s; an unknown token: %s", body, unknownTok)
	}
	memberIAM := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(openstsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(f.memberSess.AccessKeyID, f.memberSess.SecretAccessKey, f.memberSess.SessionToken)})
	mustDo[*iam.CreateUserOutput](t)(memberIAM.CreateUser(bg, &iam.CreateUserInput{UserName: aws.String("xacct-oracle")}))
	mk := mustDo[*iam.CreateAccessKeyOutput](t)(memberIAM.CreateAccessKey(bg, &iam.CreateAccessKeyInput{UserName: aws.String("xacct-oracle")}))
	var answers [][]byte
	for _, id := range []string{*mk.AccessKey.AccessKeyId, "AKIAZZZZZZZZZZZZZZZZ"} {
		_, b := signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetVerificationData", map[string]any{
			"AccessKeyId": id, "StringToSign": sr.StringToSign(), "Signature": strings.Repeat("0", 64)})
		if !bytes.Contains(b, []byte("AuthenticationError")) || bytes.Contains(b, []byte("SignatureDoesNotMatch")) {
			t.Fatalf("GetVerificationData of %s with a wrong proof: %s", id, b)
		}
		answers = append(answers, b)
	}
	if !bytes.Equal(answers[0], answers[1]) {
		t.Fatalf("another account's key with a wrong proof: %s; an unknown key: %s", answers[0], answers[1])
	}
	// Its own account's credentials: the full data, as before.
	ra := signedRequest(t, f.alice, "http://data.s3.test/data/a.txt", "us-east-1", "s3")
	sa, err := sigv4.NewVerifier(now).ParseHashAt(ra, emptyHash, now())
	if err != nil {
		t.Fatal(err)
	}
	status, body = signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetVerificationData", map[string]any{
		"AccessKeyId": f.alice.AccessKeyID, "StringToSign": sa.StringToSign(), "Signature": sa.Signature()})
	if status != 200 || !bytes.Contains(body, []byte(`"Policies"`)) || !bytes.Contains(body, []byte(`"SigningKey"`)) {
		t.Fatalf("its own account's credentials: %d %s", status, body)
	}

	// A revocation in the member account is not the verifier's to see,
	// nor is the fact that one happened: the version it holds stays
	// current.
	status, body = signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{})
	var before struct{ Version string }
	if err := json.Unmarshal(body, &before); status != 200 || err != nil || before.Version == "" {
		t.Fatalf("GetRevocations before: %d %s", status, body)
	}
	if status, body := signedCall(t, f.memberSess, "OpenSTSRevocation_20261204.RevokeSessions", map[string]any{"AccessKeyId": f.memberSess.AccessKeyID}); status != 200 {
		t.Fatalf("RevokeSessions in the member account: %d %s", status, body)
	}
	status, body = signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{"Version": before.Version})
	var after struct {
		Version  string
		Modified bool
	}
	if err := json.Unmarshal(body, &after); status != 200 || err != nil || after.Modified || after.Version != before.Version {
		t.Fatalf("another account's revocation changed the caller's version: %s, then %d %s", before.Version, status, body)
	}
	status, body = signedCall(t, f.self, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{})
	if status != 200 {
		t.Fatalf("GetRevocations: %d %s", status, body)
	}
	var revs struct{ Entries []struct{ Account string } }
	if err := json.Unmarshal(body, &revs); err != nil {
		t.Fatal(err)
	}
	own := 0
	for _, e := range revs.Entries {
		if e.Account != account {
			t.Fatalf("GetRevocations gave account %s's entry to account %s", e.Account, account)
		}
		own++
	}
	if own == 0 {
		t.Fatalf("GetRevocations lost the caller's own account's entries: %s", body)
	}
	// Local mode decides about the revoked member session through the
	// authorize API, as remote mode.
	local := newVerifier(t, verifier.Local, f.self, 0)
	remote := newVerifier(t, verifier.Remote, f.self, 0)
	q := &question{request: func(t *testing.T) *http.Request {
		return signedRequest(t, f.memberSess, "http://data.s3.test/ext/a.txt", "us-east-1", "s3")
	}, action: "s3:GetObject", resource: "arn:aws:s3:::ext/a.txt"}
	gotLocal, _, _ := ask(t, local, q)
	gotRemote, _, _ := ask(t, remote, q)
	if gotLocal != gotRemote || gotLocal == "Allow" {
		t.Fatalf("a revoked session of another account: local %s, remote %s", gotLocal, gotRemote)
	}
}

// TestAttackRevokedOtherAccountOrigin: a session of the verifier's own
// account chained from another account's session (a member account's
// session that assumed a role here) is revoked on the server when the
// other account revokes the session it came from. GetRevocations gives a
// verifier its own account's entries only, so local mode never sees that
// entry; it must still refuse the session, as remote mode does: the
// server refuses the revoked session's verification data (Authn checks
// the whole set), so a local verifier holds it at most its freshness
// bound, as it holds its own account's revocations.
func TestAttackRevokedOtherAccountOrigin(t *testing.T) {
	f := newFixture(t, "xorigin")
	c := rootIAM()
	role := mustDo[*iam.CreateRoleOutput](t)(c.CreateRole(bg, &iam.CreateRoleInput{RoleName: aws.String("xorigin-from-member"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + f.member + `:root"},"Action":"sts:AssumeRole"}]}`)}))
	mustDo[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(bg, &iam.PutRolePolicyInput{RoleName: aws.String("xorigin-from-member"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}))
	// The member account's session assumes the role of the verifier's
	// account: a session of this account whose chain starts in the member.
	chained := sessionCreds(mustDo[*sts.AssumeRoleOutput](t)(stsClient(f.memberSess).AssumeRole(bg, &sts.AssumeRoleInput{
		RoleArn: role.Role.Arn, RoleSessionName: aws.String("from-member")})).Credentials)
	q := &question{request: func(t *testing.T) *http.Request {
		return signedRequest(t, chained, "http://data.s3.test/data/a.txt", "us-east-1", "s3")
	}, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt"}
	if got, _, _ := ask(t, newVerifier(t, verifier.Remote, f.self, 0), q); got != "Allow" {
		t.Fatalf("the chained session before any revocation: %s", got)
	}
	// The member account revokes its session; the chained one goes with it.
	if status, body := signedCall(t, f.memberSess, "OpenSTSRevocation_20261204.RevokeSessions", map[string]any{"AccessKeyId": f.memberSess.AccessKeyID}); status != 200 {
		t.Fatalf("RevokeSessions in the member account: %d %s", status, body)
	}
	gotRemote, _, _ := ask(t, newVerifier(t, verifier.Remote, f.self, 0), q)
	gotLocal, _, _ := ask(t, newVerifier(t, verifier.Local, f.self, 0), q)
	if gotRemote == "Allow" {
		t.Fatalf("remote mode allowed a session chained from a revoked one")
	}
	if gotLocal != gotRemote {
		t.Fatalf("a session chained from another account's revoked session: local %s, remote %s", gotLocal, gotRemote)
	}
}

package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/verifier"
)

var bg = context.Background()

func mustDo[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func stsClient(c aws.Credentials) *sts.Client {
	return sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(openstsEndpoint),
		Credentials: credentials.StaticCredentialsProvider{Value: c}})
}

func sessionCreds(c *ststypes.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// signedCall calls one of OpenSTS's own JSON APIs as c.
func signedCall(t testing.TB, c aws.Credentials, target string, in any) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", openstsEndpoint+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if err := v4.NewSigner().SignHTTP(bg, c, req, sha256Hex(string(body)), "opensts", "us-east-1", now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// signedRequest is a GET of url as a resource server receives it, signed
// by c for region and service at now().
func signedRequest(t testing.TB, c aws.Credentials, url, region, service string) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", url, nil)
	r.Header.Set("X-Amz-Content-Sha256", emptyHash)
	if err := v4.NewSigner().SignHTTP(bg, c, r, emptyHash, service, region, now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	r.RequestURI = r.URL.RequestURI()
	return r
}

// presignedRequest is a GET of a URL presigned by c.
func presignedRequest(t testing.TB, c aws.Credentials, url string) *http.Request {
	t.Helper()
	u, _, err := v4.NewSigner().PresignHTTP(bg, c, httptest.NewRequest("GET", url, nil), verifier.UnsignedPayload, "s3", "us-east-1", now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", u, nil)
	r.RequestURI = r.URL.RequestURI()
	return r
}

func newVerifier(t testing.TB, mode verifier.Mode, self aws.Credentials, freshness time.Duration) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(verifier.Config{Mode: mode, Endpoint: openstsEndpoint, Credentials: credentials.StaticCredentialsProvider{Value: self},
		Now: now, Freshness: freshness})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const verifierPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["opensts:Authorize","opensts:GetVerificationData","opensts:GetStreamingSigningKey"],"Resource":"*"}]}`

// fixture is a set of principals of every kind, with their policies.
type fixture struct {
	self, alice, bounded, aliceGST, roleSess, plainSess, revokedSess, shortSess, memberSess aws.Credentials
	member                                                                                  string // memberSess's account
}

func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	f := &fixture{}
	var err error
	if f.self, err = newUser(prefix+"-svc", verifierPolicy); err != nil {
		t.Fatal(err)
	}
	f.alice, err = newUser(prefix+"-alice", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::data/*","arn:aws:s3:::ext/*"]},
		{"Sid":"NoSecret","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/secret/*"},
		{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":"home/*"}}},
		{"Sid":"Team","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::team/${aws:PrincipalTag/team}/*"},
		{"Sid":"TLS","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::data/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Sid":"Assume","Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := rootIAM()
	mustDo[*iam.TagUserOutput](t)(c.TagUser(bg, &iam.TagUserInput{UserName: aws.String(prefix + "-alice"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}}))
	f.aliceGST = sessionCreds(mustDo[*sts.GetSessionTokenOutput](t)(stsClient(f.alice).GetSessionToken(bg, &sts.GetSessionTokenInput{})).Credentials)

	boundary := mustDo[*iam.CreatePolicyOutput](t)(c.CreatePolicy(bg, &iam.CreatePolicyInput{PolicyName: aws.String(prefix + "-boundary"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}))
	if f.bounded, err = newUser(prefix+"-bounded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	mustDo[*iam.PutUserPermissionsBoundaryOutput](t)(c.PutUserPermissionsBoundary(bg, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String(prefix + "-bounded"),
		PermissionsBoundary: boundary.Policy.Arn}))

	role := mustDo[*iam.CreateRoleOutput](t)(c.CreateRole(bg, &iam.CreateRoleInput{RoleName: aws.String(prefix + "-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)}))
	mustDo[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(bg, &iam.PutRolePolicyInput{RoleName: aws.String(prefix + "-role"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}))
	assume := func(name, policy string, seconds int32) aws.Credentials {
		in := &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String(name), Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("red")}}}
		if policy != "" {
			in.Policy = aws.String(policy)
		}
		if seconds != 0 {
			in.DurationSeconds = aws.Int32(seconds)
		}
		return sessionCreds(mustDo[*sts.AssumeRoleOutput](t)(stsClient(f.alice).AssumeRole(bg, in)).Credentials)
	}
	f.roleSess = assume("scoped", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`, 0)
	f.plainSess = assume("plain", "", 0)
	f.revokedSess = assume("revoked", "", 0)
	f.shortSess = assume("short", "", 900)
	if status, body := signedCall(t, aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}, "OpenSTSRevocation_20261204.RevokeSessions",
		map[string]any{"AccessKeyId": f.revokedSess.AccessKeyID}); status != 200 {
		t.Fatalf("RevokeSessions: %d %s", status, body)
	}
	f.memberSess, f.member = memberSession(t, prefix)
	return f
}

// memberSession returns an administrator's session in a member account of
// the organization whose SCP denies s3:DeleteObject.
func memberSession(t *testing.T, prefix string) (aws.Credentials, string) {
	t.Helper()
	org := organizations.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(openstsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(rootKeyID, rootSecret, "")})
	_, err := org.CreateOrganization(bg, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	var exists *orgtypes.AlreadyInOrganizationException
	if err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	created := mustDo[*organizations.CreateAccountOutput](t)(org.CreateAccount(bg, &organizations.CreateAccountInput{AccountName: aws.String(prefix + "-member"),
		Email: aws.String(prefix + "-member@example.com")}))
	member := aws.ToString(created.CreateAccountStatus.AccountId)
	scp := mustDo[*organizations.CreatePolicyOutput](t)(org.CreatePolicy(bg, &organizations.CreatePolicyInput{Name: aws.String(prefix + "-no-delete"),
		Description: aws.String("no deletes"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`)}))
	mustDo[*organizations.AttachPolicyOutput](t)(org.AttachPolicy(bg, &organizations.AttachPolicyInput{PolicyId: scp.Policy.PolicySummary.Id, TargetId: aws.String(member)}))
	admin, err := newUser(prefix+"-admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	out := mustDo[*sts.AssumeRoleOutput](t)(stsClient(admin).AssumeRole(bg, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("ops")}))
	return sessionCreds(out.Credentials), member
}

// question is one request to decide, by both modes.
type question struct {
	name     string
	request  func(t *testing.T) *http.Request // nil: AuthorizeSessionToken with token
	token    aws.Credentials
	hash     string
	action   string
	resource string
	context  map[string][]string
	opts     []verifier.Option
	// want is the decision both modes must reach: Allow, Deny, an
	// authentication error's code, or an API error's code.
	want string
}

// ask asks v and returns the outcome's name and the decision.
func ask(t *testing.T, v *verifier.Verifier, q *question) (string, *verifier.Decision, error) {
	t.Helper()
	var (
		d   *verifier.Decision
		err error
	)
	if q.request == nil {
		d, err = v.AuthorizeSessionToken(bg, q.token.AccessKeyID, q.token.SessionToken, "192.0.2.1", q.action, q.resource, q.context, q.opts...)
	} else {
		hash := q.hash
		if hash == "" {
			hash = emptyHash
		}
		d, err = v.Authorize(bg, q.request(t), hash, q.action, q.resource, q.context, q.opts...)
	}
	var ae *verifier.APIError
	switch {
	case errors.As(err, &ae):
		return ae.Code, nil, err
	case err != nil:
		t.Fatalf("no decision: %v", err)
	case d.AuthenticationError != nil:
		return d.AuthenticationError.Code, d, nil
	}
	return d.Decision, d, nil
}

// TestLocalAgreesWithRemote decides a table of requests in both modes and
// requires the same answer, explanation and principal: allow and deny by
// identity policies, conditions, principal and session tags, session
// policies, permissions boundaries, SCPs, resource policies across
// accounts, long-term keys, role and GetSessionToken sessions, presigned
// URLs, tokens without a signature; and the failures: expired, revoked and
// tampered tokens, tampered signatures, keys scoped to another region or
// service, unknown keys, invalid input. Local mode answers each twice,
// from a cold and from a warm cache.
func TestLocalAgreesWithRemote(t *testing.T) {
	f := newFixture(t, "agree")
	remote := newVerifier(t, verifier.Remote, f.self, 0)
	local := newVerifier(t, verifier.Local, f.self, 0)

	get := func(c aws.Credentials, url string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return signedRequest(t, c, url, "us-east-1", "s3") }
	}
	scoped := func(c aws.Credentials, url, region, service string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return signedRequest(t, c, url, region, service) }
	}
	tamperToken := f.plainSess
	tamperToken.SessionToken = tamperToken.SessionToken[:100] + string("AB"[(strings.IndexByte("AB", tamperToken.SessionToken[100])+1)&1]) + tamperToken.SessionToken[101:]
	unknown := aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "x"}
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:user/agree-alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::ext/*"}]}`
	const obj = "http://data.s3.test/data/a.txt"

	questions := []question{
		{name: "user allowed", request: get(f.alice, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "user explicit deny", request: get(f.alice, "http://data.s3.test/data/secret/k"), action: "s3:GetObject", resource: "arn:aws:s3:::data/secret/k", want: "Deny"},
		{name: "user implicit deny", request: get(f.alice, "http://other.s3.test/x"), action: "s3:GetObject", resource: "arn:aws:s3:::other/x", want: "Deny"},
		{name: "condition met", request: get(f.alice, "http://data.s3.test/?prefix=home/a"), action: "s3:ListBucket", resource: "arn:aws:s3:::data",
			context: map[string][]string{"s3:prefix": {"home/a"}}, want: "Allow"},
		{name: "condition not met", request: get(f.alice, "http://data.s3.test/?prefix=etc"), action: "s3:ListBucket", resource: "arn:aws:s3:::data",
			context: map[string][]string{"s3:prefix": {"etc"}}, want: "Deny"},
		{name: "condition key missing", request: get(f.alice, "http://data.s3.test/"), action: "s3:ListBucket", resource: "arn:aws:s3:::data", want: "Deny"},
		{name: "principal tag", request: get(f.alice, "http://team.s3.test/blue/x"), action: "s3:GetObject", resource: "arn:aws:s3:::team/blue/x", want: "Allow"},
		{name: "principal tag other", request: get(f.alice, "http://team.s3.test/red/x"), action: "s3:GetObject", resource: "arn:aws:s3:::team/red/x", want: "Deny"},
		{name: "secure transport", request: get(f.alice, obj), action: "s3:PutObject", resource: "arn:aws:s3:::data/a.txt", want: "Deny"},
		{name: "presigned", request: func(t *testing.T) *http.Request { return presignedRequest(t, f.alice, obj) }, hash: verifier.UnsignedPayload,
			action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "streaming upload", request: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("PUT", obj, nil)
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
			r.Header.Set("X-Amz-Decoded-Content-Length", "5")
			if err := v4.NewSigner().SignHTTP(bg, f.plainSess, r, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", "us-east-1", now(),
				func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
				t.Fatal(err)
			}
			r.RequestURI = r.URL.RequestURI()
			return r
		}, hash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", action: "s3:PutObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "GetSessionToken session", request: get(f.aliceGST, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "GetSessionToken session tag", request: get(f.aliceGST, "http://team.s3.test/blue/x"), action: "s3:GetObject", resource: "arn:aws:s3:::team/blue/x", want: "Allow"},
		{name: "session policy allows", request: get(f.roleSess, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "session policy denies", request: get(f.roleSess, obj), action: "s3:PutObject", resource: "arn:aws:s3:::data/a.txt", want: "Deny"},
		{name: "role session", request: get(f.plainSess, obj), action: "s3:DeleteObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "session tag", request: get(f.plainSess, "http://team.s3.test/red/x"), action: "s3:GetObject", resource: "arn:aws:s3:::team/red/x", want: "Allow"},
		{name: "boundary allows", request: get(f.bounded, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "boundary denies", request: get(f.bounded, obj), action: "s3:PutObject", resource: "arn:aws:s3:::data/a.txt", want: "Deny"},
		{name: "scp allows", request: get(f.memberSess, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt",
			opts: []verifier.Option{verifier.WithResourceAccount(f.member)}, want: "Allow"},
		{name: "scp denies", request: get(f.memberSess, obj), action: "s3:DeleteObject", resource: "arn:aws:s3:::data/a.txt",
			opts: []verifier.Option{verifier.WithResourceAccount(f.member)}, want: "Deny"},
		{name: "cross-account with bucket policy", request: get(f.alice, "http://ext.s3.test/x"), action: "s3:GetObject", resource: "arn:aws:s3:::ext/x",
			opts: []verifier.Option{verifier.WithResourceAccount("210987654321"), verifier.WithResourcePolicy(bucketPolicy)}, want: "Allow"},
		{name: "cross-account without", request: get(f.alice, "http://ext.s3.test/x"), action: "s3:GetObject", resource: "arn:aws:s3:::ext/x",
			opts: []verifier.Option{verifier.WithResourceAccount("210987654321")}, want: "Deny"},
		{name: "revoked session", request: get(f.revokedSess, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "InvalidClientTokenId"},
		{name: "tampered token", request: get(tamperToken, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "InvalidClientTokenId"},
		{name: "tampered signature", request: func(t *testing.T) *http.Request {
			r := signedRequest(t, f.alice, obj, "us-east-1", "s3")
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			r.Header.Set("Authorization", a[:len(a)-1]+string("01"[(last-'0'+1)&1]))
			return r
		}, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "SignatureDoesNotMatch"},
		{name: "tampered signature of a session", request: func(t *testing.T) *http.Request {
			r := signedRequest(t, f.plainSess, obj, "us-east-1", "s3")
			r.Header.Set("X-Amz-Date", now().Add(time.Second).UTC().Format("20060102T150405Z"))
			return r
		}, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "SignatureDoesNotMatch"},
		{name: "wrong region", request: scoped(f.alice, obj, "eu-west-1", "s3"), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "SignatureDoesNotMatch"},
		{name: "named region", request: scoped(f.alice, obj, "eu-west-1", "s3"), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt",
			opts: []verifier.Option{verifier.WithRegion("eu-west-1")}, want: "Allow"},
		{name: "not the named region", request: get(f.alice, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt",
			opts: []verifier.Option{verifier.WithRegion("eu-west-1")}, want: "SignatureDoesNotMatch"},
		{name: "wrong service", request: scoped(f.alice, obj, "us-east-1", "s4"), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "SignatureDoesNotMatch"},
		{name: "sts scope", request: scoped(f.alice, obj, "us-east-1", "sts"), action: "sts:GetCallerIdentity", resource: "*", want: "ValidationException"},
		{name: "unknown key", request: get(unknown, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "InvalidAccessKeyId"},
		{name: "token allowed", token: f.roleSess, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "Allow"},
		{name: "token denied", token: f.roleSess, action: "s3:PutObject", resource: "arn:aws:s3:::data/a.txt", want: "Deny"},
		{name: "token revoked", token: f.revokedSess, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "InvalidClientTokenId"},
		{name: "token tampered", token: tamperToken, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "InvalidClientTokenId"},
		{name: "long-term key as token", token: f.alice, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt", want: "ValidationException"},
		{name: "bad action", request: get(f.alice, obj), action: "s3", resource: "arn:aws:s3:::data/a.txt", want: "ValidationException"},
		{name: "server's context key", request: get(f.alice, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt",
			context: map[string][]string{"aws:PrincipalArn": {"x"}}, want: "ValidationException"},
		{name: "bad resource policy", request: get(f.alice, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt",
			opts: []verifier.Option{verifier.WithResourcePolicy(`{"Statement":`)}, want: "ValidationException"},
	}
	for i := range questions {
		q := &questions[i]
		t.Run(q.name, func(t *testing.T) {
			rgot, rd, rerr := ask(t, remote, q)
			if q.name == "sts scope" {
				// Remote mode decides it (OpenSTS checks the
				// signature itself); local mode is never handed a
				// signing key of a service OpenSTS answers.
				if rgot != "Allow" && rgot != "Deny" {
					t.Errorf("remote: %s", rgot)
				}
			} else if rgot != q.want {
				t.Errorf("remote: %s, want %s (%+v %v)", rgot, q.want, rd, rerr)
			}
			for _, pass := range []string{"cold", "warm"} {
				lgot, ld, lerr := ask(t, local, q)
				if lgot != q.want {
					t.Errorf("local %s: %s, want %s (%+v %v)", pass, lgot, q.want, ld, lerr)
					continue
				}
				if q.name == "sts scope" {
					continue
				}
				if q.name == "streaming upload" && (ld.SigningKey == "" || len(ld.SigningKey) != 64) {
					t.Errorf("local %s: no chunk signing key for a streaming upload", pass)
				}
				if diff := cmp.Diff(rd, ld); diff != "" {
					t.Errorf("local %s differs from remote (-remote +local):\n%s", pass, diff)
				}
				var rae, lae *verifier.APIError
				if errors.As(rerr, &rae) && errors.As(lerr, &lae) && (rae.StatusCode != lae.StatusCode || rae.Message != lae.Message) {
					t.Errorf("local %s: %d %s, remote %d %s", pass, lae.StatusCode, lae.Message, rae.StatusCode, rae.Message)
				}
			}
		})
	}

	// Expiry: the clocks of the server and of both verifiers move past
	// the short session's end; local mode holds the session from before.
	expiring := []question{
		{name: "expired", request: get(f.shortSess, obj), action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt"},
		{name: "expired token", token: f.shortSess, action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt"},
	}
	for i := range expiring {
		q := &expiring[i]
		q.want = "Allow"
		if got, _, err := ask(t, local, q); got != "Allow" {
			t.Fatalf("%s before expiry: %s %v", q.name, got, err)
		}
	}
	clockOffset.Store(int64(20 * time.Minute))
	defer clockOffset.Store(0)
	for i := range expiring {
		q := &expiring[i]
		t.Run(q.name, func(t *testing.T) {
			_, rd, _ := ask(t, remote, q)
			lgot, ld, _ := ask(t, local, q)
			if lgot != "ExpiredToken" {
				t.Errorf("local: %s", lgot)
			}
			if diff := cmp.Diff(rd, ld); diff != "" {
				t.Errorf("local differs from remote (-remote +local):\n%s", diff)
			}
		})
	}
}

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/verifier"
)

// bucket is what the fake S3 resource server holds per bucket: its owner
// account ("" for the resource server's own) and its bucket policy.
type bucket struct {
	owner, policy string
}

// fakeS3 is an S3-shaped resource server behind verifier.Middleware: it
// maps path-style requests to S3 actions and answers allowed ones with
// the principal's ARN. It remembers every secret its clients sent
// (session tokens, signatures) so that a test can look for them.
type fakeS3 struct {
	srv  *httptest.Server
	clk  *clock
	mu   sync.Mutex
	seen []string
}

func newFakeS3(t *testing.T, v *verifier.Verifier, clk *clock, buckets map[string]bucket) *fakeS3 {
	f := &fakeS3{clk: clk}
	mapping := func(r *http.Request) (verifier.Target, error) {
		b, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		bk, ok := buckets[b]
		if !ok {
			return verifier.Target{}, errors.New("no such bucket")
		}
		var opts []verifier.Option
		if bk.policy != "" {
			opts = append(opts, verifier.WithResourcePolicy(bk.policy))
		}
		if bk.owner != "" {
			opts = append(opts, verifier.WithResourceAccount(bk.owner))
		}
		t := verifier.Target{Resource: "arn:aws:s3:::" + b + "/" + key, Options: opts}
		switch {
		case key == "" && r.Method == http.MethodGet:
			t.Action, t.Resource = "s3:ListBucket", "arn:aws:s3:::"+b
			if p, ok := r.URL.Query()["prefix"]; ok {
				t.Context = map[string][]string{"s3:prefix": p}
			}
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			t.Action = "s3:GetObject"
		case r.Method == http.MethodPut:
			t.Action = "s3:PutObject"
		case r.Method == http.MethodDelete:
			t.Action = "s3:DeleteObject"
		default:
			return verifier.Target{}, errors.New("unsupported")
		}
		return t, nil
	}
	f.srv = httptest.NewServer(v.Middleware(mapping, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		principal := verifier.FromContext(r.Context()).Principal.ARN
		if r.Method == http.MethodPut {
			// S3 answers a PUT with headers only; SDKs parse any body.
			w.Header().Set("X-Principal", principal)
			w.Header().Set("X-Body-Length", strconv.Itoa(len(body)))
			return
		}
		_, _ = io.WriteString(w, "ok "+principal+" "+strconv.Itoa(len(body)))
	})))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeS3) remember(secrets ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			f.seen = append(f.seen, s)
		}
	}
}

func sum256(body string) string {
	s := sha256.Sum256([]byte(body))
	return hex.EncodeToString(s[:])
}

// send signs a request with the SDK's signer as S3 clients do and returns
// the status and the body. tamper, if set, changes the signed request.
func (f *fakeS3) send(t *testing.T, c aws.Credentials, method, target, body string, tamper func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", sum256(body))
	if err := v4.NewSigner().SignHTTP(ctx, c, req, sum256(body), "s3", "us-east-1", f.clk.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	f.remember(c.SessionToken, auth[strings.LastIndex(auth, "=")+1:])
	if tamper != nil {
		tamper(req)
	}
	return doReq(t, req)
}

// presign presigns a request as the S3 presigner does, signed at `at`.
func (f *fakeS3) presign(t *testing.T, c aws.Credentials, method, target string, at time.Time, expires int) string {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+target, nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(ctx, c, req, verifier.UnsignedPayload, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	f.remember(c.SessionToken, pu.Query().Get("X-Amz-Signature"))
	return u
}

func doReq(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if p := resp.Header.Get("X-Principal"); p != "" && len(b) == 0 {
		return resp.StatusCode, "ok " + p + " " + resp.Header.Get("X-Body-Length")
	}
	return resp.StatusCode, string(b)
}

const allowAuthorize = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`

// userWith creates a user with an inline policy and returns its keys.
func (e *env) userWith(t *testing.T, name, policy string) aws.Credentials {
	t.Helper()
	akid, secret := e.user(t, name)
	if policy != "" {
		must[*iam.PutUserPolicyOutput](t)(e.rootIAM().PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}))
	}
	return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
}

// TestAuthorizeThroughVerifier drives the authorize API through the
// public verifier package in front of an S3-shaped resource: requests
// signed by aws-sdk-go-v2's signer and presigner, with long-term keys and
// role sessions, are allowed and denied by each kind of policy, and
// authentication failures come back with the code S3 would answer.
func TestAuthorizeThroughVerifier(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk), withStrictAudit())
	rs := e.userWith(t, "resource-server", allowAuthorize)
	v, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: rs}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	const other = "210987654321"
	aliceARN := "arn:aws:iam::" + testAccount + ":user/alice"
	f := newFakeS3(t, v, clk, map[string]bucket{
		"data": {},
		// Owned by another account: alice is a foreign principal there.
		"shared":  {owner: other, policy: `{"Version":"2012-10-17","Statement":[{"Sid":"AliceReads","Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`},
		"foreign": {owner: other},
		// Our own bucket whose policy denies deletes to everyone.
		"locked": {policy: `{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::locked/*"}]}`},
	})

	alice := e.userWith(t, "alice", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::data/public/*","arn:aws:s3:::shared/*","arn:aws:s3:::foreign/*","arn:aws:s3:::locked/*"]},
		{"Sid":"FromLoopback","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/local/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
		{"Sid":"FromTenNet","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/ten/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
		{"Sid":"ListPublic","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":"public/*"}}}]}`)

	type want struct {
		status int
		code   string // S3 XML error code, "" for success
	}
	check := func(t *testing.T, status int, body string, w want) {
		t.Helper()
		if status != w.status || errCode(body) != w.code || w.code == "" && !strings.HasPrefix(body, "ok ") {
			t.Errorf("got %d %q, want %d %q", status, body, w.status, w.code)
		}
	}
	ok, denied := want{200, ""}, want{403, "AccessDenied"}

	t.Run("long-term keys", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, target, body string
			want                       want
		}{
			{"identity allows", "GET", "/data/public/a.txt", "", ok},
			{"identity does not allow", "GET", "/data/private/a.txt", "", denied},
			{"put with signed payload", "PUT", "/data/public/b.txt", "hello", ok},
			{"source address condition met", "GET", "/data/local/a", "", ok},
			{"source address condition not met", "GET", "/data/ten/a", "", denied},
			{"prefix condition met", "GET", "/data/?prefix=public/", "", ok},
			{"prefix condition not met", "GET", "/data/?prefix=private/", "", denied},
			{"prefix missing", "GET", "/data/", "", denied},
			{"cross-account, resource policy allows", "GET", "/shared/x", "", ok},
			{"cross-account, resource policy does not allow the action", "PUT", "/shared/x", "x", denied},
			{"cross-account without a resource policy", "GET", "/foreign/x", "", denied},
			{"resource policy explicit deny", "DELETE", "/locked/x", "", denied},
			{"resource policy silent, identity allows", "GET", "/locked/x", "", ok},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := f.send(t, alice, tc.method, tc.target, tc.body, nil)
				check(t, status, body, tc.want)
				if tc.want.code == "" && !strings.Contains(body, aliceARN) {
					t.Errorf("principal not passed on: %s", body)
				}
			})
		}
	})

	t.Run("decision explained", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://data.s3.test/data/?prefix=private/", nil)
		req.Header.Set("X-Amz-Content-Sha256", sum256(""))
		_ = v4.NewSigner().SignHTTP(ctx, alice, req, sum256(""), "s3", "us-east-1", clk.Now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		r := httptest.NewRequest("GET", req.URL.String(), nil)
		r.Header = req.Header
		d, err := v.Authorize(ctx, r, "", "s3:ListBucket", "arn:aws:s3:::data", map[string][]string{"s3:prefix": {"private/"}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != "Deny" || d.Reason != "ImplicitDeny" || d.DeniedBy != "identity" || d.Principal == nil || d.Principal.Type != "IAMUser" ||
			d.Principal.AccessKeyID != alice.AccessKeyID || d.Principal.AuthenticatedBy != "SigV4" {
			t.Errorf("decision %+v principal %+v", d, d.Principal)
		}
		d, err = v.Authorize(ctx, r, "", "s3:ListBucket", "arn:aws:s3:::data", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.MissingContextValues) != 1 || d.MissingContextValues[0] != "s3:prefix" {
			t.Errorf("missing context values %v", d.MissingContextValues)
		}
		d, err = v.Authorize(ctx, r, "", "s3:ListBucket", "arn:aws:s3:::data", map[string][]string{"s3:prefix": {"public/x"}})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed() || len(d.MatchedStatements) != 1 || d.MatchedStatements[0].Sid != "ListPublic" || d.MatchedStatements[0].PolicyType != "identity" {
			t.Errorf("allowed decision %+v", d)
		}
	})

	t.Run("credential scope", func(t *testing.T) {
		signed := func(service, region string) *http.Request {
			req, _ := http.NewRequest("GET", "http://data.s3.test/data/public/a.txt", nil)
			req.Header.Set("X-Amz-Content-Sha256", sum256(""))
			_ = v4.NewSigner().SignHTTP(ctx, alice, req, sum256(""), service, region, clk.Now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			r := httptest.NewRequest("GET", req.URL.String(), nil)
			r.Header = req.Header
			return r
		}
		for _, tc := range []struct {
			name, service, region string
			opts                  []verifier.Option
			code                  string // "" for allowed
		}{
			{"another service's signature", "sts", "us-east-1", nil, "SignatureDoesNotMatch"},
			{"the service named", "storage", "us-east-1", []verifier.Option{verifier.WithService("storage")}, ""},
			{"the resource server's region", "s3", "eu-west-3", []verifier.Option{verifier.WithRegion("eu-west-3")}, ""},
			{"another region", "s3", "us-east-1", []verifier.Option{verifier.WithRegion("eu-west-3")}, "SignatureDoesNotMatch"},
			{"a region the server does not serve", "s3", "eu-west-3", nil, "SignatureDoesNotMatch"},
		} {
			d, err := v.Authorize(ctx, signed(tc.service, tc.region), "", "s3:GetObject", "arn:aws:s3:::data/public/a.txt", nil, tc.opts...)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := ""
			if d.AuthenticationError != nil {
				got = d.AuthenticationError.Code
			}
			if got != tc.code || (tc.code == "") != d.Allowed() {
				t.Errorf("%s: %s %+v", tc.name, d.Decision, d.AuthenticationError)
			}
		}
	})

	t.Run("authentication failures", func(t *testing.T) {
		status, body := f.send(t, alice, "GET", "/data/public/a.txt", "", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
		})
		check(t, status, body, want{403, "SignatureDoesNotMatch"})
		// The client signed one body and sent another.
		status, body = f.send(t, alice, "PUT", "/data/public/b.txt", "hello", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("HELLO"))
		})
		check(t, status, body, want{403, "SignatureDoesNotMatch"})
		status, body = f.send(t, aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "x"}, "GET", "/data/public/a.txt", "", nil)
		check(t, status, body, want{403, "InvalidAccessKeyId"})
		status, body = f.send(t, alice, "GET", "/data/public/a.txt", "", func(r *http.Request) { r.Header.Del("Authorization") })
		check(t, status, body, want{403, "MissingAuthenticationToken"})
		status, body = f.send(t, alice, "GET", "/data/public/a.txt", "", func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage")
		})
		check(t, status, body, want{400, "IncompleteSignature"})
	})

	t.Run("presigned", func(t *testing.T) {
		u := f.presign(t, alice, "GET", "/data/public/a.txt", clk.Now(), 300)
		req, _ := http.NewRequest("GET", u, nil)
		status, body := doReq(t, req)
		check(t, status, body, ok)
		u = f.presign(t, alice, "GET", "/data/private/a.txt", clk.Now(), 300)
		req, _ = http.NewRequest("GET", u, nil)
		status, body = doReq(t, req)
		check(t, status, body, denied)
		// Past X-Amz-Expires.
		u = f.presign(t, alice, "GET", "/data/public/a.txt", clk.Now().Add(-2*time.Minute), 60)
		req, _ = http.NewRequest("GET", u, nil)
		status, body = doReq(t, req)
		check(t, status, body, want{403, "SignatureDoesNotMatch"})
		if !strings.Contains(body, "expired") {
			t.Errorf("expired presigned URL: %s", body)
		}
		// A presigned PUT's body is not signed (UNSIGNED-PAYLOAD), as in S3.
		u = f.presign(t, alice, "PUT", "/data/public/up.txt", clk.Now(), 300)
		req, _ = http.NewRequest("PUT", u, strings.NewReader("uploaded"))
		status, body = doReq(t, req)
		check(t, status, body, ok)
	})

	// A role whose policy allows all of data/*, a boundary user, and
	// session policies.
	createRole(t, e, "reader", trustAccount)
	must[*iam.PutRolePolicyOutput](t)(e.rootIAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::data/*"}]}`)}))
	assumer := e.userWith(t, "assumer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	assume := func(t *testing.T, policy string, seconds int32) aws.Credentials {
		t.Helper()
		in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/reader"), RoleSessionName: aws.String("sess"), DurationSeconds: aws.Int32(seconds)}
		if policy != "" {
			in.Policy = aws.String(policy)
		}
		out, err := e.sts(assumer.AccessKeyID, assumer.SecretAccessKey, "").AssumeRole(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		f.remember(*c.SessionToken)
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
	}

	t.Run("role session", func(t *testing.T) {
		s := assume(t, "", 3600)
		status, body := f.send(t, s, "GET", "/data/private/a.txt", "", nil)
		check(t, status, body, ok)
		if !strings.Contains(body, "assumed-role/reader/sess") {
			t.Errorf("principal: %s", body)
		}
		status, body = f.send(t, s, "DELETE", "/data/private/a.txt", "", nil)
		check(t, status, body, denied)
		u := f.presign(t, s, "GET", "/data/private/a.txt", clk.Now(), 300)
		req, _ := http.NewRequest("GET", u, nil)
		status, body = doReq(t, req)
		check(t, status, body, ok)
		// The session token alone (Principal input).
		d, err := v.AuthorizeSessionToken(ctx, s.AccessKeyID, s.SessionToken, "192.0.2.1", "s3:GetObject", "arn:aws:s3:::data/x", nil)
		if err != nil || !d.Allowed() || d.Principal.AuthenticatedBy != "SessionToken" || d.Principal.RoleARN != "arn:aws:iam::"+testAccount+":role/reader" || d.Principal.SessionName != "sess" {
			t.Errorf("session token: %+v %v", d, err)
		}
		d, err = v.AuthorizeSessionToken(ctx, s.AccessKeyID, s.SessionToken+"x", "", "s3:GetObject", "arn:aws:s3:::data/x", nil)
		if err != nil || d.Allowed() || d.AuthenticationError == nil || d.AuthenticationError.Code != "InvalidClientTokenId" {
			t.Errorf("tampered session token: %+v %v", d, err)
		}
	})

	t.Run("session policy", func(t *testing.T) {
		s := assume(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/public/*"}]}`, 3600)
		status, body := f.send(t, s, "GET", "/data/public/a.txt", "", nil)
		check(t, status, body, ok)
		status, body = f.send(t, s, "GET", "/data/private/a.txt", "", nil)
		check(t, status, body, denied)
		status, body = f.send(t, s, "PUT", "/data/public/a.txt", "x", nil)
		check(t, status, body, denied)
	})

	t.Run("permissions boundary", func(t *testing.T) {
		b := must[*iam.CreatePolicyOutput](t)(e.rootIAM().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("read-only-boundary"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}))
		bounded := e.userWith(t, "bounded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
		must[*iam.PutUserPermissionsBoundaryOutput](t)(e.rootIAM().PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("bounded"), PermissionsBoundary: b.Policy.Arn}))
		status, body := f.send(t, bounded, "GET", "/data/any", "", nil)
		check(t, status, body, ok)
		status, body = f.send(t, bounded, "PUT", "/data/any", "x", nil)
		check(t, status, body, denied)
	})

	t.Run("caller without opensts:Authorize", func(t *testing.T) {
		nobody := e.userWith(t, "not-a-resource-server", "")
		nv, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: nobody}, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://x.test/data/public/a.txt", nil)
		_, err = nv.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/public/a.txt", nil)
		var ae *verifier.APIError
		if !errors.As(err, &ae) || ae.Code != "AccessDeniedException" || ae.StatusCode != 400 {
			t.Errorf("err = %v", err)
		}
		// Behind the middleware, no decision fails closed.
		nf := newFakeS3(t, nv, clk, map[string]bucket{"data": {}})
		status, body := nf.send(t, alice, "GET", "/data/public/a.txt", "", nil)
		check(t, status, body, want{503, "ServiceUnavailable"})
	})

	t.Run("bad input", func(t *testing.T) {
		r := httptest.NewRequest("GET", "http://x.test/", nil)
		for name, call := range map[string]func() error{
			"server-set key": func() error {
				_, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/x", map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::123456789012:root"}})
				return err
			},
			"source ip key": func() error {
				_, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/x", map[string][]string{"aws:SourceIp": {"10.0.0.1"}})
				return err
			},
			"action":   func() error { _, err := v.Authorize(ctx, r, "", "s3*", "arn:aws:s3:::data/x", nil); return err },
			"resource": func() error { _, err := v.Authorize(ctx, r, "", "s3:GetObject", "not an arn", nil); return err },
			"resource policy": func() error {
				_, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/x", nil, verifier.WithResourcePolicy(`{"Statement":[`))
				return err
			},
			"resource account": func() error {
				_, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/x", nil, verifier.WithResourceAccount("12"))
				return err
			},
			"too many context keys": func() error {
				m := map[string][]string{}
				for i := range 100 {
					m["s3:k"+strconv.Itoa(i)] = []string{"v"}
				}
				_, err := v.Authorize(ctx, r, "", "s3:GetObject", "arn:aws:s3:::data/x", m)
				return err
			},
		} {
			var ae *verifier.APIError
			if err := call(); !errors.As(err, &ae) || ae.Code != "ValidationException" || ae.StatusCode != 400 {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("boto3 and the AWS CLI", func(t *testing.T) {
		c := newCLIEnv(t, e.endpoint)
		script := `import boto3, sys, urllib.request
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s3.get_object(Bucket="data", Key="public/a.txt")["Body"].read().decode().split()[0])
try:
    s3.get_object(Bucket="data", Key="private/a.txt")
    print("allowed")
except ClientError as e:
    print(e.response["Error"]["Code"])
s3.put_object(Bucket="data", Key="public/b.txt", Body=b"hello boto3")
print("put")
u = s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "public/a.txt"}, ExpiresIn=300)
print(urllib.request.urlopen(u).read().decode().split()[0])`
		s := assume(t, "", 3600)
		for name, env := range map[string][]string{
			"long-term": creds(alice.AccessKeyID, alice.SecretAccessKey, ""),
			"session":   creds(s.AccessKeyID, s.SecretAccessKey, s.SessionToken),
		} {
			out, errOut, code := c.run(t, env, pythonPath(), "-c", script, f.srv.URL)
			want := "ok AccessDenied put ok"
			if name == "session" {
				want = "ok allowed put ok" // the role may read all of data/
			}
			if code != 0 || strings.Join(strings.Fields(out), " ") != want {
				t.Errorf("boto3 %s: exit %d: %s %s", name, code, out, errOut)
			}
		}
		out, errOut, code := c.run(t, append(creds(alice.AccessKeyID, alice.SecretAccessKey, ""), "AWS_DEFAULT_REGION=us-east-1"),
			awsCLIPath(), "s3", "presign", "s3://data/public/a.txt", "--endpoint-url", f.srv.URL)
		if code != 0 {
			t.Fatalf("aws s3 presign: exit %d: %s %s", code, out, errOut)
		}
		req, _ := http.NewRequest("GET", strings.TrimSpace(out), nil)
		status, body := doReq(t, req)
		check(t, status, body, ok)
	})

	t.Run("revoked session", func(t *testing.T) {
		s := assume(t, "", 3600)
		status, body := f.send(t, s, "GET", "/data/x", "", nil)
		check(t, status, body, ok)
		clk.Advance(time.Second) // the test clock stands still: revoke after the issue
		e.revoke(t, map[string]any{"AccessKeyId": s.AccessKeyID})
		status, body = f.send(t, s, "GET", "/data/x", "", nil)
		check(t, status, body, want{403, "InvalidClientTokenId"})
	})

	t.Run("expired session", func(t *testing.T) {
		s := assume(t, "", 900)
		status, body := f.send(t, s, "GET", "/data/x", "", nil)
		check(t, status, body, ok)
		clk.Advance(16 * time.Minute)
		status, body = f.send(t, s, "GET", "/data/x", "", nil)
		check(t, status, body, want{403, "ExpiredToken"})
	})

	t.Run("audit trail holds no token or signature", func(t *testing.T) {
		trail := e.trail(t)
		if n := strings.Count(trail, `"eventName":"Authorize"`); n < 30 {
			t.Errorf("%d Authorize events", n)
		}
		if !strings.Contains(trail, "HIDDEN_DUE_TO_SECURITY_REASONS") {
			t.Error("no hidden value: the embedded requests were not recorded")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.seen) < 20 {
			t.Fatalf("only %d secrets seen", len(f.seen))
		}
		for _, s := range f.seen {
			if strings.Contains(trail, s) {
				t.Errorf("the audit trail holds a secret the client sent: %.12s...", s)
			}
			if len(s) > 40 && strings.Contains(trail, s[:40]) {
				t.Errorf("the audit trail holds part of a secret: %.12s...", s)
			}
		}
	})
}

// TestAuthorizeHidesAnotherAccountsPolicies: a resource server (a user of
// the management account allowed opensts:Authorize and nothing else) holds
// a session token of a member account's user, as any service its requests
// reach does. Asked about that principal, Authorize answers the decision
// and what the resource server's own resource policy said, never the
// member's policies: before, it named the member's inline policy and its
// statements, which of them denied and why, for any action the resource
// server liked (found by a review as an attacker).
func TestAuthorizeHidesAnotherAccountsPolicies(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "prod")
	ops := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")
	if _, err := ops.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("victim")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("victim"), PolicyName: aws.String("SecretPolicyName"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"AllowAll","Effect":"Allow","Action":["s3:*","sts:*"],"Resource":"*"},` +
			`{"Sid":"DenyTopSecret","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::topsecret/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := ops.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("victim")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.sts(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	rsKey, rsSecret := e.user(t, "resource-server")
	e.userPolicy(t, "resource-server", "authorize", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	v, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: rsKey, SecretAccessKey: rsSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	own := `{"Version":"2012-10-17","Statement":[{"Sid":"Shared","Effect":"Allow","Principal":{"AWS":"` + member + `"},"Action":"s3:GetObject","Resource":"*"}]}`
	for _, tc := range []struct {
		action, resource string
		opts             []verifier.Option
		want             string
	}{
		{"s3:GetObject", "arn:aws:s3:::topsecret/x", []verifier.Option{verifier.WithResourceAccount(member)}, "Deny"},
		{"iam:CreateUser", "*", []verifier.Option{verifier.WithResourceAccount(member)}, "Deny"},
		{"s3:GetObject", "arn:aws:s3:::shared/x", []verifier.Option{verifier.WithResourcePolicy(own)}, "Allow"},
		{"s3:GetObject", "arn:aws:s3:::topsecret/x", []verifier.Option{verifier.WithResourcePolicy(own)}, "Deny"},
	} {
		d, err := v.AuthorizeSessionToken(ctx, *tok.Credentials.AccessKeyId, *tok.Credentials.SessionToken, "192.0.2.1", tc.action, tc.resource, nil, tc.opts...)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.action, tc.resource, err)
		}
		if d.Decision != tc.want || d.Principal == nil || d.Principal.AccountID != member {
			t.Errorf("%s %s: %s for %+v, want %s", tc.action, tc.resource, d.Decision, d.Principal, tc.want)
		}
		if d.Decision == "Deny" && d.DeniedBy != "resource" && d.Reason != "Denied" {
			t.Errorf("%s %s: reason %q says how the member's policies denied", tc.action, tc.resource, d.Reason)
		}
		if d.Explanation != "" || len(d.MissingContextValues) != 0 || (d.DeniedBy != "" && d.DeniedBy != "resource") {
			t.Errorf("%s %s: explained %q, missing %v, denied by %q", tc.action, tc.resource, d.Explanation, d.MissingContextValues, d.DeniedBy)
		}
		for _, m := range d.MatchedStatements {
			if m.PolicyType != "resource" || m.Sid != "Shared" {
				t.Errorf("%s %s: a statement of another account's: %+v", tc.action, tc.resource, m)
			}
		}
		for k := range d.PolicyDecisions {
			if k != "resource" {
				t.Errorf("%s %s: the member's %s policies' decision shown", tc.action, tc.resource, k)
			}
		}
	}
}

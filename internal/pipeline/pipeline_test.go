package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

const (
	testKey    = "AKIAPIPELINETEST0001"
	testSecret = "pipelineTestSecretForTestsOnly0123456789"
)

type recorded struct {
	requestID, service, action string
	caller                     string
	input, output              any
	err                        error
	status                     int
	unsigned                   bool
	signedBy                   string // x.SigV4's access key id, "" without one
}

type echoInput struct {
	Name      string
	TokenCode string `sensitive:"true"`
}

type echoOutput struct{ Greeting string }

func newTestPipeline(t *testing.T, recs ...Recorder) (*Pipeline, *[]recorded) {
	t.Helper()
	now := func() time.Time { return time.Now().UTC() }
	keys := authn.KeySourceFunc(func(_ context.Context, id string, _ time.Time) (*authn.Key, error) {
		if id != testKey {
			return nil, authn.ErrUnknownKey
		}
		return &authn.Key{Active: true, Secret: []byte(testSecret), Caller: authz.Caller{
			Account: "123456789012", Type: policy.User, ARN: "arn:aws:iam::123456789012:user/u", UserName: "u", AccessKeyID: testKey}}, nil
	})
	v := sigv4.NewVerifier(now)
	echo := Route{Handler: func(_ context.Context, x *Exchange) (any, error) {
		in := &echoInput{Name: x.Params.Get("Name"), TokenCode: x.Params.Get("TokenCode")}
		x.Input = in
		switch in.Name {
		case "panic":
			panic("boom")
		case "fail":
			return nil, errors.New("database on fire")
		}
		return &echoOutput{Greeting: "hello " + in.Name}, nil
	}}
	var mu sync.Mutex
	var seen []recorded
	obs := ObserverFunc(func(_ context.Context, x *Exchange) {
		mu.Lock()
		defer mu.Unlock()
		r := recorded{requestID: x.RequestID, action: x.Action, input: Redact(x.Input), output: Redact(x.Output), err: x.Err, status: x.Status, unsigned: x.Unsigned}
		if x.API != nil {
			r.service = x.API.Name
		}
		if x.Caller != nil {
			r.caller = x.Caller.ARN
		}
		if x.SigV4 != nil {
			r.signedBy = x.SigV4.AccessKeyID
		}
		seen = append(seen, r)
	})
	p := New(testConfig(authn.Config{Keys: keys, SigV4: v, Region: "us-east-1"}, echo, now, recs, obs))
	return p, &seen
}

// testConfig is the test pipelines' configuration: STS with Echo (signed)
// and WhoAmI (unsigned) served by echo, and an Organizations API with no
// routes.
func testConfig(ac authn.Config, echo Route, now func() time.Time, recs []Recorder, obs Observer) Config {
	return Config{
		Query: map[string]*API{
			"sts": {Name: "sts", Protocol: Query, Namespace: "https://sts.amazonaws.com/doc/2011-06-15/", Version: "2011-06-15",
				Routes: map[string]Route{"Echo": echo, "WhoAmI": {Unsigned: true, Handler: echo.Handler}}},
		},
		DefaultQuery: "sts",
		JSON: []*API{{Name: "organizations", Protocol: JSON, Prefix: "AWSOrganizationsV20161128",
			Routes: map[string]Route{"DescribeOrganization": echo, "DeleteOrganization": echo}}},
		Authn:        authn.New(ac),
		SigV4:        ac.SigV4,
		MaxBodyBytes: 1 << 16,
		Now:          now,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Recorders:    recs,
		Observers:    []Observer{obs},
	}
}

// TestRecorderRunsBeforeTheAnswer: a recorder sees each request once with
// its outcome, before the answer is written, and an error it returns is
// the answer (success, handler failure and panic alike); the observer then
// sees that outcome.
func TestRecorderRunsBeforeTheAnswer(t *testing.T) {
	errFull := apierr.New(apierr.ServiceUnavailable, "audit trail unavailable")
	var calls int
	var refuse bool
	var w *httptest.ResponseRecorder
	rec := RecorderFunc(func(_ context.Context, x *Exchange) error {
		calls++
		if w.Code != 200 || w.Body.Len() != 0 || x.Status != 0 {
			t.Errorf("recorder ran after the answer: %d %q", w.Code, w.Body)
		}
		if refuse {
			return errFull
		}
		return nil
	})
	p, seen := newTestPipeline(t, rec)
	for _, tc := range []struct {
		name   string
		refuse bool
		status int
	}{{"ann", false, 200}, {"ann", true, 503}, {"fail", true, 503}, {"panic", true, 503}, {"panic", false, 500}} {
		calls, refuse = 0, tc.refuse
		w = httptest.NewRecorder()
		p.ServeHTTP(w, request(t, url.Values{"Action": {"Echo"}, "Version": {"2011-06-15"}, "Name": {tc.name}}, true))
		if calls != 1 || w.Code != tc.status {
			t.Errorf("%s refuse=%v: %d recorder calls, status %d, want 1, %d", tc.name, tc.refuse, calls, w.Code, tc.status)
		}
		last := (*seen)[len(*seen)-1]
		if tc.refuse && (!errors.Is(last.err, errFull) || last.output != nil || !strings.Contains(w.Body.String(), "ServiceUnavailable")) {
			t.Errorf("%s: observer saw %+v, body %s", tc.name, last, w.Body)
		}
	}
}

func request(t *testing.T, form url.Values, sign bool) *http.Request {
	t.Helper()
	body := []byte(form.Encode())
	r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sign {
		if err := sigv4.Sign(r, body, testKey, testSecret, "", "us-east-1", "sts", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestObserverSeesEveryRequestOnce: success, a handler error, a panic, a
// bad signature, an unknown action and an unsigned action each reach the
// observer exactly once, with what the request got to.
func TestObserverSeesEveryRequestOnce(t *testing.T) {
	p, seen := newTestPipeline(t)
	v := func(kv ...string) url.Values {
		f := url.Values{"Version": {"2011-06-15"}}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	tamper := request(t, v("Action", "Echo", "Name", "x"), true)
	tamper.Header.Set("Authorization", strings.Replace(tamper.Header.Get("Authorization"), "Signature=", "Signature=0", 1))
	// An unsigned action signed badly (an SDK holding stale credentials):
	// the signature is not looked at, as in AWS.
	tamperedUnsigned := request(t, v("Action", "WhoAmI", "Name", "web"), true)
	tamperedUnsigned.Header.Set("Authorization", strings.Replace(tamperedUnsigned.Header.Get("Authorization"), "Signature=", "Signature=0", 1))
	cases := []struct {
		name   string
		req    *http.Request
		status int
		check  func(t *testing.T, r recorded)
	}{
		{"success", request(t, v("Action", "Echo", "Name", "ann", "TokenCode", "123456"), true), 200, func(t *testing.T, r recorded) {
			if r.caller != "arn:aws:iam::123456789012:user/u" || r.action != "Echo" || r.service != "sts" || r.err != nil || r.signedBy != testKey {
				t.Errorf("%+v", r)
			}
			in := r.input.(map[string]any)
			if in["name"] != "ann" || in["tokenCode"] != Hidden {
				t.Errorf("input %v: the MFA code must be hidden", in)
			}
			if r.output.(map[string]any)["greeting"] != "hello ann" {
				t.Errorf("output %v", r.output)
			}
		}},
		{"handler error", request(t, v("Action", "Echo", "Name", "fail"), true), 500, func(t *testing.T, r recorded) {
			if r.err == nil || r.output != nil || r.caller == "" {
				t.Errorf("%+v", r)
			}
		}},
		{"panic", request(t, v("Action", "Echo", "Name", "panic"), true), 500, func(t *testing.T, r recorded) {
			if ae, ok := apierr.As(r.err); !ok || ae.Code != apierr.InternalFailure {
				t.Errorf("%+v", r)
			}
		}},
		{"bad signature", tamper, 403, func(t *testing.T, r recorded) {
			if r.caller != "" || r.input != nil {
				t.Errorf("%+v", r)
			}
		}},
		{"unknown action", request(t, v("Action", "Nope"), true), 400, func(t *testing.T, r recorded) {
			if r.action != "Nope" || r.err == nil {
				t.Errorf("%+v", r)
			}
		}},
		// After signed requests, on an exchange they used (the pool's):
		// nothing of their signatures is left.
		{"unsigned action", request(t, v("Action", "WhoAmI", "Name", "web"), false), 200, func(t *testing.T, r recorded) {
			if !r.unsigned || r.caller != "" || r.output == nil || r.signedBy != "" {
				t.Errorf("%+v", r)
			}
		}},
		{"unsigned action with a bad signature", tamperedUnsigned, 200, func(t *testing.T, r recorded) {
			if !r.unsigned || r.caller != "" || r.output == nil {
				t.Errorf("%+v", r)
			}
		}},
		{"unsigned action with a good signature", request(t, v("Action", "WhoAmI", "Name", "web"), true), 200, func(t *testing.T, r recorded) {
			if !r.unsigned || r.caller != "" {
				t.Errorf("a signed unsigned action got a caller: %+v", r)
			}
		}},
		{"signed action without a signature", request(t, v("Action", "Echo", "Name", "x"), false), 403, func(t *testing.T, r recorded) {
			if r.unsigned || r.output != nil || r.signedBy != "" {
				t.Errorf("%+v", r)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			*seen = nil
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, tc.req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if len(*seen) != 1 {
				t.Fatalf("observed %d times", len(*seen))
			}
			r := (*seen)[0]
			if r.status != tc.status || !strings.Contains(rec.Body.String(), r.requestID) {
				t.Errorf("observed status %d / request id %s, answered %d %s", r.status, r.requestID, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "database on fire") || strings.Contains(rec.Body.String(), "boom") {
				t.Errorf("an internal error reached the client: %s", rec.Body)
			}
			tc.check(t, r)
		})
	}
}

// TestCredentialRules pins the one table of what temporary credentials may
// call.
func TestCredentialRules(t *testing.T) {
	caller := func(typ session.Type, mfa bool) *authz.Caller {
		if typ == 0 {
			return &authz.Caller{Type: policy.User}
		}
		return &authz.Caller{Session: &session.Session{Type: typ, MFA: mfa}}
	}
	tests := []struct {
		service, action string
		typ             session.Type
		mfa             bool
		want            string // error code, "" for allowed
	}{
		{"sts", "AssumeRole", 0, false, ""},
		{"sts", "GetSessionToken", 0, false, ""},
		{"sts", "GetCallerIdentity", session.FederatedUser, false, ""},
		{"sts", "AssumeRole", session.FederatedUser, false, "AccessDenied"},
		{"sts", "AssumeRole", session.SessionToken, false, ""},
		{"sts", "GetCallerIdentity", session.SessionToken, false, ""},
		{"sts", "GetFederationToken", session.SessionToken, true, "AccessDenied"},
		{"sts", "DecodeAuthorizationMessage", session.SessionToken, false, "AccessDenied"},
		{"sts", "AssumeRole", session.AssumedRole, false, ""},
		{"sts", "DecodeAuthorizationMessage", session.AssumedRole, false, ""},
		{"sts", "GetSessionToken", session.AssumedRole, false, "AccessDenied"},
		{"sts", "GetFederationToken", session.WebIdentity, false, "AccessDenied"},
		{"sts", "GetSessionToken", session.SAML, false, "AccessDenied"},
		{"iam", "ListUsers", session.FederatedUser, false, "AccessDenied"},
		{"iam", "ListUsers", session.SessionToken, false, "InvalidClientTokenId"},
		{"iam", "ListUsers", session.SessionToken, true, ""},
		{"iam", "ListUsers", session.AssumedRole, false, ""},
		{"organizations", "ListAccounts", session.FederatedUser, false, "AccessDeniedException"},
		{"organizations", "ListAccounts", session.SessionToken, false, ""},
	}
	for _, tt := range tests {
		err := CredentialRule(tt.service, tt.action, caller(tt.typ, tt.mfa))
		got := ""
		if ae, ok := apierr.As(err); ok {
			got = ae.Code.Name
		} else if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s %s as %v (mfa %v): %q, want %q", tt.service, tt.action, tt.typ, tt.mfa, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `sensitive:"true"`
		SessionToken    string `sensitive:"true"`
		Expiration      time.Time
	}
	type out struct {
		Credentials *creds
		RoleARN     string
		Tags        []struct{ Key, Value string }
		Size        *int
		Seed        []byte
	}
	n := 7
	got := Redact(&out{Credentials: &creds{AccessKeyID: "ASIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Expiration: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		RoleARN: "arn", Tags: []struct{ Key, Value string }{{"k", "v"}}, Size: &n, Seed: []byte("seed")})
	m := got.(map[string]any)
	c := m["credentials"].(map[string]any)
	if c["secretAccessKey"] != Hidden || c["sessionToken"] != Hidden || c["accessKeyId"] != "ASIA1" || c["expiration"] != "2026-01-02T03:04:05Z" {
		t.Errorf("credentials %v", c)
	}
	if m["roleARN"] != "arn" || m["size"] != int64(7) || m["seed"] != nil {
		t.Errorf("%v", m)
	}
	for _, s := range []string{"s3cr3t", "tok", "seed"} {
		if strings.Contains(fmtAny(got), s) {
			t.Errorf("%q leaked: %v", s, got)
		}
	}
	for in, want := range map[string]string{"RoleARN": "roleARN", "ARN": "arn", "MFASerial": "mfaSerial", "Name": "name", "": ""} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactListNames checks that a list or map member is named for the
// member, not for the Query protocol's item element: two lists in one
// structure were both "member", and one was lost.
func TestRedactListNames(t *testing.T) {
	type profile struct {
		Roles []string          `xml:"Roles>member"`
		Tags  []string          `xml:"Tags>member"`
		Map   map[string]string `xml:"SummaryMap>entry"`
		ID    string            `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	}
	got := string(AppendRedactedJSON(nil, &profile{Roles: []string{"r"}, Tags: []string{"t"}, Map: map[string]string{"k": "v"}, ID: "AKIA"}))
	if want := `{"accessKeyId":"AKIA","roles":["r"],"summaryMap":{"k":"v"},"tags":["t"]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func fmtAny(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				b.WriteString(k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			b.WriteString(v)
		}
	}
	walk(v)
	return b.String()
}

func TestRequestIDs(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 100000 {
		id := newRequestID()
		if !uuid4.MatchString(id) {
			t.Fatalf("request id %q is not UUID-shaped", id)
		}
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

// TestMalformedSignatureOfAnotherService: an IAM call whose Authorization
// header does not parse (an empty access key id) names no service, so its
// action was looked up in STS and answered InvalidAction; it gets the
// signature's error, IncompleteSignature, as from AWS (found by a review as
// an attacker). Without any signature, or with a parseable one, an unknown
// action is still InvalidAction.
func TestMalformedSignatureOfAnotherService(t *testing.T) {
	p, _ := newTestPipeline(t)
	form := url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"x"}}
	code := func(r *http.Request) string {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		m := regexp.MustCompile(`<Code>([^<]*)</Code>`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no error code: %d %s", rec.Code, rec.Body)
		}
		return m[1]
	}
	r := request(t, form, false)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=/20261205/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
	r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	if got := code(r); got != "IncompleteSignature" {
		t.Errorf("malformed signature of an IAM call: %s, want IncompleteSignature", got)
	}
	if got := code(request(t, form, false)); got != "InvalidAction" {
		t.Errorf("an IAM action without a signature: %s, want InvalidAction", got)
	}
	if got := code(request(t, url.Values{"Action": {"Nope"}, "Version": {"2011-06-15"}}, true)); got != "InvalidAction" {
		t.Errorf("an unknown action, signed: %s, want InvalidAction", got)
	}
}

// TestJSONTargetIsSigned: a JSON request's action is its X-Amz-Target
// header alone. Unsigned, one signed DescribeOrganization was replayed as
// DeleteOrganization, and a presigned URL served any action (found by an
// attack review): a request whose signature does not cover the header is
// refused, as is one in another method than POST (a GET ran mutating
// actions too).
func TestJSONTargetIsSigned(t *testing.T) {
	p, seen := newTestPipeline(t)
	send := func(method, target string, signed []string) (int, string) {
		t.Helper()
		r := httptest.NewRequest(method, "http://127.0.0.1:7780/", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		now := time.Now().UTC()
		// Sign what signed names (host always), then set the target.
		for _, h := range signed {
			if h == "x-amz-target" {
				r.Header.Set("X-Amz-Target", target)
			}
		}
		if err := sigv4.Sign(r, []byte("{}"), testKey, testSecret, "", "us-east-1", "organizations", now); err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}
	if code, body := send(http.MethodPost, "AWSOrganizationsV20161128.DescribeOrganization", []string{"x-amz-target"}); code != http.StatusOK {
		t.Fatalf("signed target: %d %s", code, body)
	}
	if code, body := send(http.MethodPost, "AWSOrganizationsV20161128.DeleteOrganization", nil); code != http.StatusBadRequest || !strings.Contains(body, "IncompleteSignature") {
		t.Errorf("unsigned target: %d %s, want 400 IncompleteSignature", code, body)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if code, body := send(m, "AWSOrganizationsV20161128.DeleteOrganization", []string{"x-amz-target"}); code != http.StatusBadRequest || !strings.Contains(body, "InvalidAction") {
			t.Errorf("%s: %d %s, want 400 InvalidAction", m, code, body)
		}
	}
	n := 0
	for _, r := range *seen {
		if r.action == "DeleteOrganization" && r.err == nil {
			n++
		}
	}
	if n != 0 {
		t.Errorf("DeleteOrganization ran %d times", n)
	}
}

// TestJSONAuthErrors: an API that is an AWS JSON service answers
// authentication failures with those services' codes (400), with the
// message and the cause's chain kept; one that is not (OpenSTS's own)
// answers the Query codes its clients know.
func TestJSONAuthErrors(t *testing.T) {
	for _, aws := range []bool{true, false} {
		var errs []error
		obs := ObserverFunc(func(_ context.Context, x *Exchange) { errs = append(errs, x.Err) })
		p, _ := newTestPipeline(t)
		cfg := p.cfg
		cfg.JSON = []*API{{Name: "organizations", Protocol: JSON, Prefix: "AWSOrganizationsV20161128", AWSAuthErrors: aws,
			Routes: map[string]Route{"DescribeOrganization": {Handler: func(context.Context, *Exchange) (any, error) { return struct{}{}, nil }}}}}
		cfg.Observers = []Observer{obs}
		p = New(cfg)
		send := func(key, secret string, sign, target bool, at time.Time) (int, string) {
			t.Helper()
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7780/", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if target {
				r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.DescribeOrganization")
			}
			if sign {
				if err := sigv4.Sign(r, []byte("{}"), key, secret, "", "us-east-1", "organizations", at); err != nil {
					t.Fatal(err)
				}
			}
			r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.DescribeOrganization")
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, r)
			var body struct {
				Type string `json:"__type"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if body.Type != rec.Header().Get("X-Amzn-Errortype") {
				t.Errorf("__type %q, X-Amzn-Errortype %q", body.Type, rec.Header().Get("X-Amzn-Errortype"))
			}
			return rec.Code, body.Type
		}
		now := time.Now().UTC()
		type want struct {
			status int
			code   string
		}
		cases := []struct {
			name             string
			key, secret      string
			sign, target     bool
			at               time.Time
			awsWant, ownWant want
		}{
			{"unknown key", "AKIAUNKNOWNUNKNOWN12", testSecret, true, true, now, want{400, "UnrecognizedClientException"}, want{403, "InvalidClientTokenId"}},
			{"wrong secret", testKey, "wrong", true, true, now, want{400, "InvalidSignatureException"}, want{403, "SignatureDoesNotMatch"}},
			{"unsigned", "", "", false, true, now, want{400, "MissingAuthenticationTokenException"}, want{403, "MissingAuthenticationToken"}},
			{"target not signed", testKey, testSecret, true, false, now, want{400, "IncompleteSignatureException"}, want{400, "IncompleteSignature"}},
			{"signed", testKey, testSecret, true, true, now, want{200, ""}, want{200, ""}},
		}
		for _, c := range cases {
			w := c.ownWant
			if aws {
				w = c.awsWant
			}
			if status, code := send(c.key, c.secret, c.sign, c.target, c.at); status != w.status || code != w.code {
				t.Errorf("AWS codes %v, %s: %d %s, want %d %s", aws, c.name, status, code, w.status, w.code)
			}
		}
		// The wrong secret's failure is of a key that exists: the JSON
		// code keeps the chain that says so.
		if len(errs) < 2 || !authn.RealCredential(errs[1]) {
			t.Errorf("AWS codes %v: the wrong secret's error %v lost that its key exists", aws, errs)
		}
	}
}

// TestExchangeSize: recorders see the bytes of the request's body and
// query string (the audit trail encodes a large request's record on its
// own goroutine, not the writer's).
func TestExchangeSize(t *testing.T) {
	var sizes []int
	rec := RecorderFunc(func(_ context.Context, x *Exchange) error { sizes = append(sizes, x.Size); return nil })
	p, _ := newTestPipeline(t, rec)
	form := url.Values{"Action": {"Echo"}, "Version": {"2011-06-15"}, "Name": {strings.Repeat("n", 5000)}}
	p.ServeHTTP(httptest.NewRecorder(), request(t, form, true))
	get := httptest.NewRequest("GET", "http://opensts.test/?"+form.Encode(), nil)
	p.ServeHTTP(httptest.NewRecorder(), get)
	body := `{"Name":"` + strings.Repeat("j", 3000) + `"}`
	r := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.DescribeOrganization")
	if err := sigv4.Sign(r, []byte(body), testKey, testSecret, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	p.ServeHTTP(httptest.NewRecorder(), r)
	n := len(form.Encode())
	if want := []int{n, n, len(body)}; !slices.Equal(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
}

// TestJSONUnknownOperation: an X-Amz-Target an AWS JSON service does not
// serve, or that no API has, is answered UnknownOperationException (400),
// as AWS's JSON services answer it, before any authentication and without
// running anything; OpenSTS's own JSON APIs answer InvalidAction.
func TestJSONUnknownOperation(t *testing.T) {
	ran := 0
	h := func(context.Context, *Exchange) (any, error) { ran++; return struct{}{}, nil }
	p, _ := newTestPipeline(t)
	cfg := p.cfg
	cfg.JSON = []*API{
		{Name: "organizations", Protocol: JSON, Prefix: "AWSOrganizationsV20161128", AWSAuthErrors: true, Routes: map[string]Route{"DescribeOrganization": {Handler: h}}},
		{Name: "opensts-revoke", Protocol: JSON, Prefix: "OpenSTSRevoke", Routes: map[string]Route{"Revoke": {Handler: h}}},
	}
	p = New(cfg)
	send := func(target string, sign bool) (int, string, string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7780/", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", target)
		if sign {
			if err := sigv4.Sign(r, []byte("{}"), testKey, testSecret, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		var body struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v: %s", target, err, rec.Body)
		}
		return rec.Code, body.Type, body.Message
	}
	for _, c := range []struct {
		target string
		sign   bool
		status int
		code   string
	}{
		{"AWSOrganizationsV20161128.NoSuchOperation", true, 400, "UnknownOperationException"},
		{"AWSOrganizationsV20161128.NoSuchOperation", false, 400, "UnknownOperationException"},
		{"AWSOrganizationsV20161128.describeorganization", true, 400, "UnknownOperationException"}, // case matters
		{"DynamoDB_20120810.ListTables", true, 400, "UnknownOperationException"},
		{"OpenSTSRevoke.NoSuchOperation", false, 400, "InvalidAction"},
		{"AWSOrganizationsV20161128.DescribeOrganization", true, 200, ""},
	} {
		status, code, msg := send(c.target, c.sign)
		if status != c.status || code != c.code {
			t.Errorf("%s (signed %v): %d %s, want %d %s", c.target, c.sign, status, code, c.status, c.code)
		}
		if c.status != 200 && !strings.Contains(msg, "Could not find operation") {
			t.Errorf("%s: message %q", c.target, msg)
		}
	}
	if ran != 1 {
		t.Errorf("handlers ran %d times, want once (the known operation)", ran)
	}
}

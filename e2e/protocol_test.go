package e2e

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sigv4"
)

type wireError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ReqID   string   `xml:"RequestId"`
}

// raw sends a form, signed with the root key unless sign is false.
func (e *env) raw(t *testing.T, method, service string, form url.Values, sign bool, mod func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	body := []byte(form.Encode())
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, e.endpoint+"/?"+string(body), nil)
		body = nil
	} else {
		req, _ = http.NewRequest(method, e.endpoint+"/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if sign {
		if err := sigv4.Sign(req, body, testRootKeyID, testRootSecret, "", "us-east-1", service, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func TestQueryProtocolErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	gci := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	cases := []struct {
		name    string
		method  string
		service string
		form    url.Values
		sign    bool
		mod     func(*http.Request)
		status  int
		code    string
	}{
		{"unknown action", "POST", "sts", url.Values{"Action": {"Frobnicate"}, "Version": {"2011-06-15"}}, true, nil, 400, "InvalidAction"},
		{"missing action", "POST", "sts", url.Values{"Version": {"2011-06-15"}}, true, nil, 400, "MissingAction"},
		{"wrong version", "POST", "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2010-05-08"}}, true, nil, 400, "InvalidAction"},
		{"iam action on sts", "POST", "sts", url.Values{"Action": {"ListUsers"}, "Version": {"2011-06-15"}}, true, nil, 400, "InvalidAction"},
		{"unsigned", "POST", "sts", gci, false, nil, 403, "MissingAuthenticationToken"},
		{"malformed authorization", "POST", "sts", gci, false, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage")
		}, 400, "IncompleteSignature"},
		{"repeated parameter", "POST", "sts", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"}, "RoleSessionName": {"xx"}}, true, nil, 400, "InvalidParameterValue"},
		{"missing required parameter", "POST", "sts", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleSessionName": {"xx"}}, true, nil, 400, "ValidationError"},
		{"bad integer", "POST", "sts", url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}, "DurationSeconds": {"soon"}}, true, nil, 400, "ValidationError"},
		{"unknown service in scope", "POST", "s3", gci, true, nil, 403, "InvalidClientTokenId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.raw(t, tc.method, tc.service, tc.form, tc.sign, tc.mod)
			var we wireError
			if err := xml.Unmarshal(body, &we); err != nil {
				t.Fatalf("not an ErrorResponse: %v\n%s", err, body)
			}
			if resp.StatusCode != tc.status || we.Code != tc.code || we.Type != "Sender" {
				t.Fatalf("got %d %s/%s %q, want %d %s", resp.StatusCode, we.Type, we.Code, we.Message, tc.status, tc.code)
			}
			if id := resp.Header.Get("x-amzn-RequestId"); id == "" || id != we.ReqID {
				t.Fatalf("request id header %q body %q", id, we.ReqID)
			}
		})
	}

	// Oversized body.
	big := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "Pad": {strings.Repeat("x", 2<<20)}}
	resp, body := e.raw(t, "POST", "sts", big, false, nil)
	if resp.StatusCode != 413 || !bytes.Contains(body, []byte("RequestEntityTooLarge")) {
		t.Fatalf("oversized body: %d %s", resp.StatusCode, body)
	}

	// Signed GET with every parameter in the query string works, and the
	// success envelope is what SDKs parse.
	resp, body = e.raw(t, "GET", "sts", gci, true, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml" || resp.Header.Get("Date") == "" {
		t.Fatalf("GET: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	for _, want := range []string{`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`, "<GetCallerIdentityResult>", "<ResponseMetadata><RequestId>"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("response lacks %s: %s", want, body)
		}
	}
	// IAM answers in its own namespace.
	resp, body = e.raw(t, "POST", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, true, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`)) {
		t.Fatalf("IAM: %d %s", resp.StatusCode, body)
	}

	// Health.
	hr, err := http.Get(e.endpoint + "/healthz")
	if err != nil || hr.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, hr)
	}
	hr.Body.Close()
}

// TestNoSecretsInResponses checks that nothing but CreateAccessKey and the
// STS credential responses ever carries a secret.
func TestNoSecretsInResponses(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "leak")
	for _, f := range []url.Values{
		{"Action": {"ListAccessKeys"}, "Version": {"2010-05-08"}, "UserName": {"leak"}},
		{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"leak"}},
		{"Action": {"GetAccessKeyLastUsed"}, "Version": {"2010-05-08"}, "AccessKeyId": {akid}},
	} {
		_, body := e.raw(t, "POST", "iam", f, true, nil)
		if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte(testRootSecret)) {
			t.Fatalf("%s response carries a secret: %s", f.Get("Action"), body)
		}
	}
}

package authorize

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/pipeline"
)

const (
	token = "FwoGZXIvYXdzEBYaDH+example/session+token=="
	sig   = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
)

// TestRedacted checks that what the audit trail records of an input holds
// neither the session token nor the signature, wherever the client put
// them, and keeps the rest.
func TestRedacted(t *testing.T) {
	in := &AuthorizeInput{
		Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
		Request: &Request{Method: "GET",
			URL: "https://b.s3.test/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=" + strings.ReplaceAll(token, "/", "%2F") +
				"&x-amz-signature=" + sig + "&X-Amz-Security%2DToken=" + token + "#frag",
			Headers: map[string][]string{
				"authorization":        {"AWS4-HMAC-SHA256 Credential=ASIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig},
				"X-Amz-Security-Token": {token},
				"x-amz-date":           {"20260101T000000Z"},
			}},
	}
	for _, p := range []*PrincipalInput{nil, {AccessKeyID: "ASIAEXAMPLE", SessionToken: token}} {
		in := *in
		if p != nil {
			in.Request, in.Principal = nil, p
		}
		b, err := json.Marshal(pipeline.Redact(in.Redacted()))
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		for _, secret := range []string{token, sig, strings.ReplaceAll(token, "/", "%2F"), token[:20]} {
			if strings.Contains(got, secret) {
				t.Errorf("redacted input holds %q: %s", secret, got)
			}
		}
		for _, kept := range []string{"s3:GetObject", "arn:aws:s3:::b/k"} {
			if !strings.Contains(got, kept) {
				t.Errorf("redacted input lost %q: %s", kept, got)
			}
		}
		if p == nil && (!strings.Contains(got, "20260101T000000Z") || !strings.Contains(got, "X-Amz-Algorithm=AWS4-HMAC-SHA256")) {
			t.Errorf("redacted request lost what is not secret: %s", got)
		}
	}
	if in.Request.Headers["X-Amz-Security-Token"][0] != token {
		t.Error("Redacted changed its input")
	}
}

// TestValidate checks that bad input is a ValidationException, with
// messages that do not echo what they refuse.
func TestValidate(t *testing.T) {
	good := func() *AuthorizeInput {
		return &AuthorizeInput{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
			Request: &Request{Method: "GET", URL: "https://b.s3.test/k", Headers: map[string][]string{"Host": {"b.s3.test"}}}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good input: %v", err)
	}
	huge := strings.Repeat("a", MaxHeaderBytes)
	tests := map[string]func(in *AuthorizeInput){
		"neither":           func(in *AuthorizeInput) { in.Request = nil },
		"both":              func(in *AuthorizeInput) { in.Principal = &PrincipalInput{AccessKeyID: "ASIA", SessionToken: token} },
		"action":            func(in *AuthorizeInput) { in.Action = "GetObject" },
		"wildcard action":   func(in *AuthorizeInput) { in.Action = "s3:Get*" },
		"resource":          func(in *AuthorizeInput) { in.Resource = "bucket" },
		"account":           func(in *AuthorizeInput) { in.ResourceAccount = "12345678901x" },
		"policy size":       func(in *AuthorizeInput) { in.ResourcePolicy = strings.Repeat(" ", MaxResourcePolicy+1) },
		"principal arn key": func(in *AuthorizeInput) { in.Context = map[string][]string{"aws:PrincipalArn": {"x"}} },
		"principal tag key": func(in *AuthorizeInput) { in.Context = map[string][]string{"aws:PrincipalTag/team": {"x"}} },
		"source ip key":     func(in *AuthorizeInput) { in.Context = map[string][]string{"AWS:SourceIp": {"10.0.0.1"}} },
		"opensts key":       func(in *AuthorizeInput) { in.Context = map[string][]string{"opensts:AuthenticationMethod": {"SigV4"}} },
		"key without colon": func(in *AuthorizeInput) { in.Context = map[string][]string{"prefix": {"x"}} },
		"value size": func(in *AuthorizeInput) {
			in.Context = map[string][]string{"s3:prefix": {strings.Repeat("x", MaxContextValueBytes+1)}}
		},
		"method":             func(in *AuthorizeInput) { in.Request.Method = "GET /" },
		"url":                func(in *AuthorizeInput) { in.Request.URL = strings.Repeat("u", MaxURLBytes+1) },
		"header name":        func(in *AuthorizeInput) { in.Request.Headers["Bad Name"] = []string{"x"} },
		"header bytes":       func(in *AuthorizeInput) { in.Request.Headers["X-Big"] = []string{huge} },
		"source ip":          func(in *AuthorizeInput) { in.Request.SourceIP = "not-an-ip" },
		"principal no token": func(in *AuthorizeInput) { in.Request, in.Principal = nil, &PrincipalInput{AccessKeyID: "AKIAEXAMPLE"} },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			in := good()
			mutate(in)
			err := in.Validate()
			if !errors.Is(err, &apierr.Error{Code: apierr.ValidationException}) {
				t.Fatalf("err = %v, want ValidationException", err)
			}
			if strings.Contains(err.Error(), huge[:64]) || strings.Contains(err.Error(), token) {
				t.Errorf("message echoes the input: %v", err)
			}
		})
	}
	// Keys a resource server knows pass.
	in := good()
	in.Context = map[string][]string{"s3:prefix": {"a/"}, "aws:RequestTag/team": {"x"}, "aws:Referer": {"https://x"}, "aws:ResourceTag/env": {"p"}}
	if err := in.Validate(); err != nil {
		t.Errorf("request keys refused: %v", err)
	}
}

// TestScrub checks that an authentication error's message never carries
// the signature or the token of the request it is about.
func TestScrub(t *testing.T) {
	in := &AuthorizeInput{Request: &Request{URL: "https://b.test/?X-Amz-Signature=" + sig, Headers: map[string][]string{"X-Amz-Security-Token": {token}}}}
	msg := scrub("Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 Signature="+sig, in)
	if strings.Contains(msg, sig) || !strings.HasSuffix(msg, "Authorization="+hidden) {
		t.Errorf("scrub = %q", msg)
	}
	msg = scrub("echo "+token+" and "+sig[:40], in)
	if strings.Contains(msg, token) || strings.Contains(msg, sig[:32]) {
		t.Errorf("scrub = %q", msg)
	}
}

// TestSigningKeyRedacted: the signing key an answer may carry is never
// recorded.
func TestSigningKeyRedacted(t *testing.T) {
	const key = "9f3c1e0b5a7d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
	b, err := json.Marshal(pipeline.Redact(&AuthorizeOutput{Decision: "Allow", SigningKey: key}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), key) || !strings.Contains(string(b), "Allow") {
		t.Fatalf("recorded answer: %s", b)
	}
}

// TestHTTPRequestFragment: a Request.Url with a "#" is refused, not
// trimmed: the signature would otherwise be verified over less than the
// resource server reads (the gateway read a key or query past the "#").
func TestHTTPRequestFragment(t *testing.T) {
	for _, u := range []string{"http://gw.test/data/k#x", "http://gw.test/data/k?X-Amz-Signature=s#&acl", "http://gw.test#/data/k"} {
		if _, err := httpRequest(&Request{Method: "GET", URL: u}); err == nil {
			t.Errorf("httpRequest(%q) accepted a fragment", u)
		} else if e, ok := apierr.As(err); !ok || e.Code != apierr.ValidationException {
			t.Errorf("httpRequest(%q) = %v, want a ValidationException", u, err)
		}
	}
	r, err := httpRequest(&Request{Method: "GET", URL: "http://gw.test/data/a%23b?prefix=%23"})
	if err != nil || r.RequestURI != "/data/a%23b?prefix=%23" {
		t.Fatalf("an encoded # = %v %v", r, err)
	}
}

// TestAttackRedactedFragment: what follows a "#" is kept out of the audit
// copy too. A Request.Url with a fragment is refused, but the refused
// input is still audited, and the query redaction stopped at the "#": a
// token or presigned signature placed after it was recorded as sent.
func TestAttackRedactedFragment(t *testing.T) {
	in := &AuthorizeInput{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
		Request: &Request{Method: "GET", URL: "https://gw.test/k?prefix=b#&X-Amz-Security-Token=" + token + "&X-Amz-Signature=" + sig}}
	b, err := json.Marshal(pipeline.Redact(in.Redacted()))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, sig, token[:20]} {
		if strings.Contains(string(b), secret) {
			t.Errorf("redacted input holds %q: %s", secret, b)
		}
	}
	if !strings.Contains(string(b), "https://gw.test/k?prefix=b") {
		t.Errorf("redacted input lost the URL: %s", b)
	}
}

// TestRedactedSSECKeys: the customer-provided encryption keys of S3's
// SSE-C, in the headers of a PUT, GET or copy or in a presigned URL, are
// secrets: the recorded input hides them (they were recorded as sent), and
// so is a token whose "=" was percent-encoded into the parameter's name.
func TestRedactedSSECKeys(t *testing.T) {
	const key, copyKey, qkey, tok = "c2VjcmV0LWFlcy1rZXktMzItYnl0ZXMtbG9uZy0xMjM=", "Y29weS1zb3VyY2Uta2V5LTMyLWJ5dGVzLWxvbmctMTI=", "cXVlcnkta2V5LTMyLWJ5dGVz", "FwoGZXIvYXdzEXAMPLETOKEN"
	in := &AuthorizeInput{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k", Request: &Request{Method: "PUT",
		URL: "https://b.s3.test/k?X-Amz-Server-Side-Encryption-Customer-Key=" + qkey + "&X-Amz-Security-Token%3D" + tok + "&partNumber=1",
		Headers: map[string][]string{
			"X-Amz-Server-Side-Encryption-Customer-Algorithm":       {"AES256"},
			"X-Amz-Server-Side-Encryption-Customer-Key":             {key},
			"x-amz-copy-source-server-side-encryption-customer-key": {copyKey},
			"X-Amz-Server-Side-Encryption-Customer-Key-MD5":         {"md5"},
		}}}
	got := string(pipeline.AppendRedactedJSON(nil, in.Redacted()))
	for _, secret := range []string{key, copyKey, qkey, tok} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted input holds %q: %s", secret, got)
		}
	}
	for _, kept := range []string{"AES256", "partNumber=1", "X-Amz-Server-Side-Encryption-Customer-Key-MD5"} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted input lost %q: %s", kept, got)
		}
	}
}

// TestRedactedUnknownHeaders: a header the trail does not know to be free
// of secrets (a service's own API key, a vendor's token) is recorded by
// name with its value hidden; S3's headers and the usual HTTP ones are
// kept as sent.
func TestRedactedUnknownHeaders(t *testing.T) {
	in := &AuthorizeInput{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k",
		Request: &Request{Method: "PUT", URL: "https://b.s3.test/k", Headers: map[string][]string{
			"X-Api-Key":          {"vendor-secret-1"},
			"X-Auth-Token":       {"vendor-secret-2"},
			"Cookie":             {"session=vendor-secret-3"},
			"Content-Type":       {"text/plain"},
			"X-Amz-Meta-Project": {"alpha"},
			"Host":               {"b.s3.test"},
		}}}
	got := string(pipeline.AppendRedactedJSON(nil, in.Redacted()))
	for _, secret := range []string{"vendor-secret-1", "vendor-secret-2", "vendor-secret-3"} {
		if strings.Contains(got, secret) {
			t.Errorf("recorded %q: %s", secret, got)
		}
	}
	for _, kept := range []string{"text/plain", "alpha", "b.s3.test", "X-Api-Key"} {
		if !strings.Contains(got, kept) {
			t.Errorf("lost %q: %s", kept, got)
		}
	}
}

// TestRedactedUnknownParams: a query parameter the trail does not know to
// carry no secret is recorded by name with its value hidden (a service
// behind the gateway taking an API key or a token in its query was
// recorded as sent); S3's own parameters, x-amz-* (but the signature and
// the token) and bare subresources are kept.
func TestRedactedUnknownParams(t *testing.T) {
	const apiKey, accessToken = "sk_live_51HxExampleApiKey", "ya29.ExampleAccessToken"
	in := &AuthorizeInput{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Request: &Request{Method: "GET",
		URL: "https://gw.test/b?list-type=2&prefix=logs%2F&api_key=" + apiKey + "&Access_Token=" + accessToken +
			"&X-Amz-Date=20260101T000000Z&X-Amz-Signature=" + sig + "&acl&max-keys=10"}}
	got := in.Redacted().Request.URL
	for _, secret := range []string{apiKey, accessToken, sig} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted URL holds %q: %s", secret, got)
		}
	}
	want := "https://gw.test/b?list-type=2&prefix=logs%2F&api_key=" + hidden + "&Access_Token=" + hidden +
		"&X-Amz-Date=20260101T000000Z&X-Amz-Signature=" + hidden + "&acl&max-keys=10"
	if got != want {
		t.Errorf("redacted URL\n got %s\nwant %s", got, want)
	}
}

// TestAttackRedactedSpellings: spellings of a query (and of a URL's
// authority) that carried a secret past the redaction into the trail, each
// confirmed against a running server by LookupEvents: a ";" separator
// some servers split at, a bare parameter that is itself the secret (or
// whose "=" is encoded twice), a "+" around the token's name, and a
// user and password in the URL, which the API refuses but audits.
func TestAttackRedactedSpellings(t *testing.T) {
	const secret = "SECRETvalue0123456789"
	for _, tc := range []struct{ url, want string }{
		{"https://gw.test/k?prefix=a;api_key=" + secret, "https://gw.test/k?prefix=a;api_key=" + hidden},
		{"https://gw.test/k?" + secret, "https://gw.test/k?" + hidden},
		{"https://gw.test/k?acl&" + secret + "&uploads", "https://gw.test/k?acl&" + hidden + "&uploads"},
		{"https://gw.test/k?access_token%253D" + secret, "https://gw.test/k?" + hidden},
		{"https://gw.test/k?x-amz-security-token+=" + secret, "https://gw.test/k?x-amz-security-token+=" + hidden},
		{"https://gw.test/k?+X-Amz-Signature%20=" + secret, "https://gw.test/k?+X-Amz-Signature%20=" + hidden},
		{"https://user:" + secret + "@gw.test/k?prefix=p", "https://" + hidden + "@gw.test/k?prefix=p"},
		{"https://" + secret + "@gw.test", "https://" + hidden + "@gw.test"},
		{"https://gw.test/k?=" + secret + "&prefix=p", "https://gw.test/k?=" + hidden + "&prefix=p"},
		{"https://gw.test/k?prefix%3D" + secret, "https://gw.test/k?prefix%3D" + secret}, // judged by the name before the encoded "=": S3's own
		{"https://gw.test/k?prefix=a&%zz=" + secret, "https://gw.test/k?" + hidden},
		// Still useful: what carries no secret is kept as sent.
		{"https://gw.test/k?", "https://gw.test/k?"},
		{"https://gw.test/k?&&prefix=a%40b&&", "https://gw.test/k?&&prefix=a%40b&&"},
		{"https://gw.test/k?versionId=3&tagging&x-id=GetObject", "https://gw.test/k?versionId=3&tagging&x-id=GetObject"},
		{"https://gw.test/a@b/k?uploadId=u", "https://gw.test/a@b/k?uploadId=u"},
	} {
		in := &AuthorizeInput{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Request: &Request{Method: "GET", URL: tc.url}}
		if got := in.Redacted().Request.URL; got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.url, got, tc.want)
		}
	}
}

package authorize

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sigv4"
)

// FuzzInput feeds arbitrary JSON through everything Authorize does with
// its input before any store is read: decoding, validation, the audit
// copy, the embedded request and its SigV4 parse, and message scrubbing.
// None of it may panic, and the audit copy must not hold the token.
//
//	go test ./internal/authorize -run '^$' -fuzz '^FuzzInput$'
func FuzzInput(f *testing.F) {
	f.Add(`{"Request":{"Method":"GET","Url":"https://b.s3.test/k?X-Amz-Security-Token=tok-secret-1234","Headers":{"Authorization":["AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"],"X-Amz-Date":["20260101T000000Z"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k"}`)
	f.Add(`{"Principal":{"AccessKeyId":"ASIAX","SessionToken":"tok-secret-1234"},"Action":"s3:GetObject","Resource":"*","Context":{"s3:prefix":["a"]}}`)
	f.Add(`{"Request":{"Method":"PUT","Url":"http://h/%zz?a=%","Headers":{"Host":["x"],"X-Amz-Security-Token":["tok-secret-1234"]},"PayloadHash":"UNSIGNED-PAYLOAD"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b"}`)
	v := sigv4.NewVerifier(func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	f.Fuzz(func(t *testing.T, body string) {
		in := new(AuthorizeInput)
		if json.Unmarshal([]byte(body), in) != nil {
			return
		}
		red := in.Redacted()
		if p := red.Principal; p != nil && p.SessionToken != "" && p.SessionToken != hidden {
			t.Errorf("audit copy holds the session token")
		}
		if r := red.Request; r != nil {
			for name, vs := range r.Headers {
				if secretHeader(name) && (len(vs) != 1 || vs[0] != hidden) {
					t.Errorf("audit copy holds header %s", name)
				}
			}
			if _, query, ok := strings.Cut(r.URL, "?"); ok {
				query, _, _ = strings.Cut(query, "#")
				for part := range strings.SplitSeq(query, "&") {
					k, val, _ := strings.Cut(part, "=")
					if key, err := url.QueryUnescape(k); err == nil && !recordedParam(key) && val != "" && val != hidden {
						t.Errorf("audit copy holds query parameter %s: %s", key, r.URL)
					}
				}
			}
		}
		if in.Validate() != nil || in.Request == nil {
			return
		}
		r, err := httpRequest(in.Request)
		if err != nil {
			return
		}
		if _, err := v.ParseHashAt(r, in.Request.PayloadHash, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			_ = scrub(err.Error(), in)
		}
	})
}

// FuzzStringToSign feeds arbitrary proofs to GetVerificationData's parse
// of a string to sign: it never panics, and what it accepts names a scope
// it spelled out, of a service OpenSTS does not answer.
//
//	go test ./internal/authorize -run '^$' -fuzz '^FuzzStringToSign$'
func FuzzStringToSign(f *testing.F) {
	sig := strings.Repeat("ab", 32)
	f.Add("AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/s3/aws4_request\n"+strings.Repeat("0", 64), sig)
	f.Add("AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/sts/aws4_request\n"+strings.Repeat("0", 64), sig)
	f.Add("AWS4-HMAC-SHA256\n\n//\n", "")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, sts, signature string) {
		sc, err := parseStringToSign(sts, signature, now)
		if err != nil {
			return
		}
		if reservedServices[sc.service] || sc.region == "" || sc.service == "" || len(sc.signature) != 32 ||
			!strings.Contains(sts, "\n"+sc.date+"/"+sc.region+"/"+sc.service+"/aws4_request\n") {
			t.Fatalf("accepted %q as %+v", sts, sc)
		}
	})
}

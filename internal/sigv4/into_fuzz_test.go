package sigv4

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	fuzzKey    = "AKIDEXAMPLEFUZZ00001"
	fuzzSecret = "fuzzSecretForTestsOnly000000000000000000"
)

// fuzzRequest builds one request of a kind (header-signed, presigned,
// expired, malformed, payload mismatch, unsigned, more than eight signed
// headers, a long token) with a query and headers of the given sizes.
func fuzzRequest(t *testing.T, kind byte, qlen, hlen uint16, now time.Time) (*http.Request, []byte) {
	t.Helper()
	q := int(qlen % 4000)
	h := int(hlen % 3000)
	body := []byte("Action=Echo&Version=2011-06-15&Name=" + strings.Repeat("b", q%97))
	target := "http://svc.test/p%20a/./th?k=" + strings.Repeat("v%2F", q/3)
	at := now
	switch kind % 8 {
	case 1: // presigned
		amz := at.UTC().Format(timeFormat)
		vals := url.Values{
			"X-Amz-Algorithm": {Algorithm}, "X-Amz-Credential": {fuzzKey + "/" + amz[:8] + "/us-east-1/sts/aws4_request"},
			"X-Amz-Date": {amz}, "X-Amz-SignedHeaders": {"host;x-amz-meta-a"}, "X-Amz-Signature": {strings.Repeat("ab", 32)},
			"X-Amz-Expires": {"300"}, "X-Amz-Security-Token": {strings.Repeat("t", h)}, "pad": {strings.Repeat("q", q)},
		}
		r := httptest.NewRequest("GET", "http://svc.test/?"+vals.Encode(), nil)
		r.Header.Set("X-Amz-Meta-A", strings.Repeat("m", h/2))
		return r, nil
	case 2: // expired
		at = now.Add(-time.Hour)
	}
	r := httptest.NewRequest("POST", target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	token := ""
	switch kind % 8 {
	case 6:
		for i := range 12 {
			r.Header.Set(fmt.Sprintf("X-Amz-Meta-H%02d", i), strings.Repeat("h", h/12))
		}
	case 7:
		token = strings.Repeat("T", h)
	default:
		r.Header.Set("X-Amz-Meta-Pad", strings.Repeat("  x  y ", h/7))
	}
	if err := Sign(r, body, fuzzKey, fuzzSecret, token, "us-east-1", "sts", at); err != nil {
		t.Fatal(err)
	}
	switch kind % 8 {
	case 3:
		r.Header.Set("Authorization", r.Header.Get("Authorization")[:40])
	case 4:
		r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
	case 5:
		r.Header.Del("Authorization")
	}
	return r, body
}

type fuzzOutcome struct {
	err                           string
	nilReq                        bool
	claims                        claims
	signed                        string
	canonical, stringToSign, sig  string
	unsignedPayload, verifyPassed bool
}

func outcome(v *Verifier, req *Request, err error) fuzzOutcome {
	o := fuzzOutcome{nilReq: req == nil}
	if err != nil {
		o.err = err.Error()
	}
	if req != nil {
		o.claims = claimsOf(req)
		o.signed = strings.Join(req.SignedHeaders, ";")
		o.canonical, o.stringToSign, o.sig = req.CanonicalRequest(), req.StringToSign(), req.Signature()
		o.unsignedPayload = req.UnsignedPayload
		o.verifyPassed = v.Verify(req, []byte(fuzzSecret)) == nil
	}
	return o
}

// FuzzParseAtIntoMatchesParseAt: a sequence of requests parsed into one
// Request gives, for each, exactly what a fresh ParseAt gives (the
// spill buffer and failed parses before it notwithstanding).
func FuzzParseAtIntoMatchesParseAt(f *testing.F) {
	f.Add([]byte{0, 10, 10, 6, 200, 200, 0, 1, 1, 1, 50, 90, 3, 0, 0, 7, 255, 255, 0, 0, 0})
	f.Add([]byte{7, 255, 255, 2, 255, 255, 0, 0, 0, 1, 255, 255, 4, 0, 0, 6, 255, 255})
	now := time.Now().UTC().Truncate(time.Second)
	f.Fuzz(func(t *testing.T, seq []byte) {
		v := NewVerifier(func() time.Time { return now })
		into := new(Request)
		var prev []*Request
		for i := 0; i+2 < len(seq) && i < 3*12; i += 3 {
			qlen := uint16(seq[i+1]) * 16
			hlen := uint16(seq[i+2]) * 12
			r1, b1 := fuzzRequest(t, seq[i], qlen, hlen, now)
			r2, b2 := fuzzRequest(t, seq[i], qlen, hlen, now)
			fresh, err1 := v.ParseAt(r1, b1, now)
			want := outcome(v, fresh, err1)
			got, err2 := v.ParseAtInto(into, r2, b2, now)
			if got != nil && err2 == nil && got != into {
				t.Fatalf("step %d: ParseAtInto returned another Request", i/3)
			}
			if have := outcome(v, got, err2); have != want {
				t.Fatalf("step %d kind %d q %d h %d:\n got %+v\nwant %+v", i/3, seq[i]%8, qlen, hlen, have, want)
			}
			if kind := seq[i] % 8; (kind == 0 || kind == 6 || kind == 7) && !want.verifyPassed {
				t.Fatalf("step %d kind %d: a good signature failed: %s", i/3, kind, want.err)
			}
			// Partial (scope) Requests returned on error are never into.
			if err2 != nil && got == into {
				t.Fatalf("step %d: error with into returned", i/3)
			}
			if slices.Contains(prev, got) && got != into {
				t.Fatalf("step %d: a Request returned twice", i/3)
			}
			if got != nil {
				prev = append(prev, got)
			}
		}
	})
}

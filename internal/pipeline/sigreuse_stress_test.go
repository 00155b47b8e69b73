package pipeline

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// The stress test's identities: two long-term keys and sessions whose ARN
// is named by the request's own (unique) security token.
const (
	stressKey2    = "AKIASTRESSKEY0000002"
	stressSecret2 = "stressSecretNumberTwoForTestsOnly0000000"
	stressTmpKey  = "ASIASTRESSTEMP000001"
	stressTmpSec  = "stressTemporarySecretForTestsOnly0000000"
)

// stressSeen is what the recorder and the observer saw of one request.
type stressSeen struct {
	caller, signedBy, canonicalNonce string
	unsigned                         bool
	status                           int
}

var nonceRE = regexp.MustCompile(`nonce=(n[0-9]+x)`)

// nonceOf returns the nonce the canonical request of x's signature carries.
func nonceOf(x *Exchange) string {
	if x.SigV4 == nil {
		return ""
	}
	m := nonceRE.FindStringSubmatch(x.SigV4.CanonicalRequest())
	if m == nil {
		return "?"
	}
	return m[1]
}

func newStressPipeline(t *testing.T) (*Pipeline, *sync.Map) {
	t.Helper()
	now := func() time.Time { return time.Now().UTC() }
	keys := authn.KeySourceFunc(func(_ context.Context, id string, _ time.Time) (*authn.Key, error) {
		switch id {
		case testKey:
			return &authn.Key{Active: true, Secret: []byte(testSecret), Caller: authz.Caller{
				Account: "123456789012", Type: policy.User, ARN: "arn:aws:iam::123456789012:user/one", UserName: "one", AccessKeyID: testKey}}, nil
		case stressKey2:
			return &authn.Key{Active: true, Secret: []byte(stressSecret2), Caller: authz.Caller{
				Account: "123456789012", Type: policy.User, ARN: "arn:aws:iam::123456789012:user/two", UserName: "two", AccessKeyID: stressKey2}}, nil
		}
		return nil, authn.ErrUnknownKey
	})
	sessions := stressSessions{}
	v := sigv4.NewVerifier(now)
	seen := new(sync.Map) // request id -> stressSeen
	echo := Route{Handler: func(_ context.Context, x *Exchange) (any, error) {
		name := x.Params.Get("Name")
		x.Input = &echoInput{Name: name}
		if name == "panic" {
			panic("boom")
		}
		// What the handler sees of the signature must be its own request's,
		// before and after other goroutines had a chance to run.
		n1 := nonceOf(x)
		runtime.Gosched()
		time.Sleep(time.Microsecond)
		n2 := nonceOf(x)
		sts := ""
		if x.SigV4 != nil {
			sum := sha256.Sum256([]byte(x.SigV4.StringToSign()))
			sts = hex.EncodeToString(sum[:8])
		}
		caller := ""
		if x.Caller != nil {
			caller = x.Caller.ARN
		}
		return &echoOutput{Greeting: fmt.Sprintf("name=%s nonce1=%s nonce2=%s sts=%s caller=%s", name, n1, n2, sts, caller)}, nil
	}}
	record := RecorderFunc(func(_ context.Context, x *Exchange) error {
		s := stressSeen{canonicalNonce: nonceOf(x), unsigned: x.Unsigned}
		if x.SigV4 != nil {
			s.signedBy = x.SigV4.AccessKeyID
		}
		if x.Caller != nil {
			s.caller = x.Caller.ARN
		}
		seen.Store(x.RequestID, s)
		return nil
	})
	obs := ObserverFunc(func(_ context.Context, x *Exchange) {
		v, _ := seen.Load(x.RequestID)
		s := v.(stressSeen)
		// Nothing changed between the recorder and the observer.
		if n := nonceOf(x); n != s.canonicalNonce {
			t.Errorf("request %s: nonce %q at record, %q at observe", x.RequestID, s.canonicalNonce, n)
		}
		s.status = x.Status
		seen.Store(x.RequestID, s)
	})
	p := New(testConfig(authn.Config{Keys: keys, Sessions: sessions, SigV4: v, Region: "us-east-1"}, echo, now, []Recorder{record}, obs))
	return p, seen
}

// stressSessions accepts tokens "tok-<suffix>" for stressTmpKey, as a
// session whose ARN ends in the suffix.
type stressSessions struct{}

func (stressSessions) Verify(id, token string) (*session.Session, []byte, error) {
	suffix, ok := strings.CutPrefix(token, "tok-")
	if id != stressTmpKey || !ok {
		return nil, nil, errors.New("bad token")
	}
	if i := strings.IndexByte(suffix, '.'); i >= 0 {
		suffix = suffix[:i] // padding after the name
	}
	return &session.Session{Type: session.AssumedRole, AccessKeyID: id, Account: "123456789012",
		ARN: "arn:aws:sts::123456789012:assumed-role/r/" + suffix, RoleName: "r", RoleID: "AROASTRESS", PrincipalID: "AROASTRESS:" + suffix,
		Expires: time.Now().Add(time.Hour)}, []byte(stressTmpSec), nil
}

// stressCase is one kind of request and what it alone deserves.
type stressCase struct {
	name     string
	build    func(t *testing.T, nonce string) *http.Request
	status   int
	code     string // error code in the body, "" on success
	caller   string // "%s" is replaced by the nonce
	signedBy string // what x.SigV4 names at record time
	unsigned bool
	sigNonce bool // x.SigV4's canonical request carries the nonce
}

func stressForm(action, name string) url.Values {
	return url.Values{"Action": {action}, "Version": {"2011-06-15"}, "Name": {name}}
}

// stressRequest builds a header-signed POST with nonce in its (signed)
// query string; long adds a long query parameter and long x-amz-meta-*
// headers (a canonical request of several KiB: the spill buffer).
func stressRequest(t *testing.T, action, nonce, key, secret, token string, at time.Time, long bool) *http.Request {
	t.Helper()
	body := []byte(stressForm(action, nonce).Encode())
	target := "http://opensts.test/?nonce=" + nonce
	if long {
		target += "&pad=" + strings.Repeat("p%20q", 600)
	}
	r := httptest.NewRequest("POST", target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if long {
		for i := range 6 {
			r.Header.Set(fmt.Sprintf("X-Amz-Meta-Pad%d", i), strings.Repeat(nonce, 60))
		}
	}
	if err := sigv4.Sign(r, body, key, secret, token, "us-east-1", "sts", at); err != nil {
		t.Fatal(err)
	}
	return r
}

// presigned builds a presigned GET for Echo with nonce.
func presigned(t *testing.T, nonce string, at time.Time, expires int) *http.Request {
	t.Helper()
	amzDate := at.UTC().Format("20060102T150405Z")
	q := stressForm("Echo", nonce)
	q.Set("nonce", nonce)
	q.Set("X-Amz-Algorithm", sigv4.Algorithm)
	q.Set("X-Amz-Credential", testKey+"/"+amzDate[:8]+"/us-east-1/sts/aws4_request")
	q.Set("X-Amz-Date", amzDate)
	q.Set("X-Amz-Expires", fmt.Sprint(expires))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Signature", strings.Repeat("0", 64))
	r := httptest.NewRequest("GET", "http://opensts.test/?"+q.Encode(), nil)
	// The string to sign, from a fresh parse with a clock at the signing time.
	sr, err := sigv4.NewVerifier(nil).ParseAt(r, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	k := sigv4.SigningKey([]byte(testSecret), amzDate[:8], "us-east-1", "sts")
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(sr.StringToSign()))
	q.Set("X-Amz-Signature", hex.EncodeToString(m.Sum(nil)))
	return httptest.NewRequest("GET", "http://opensts.test/?"+q.Encode(), nil)
}

func stressCases() []stressCase {
	now := func() time.Time { return time.Now().UTC() }
	tamper := func(r *http.Request) *http.Request {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=", "Signature=0", 1)[:len(r.Header.Get("Authorization"))])
		return r
	}
	one, two := "arn:aws:iam::123456789012:user/one", "arn:aws:iam::123456789012:user/two"
	return []stressCase{
		{"valid", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, testKey, testSecret, "", now(), false)
		},
			200, "", one, testKey, false, true},
		{"valid long", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, stressKey2, stressSecret2, "", now(), true)
		},
			200, "", two, stressKey2, false, true},
		{"session long token", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, stressTmpKey, stressTmpSec, "tok-"+n+"."+strings.Repeat("T", 1500), now(), false)
		}, 200, "", "arn:aws:sts::123456789012:assumed-role/r/%s", stressTmpKey, false, true},
		{"session token of another", func(t *testing.T, n string) *http.Request {
			// Signed with the session secret but a bad token.
			return stressRequest(t, "Echo", n, stressTmpKey, stressTmpSec, "bogus-"+n, now(), true)
		}, 403, "InvalidClientTokenId", "", stressTmpKey, false, true},
		{"tampered", func(t *testing.T, n string) *http.Request {
			return tamper(stressRequest(t, "Echo", n, testKey, testSecret, "", now(), false))
		}, 403, "SignatureDoesNotMatch", "", testKey, false, true},
		{"tampered long", func(t *testing.T, n string) *http.Request {
			return tamper(stressRequest(t, "Echo", n, stressKey2, stressSecret2, "", now(), true))
		}, 403, "SignatureDoesNotMatch", "", stressKey2, false, true},
		{"wrong secret", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, stressKey2, testSecret, "", now(), false)
		}, 403, "SignatureDoesNotMatch", "", stressKey2, false, true},
		{"expired", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, testKey, testSecret, "", now().Add(-time.Hour), true)
		}, 403, "SignatureDoesNotMatch", "", "", false, false},
		{"presigned", func(t *testing.T, n string) *http.Request { return presigned(t, n, now(), 60) },
			200, "", one, testKey, false, true},
		{"presigned expired", func(t *testing.T, n string) *http.Request { return presigned(t, n, now().Add(-2*time.Minute), 60) },
			403, "SignatureDoesNotMatch", "", "", false, false},
		{"unsigned action", func(t *testing.T, n string) *http.Request { return request(t, stressForm("WhoAmI", n), false) },
			200, "", "", "", true, false},
		{"unsigned action signed badly", func(t *testing.T, n string) *http.Request {
			return tamper(stressRequest(t, "WhoAmI", n, testKey, testSecret, "", now(), true))
		}, 200, "", "", "", true, false},
		{"no signature", func(t *testing.T, n string) *http.Request { return request(t, stressForm("Echo", n), false) },
			403, "MissingAuthenticationToken", "", "", false, false},
		{"unknown key", func(t *testing.T, n string) *http.Request {
			return stressRequest(t, "Echo", n, "AKIAUNKNOWN000000000", testSecret, "", now(), false)
		}, 403, "InvalidClientTokenId", "", "AKIAUNKNOWN000000000", false, true},
		{"other service", func(t *testing.T, n string) *http.Request {
			r := stressRequest(t, "Echo", n, testKey, testSecret, "", now(), false)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/sts/", "/iam/", 1))
			return r
		}, 403, "InvalidClientTokenId", "", "", false, false},
		{"payload mismatch", func(t *testing.T, n string) *http.Request {
			r := stressRequest(t, "Echo", n, testKey, testSecret, "", now(), true)
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("a", 64))
			return r
		}, 403, "SignatureDoesNotMatch", "", "", false, false},
		{"malformed", func(t *testing.T, n string) *http.Request {
			r := stressRequest(t, "Echo", n, testKey, testSecret, "", now(), false)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKey+"/x")
			return r
		}, 400, "IncompleteSignature", "", "", false, false},
		{"panic", func(t *testing.T, n string) *http.Request {
			r := stressRequest(t, "Echo", "panic", testKey, testSecret, "", now(), true)
			return r
		}, 500, "InternalFailure", one, testKey, false, false},
	}
}

var (
	greetingRE = regexp.MustCompile(`<Greeting>([^<]*)</Greeting>`)
	reqIDRE    = regexp.MustCompile(`<RequestId>([^<]*)</RequestId>`)
	codeRE     = regexp.MustCompile(`<Code>([^<]*)</Code>`)
)

// TestStressSignaturesDoNotCross fires differently signed requests at one
// pipeline from many goroutines (its exchanges, and their signatures'
// storage, going from request to request) and checks each answer, and
// what the handler, recorder and observer saw, is its own request's.
func TestStressSignaturesDoNotCross(t *testing.T) {
	p, seen := newStressPipeline(t)
	cases := stressCases()
	const workers, perWorker = 8, 150
	var counter atomic.Int64
	var wg sync.WaitGroup
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				c := cases[(w*7+i*13+i/len(cases))%len(cases)]
				nonce := fmt.Sprintf("n%dx", counter.Add(1))
				r := c.build(t, nonce)
				// The string to sign a fresh Verifier computes for r.
				var wantSTS string
				if c.status == 200 && !c.unsigned {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					if sr, err := sigv4.NewVerifier(nil).Parse(r, body); err == nil {
						sum := sha256.Sum256([]byte(sr.StringToSign()))
						wantSTS = hex.EncodeToString(sum[:8])
					}
				}
				rw := httptest.NewRecorder()
				p.ServeHTTP(rw, r)
				body := rw.Body.String()
				if rw.Code != c.status {
					fail("%s %s: status %d, want %d: %s", c.name, nonce, rw.Code, c.status, body)
					continue
				}
				if c.code != "" {
					if m := codeRE.FindStringSubmatch(body); m == nil || m[1] != c.code {
						fail("%s %s: %s, want code %s", c.name, nonce, body, c.code)
					}
				}
				caller := strings.ReplaceAll(c.caller, "%s", nonce)
				if c.status == 200 {
					g := greetingRE.FindStringSubmatch(body)
					if g == nil {
						fail("%s %s: no greeting: %s", c.name, nonce, body)
						continue
					}
					sigNonce := ""
					if c.sigNonce {
						sigNonce = nonce
					}
					want := fmt.Sprintf("name=%s nonce1=%s nonce2=%s sts=%s caller=%s", nonce, sigNonce, sigNonce, wantSTS, caller)
					if g[1] != want {
						fail("%s: handler saw\n%s\nwant\n%s", c.name, g[1], want)
					}
				}
				m := reqIDRE.FindStringSubmatch(body)
				if m == nil {
					fail("%s %s: no request id: %s", c.name, nonce, body)
					continue
				}
				v, ok := seen.LoadAndDelete(m[1])
				if !ok {
					fail("%s %s: request %s not recorded", c.name, nonce, m[1])
					continue
				}
				s := v.(stressSeen)
				wantSeen := stressSeen{caller: caller, signedBy: c.signedBy, unsigned: c.unsigned, status: c.status}
				if c.status == 200 && c.sigNonce || c.sigNonce && c.signedBy != "" {
					wantSeen.canonicalNonce = nonce
				}
				if c.name == "panic" {
					wantSeen.canonicalNonce = "?" // signed, its nonce "panic" is not a nonce
				}
				if s != wantSeen {
					fail("%s %s: recorded %+v, want %+v", c.name, nonce, s, wantSeen)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d failures", n)
	}
}

// TestReusedExchangeAfterLongAndFailedParses: on one exchange reused
// serially, every case after every other case gets its own answer (the
// spill buffer, and a parse that failed part way, left behind).
func TestReusedExchangeAfterLongAndFailedParses(t *testing.T) {
	p, seen := newStressPipeline(t)
	cases := stressCases()
	n := 0
	for _, a := range cases {
		for _, b := range cases {
			for _, c := range []stressCase{a, b} {
				n++
				nonce := fmt.Sprintf("n%dx", n)
				rw := httptest.NewRecorder()
				p.ServeHTTP(rw, c.build(t, nonce))
				if rw.Code != c.status {
					t.Fatalf("%s after %s: status %d, want %d: %s", b.name, a.name, rw.Code, c.status, rw.Body)
				}
				m := reqIDRE.FindStringSubmatch(rw.Body.String())
				v, _ := seen.LoadAndDelete(m[1])
				s := v.(stressSeen)
				if want := strings.ReplaceAll(c.caller, "%s", nonce); s.caller != want || s.signedBy != c.signedBy {
					t.Errorf("%s after %s: recorded %+v", b.name, a.name, s)
				}
			}
		}
	}
}

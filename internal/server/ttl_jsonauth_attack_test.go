package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
)

// ---------------------------------------------------------------------
// 3. AWS JSON authentication errors (Organizations, CloudTrail)
// ---------------------------------------------------------------------

// atkClock is a settable clock for a server.
type atkClock struct{ ns atomic.Int64 }

func (c *atkClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *atkClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newAtkClock() *atkClock            { c := &atkClock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *atkClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }

// newAtkServer is a server with the audit trail on (strict), on clock
// when it is not nil.
func newAtkServer(t *testing.T, clock *atkClock) *Server {
	t.Helper()
	var opt Options
	if clock != nil {
		opt.Now = clock.now
	}
	return benchServerWith(t, opt, func(c *config.Config) { c.Audit, c.AuditStrict = true, true })
}

type atkAnswer struct {
	status  int
	code    string // __type (JSON) or <Code> (Query)
	message string
	header  string // X-Amzn-Errortype
	body    string
	id      string
}

func atkParse(rec *httptest.ResponseRecorder) atkAnswer {
	a := atkAnswer{status: rec.Code, header: rec.Header().Get("X-Amzn-Errortype"), body: rec.Body.String(), id: rec.Header().Get("X-Amzn-Requestid")}
	if strings.HasPrefix(strings.TrimSpace(a.body), "{") {
		var b struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &b)
		a.code, a.message = b.Type, b.Message
		return a
	}
	var x struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
		ReqID   string `xml:"RequestId"`
	}
	_ = xml.Unmarshal(rec.Body.Bytes(), &x)
	a.code, a.message = x.Code, x.Message
	if a.id == "" {
		a.id = x.ReqID
	}
	return a
}

// atkJSON sends a JSON request of target (prefix.action) signed for
// service with the credentials at time at (sign false: unsigned).
func atkJSON(t *testing.T, h http.Handler, target, service, key, secret, token string, at time.Time, sign bool) atkAnswer {
	t.Helper()
	body := []byte(`{}`)
	r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	if sign {
		if err := sigv4.Sign(r, body, key, secret, token, "us-east-1", service, at.UTC()); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return atkParse(rec)
}

func atkQuery(t *testing.T, h http.Handler, key, secret, token string, at time.Time) atkAnswer {
	t.Helper()
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	body := []byte(form.Encode())
	r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.Sign(r, body, key, secret, token, "us-east-1", "sts", at.UTC()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return atkParse(rec)
}

// atkSession gets a session token for a user key (GetSessionToken,
// 900 s) at time at.
func atkSession(t *testing.T, h http.Handler, key, secret string, at time.Time) (id, sec, token string) {
	t.Helper()
	form := url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}, "DurationSeconds": {"900"}}
	body := []byte(form.Encode())
	r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.Sign(r, body, key, secret, "", "us-east-1", "sts", at.UTC()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var out struct {
		ID     string `xml:"GetSessionTokenResult>Credentials>AccessKeyId"`
		Secret string `xml:"GetSessionTokenResult>Credentials>SecretAccessKey"`
		Token  string `xml:"GetSessionTokenResult>Credentials>SessionToken"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Token == "" {
		t.Fatalf("GetSessionToken: %d %s", rec.Code, rec.Body)
	}
	return out.ID, out.Secret, out.Token
}

// atkAuditLine returns the audit trail's line of request id.
func atkAuditLine(t *testing.T, s *Server, id string) map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "audit", "*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, `"requestID":"`+id+`"`) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("audit line: %v", err)
				}
				return m
			}
		}
	}
	t.Fatalf("no audit event for request %s", id)
	return nil
}

// TestAttackJSONAuthCodes: Organizations and CloudTrail answer the
// AWS JSON services' authentication codes (400), with the same messages
// as the Query APIs, and tell apart exactly what the Query APIs tell
// apart: an unknown key, an inactive key, a made-up session token and a
// revoked session are one answer (code and message); a wrong secret of
// a key that exists is InvalidSignatureException (as SignatureDoesNotMatch
// on Query), an expired session ExpiredTokenException. No answer carries
// the Query code of its cause, and OpenSTS's own JSON API keeps the Query
// codes. The audit record's errorCode is the code answered.
func TestAttackJSONAuthCodes(t *testing.T) {
	clock := newAtkClock()
	s := newAtkServer(t, clock)
	h := s.Handler()
	ctx := context.Background()
	id, secret := newUserKey(t, s, "alice")
	inactiveID, inactiveSecret := newUserKey(t, s, "bob")
	if _, err := s.iam.UpdateAccessKey(ctx, testRoot, &iam.UpdateAccessKeyInput{UserName: "bob", AccessKeyID: inactiveID, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	now := clock.now()
	sessID, sessSecret, sessToken := atkSession(t, h, id, secret, now)
	// A session that will be revoked: carol's.
	cid, csecret := newUserKey(t, s, "carol")
	rID, rSecret, rToken := atkSession(t, h, cid, csecret, now)
	if a := atkQuery(t, h, rID, rSecret, rToken, now); a.status != 200 {
		t.Fatalf("carol's session before revocation: %+v", a)
	}
	if err := s.quarantineUser(ctx, benchAccount, "carol", "arn:aws:iam::"+benchAccount+":root", "test"); err != nil {
		t.Fatal(err)
	}
	// A session that will expire: dave's.
	did, dsecret := newUserKey(t, s, "dave")
	eID, eSecret, eToken := atkSession(t, h, did, dsecret, now)

	type cred struct{ key, secret, token string }
	creds := map[string]cred{
		"unknown key":     {"AKIAUNKNOWNUNKNOWN12", secret, ""},
		"inactive key":    {inactiveID, inactiveSecret, ""},
		"wrong secret":    {id, wrongSecret(secret), ""},
		"made-up token":   {"ASIAUNKNOWNUNKNOWN12", sessSecret, "bogus-token"},
		"token of other":  {"ASIAUNKNOWNUNKNOWN12", sessSecret, sessToken},
		"revoked session": {rID, rSecret, rToken},
		"good session":    {sessID, sessSecret, sessToken},
	}
	jsonWant := map[string]string{
		"unknown key": "UnrecognizedClientException", "inactive key": "UnrecognizedClientException",
		"wrong secret": "InvalidSignatureException", "made-up token": "UnrecognizedClientException",
		"token of other": "UnrecognizedClientException", "revoked session": "UnrecognizedClientException",
	}
	queryWant := map[string]string{
		"unknown key": "InvalidClientTokenId", "inactive key": "InvalidClientTokenId",
		"wrong secret": "SignatureDoesNotMatch", "made-up token": "InvalidClientTokenId",
		"token of other": "InvalidClientTokenId", "revoked session": "InvalidClientTokenId",
	}
	targets := []struct{ target, service string }{
		{"AWSOrganizationsV20161128.DescribeOrganization", "organizations"},
		{CloudTrailPrefix + ".LookupEvents", "cloudtrail"},
		{CloudTrailShortPrefix + ".LookupEvents", "cloudtrail"},
	}
	messages := map[string]string{} // JSON code -> the one message of it
	for name, c := range creds {
		q := atkQuery(t, h, c.key, c.secret, c.token, now)
		for _, tg := range targets {
			a := atkJSON(t, h, tg.target, tg.service, c.key, c.secret, c.token, now, true)
			if name == "good session" {
				if a.status == 500 || strings.Contains(a.code, "Unrecognized") || strings.Contains(a.code, "Signature") {
					t.Errorf("%s %s: %+v", name, tg.target, a)
				}
				continue
			}
			if a.status != 400 || a.code != jsonWant[name] || a.header != a.code {
				t.Errorf("%s %s: %d %q (header %q), want 400 %s", name, tg.target, a.status, a.code, a.header, jsonWant[name])
			}
			if q.code != queryWant[name] {
				t.Errorf("%s: Query answered %s, want %s", name, q.code, queryWant[name])
			}
			if a.message != q.message {
				t.Errorf("%s %s: message %q, Query's %q", name, tg.target, a.message, q.message)
			}
			if m, ok := messages[a.code]; ok && m != a.message {
				t.Errorf("%s %s: %s with message %q, another with %q: the cases are told apart", name, tg.target, a.code, a.message, m)
			}
			messages[a.code] = a.message
			for _, leak := range []string{"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken\"", "realCredential", secret, sessSecret} {
				if strings.Contains(a.body, leak) {
					t.Errorf("%s %s: body %s carries %q", name, tg.target, a.body, leak)
				}
			}
			ev := atkAuditLine(t, s, a.id)
			if ev["errorCode"] != a.code {
				t.Errorf("%s %s: audit errorCode %v, answered %s", name, tg.target, ev["errorCode"], a.code)
			}
		}
	}
	// Expired: past the session's 900 s.
	clock.add(16 * time.Minute)
	later := clock.now()
	q := atkQuery(t, h, eID, eSecret, eToken, later)
	a := atkJSON(t, h, "AWSOrganizationsV20161128.DescribeOrganization", "organizations", eID, eSecret, eToken, later, true)
	if q.code != "ExpiredToken" || a.status != 400 || a.code != "ExpiredTokenException" || a.message != q.message {
		t.Errorf("expired session: Query %+v, JSON %+v", q, a)
	}
	// OpenSTS's own JSON API keeps the Query codes.
	a = atkJSON(t, h, "OpenSTSRevocation_20261204.ListRevocations", "opensts", "AKIAUNKNOWNUNKNOWN12", secret, "", later, true)
	if a.code != "InvalidClientTokenId" || a.status != 403 {
		t.Errorf("revocation API, unknown key: %+v", a)
	}
}

// TestAttackJSONAuthAuditMessage: the audit record of an Organizations
// or CloudTrail authentication failure carries the message answered, as
// CloudTrail records it, and as the same failure's record on a Query API
// does: not the message with the Query code it was mapped from appended
// ("... (InvalidClientTokenId: ...)"), which is neither AWS's record nor
// what the caller was told.
func TestAttackJSONAuthAuditMessage(t *testing.T) {
	s := newAtkServer(t, nil)
	h := s.Handler()
	id, secret := newUserKey(t, s, "alice")
	now := time.Now()
	for name, c := range map[string][2]string{
		"unknown key":  {"AKIAUNKNOWNUNKNOWN12", secret},
		"wrong secret": {id, wrongSecret(secret)},
	} {
		q := atkQuery(t, h, c[0], c[1], "", now)
		a := atkJSON(t, h, "AWSOrganizationsV20161128.DescribeOrganization", "organizations", c[0], c[1], "", now, true)
		qev, aev := atkAuditLine(t, s, q.id), atkAuditLine(t, s, a.id)
		if qev["errorMessage"] != q.message {
			t.Errorf("%s: Query record's errorMessage %q, answered %q", name, qev["errorMessage"], q.message)
		}
		if aev["errorMessage"] != a.message {
			t.Errorf("%s: Organizations record's errorMessage %q, answered %q (the Query record's: %q)", name, aev["errorMessage"], a.message, qev["errorMessage"])
		}
	}
	// Unauthenticated: no Authorization header, and one the answer quotes
	// (256 bytes of the caller's text): the record quotes it once, as the
	// answer does, not twice.
	for name, auth := range map[string]string{
		"unsigned": "",
		"garbled":  "AWS4-HMAC-SHA256 Credential=" + strings.Repeat("Z", 4000),
	} {
		r := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.DescribeOrganization")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		a := atkParse(rec)
		ev := atkAuditLine(t, s, a.id)
		if a.status != 400 || ev["errorCode"] != a.code {
			t.Errorf("%s: %+v, recorded %v", name, a, ev["errorCode"])
		}
		if m, _ := ev["errorMessage"].(string); m != a.message {
			t.Errorf("%s: record's errorMessage is %d bytes (%.120q...), the answer's %d", name, len(m), m, len(a.message))
		}
	}
}

// TestAttackJSONMalformed: malformed requests to the AWS JSON APIs
// answer 4xx, never 500 (a panic, which the pipeline answers 500, or an
// internal error), and each is recorded once.
func TestAttackJSONMalformed(t *testing.T) {
	s := newAtkServer(t, nil)
	h := s.Handler()
	id, secret := newUserKey(t, s, "alice")
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	date := now.Format("20060102")
	goodCred := id + "/" + date + "/us-east-1/organizations/aws4_request"
	big := bytes.Repeat([]byte("a"), 2<<20)
	type req struct {
		name   string
		method string
		target string
		auth   string
		body   []byte
		hdr    map[string]string
		sign   string // sign for this service (then auth is ignored)
	}
	var reqs []req
	for _, target := range []string{
		"AWSOrganizationsV20161128.DescribeOrganization", "AWSOrganizationsV20161128.", "AWSOrganizationsV20161128",
		".DescribeOrganization", "AWSOrganizationsV20161128.Nope", "CloudTrail_20131101.LookupEvents",
		CloudTrailPrefix + ".LookupEvents", "x", "\xff\xfe", strings.Repeat("A", 100000), "AWSOrganizationsV20161128.DescribeOrganization.Extra",
	} {
		for _, auth := range []string{
			"", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "garbage", "AWS4-HMAC-SHA256 Credential=",
			"AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
			"AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64),
			"AWS4-HMAC-SHA256 Credential=" + id + "/" + date + "/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64),
			"AWS4-HMAC-SHA256 Credential=" + id + "/" + date + "/us-east-1/organizations, SignedHeaders=host, Signature=" + strings.Repeat("0", 64),
			"AWS4-HMAC-SHA256 Credential=ASIA" + strings.Repeat("Z", 200) + "/" + date + "/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64),
			"AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64),
			"AWS4-HMAC-SHA256 Credential=" + goodCred + ", Credential=" + goodCred + ", SignedHeaders=host, Signature=00",
			"AWS4-HMAC-SHA256 Credential=" + strings.Repeat("/", 5000),
		} {
			reqs = append(reqs, req{name: "target " + apiQuote(target) + " auth " + apiQuote(auth), method: "POST", target: target, auth: auth, body: []byte(`{}`)})
		}
	}
	reqs = append(reqs,
		req{name: "GET", method: "GET", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "organizations", body: []byte(`{}`)},
		req{name: "oversized signed", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "organizations", body: big},
		req{name: "oversized unsigned", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", body: big},
		req{name: "garbled json signed", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "organizations", body: []byte(`{"a":`)},
		req{name: "garbled json unknown key", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "organizations-unknown", body: []byte(`{"a":`)},
		req{name: "nul json", method: "POST", target: CloudTrailPrefix + ".LookupEvents", sign: "cloudtrail", body: []byte("\x00")},
		req{name: "lookup bad attrs", method: "POST", target: CloudTrailPrefix + ".LookupEvents", sign: "cloudtrail", body: []byte(`{"LookupAttributes":[{"AttributeKey":"x","AttributeValue":null}],"MaxResults":-1}`)},
		req{name: "signed for sts", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "sts", body: []byte(`{}`)},
		req{name: "x-amz-date garbage", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", auth: "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64), hdr: map[string]string{"X-Amz-Date": "\xff"}, body: []byte(`{}`)},
		req{name: "two security tokens", method: "POST", target: "AWSOrganizationsV20161128.DescribeOrganization", sign: "organizations", hdr: map[string]string{"X-Amz-Security-Token": "x"}, body: []byte(`{}`)},
	)
	for _, rq := range reqs {
		r := httptest.NewRequest(rq.method, "http://opensts.test/", bytes.NewReader(rq.body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Amz-Target", rq.target)
		switch rq.sign {
		case "":
			if rq.auth != "" {
				r.Header.Set("Authorization", rq.auth)
				r.Header.Set("X-Amz-Date", amzDate)
			}
		case "organizations-unknown":
			if err := sigv4.Sign(r, rq.body, "AKIAUNKNOWNUNKNOWN12", secret, "", "us-east-1", "organizations", now); err != nil {
				t.Fatal(err)
			}
		default:
			if err := sigv4.Sign(r, rq.body, id, secret, "", "us-east-1", rq.sign, now); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range rq.hdr {
			r.Header.Add(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		a := atkParse(rec)
		if a.status >= 500 || a.status < 400 && a.status != 200 {
			t.Errorf("%s: %d %.300s", rq.name, a.status, a.body)
		}
		if a.code != a.header {
			t.Errorf("%s: __type %q, X-Amzn-Errortype %q", rq.name, a.code, a.header)
		}
		if len(a.body) > 8192 {
			t.Errorf("%s: %d-byte answer", rq.name, len(a.body))
		}
	}
}

func apiQuote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// ---------------------------------------------------------------------
// 1. The long-term key cache: TTL, LoadTieredMissed, Derived
// ---------------------------------------------------------------------

// atkServe sends a signed GetCallerIdentity at time at and returns its status.
func atkServe(t *testing.T, s *Server, id, secret string, at time.Time) int {
	t.Helper()
	return atkQuery(t, s.Handler(), id, secret, "", at).status
}

// TestAttackTTLBehindFeed: a key deactivated, deleted, or whose user
// was renamed behind the feed's back (another node's change, not yet
// polled) is served from the first tier within its lifetime only, and
// once past it is read again from the store: the first-tier entry past
// its lifetime, which is no longer Deleted, is not served, nor is the
// second tier's record (which carries the same lifetime), whichever
// tier the key is in.
func TestAttackTTLBehindFeed(t *testing.T) {
	for _, change := range []string{"deactivate", "delete"} {
		for _, dropFirst := range []bool{false, true} {
			clock := newAtkClock()
			s := newAtkServer(t, clock)
			ctx := context.Background()
			id, secret := newUserKey(t, s, "victim")
			t0 := clock.now()
			if code := atkServe(t, s, id, secret, t0); code != 200 {
				t.Fatal(code)
			}
			e, err := s.keys.get(ctx, id, t0)
			if err != nil {
				t.Fatal(err)
			}
			if life := time.Duration(e.expires - t0.UnixNano()); life > s.keys.ttl || life < s.keys.ttl*3/4-time.Second {
				t.Fatalf("lifetime %v of a TTL %v", life, s.keys.ttl)
			}
			if _, ok := s.keys.cache.TierRecord([]byte(id)); !ok {
				t.Fatal("no record")
			}
			s.store.SetChangeHook(nil)
			k, err := s.store.GetAccessKey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch change {
			case "deactivate":
				k.Status = "Inactive"
				err = s.store.UpdateAccessKey(ctx, k)
			case "delete":
				err = s.store.DeleteAccessKey(ctx, id)
			}
			if err != nil {
				t.Fatal(err)
			}
			exp := time.Unix(0, e.expires)
			clock.set(exp.Add(-time.Second))
			if dropFirst {
				s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
			}
			if code := atkServe(t, s, id, secret, clock.now()); code != 200 {
				t.Fatalf("%s drop %v: within its lifetime the key is served from memory (%d)", change, dropFirst, code)
			}
			clock.set(exp)
			if dropFirst {
				s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
			}
			for i := range 3 {
				if code := atkServe(t, s, id, secret, clock.now()); code == 200 {
					t.Fatalf("%s drop %v, request %d: the key authenticates at its expiry", change, dropFirst, i)
				}
			}
		}
	}
}

// TestAttackNoStaleWriteBackPastTTL: an entry read before an
// invalidation, whose record in the second tier is older (smaller expiry)
// than it, does not rewrite the record after the invalidation: neither
// the key's own change, nor its user's, nor any other key's (the
// generation is the cache's).
func TestAttackNoStaleWriteBackPastTTL(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	day := time.Now().UTC().Format("20060102")
	for i, inv := range []string{"key", "user", "other-key", "other-user"} {
		id, _ := newUserKey(t, s, fmt.Sprint("stale", i))
		otherID, _ := newUserKey(t, s, fmt.Sprint("other", i))
		e, err := s.keys.get(ctx, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// A record older than the entry: the entry's is rewritten by
		// Derived (the new rule), unless an invalidation ran.
		old := e.row()
		old.expires = e.expires - int64(time.Minute)
		sealedKey, err := s.iam.SealSigningKey(id, []byte(day+"/us-east-1/sts"), make([]byte, sha256.Size))
		if err != nil {
			t.Fatal(err)
		}
		if !s.keys.cache.ReplaceTiered([]byte(id), s.keys.cache.Gen(), old.encode(nil, day+"/us-east-1/sts", sealedKey)) {
			t.Fatal("ReplaceTiered refused")
		}
		before, _ := s.keys.cache.TierRecord([]byte(id))
		switch inv {
		case "key":
			s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: id})
		case "user":
			s.keys.forget(store.Change{Kind: store.ChangeUser, Key: e.auth.Caller.UserID})
		case "other-key":
			s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: otherID})
		case "other-user":
			s.keys.forget(store.Change{Kind: store.ChangeUser, Key: "AIDANOBODY"})
		}
		var k [sha256.Size]byte
		k[0] = 1
		e.Derived(day, "us-east-1", "iam", &k)
		after, ok := s.keys.cache.TierRecord([]byte(id))
		switch {
		case inv == "key" && ok:
			t.Errorf("%s: a record after the key's invalidation", inv)
		case inv != "key" && !bytes.Equal(before, after):
			t.Errorf("%s: the record was rewritten by an entry read before an invalidation", inv)
		}
	}
}

// TestAttackBadSignaturePastTTL: a request with a bad signature, for a
// key whose entry is past its lifetime (read again) or whose record is
// older, writes no record and leaves the entry holding no signing key of
// its scope.
func TestAttackBadSignaturePastTTL(t *testing.T) {
	clock := newAtkClock()
	s := newAtkServer(t, clock)
	ctx := context.Background()
	id, secret := newUserKey(t, s, "victim")
	if code := atkServe(t, s, id, secret, clock.now()); code != 200 {
		t.Fatal(code)
	}
	before := mustRecord(t, s, id)
	e, _ := s.keys.get(ctx, id, clock.now())
	clock.set(time.Unix(0, e.expires).Add(time.Second))
	bad := wrongSecret(secret)
	if code := atkServe(t, s, id, bad, clock.now()); code == 200 {
		t.Fatal("a bad signature authenticated")
	}
	after := mustRecord(t, s, id)
	if !bytes.Equal(before, after) {
		t.Error("a request with a bad signature rewrote the record")
	}
	e2, _ := s.keys.get(ctx, id, clock.now())
	if e2 == e {
		t.Fatal("the entry past its lifetime is still the one served")
	}
	if _, ok := e2.SigningKey(clock.now().UTC().Format("20060102"), "us-east-1", "sts"); ok {
		t.Error("the entry read again holds a signing key a bad request derived")
	}
	// The good request then renews the record.
	if code := atkServe(t, s, id, secret, clock.now()); code != 200 {
		t.Fatal(code)
	}
	r, _ := decodeRecord(mustRecord(t, s, id))
	if r.row.expires != e2.expires {
		t.Errorf("record's expiry %d, the entry's %d", r.row.expires, e2.expires)
	}
}

// TestAttackReloadRaceDeactivate: many goroutines hit a key whose
// entries expire constantly (a tiny TTL, so LoadTieredMissed and Derived's
// rewrite of older records run all the time) while the key is
// deactivated through IAM: no request begun after UpdateAccessKey
// returned authenticates, and no active record is left.
func TestAttackReloadRaceDeactivate(t *testing.T) {
	for round := range 4 {
		s := newTestServer(t, io.Discard)
		s.keys.ttl = time.Duration(1+round) * time.Millisecond
		id, secret := newUserKey(t, s, "racer")
		var deactivated atomic.Bool
		var bad, ok200 atomic.Int64
		stop := untilStopped(3, func(w, i int) {
			svc := "sts"
			if (i+w)%2 == 1 {
				svc = "iam"
			}
			after := deactivated.Load()
			if attackServe(t, s, svc, id, secret) == 200 {
				ok200.Add(1)
				if after {
					bad.Add(1)
				}
			}
		})
		time.Sleep(40 * time.Millisecond)
		if _, err := s.iam.UpdateAccessKey(context.Background(), testRoot, &iam.UpdateAccessKeyInput{UserName: "racer", AccessKeyID: id, Status: "Inactive"}); err != nil {
			t.Fatal(err)
		}
		deactivated.Store(true)
		time.Sleep(40 * time.Millisecond)
		stop()
		if ok200.Load() == 0 {
			t.Fatalf("round %d: nothing authenticated before the deactivation", round)
		}
		if n := bad.Load(); n > 0 {
			t.Errorf("round %d: %d requests begun after the deactivation authenticated", round, n)
		}
		if rec, ok := s.keys.cache.TierRecord([]byte(id)); ok {
			if r, ok := decodeRecord(rec); ok && r.row.active {
				t.Errorf("round %d: an active record after the deactivation", round)
			}
		}
		s.keys.ttl = keyTTL
		for _, svc := range []string{"sts", "iam"} {
			if code := attackServe(t, s, svc, id, secret); code == 200 {
				t.Errorf("round %d: the deactivated key authenticates (%s)", round, svc)
			}
		}
	}
}

// TestAttackRenameRace: a user renamed while its key's entries expire
// constantly: once UpdateUser returned, no request authenticates as the
// old name, from either tier.
func TestAttackRenameRace(t *testing.T) {
	s := newTestServer(t, io.Discard)
	s.keys.ttl = 2 * time.Millisecond
	id, secret := newUserKey(t, s, "oldname")
	var renamed atomic.Bool
	var bad atomic.Int64
	stop := untilStopped(3, func(w, i int) {
		after := renamed.Load()
		e, err := s.keys.Key(context.Background(), id, time.Now())
		if err == nil && after && strings.HasSuffix(e.Caller.ARN, "/oldname") {
			bad.Add(1)
		}
		if (i+w)%4 == 0 {
			attackServe(t, s, "sts", id, secret)
		}
		if i%7 == 0 {
			s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return false })
		}
	})
	time.Sleep(30 * time.Millisecond)
	if _, err := s.iam.UpdateUser(context.Background(), testRoot, &iam.UpdateUserInput{UserName: "oldname", NewUserName: "newname"}); err != nil {
		t.Fatal(err)
	}
	renamed.Store(true)
	time.Sleep(30 * time.Millisecond)
	stop()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d lookups after the rename returned the old name", n)
	}
}

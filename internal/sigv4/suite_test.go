package sigv4

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opensts/opensts/internal/sharedtest"
)

func parseRawRequest(t *testing.T, raw string) (*http.Request, []byte) {
	t.Helper()
	return sharedtest.ParseRawRequest(t, raw)
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Expiration       int       `json:"expiration_in_seconds"`
	Normalize        bool      `json:"normalize"`
	Region           string    `json:"region"`
	Service          string    `json:"service"`
	SignBody         bool      `json:"sign_body"`
	Timestamp        time.Time `json:"timestamp"`
	OmitSessionToken bool      `json:"omit_session_token"`
}

type suiteCase struct {
	request, canonical, stringToSign string
	secret, token, akid              string
	region, service                  string
	now                              time.Time
	verifier                         *Verifier
	presigned                        bool
	expires                          time.Duration
}

func checkSuiteCase(t *testing.T, c suiteCase) {
	t.Helper()
	r, body := parseRawRequest(t, c.request)
	got, err := c.verifier.Parse(r, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff(c.canonical, got.CanonicalRequest()); diff != "" {
		t.Errorf("canonical request (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(c.stringToSign, got.StringToSign()); diff != "" {
		t.Errorf("string to sign (-want +got):\n%s", diff)
	}
	want := claims{AccessKeyID: c.akid, Date: c.now.Format("20060102"), Region: c.region, Service: c.service,
		SecurityToken: c.token, Time: c.now, Presigned: c.presigned, Expires: c.expires}
	if diff := cmp.Diff(want, claimsOf(got)); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if err := c.verifier.Verify(got, []byte(c.secret)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := c.verifier.Verify(got, []byte(c.secret+"x")); err == nil {
		t.Error("Verify with a wrong secret succeeded")
	}
	// The scope's signing key alone (what a local verifier is given)
	// verifies, and a key of another day, region or service does not.
	key := SigningKey([]byte(c.secret), got.Date, got.Region, got.Service)
	if err := c.verifier.VerifyKey(got, &key); err != nil {
		t.Errorf("VerifyKey: %v", err)
	}
	for _, k := range [][32]byte{
		SigningKey([]byte(c.secret), "20000101", got.Region, got.Service),
		SigningKey([]byte(c.secret), got.Date, got.Region+"x", got.Service),
		SigningKey([]byte(c.secret), got.Date, got.Region, got.Service+"x"),
	} {
		if err := c.verifier.VerifyKey(got, &k); err == nil {
			t.Error("VerifyKey with another scope's key succeeded")
		}
	}
	// The same request, its body given by hash (ParseHashAt), builds the
	// same canonical request and verifies.
	r, body = parseRawRequest(t, c.request)
	hash := ""
	if body != nil {
		hash = hashHex(body)
	}
	byHash, err := c.verifier.ParseHashAt(r, hash, c.now)
	if err != nil {
		t.Fatalf("ParseHashAt: %v", err)
	}
	if diff := cmp.Diff(c.canonical, byHash.CanonicalRequest()); diff != "" {
		t.Errorf("ParseHashAt canonical request (-want +got):\n%s", diff)
	}
	if err := c.verifier.Verify(byHash, []byte(c.secret)); err != nil {
		t.Errorf("Verify after ParseHashAt: %v", err)
	}
	// ParseHashInto a Request reused (first for a long request, whose
	// buffer it keeps) builds the same.
	into := new(Request)
	long, _ := parseRawRequest(t, c.request)
	long.URL.RawQuery += "&pad=" + strings.Repeat("p", 2000)
	if err := c.verifier.ParseHashInto(into, long, hash, c.now); err != nil || len(into.CanonicalRequest()) < 2000 {
		t.Fatalf("ParseHashInto of a long request: %v", err)
	}
	for range 2 {
		r, _ = parseRawRequest(t, c.request)
		if err := c.verifier.ParseHashInto(into, r, hash, c.now); err != nil {
			t.Fatalf("ParseHashInto: %v", err)
		}
		if into.CanonicalRequest() != c.canonical || into.StringToSign() != c.stringToSign || claimsOf(into) != claimsOf(byHash) {
			t.Errorf("ParseHashInto differs from ParseHashAt")
		}
		if err := c.verifier.Verify(into, []byte(c.secret)); err != nil {
			t.Errorf("Verify after ParseHashInto: %v", err)
		}
	}
	// ParseAtInto, the listener's, the same: into a Request that a long
	// request and a failed parse used before.
	r, body = parseRawRequest(t, c.request)
	if _, err := c.verifier.ParseAtInto(into, r, body, c.now.Add(-time.Hour)); err == nil {
		t.Fatal("ParseAtInto an hour before the request's time succeeded")
	}
	for range 2 {
		r, body = parseRawRequest(t, c.request)
		got, err := c.verifier.ParseAtInto(into, r, body, c.now)
		if err != nil || got != into {
			t.Fatalf("ParseAtInto: %v (into itself: %v)", err, got == into)
		}
		if into.CanonicalRequest() != c.canonical || into.StringToSign() != c.stringToSign || claimsOf(into) != claimsOf(byHash) {
			t.Errorf("ParseAtInto differs from Parse")
		}
		if err := c.verifier.Verify(into, []byte(c.secret)); err != nil {
			t.Errorf("Verify after ParseAtInto: %v", err)
		}
	}
}

type claims struct {
	AccessKeyID, Date, Region, Service, SecurityToken string
	Time                                              time.Time
	Presigned                                         bool
	Expires                                           time.Duration
}

func claimsOf(r *Request) claims {
	return claims{r.AccessKeyID, r.Date, r.Region, r.Service, r.SecurityToken, r.Time, r.Presigned, r.Expires}
}

// TestAWSCAuthSuite runs the v4 cases of aws-c-auth's signing suite, header
// and query forms. Out of scope: the v4a cases (SigV4a, ECDSA P-256), which
// this package does not implement; the v4 cases cover every canonicalization
// rule they share.
func TestAWSCAuthSuite(t *testing.T) {
	dir := filepath.Join(sharedtest.Dir(t, "sigv4-aws-c-auth"), "v4")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 27 {
		t.Fatalf("found %d v4 cases, want 27", len(entries))
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		caseDir := filepath.Join(dir, e.Name())
		var ctx suiteContext
		if err := json.Unmarshal([]byte(readText(t, filepath.Join(caseDir, "context.json"))), &ctx); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, form := range []string{"header", "query"} {
			t.Run(e.Name()+"/"+form, func(t *testing.T) {
				t.Parallel()
				now := ctx.Timestamp
				v := NewVerifier(func() time.Time { return now })
				normalize := ctx.Normalize
				v.RawPath = func(string) bool { return !normalize }
				v.UnsignedQueryToken = ctx.OmitSessionToken
				c := suiteCase{
					request:      readText(t, filepath.Join(caseDir, form+"-signed-request.txt")),
					canonical:    readText(t, filepath.Join(caseDir, form+"-canonical-request.txt")),
					stringToSign: readText(t, filepath.Join(caseDir, form+"-string-to-sign.txt")),
					secret:       ctx.Credentials.SecretAccessKey,
					akid:         ctx.Credentials.AccessKeyID,
					token:        ctx.Credentials.Token,
					region:       ctx.Region,
					service:      ctx.Service,
					now:          now,
					verifier:     v,
					presigned:    form == "query",
				}
				if c.presigned {
					c.expires = time.Duration(ctx.Expiration) * time.Second
				}
				checkSuiteCase(t, c)
				sig := strings.TrimSpace(readText(t, filepath.Join(caseDir, form+"-signature.txt")))
				if !strings.Contains(c.request, sig) {
					t.Errorf("signed request does not carry the expected signature %s", sig)
				}
			})
		}
	}
}

// TestBotocoreSuite runs every case of the AWS SigV4 test suite as botocore
// ships it, including the ones botocore itself skips (get-space, repeated
// query keys).
func TestBotocoreSuite(t *testing.T) {
	dir := sharedtest.Dir(t, "sigv4-botocore-aws4_testsuite")
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sreq") {
			return err
		}
		n++
		base := strings.TrimSuffix(path, ".sreq")
		name, _ := filepath.Rel(dir, base)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req := readText(t, path)
			c := suiteCase{
				request:      req,
				canonical:    readText(t, base+".creq"),
				stringToSign: readText(t, base+".sts"),
				secret:       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
				akid:         "AKIDEXAMPLE",
				token:        headerValue(req, "X-Amz-Security-Token"),
				region:       "us-east-1",
				service:      "service",
				now:          now,
				verifier:     NewVerifier(func() time.Time { return now }),
			}
			checkSuiteCase(t, c)
			authz := strings.TrimSpace(readText(t, base+".authz"))
			if got := headerValue(req, "Authorization"); got != authz {
				t.Errorf("Authorization = %q, suite .authz = %q", got, authz)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 24 {
		t.Fatalf("found %d cases, want at least 24", n)
	}
}

func headerValue(raw, name string) string {
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

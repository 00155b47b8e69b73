package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// rawRequest writes req to addr with its request-target replaced by
// target (bytes the Go client would never send, such as a raw "#") and
// returns the status and body of the answer.
func rawRequest(t *testing.T, gwURL string, req *http.Request, target string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	line := bytes.IndexByte(b, '\n')
	first := string(b[:line])
	method, rest, _ := strings.Cut(first, " ")
	_, proto, _ := strings.Cut(rest, " ")
	raw := append([]byte(method+" "+target+" "+proto), b[line:]...)
	u, err := url.Parse(gwURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestAttackGatewayFragment: a raw "#" in the request-target. OpenSTS
// drops the fragment of the URL it is asked about and verifies the
// signature over the path before it, while the gateway read the key (or
// the query) through the "#": a request signed for home/a.txt, replayed
// with "#x" appended, read home/a.txt#x; a presigned URL with "#&acl"
// appended became another operation. Both are refused before anything
// is asked or forwarded.
func TestAttackGatewayFragment(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	g.up.put(t, "data", "home/a.txt", "signed for this")
	g.up.put(t, "data", "home/a.txt#x", "but this was read")

	req, _ := http.NewRequest(http.MethodGet, g.gw.url+"/data/home/a.txt", nil)
	req.Header.Set("X-Amz-Content-Sha256", emptyHash)
	if err := benchSigner.SignHTTP(ctx, g.alice, req, emptyHash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, body := rawRequest(t, g.gw.url, req, "/data/home/a.txt"); code != 200 || body != "signed for this" {
		t.Fatalf("the signed request itself = %d %q", code, body)
	}
	code, body := rawRequest(t, g.gw.url, req, "/data/home/a.txt#x")
	if code != 400 || !strings.Contains(body, "<Code>InvalidURI</Code>") {
		t.Fatalf("replayed with a fragment = %d %q, want 400 InvalidURI", code, body)
	}

	// A presigned URL: the query after "#" was read as the request's.
	preq, _ := http.NewRequest(http.MethodGet, g.gw.url+"/data/home/a.txt", nil)
	signed, _, err := benchSigner.PresignHTTP(ctx, g.alice, preq, sigv4UnsignedPayload, "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(signed)
	plain, _ := http.NewRequest(http.MethodGet, signed, nil)
	if code, body := rawRequest(t, g.gw.url, plain, pu.RequestURI()); code != 200 || body != "signed for this" {
		t.Fatalf("the presigned URL itself = %d %q", code, body)
	}
	for len(g.up.seen) > 0 {
		<-g.up.seen
	}
	code, body = rawRequest(t, g.gw.url, plain, pu.RequestURI()+"#&tagging")
	if code != 400 || !strings.Contains(body, "<Code>InvalidURI</Code>") {
		t.Fatalf("presigned URL with a fragment = %d %q, want 400 InvalidURI", code, body)
	}
	if len(g.up.seen) != 0 {
		t.Fatalf("a request with a fragment reached the upstream: %s", <-g.up.seen)
	}
}

const sigv4UnsignedPayload = "UNSIGNED-PAYLOAD"

// TestAttackGatewayHeaderPermissions: S3 authorizes the headers of a
// write that set an ACL, tags or object-lock settings, or bypass
// governance retention, with actions of their own besides s3:PutObject
// or s3:DeleteObject; the gateway's upstream credentials can do all of
// them, so the gateway must check them. A user allowed only s3:PutObject
// and s3:DeleteObject could make her object public-read at the store,
// tag it, lock it, or delete a governance-locked object.
func TestAttackGatewayHeaderPermissions(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	full := g.e.userWith(t, "full", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject",
		"s3:PutObjectAcl","s3:PutObjectTagging","s3:BypassGovernanceRetention"],"Resource":"arn:aws:s3:::data/home/*"}]}`)
	send := func(k aws.Credentials, method, path string, body string, h map[string]string) (int, string) {
		req, _ := http.NewRequest(method, g.gw.url+path, strings.NewReader(body))
		if body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		s := sha256.Sum256([]byte(body))
		hash := hex.EncodeToString(s[:])
		req.Header.Set("X-Amz-Content-Sha256", hash)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if err := benchSigner.SignHTTP(ctx, k, req, hash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return doReq(t, req)
	}
	for _, c := range []struct {
		name, method, path string
		h                  map[string]string
	}{
		{"a canned ACL", "PUT", "/data/home/acl.txt", map[string]string{"X-Amz-Acl": "public-read"}},
		{"a grant", "PUT", "/data/home/grant.txt", map[string]string{"X-Amz-Grant-Read": "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""}},
		{"tags", "PUT", "/data/home/tags.txt", map[string]string{"X-Amz-Tagging": "team=blue"}},
		{"an ACL on a multipart upload", "POST", "/data/home/mp.bin?uploads", map[string]string{"X-Amz-Acl": "public-read"}},
		{"a governance bypass", "DELETE", "/data/home/locked.txt", map[string]string{"X-Amz-Bypass-Governance-Retention": "true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := ""
			if c.method == "PUT" {
				body = "x"
			}
			if code, out := send(g.alice, c.method, c.path, body, c.h); code != 403 || !strings.Contains(out, "<Code>AccessDenied</Code>") {
				t.Fatalf("alice without the header's permission = %d %s", code, out)
			}
			if c.method == "PUT" {
				if _, ok := g.up.has(t, "data", strings.TrimPrefix(c.path, "/data/")); ok {
					t.Fatal("the denied write reached the store")
				}
				if code, out := send(full, c.method, c.path, body, c.h); code != 200 {
					t.Fatalf("a user with the header's permission = %d %s", code, out)
				}
			}
		})
	}
}

// TestAttackGatewayRepeatedConditionHeaders: a header that is a condition
// key, sent twice, makes the key multivalued, and a single-valued
// operator never matches a multivalued key: a bucket policy's "Deny
// s3:PutObject when s3:x-amz-acl is public-read" did not apply to a PUT
// with x-amz-acl: public-read twice, which the store read as public-read.
// The same held for a tag given twice in x-amz-tagging. Such requests are
// refused.
func TestAttackGatewayRepeatedConditionHeaders(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	gwCreds := e.userWith(t, "gateway", gatewayIdentity)
	writer := e.userWith(t, "writer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:PutObjectAcl","s3:PutObjectTagging"],"Resource":"arn:aws:s3:::data/*"}]}`)
	up := startUpstream(t, "data")
	policies := t.TempDir()
	if err := os.WriteFile(filepath.Join(policies, "data.json"), []byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"NoPublic","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::data/*","Condition":{"StringEquals":{"s3:x-amz-acl":"public-read"}}},
		{"Sid":"NoSecretTag","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::data/*","Condition":{"StringEquals":{"s3:RequestObjectTag/class":"secret"}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, e, up, gwCreds, "--bucket-policies", policies)
	put := func(key string, h http.Header) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, gw.url+"/data/"+key, strings.NewReader("x"))
		s := sha256.Sum256([]byte("x"))
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(s[:]))
		for k, vs := range h {
			req.Header[k] = vs
		}
		if err := benchSigner.SignHTTP(ctx, writer, req, hex.EncodeToString(s[:]), "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return doReq(t, req)
	}
	// The policy as written.
	if code, body := put("one.txt", http.Header{"X-Amz-Acl": {"public-read"}}); code != 403 {
		t.Fatalf("x-amz-acl: public-read = %d %s", code, body)
	}
	if code, body := put("ok.txt", http.Header{"X-Amz-Acl": {"private"}}); code != 200 {
		t.Fatalf("x-amz-acl: private = %d %s", code, body)
	}
	if code, body := put("tag.txt", http.Header{"X-Amz-Tagging": {"class=secret"}}); code != 403 {
		t.Fatalf("x-amz-tagging: class=secret = %d %s", code, body)
	}
	for name, h := range map[string]http.Header{
		"x-amz-acl twice":              {"X-Amz-Acl": {"public-read", "public-read"}},
		"x-amz-acl twice, different":   {"X-Amz-Acl": {"public-read", "private"}},
		"a tag twice in x-amz-tagging": {"X-Amz-Tagging": {"class=secret&class=secret"}},
		"x-amz-tagging twice":          {"X-Amz-Tagging": {"class=secret", "class=secret"}},
	} {
		key := strings.ReplaceAll(name, " ", "-") + ".txt"
		if code, body := put(key, h); code != 400 && code != 403 {
			t.Errorf("%s = %d %s, want a refusal", name, code, body)
		}
		if _, ok := up.has(t, "data", key); ok {
			t.Errorf("%s: the object was stored", name)
		}
	}
}

// TestAttackGatewayOversizedRequest: a request whose headers or URL are
// more than the authorize API takes (128 header names, 16 KiB of URL)
// was answered 503 ServiceUnavailable, which SDKs retry: a client's
// mistake read as the gateway's, and each retry another call to OpenSTS.
// It is the client's error now (400, 414), and OpenSTS is not asked.
func TestAttackGatewayOversizedRequest(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	g.up.put(t, "data", "home/a.txt", "a")
	get := func(path string, pad int, h ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, g.gw.url+path, nil)
		req.Header.Set("X-Amz-Content-Sha256", emptyHash)
		for i := range pad {
			req.Header.Set(fmt.Sprintf("X-Pad-%d", i), "x")
		}
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		if err := benchSigner.SignHTTP(ctx, g.alice, req, emptyHash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return doReq(t, req)
	}
	if code, body := get("/data/home/a.txt", 100); code != 200 {
		t.Fatalf("100 extra headers = %d %s", code, body)
	}
	if code, body := get("/data/home/a.txt", 140); code != 400 || !strings.Contains(body, "RequestHeaderSectionTooLarge") {
		t.Errorf("140 extra headers = %d %s, want 400", code, body)
	}
	if code, body := get("/data/home/a.txt?response-content-type="+strings.Repeat("x", 17<<10), 0); code != 414 {
		t.Errorf("a 17 KiB URL = %d %s, want 414", code, body)
	}
	// Condition keys from the client: an aws:Referer longer than a
	// context value may be, or not UTF-8.
	if code, body := get("/data/home/a.txt", 0, "Referer", "https://example.com/"+strings.Repeat("r", 2000)); code != 400 || !strings.Contains(body, "InvalidArgument") {
		t.Errorf("a 2 KB Referer = %d %s, want 400", code, body)
	}
	if code, body := get("/data/home/a.txt", 0, "Referer", "https://example.com/\xff"); code != 400 || !strings.Contains(body, "InvalidArgument") {
		t.Errorf("a Referer that is not UTF-8 = %d %s, want 400", code, body)
	}
}

// TestAttackGatewayDotSegments: alice may read data/home/* and
// data/public/*, not data/private/*. A request signed for the key
// home/../private/x is within home/* for the policy, but a store that
// resolves keys as paths (a file system backend, a server that cleans
// URLs) serves private/x; home//private... likewise escapes a Deny on a
// prefix. The gateway refuses such keys (InvalidURI), in the path and in
// a copy source, before anything is asked or forwarded.
func TestAttackGatewayDotSegments(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	for len(g.up.seen) > 0 {
		<-g.up.seen
	}
	sign := func(method, path string, h map[string]string) *http.Request {
		req, _ := http.NewRequest(method, g.gw.url+"/data/home/placeholder", nil)
		req.URL.Opaque = "//" + strings.TrimPrefix(g.gw.url, "http://") + path // sign the path as is
		req.Header.Set("X-Amz-Content-Sha256", emptyHash)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if err := benchSigner.SignHTTP(ctx, g.alice, req, emptyHash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	for _, path := range []string{"/data/home/../private/x", "/data/home/%2e%2e/private/x", "/data/home/./x", "/data/home/a/..", "/data/home//x"} {
		code, body := rawRequest(t, g.gw.url, sign(http.MethodGet, path, nil), path)
		if code != 400 || !strings.Contains(body, "<Code>InvalidURI</Code>") {
			t.Errorf("GET %s = %d %q, want 400 InvalidURI", path, code, body)
		}
	}
	code, body := rawRequest(t, g.gw.url, sign(http.MethodPut, "/data/home/copy", map[string]string{"X-Amz-Copy-Source": "/data/home/../private/x"}), "/data/home/copy")
	if code != 400 || !strings.Contains(body, "InvalidArgument") {
		t.Errorf("copy from home/../private/x = %d %q, want 400 InvalidArgument", code, body)
	}
	if len(g.up.seen) != 0 {
		t.Fatalf("a dotted key reached the upstream: %s", <-g.up.seen)
	}
	// A trailing "/" (a folder marker) is a key like any other.
	if code, body := rawRequest(t, g.gw.url, sign(http.MethodPut, "/data/home/folder/", nil), "/data/home/folder/"); code != 200 {
		t.Errorf("PUT home/folder/ = %d %q", code, body)
	}
}

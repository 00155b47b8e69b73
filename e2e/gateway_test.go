package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// The gateway end to end: the real `opensts gateway` binary between the
// real AWS CLI and boto3 and an S3 server none of us wrote (versitygw, its
// posix backend, started by the tests; scripts/test-deps installs it),
// which accepts only requests signed with the upstream's own credentials
// (its own SigV4 check), so a request the gateway did not re-sign
// correctly fails.

const (
	upstreamKeyID  = "UPSTREAMKEYID0000001"
	upstreamSecret = "upstreamSecretForTestsOnly/0123456789abc"
)

// versitygwPath is the versitygw binary: OPENSTS_TEST_VERSITYGW, else
// where scripts/test-deps installs it.
func versitygwPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("OPENSTS_TEST_VERSITYGW")
	if p == "" {
		p = "/usr/local/bin/versitygw"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("versitygw is missing: run ./scripts/test-deps (%v)", err)
	}
	return p
}

// upstreamS3 is versitygw behind a recorder that checks that nothing of
// the client's authentication reaches it.
type upstreamS3 struct {
	url  string // the recorder's, which the gateway calls
	root string // versitygw's posix root: ROOT/BUCKET/KEY
	vgw  string // versitygw's own URL
	// seen records every request that reached the store: method and path.
	seen chan string
}

func startUpstream(t testing.TB, buckets ...string) *upstreamS3 {
	t.Helper()
	u := &upstreamS3{root: t.TempDir(), seen: make(chan string, 4096)}
	addr := freePortTB(t)
	cmd := exec.Command(versitygwPath(t), "--access", upstreamKeyID, "--secret", upstreamSecret, "--region", "us-east-1", "--port", addr, "posix", u.root)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stop(cmd.Process, os.Interrupt, exited, 10*time.Second)
		if t.Failed() {
			t.Logf("versitygw:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	u.vgw = "http://" + addr
	target, _ := url.Parse(u.vgw)
	proxy := &httputil.ReverseProxy{
		// The Host stays the one the gateway signed: versitygw checks it.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest {
				b, _ := io.ReadAll(resp.Body)
				resp.Body = io.NopCloser(bytes.NewReader(b))
				if bytes.Contains(b, []byte("SignatureDoesNotMatch")) || bytes.Contains(b, []byte("InvalidAccessKeyId")) ||
					bytes.Contains(b, []byte("XAmzContentSHA256Mismatch")) || bytes.Contains(b, []byte("AuthorizationHeaderMalformed")) {
					t.Errorf("the store refused the gateway's request %s %s: %s", resp.Request.Method, resp.Request.URL, b)
				}
			}
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.Header {
			l := strings.ToLower(k)
			if l == "x-amz-security-token" || strings.HasPrefix(l, "x-amz-signature") {
				t.Errorf("the client's %s reached the upstream", k)
			}
		}
		if strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
			t.Errorf("presign parameters reached the upstream")
		}
		select {
		case u.seen <- r.Method + " " + r.URL.EscapedPath():
		default:
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL
	for _, b := range buckets {
		if code, body := u.call(t, http.MethodPut, "/"+b, nil); code != 200 {
			t.Fatalf("create bucket %s: %d %s", b, code, body)
		}
	}
	return u
}

// call sends a request signed with the upstream's keys straight to
// versitygw.
func (u *upstreamS3) call(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u.vgw+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", h)
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(ctx,
		aws.Credentials{AccessKeyID: upstreamKeyID, SecretAccessKey: upstreamSecret}, req, h, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (u *upstreamS3) has(t testing.TB, bucket, key string) ([]byte, bool) {
	t.Helper()
	code, b := u.call(t, http.MethodGet, "/"+bucket+"/"+escapeKey(key), nil)
	switch code {
	case 200:
		return b, true
	case 404:
		return nil, false
	}
	t.Fatalf("upstream GET %s/%s: %d %s", bucket, key, code, b)
	return nil, false
}

func (u *upstreamS3) put(t testing.TB, bucket, key, content string) {
	t.Helper()
	if code, b := u.call(t, http.MethodPut, "/"+bucket+"/"+escapeKey(key), []byte(content)); code != 200 {
		t.Fatalf("upstream PUT %s/%s: %d %s", bucket, key, code, b)
	}
}

// escapeKey percent-encodes a key for a path, keeping its slashes.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func freePortTB(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gatewayProc is a running `opensts gateway`.
type gatewayProc struct {
	url    string
	stderr *syncBuffer
}

// startGateway runs the binary with the gateway identity's keys in the
// standard environment variables and the upstream's in OPENSTS_UPSTREAM_*.
func startGateway(t *testing.T, e *env, up *upstreamS3, gw aws.Credentials, extra ...string) *gatewayProc {
	t.Helper()
	return startGatewayArgs(t, e, gw, append([]string{"--upstream", up.url, "--service", "s3"}, extra...)...)
}

// startGatewayArgs runs `opensts gateway` with args (besides --listen and
// --endpoint-url).
func startGatewayArgs(t *testing.T, e *env, gw aws.Credentials, extra ...string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	args := append([]string{"gateway", "--listen", addr, "--endpoint-url", e.endpoint}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{
		"HOME=" + dir, "PATH=/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + gw.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + gw.SecretAccessKey,
		"OPENSTS_UPSTREAM_ACCESS_KEY_ID=" + upstreamKeyID, "OPENSTS_UPSTREAM_SECRET_ACCESS_KEY=" + upstreamSecret,
	}
	p := &gatewayProc{url: "http://" + addr, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stop(cmd.Process, os.Interrupt, exited, 10*time.Second)
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", p.stderr.String())
		}
		checkRaces(t, "opensts gateway", p.stderr.String())
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("opensts gateway exited: %s", p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("opensts gateway did not listen: %s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// s3cli runs the real AWS CLI against the gateway with the given keys.
type s3cli struct {
	dir, endpoint string
}

func (c *s3cli) run(t *testing.T, k aws.Credentials, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", c.endpoint)...)
	cmd.Env = []string{
		"HOME=" + c.dir, "PATH=/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + filepath.Join(c.dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(c.dir, "credentials"),
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + k.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + k.SecretAccessKey, "AWS_MAX_ATTEMPTS=1",
	}
	if k.SessionToken != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+k.SessionToken)
	}
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aws: %v", err)
	}
	return out.String(), errb.String(), code
}

func (c *s3cli) ok(t *testing.T, k aws.Credentials, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, k, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (c *s3cli) fails(t *testing.T, k aws.Credentials, code string, args ...string) {
	t.Helper()
	out, errOut, exit := c.run(t, k, args...)
	if exit == 0 || !strings.Contains(out+errOut, code) {
		t.Fatalf("aws %s: exit %d, want an error %s: %s%s", strings.Join(args, " "), exit, code, out, errOut)
	}
}

// gatewayIdentity is the policy of the gateway's own OpenSTS user.
const gatewayIdentity = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["opensts:Authorize","opensts:GetStreamingSigningKey"],"Resource":"*"}]}`

// alicePolicy allows her home prefix, reading public/, listing her home
// only, and never deleting under home/keep/.
const alicePolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"},
 {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":"home/*"}}},
 {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::data/home/*"},
 {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/public/*"},
 {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::data/home/keep/*"},
 {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::vault/*"},
 {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`

// vaultPolicy is the gateway's bucket policy for vault: nobody reads
// under secret/.
const vaultPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"NoSecrets","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::vault/secret/*"}]}`

type gatewayEnv struct {
	e     *env
	clk   *clock
	up    *upstreamS3
	gw    *gatewayProc
	cli   *s3cli
	alice aws.Credentials
}

func startGatewayEnv(t *testing.T) *gatewayEnv {
	t.Helper()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	gwCreds := e.userWith(t, "gateway", gatewayIdentity)
	alice := e.userWith(t, "alice", alicePolicy)
	up := startUpstream(t, "data", "vault")
	policies := t.TempDir()
	if err := os.WriteFile(filepath.Join(policies, "vault.json"), []byte(vaultPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, e, up, gwCreds, "--bucket-policies", policies)
	return &gatewayEnv{e: e, clk: clk, up: up, gw: gw, cli: &s3cli{dir: t.TempDir(), endpoint: gw.url}, alice: alice}
}

// TestGatewayAWSCLI drives the gateway with the real AWS CLI: listing,
// copies both ways, removal, a 64 MiB multipart upload, presigned URLs,
// each allowed or denied as the policies say.
func TestGatewayAWSCLI(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	cli, alice := g.cli, g.alice
	dir := cli.dir
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte("hello through the gateway\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if out := cli.ok(t, alice, "s3", "ls"); !strings.Contains(out, "data") || !strings.Contains(out, "vault") {
		t.Fatalf("s3 ls = %q", out)
	}
	cli.ok(t, alice, "s3", "cp", small, "s3://data/home/a.txt")
	if b, ok := g.up.has(t, "data", "home/a.txt"); !ok || string(b) != "hello through the gateway\n" {
		t.Fatalf("upstream has %q, %v", b, ok)
	}
	if out := cli.ok(t, alice, "s3", "cp", "s3://data/home/a.txt", "-"); out != "hello through the gateway\n" {
		t.Fatalf("cp to stdout = %q", out)
	}
	if out := cli.ok(t, alice, "s3", "ls", "s3://data/home/"); !strings.Contains(out, "a.txt") {
		t.Fatalf("ls home = %q", out)
	}
	// s3:prefix "" is not home/*.
	cli.fails(t, alice, "AccessDenied", "s3", "ls", "s3://data/")
	cli.fails(t, alice, "AccessDenied", "s3", "cp", small, "s3://data/elsewhere.txt")
	if _, ok := g.up.has(t, "data", "elsewhere.txt"); ok {
		t.Fatal("a denied upload reached the upstream")
	}
	g.up.put(t, "data", "public/p.txt", "public")
	g.up.put(t, "data", "private/x.txt", "private")
	if out := cli.ok(t, alice, "s3", "cp", "s3://data/public/p.txt", "-"); out != "public" {
		t.Fatalf("public = %q", out)
	}
	cli.fails(t, alice, "403", "s3", "cp", "s3://data/private/x.txt", "-")

	// Explicit deny wins over the home allow.
	cli.ok(t, alice, "s3", "cp", small, "s3://data/home/keep/k.txt")
	cli.fails(t, alice, "AccessDenied", "s3", "rm", "s3://data/home/keep/k.txt")
	if _, ok := g.up.has(t, "data", "home/keep/k.txt"); !ok {
		t.Fatal("a denied delete went through")
	}
	cli.ok(t, alice, "s3", "rm", "s3://data/home/a.txt")
	if _, ok := g.up.has(t, "data", "home/a.txt"); ok {
		t.Fatal("rm did not delete")
	}

	// The gateway's bucket policy denies vault/secret/* to everyone.
	cli.ok(t, alice, "s3", "cp", small, "s3://vault/open/o.txt")
	cli.ok(t, alice, "s3", "cp", small, "s3://vault/secret/s.txt")
	if out := cli.ok(t, alice, "s3", "cp", "s3://vault/open/o.txt", "-"); out != "hello through the gateway\n" {
		t.Fatalf("vault open = %q", out)
	}
	cli.fails(t, alice, "403", "s3", "cp", "s3://vault/secret/s.txt", "-")

	// A 64 MiB file: the CLI uploads it in parts (create, upload part,
	// complete), each part's payload signed and checked on the way.
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	if err := os.WriteFile(big, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cli.ok(t, alice, "s3", "cp", big, "s3://data/home/big.bin")
	got, ok := g.up.has(t, "data", "home/big.bin")
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("multipart upload: upstream has %d bytes, want %d identical", len(got), len(data))
	}
	multipart := false
	for len(g.up.seen) > 0 {
		if s := <-g.up.seen; strings.HasPrefix(s, "POST /data/home/big.bin") {
			multipart = true
		}
	}
	if !multipart {
		t.Fatal("the CLI did not upload big.bin in parts")
	}
	back := filepath.Join(dir, "back.bin")
	cli.ok(t, alice, "s3", "cp", "s3://data/home/big.bin", back)
	if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, data) {
		t.Fatal("the downloaded file differs")
	}

	// Presigned URLs: the CLI's presign works once, a tampered signature
	// and an unsigned extra x-amz header do not.
	g.up.put(t, "data", "home/shared.txt", "presigned content")
	url := strings.TrimSpace(cli.ok(t, alice, "s3", "presign", "s3://data/home/shared.txt", "--expires-in", "300"))
	if code, body := httpGet(t, url, nil); code != 200 || body != "presigned content" {
		t.Fatalf("presigned GET = %d %q", code, body)
	}
	// An x-amz-* header added to a presigned URL is refused, as S3 does.
	if code, body := httpGet(t, url, map[string]string{"X-Amz-Copy-Source": "/data/private/x.txt"}); code != 403 || !strings.Contains(body, "not signed") {
		t.Fatalf("presigned GET with an added header = %d %q", code, body)
	}
	i := strings.Index(url, "X-Amz-Signature=") + len("X-Amz-Signature=")
	flip := "0"
	if url[i] == '0' {
		flip = "1"
	}
	if code, body := httpGet(t, url[:i]+flip+url[i+1:], nil); code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered presigned GET = %d %q", code, body)
	}
	other := strings.Replace(url, "home/shared.txt", "home/big.bin", 1)
	if code, body := httpGet(t, other, nil); code != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("presigned URL for another key = %d %q", code, body)
	}
	// A presigned URL denied by policy.
	g.up.put(t, "data", "private/y.txt", "no")
	denied := strings.TrimSpace(cli.ok(t, alice, "s3", "presign", "s3://data/private/y.txt"))
	if code, body := httpGet(t, denied, nil); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("denied presigned GET = %d %q", code, body)
	}
}

func httpGet(t *testing.T, url string, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return doReq(t, req)
}

// TestGatewaySessions: temporary credentials work through the gateway
// with the role's policy; expired sessions and unknown keys get S3's
// ExpiredToken and InvalidAccessKeyId.
func TestGatewaySessions(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	e := g.e
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`
	role := must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trust)}))
	must[*iam.PutRolePolicyOutput](t)(e.rootIAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/public/*"}]}`)}))
	g.up.put(t, "data", "public/r.txt", "for readers")
	g.up.put(t, "data", "home/h.txt", "home")
	assume := func() aws.Credentials {
		out := must[*sts.AssumeRoleOutput](t)(e.sts(g.alice.AccessKeyID, g.alice.SecretAccessKey, "").AssumeRole(ctx,
			&sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("sess"), DurationSeconds: aws.Int32(900)}))
		c := out.Credentials
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
	}
	sess := assume()
	if out := g.cli.ok(t, sess, "s3", "cp", "s3://data/public/r.txt", "-"); out != "for readers" {
		t.Fatalf("session read = %q", out)
	}
	// The role's policy, not alice's, applies.
	g.cli.fails(t, sess, "403", "s3", "cp", "s3://data/home/h.txt", "-")

	// A session token that does not verify.
	bad := sess
	bad.SessionToken = sess.SessionToken[:len(sess.SessionToken)-4] + "AAAA"
	g.cli.fails(t, bad, "InvalidToken", "s3api", "get-object", "--bucket", "data", "--key", "public/r.txt", "/dev/null")
	// A key nobody issued.
	g.cli.fails(t, aws.Credentials{AccessKeyID: "AKIANOBODYKNOWSTHIS1", SecretAccessKey: "x"}, "InvalidAccessKeyId",
		"s3api", "get-object", "--bucket", "data", "--key", "public/r.txt", "/dev/null")
	// A wrong secret.
	g.cli.fails(t, aws.Credentials{AccessKeyID: g.alice.AccessKeyID, SecretAccessKey: "wrong"}, "SignatureDoesNotMatch",
		"s3api", "get-object", "--bucket", "data", "--key", "home/h.txt", "/dev/null")

	// A 15-minute session issued by a server whose clock is 14 m 57 s
	// behind (within the signing skew) expires 3 s from now; once it has,
	// with the server's clock set right, it gets ExpiredToken while the
	// request itself is current.
	setClock := func(t time.Time) {
		g.clk.mu.Lock()
		g.clk.now = t
		g.clk.mu.Unlock()
	}
	setClock(time.Now().UTC().Add(-15*time.Minute + 3*time.Second))
	old := assume()
	time.Sleep(4 * time.Second)
	setClock(time.Now().UTC())
	g.cli.fails(t, old, "ExpiredToken", "s3api", "get-object", "--bucket", "data", "--key", "public/r.txt", "/dev/null")
}

// TestGatewayBoto3 drives the gateway with boto3: put, get, list with a
// prefix condition, CopyObject with the source's read check,
// DeleteObjects checked per key, multipart by hand, presigned URLs.
func TestGatewayBoto3(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	g.up.put(t, "data", "public/src.txt", "copy me")
	g.up.put(t, "data", "private/src.txt", "not me")
	script := `
import sys, boto3, botocore
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
def code(f):
    try:
        f()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
s3.put_object(Bucket="data", Key="home/b.txt", Body=b"boto3 body")
print("get", s3.get_object(Bucket="data", Key="home/b.txt")["Body"].read().decode())
print("list", [o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix="home/")["Contents"]])
print("list-all", code(lambda: s3.list_objects_v2(Bucket="data")))
print("copy-public", code(lambda: s3.copy_object(Bucket="data", Key="home/copied.txt", CopySource={"Bucket": "data", "Key": "public/src.txt"})))
print("copy-private", code(lambda: s3.copy_object(Bucket="data", Key="home/stolen.txt", CopySource={"Bucket": "data", "Key": "private/src.txt"})))
s3.put_object(Bucket="data", Key="home/d1.txt", Body=b"1")
s3.put_object(Bucket="data", Key="home/d2.txt", Body=b"2")
print("delete-mixed", code(lambda: s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "home/d1.txt"}, {"Key": "private/src.txt"}]})))
print("delete-home", code(lambda: s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "home/d1.txt"}, {"Key": "home/d2.txt"}]})))
up = s3.create_multipart_upload(Bucket="data", Key="home/mp.bin")["UploadId"]
parts = []
for n in (1, 2):
    body = bytes([n]) * (5 * 1024 * 1024 if n == 1 else 1000)
    parts.append({"PartNumber": n, "ETag": s3.upload_part(Bucket="data", Key="home/mp.bin", UploadId=up, PartNumber=n, Body=body)["ETag"]})
print("parts", len(s3.list_parts(Bucket="data", Key="home/mp.bin", UploadId=up)["Parts"]))
s3.complete_multipart_upload(Bucket="data", Key="home/mp.bin", UploadId=up, MultipartUpload={"Parts": parts})
up2 = s3.create_multipart_upload(Bucket="data", Key="home/aborted.bin")["UploadId"]
print("abort", code(lambda: s3.abort_multipart_upload(Bucket="data", Key="home/aborted.bin", UploadId=up2)))
print("mp-denied", code(lambda: s3.create_multipart_upload(Bucket="data", Key="private/mp.bin")))
print("head", s3.head_object(Bucket="data", Key="home/mp.bin")["ContentLength"])
print("url", s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "home/b.txt"}, ExpiresIn=60))
v2 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
    config=Config(signature_version="s3", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
print("sigv2", code(lambda: v2.get_object(Bucket="data", Key="home/b.txt")))
`
	cmd := exec.Command(pythonPath(), "-c", script, g.gw.url, g.alice.AccessKeyID, g.alice.SecretAccessKey)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, " ")
		lines[k] = v
	}
	for k, want := range map[string]string{
		"get": "boto3 body", "list-all": "AccessDenied", "copy-public": "ok", "copy-private": "AccessDenied",
		"delete-mixed": "AccessDenied", "delete-home": "ok", "parts": "2", "abort": "ok", "mp-denied": "AccessDenied",
		"head": fmt.Sprint(5<<20 + 1000), "sigv2": "InvalidRequest",
	} {
		if lines[k] != want {
			t.Errorf("%s = %q, want %q (output:\n%s)", k, lines[k], want, out)
		}
	}
	if !strings.Contains(lines["list"], "home/b.txt") {
		t.Errorf("list = %q", lines["list"])
	}
	if b, ok := g.up.has(t, "data", "home/copied.txt"); !ok || string(b) != "copy me" {
		t.Errorf("copied = %q %v", b, ok)
	}
	for _, k := range []string{"home/stolen.txt", "home/d1.txt", "home/d2.txt"} {
		if _, ok := g.up.has(t, "data", k); ok {
			t.Errorf("%s exists upstream", k)
		}
	}
	if _, ok := g.up.has(t, "data", "private/src.txt"); !ok {
		t.Error("a denied DeleteObjects deleted private/src.txt")
	}
	if code, body := httpGet(t, lines["url"], nil); code != 200 || body != "boto3 body" {
		t.Errorf("boto3 presigned GET = %d %q", code, body)
	}
}

// chunkedPut sends a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload of data in
// chunks of size, signed with k; tamper, if set, changes the encoded body
// after signing.
func chunkedPut(t *testing.T, gwURL, path string, k aws.Credentials, data []byte, size int, tamper func([]byte) []byte) (int, string) {
	t.Helper()
	return signedChunkedPut(t, gwURL, path, k, data, size, "", tamper)
}

// signedChunkedPut is chunkedPut, and with crc32c set (a base64 CRC32C)
// a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER upload whose signed
// trailer carries x-amz-checksum-crc32c: crc32c. aws-sdk-go-v2 signs the
// seed (its v4 signer takes the payload hash literal) but writes no
// chunk or trailer signatures (it has no signed streaming at all): they
// are computed here as S3's documentation specifies.
func signedChunkedPut(t *testing.T, gwURL, path string, k aws.Credentials, data []byte, size int, crc32c string, tamper func([]byte) []byte) (int, string) {
	t.Helper()
	now := time.Now().UTC()
	req, err := http.NewRequest(http.MethodPut, gwURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	hash := sigv4.StreamingPayload
	if crc32c != "" {
		hash = sigv4.StreamingPayloadTrailer
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
		req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32C")
	}
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(ctx, k, req, hash, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	prev := auth[strings.Index(auth, "Signature=")+len("Signature="):]
	key := hmacOf([]byte("AWS4"+k.SecretAccessKey), now.Format("20060102"))
	for _, s := range []string{"us-east-1", "s3", "aws4_request"} {
		key = hmacOf(key, s)
	}
	scope := now.Format("20060102") + "/us-east-1/s3/aws4_request"
	var body bytes.Buffer
	emit := func(chunk []byte) {
		h := sha256.Sum256(chunk)
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + prev + "\n" +
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" + hex.EncodeToString(h[:])
		prev = hex.EncodeToString(hmacOf(key, sts))
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", len(chunk), prev)
		if len(chunk) > 0 || crc32c == "" {
			body.Write(chunk)
			body.WriteString("\r\n")
		}
	}
	for off := 0; off < len(data); off += size {
		emit(data[off:min(off+size, len(data))])
	}
	emit(nil)
	if crc32c != "" {
		line := "x-amz-checksum-crc32c:" + crc32c
		h := sha256.Sum256([]byte(line + "\n"))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + prev + "\n" + hex.EncodeToString(h[:])
		fmt.Fprintf(&body, "%s\r\nx-amz-trailer-signature:%s\r\n\r\n", line, hex.EncodeToString(hmacOf(key, sts)))
	}
	b := body.Bytes()
	if tamper != nil {
		b = tamper(b)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	return doReq(t, req)
}

func hmacOf(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TestGatewayTampering: chunk-signed uploads verify chunk by chunk and a
// tampered chunk, a tampered body under a signed hash, an unsigned
// x-amz-* header and a forged Host never reach the upstream whole.
func TestGatewayTampering(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes: five chunks
	if code, body := chunkedPut(t, g.gw.url, "/data/home/chunked.bin", g.alice, data, 64<<10, nil); code != 200 {
		t.Fatalf("chunked PUT = %d %s", code, body)
	}
	if b, ok := g.up.has(t, "data", "home/chunked.bin"); !ok || !bytes.Equal(b, data) {
		t.Fatalf("chunked upload: upstream has %d bytes", len(b))
	}
	for name, tamper := range map[string]func([]byte) []byte{
		"a data byte of the second chunk": func(b []byte) []byte { b[70000] ^= 1; return b },
		"the last chunk's data": func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte(";chunk-signature=")) - 200
			b[i] ^= 1
			return b
		},
		"the final chunk dropped": func(b []byte) []byte {
			return b[:bytes.LastIndex(b, []byte("0;chunk-signature="))]
		},
		"a chunk signature": func(b []byte) []byte {
			i := bytes.Index(b, []byte("chunk-signature=")) + len("chunk-signature=")
			b[i] = 'f' + '0' - b[i]
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			key := "/data/home/tampered-" + strings.ReplaceAll(name, " ", "-")
			code, body := chunkedPut(t, g.gw.url, key, g.alice, data, 64<<10, tamper)
			if code < 400 {
				t.Fatalf("tampered chunked PUT = %d %s", code, body)
			}
			if b, ok := g.up.has(t, "data", key[len("/data/"):]); ok {
				t.Fatalf("a tampered upload was stored: %d of %d bytes", len(b), len(data))
			}
		})
	}
	// A chunked upload denied by policy is refused before any byte moves.
	if code, body := chunkedPut(t, g.gw.url, "/data/private/c.bin", g.alice, data, 64<<10, nil); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("denied chunked PUT = %d %s", code, body)
	}

	// A body that does not hash to the signed X-Amz-Content-Sha256.
	put := func(path string, body []byte, mod func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, g.gw.url+path, bytes.NewReader(body))
		s := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(s[:]))
		if mod != nil {
			mod(req)
		}
		if err := sigv4.Sign(req, body, g.alice.AccessKeyID, g.alice.SecretAccessKey, "", "us-east-1", "s3", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		return doReq(t, req)
	}
	req, _ := http.NewRequest(http.MethodPut, g.gw.url+"/data/home/swapped.txt", nil)
	s := sha256.Sum256([]byte("the signed body"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(s[:]))
	if err := sigv4.Sign(req, []byte("the signed body"), g.alice.AccessKeyID, g.alice.SecretAccessKey, "", "us-east-1", "s3", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader("the real body")), int64(len("the real body"))
	if code, body := doReq(t, req); code != 400 || !strings.Contains(body, "XAmzContentSHA256Mismatch") {
		t.Fatalf("swapped body = %d %s", code, body)
	}
	if _, ok := g.up.has(t, "data", "home/swapped.txt"); ok {
		t.Fatal("a body that did not match its signed hash was stored")
	}
	// An x-amz-* header added after signing.
	code, body := put("/data/home/acl.txt", []byte("x"), nil)
	if code != 200 {
		t.Fatalf("plain PUT = %d %s", code, body)
	}
	req, _ = http.NewRequest(http.MethodPut, g.gw.url+"/data/home/acl2.txt", strings.NewReader("x"))
	s = sha256.Sum256([]byte("x"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(s[:]))
	if err := sigv4.Sign(req, []byte("x"), g.alice.AccessKeyID, g.alice.SecretAccessKey, "", "us-east-1", "s3", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Acl", "public-read-write")
	if code, body := doReq(t, req); code != 403 || !strings.Contains(body, "not signed") {
		t.Fatalf("unsigned x-amz-acl = %d %s", code, body)
	}
	// Path confusion: a key with dot segments (here encoded) would be
	// home/../private/z.txt for the policy and private/z.txt for a store
	// that resolves keys as paths, as versitygw's posix backend does:
	// refused. An encoded slash is part of the key the policy saw.
	code, body = put("/data/home/..%2Fprivate%2Fz.txt", []byte("z"), nil)
	if code != 400 || !strings.Contains(body, "InvalidURI") {
		t.Fatalf("PUT home/..%%2F = %d %s, want 400 InvalidURI", code, body)
	}
	if _, ok := g.up.has(t, "data", "private/z.txt"); ok {
		t.Fatal("a dot segment escaped the authorized prefix")
	}
	if code, body = put("/data/home/sub%2Fz.txt", []byte("z"), nil); code != 200 {
		t.Fatalf("PUT home/sub%%2Fz.txt = %d %s", code, body)
	}
	if _, ok := g.up.has(t, "data", "home/sub/z.txt"); !ok {
		t.Fatal("the key forwarded is not the key authorized")
	}
}

// TestGatewaySignedTrailer: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
// uploads verify chunk by chunk, then the trailer's signature and its
// checksum against the data, before the last byte reaches versitygw; a
// tampered chunk, trailer value or trailer signature, a missing final
// chunk, a truncated body or a trailer X-Amz-Trailer did not declare
// stores nothing.
func TestGatewaySignedTrailer(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	data := bytes.Repeat([]byte("signed trailer 0123456789"), 8000) // 200,000 bytes: four chunks
	c := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	sum := base64.StdEncoding.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
	if code, body := signedChunkedPut(t, g.gw.url, "/data/home/signed-trailer.bin", g.alice, data, 64<<10, sum, nil); code != 200 {
		t.Fatalf("signed trailer PUT = %d %s", code, body)
	}
	if b, ok := g.up.has(t, "data", "home/signed-trailer.bin"); !ok || !bytes.Equal(b, data) {
		t.Fatalf("signed trailer upload: upstream has %d bytes", len(b))
	}
	for name, tc := range map[string]struct {
		sum    string
		tamper func([]byte) []byte
		code   string
	}{
		"a data byte": {sum, func(b []byte) []byte { b[70000] ^= 1; return b }, "SignatureDoesNotMatch"},
		"the trailer value": {sum, func(b []byte) []byte {
			i := bytes.Index(b, []byte("x-amz-checksum-crc32c:")) + len("x-amz-checksum-crc32c:")
			b[i] ^= 1
			return b
		}, "SignatureDoesNotMatch"},
		"the trailer signature replaced": {sum, func(b []byte) []byte {
			i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:")
			copy(b[i:], strings.Repeat("0", 64))
			return b
		}, "SignatureDoesNotMatch"},
		// A wrong checksum, correctly signed: the client's own mistake.
		"a wrong signed checksum": {"AAAAAA==", nil, "BadDigest"},
		"the final chunk dropped": {sum, func(b []byte) []byte {
			return b[:bytes.LastIndex(b, []byte("0;chunk-signature="))]
		}, "IncompleteBody"},
		"the body truncated": {sum, func(b []byte) []byte { return b[:len(b)-40] }, "IncompleteBody"},
		"an undeclared trailer": {sum, func(b []byte) []byte {
			return bytes.Replace(b, []byte("x-amz-checksum-crc32c:"), []byte("x-amz-checksum-crc32:"), 1)
		}, "IncompleteBody"},
	} {
		t.Run(name, func(t *testing.T) {
			key := "/data/home/tampered-trailer-" + strings.ReplaceAll(name, " ", "-")
			code, body := signedChunkedPut(t, g.gw.url, key, g.alice, data, 64<<10, tc.sum, tc.tamper)
			if code < 400 || !strings.Contains(body, tc.code) {
				t.Fatalf("tampered signed trailer PUT = %d %s, want %s", code, body, tc.code)
			}
			if b, ok := g.up.has(t, "data", key[len("/data/"):]); ok {
				t.Fatalf("a tampered upload was stored: %d of %d bytes", len(b), len(data))
			}
		})
	}
	if code, body := signedChunkedPut(t, g.gw.url, "/data/private/st.bin", g.alice, data, 64<<10, sum, nil); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("denied signed trailer PUT = %d %s", code, body)
	}
}

// TestAuthorizeStreamingSigningKey: the authorize API hands the signing
// key of a chunk-signed upload's scope only for an allowed request whose
// seed signature verified, and only to a caller that may
// opensts:GetStreamingSigningKey; the key is the scope's SigV4 key.
func TestAuthorizeStreamingSigningKey(t *testing.T) {
	t.Parallel()
	e := start(t)
	withKey := e.userWith(t, "gw-key", gatewayIdentity)
	noKey := e.userWith(t, "gw-nokey", allowAuthorize)
	alice := e.userWith(t, "alice", alicePolicy)
	now := time.Now().UTC()
	seed := func(k aws.Credentials, path string) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, "http://gateway.test"+path, nil)
		req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingPayload)
		req.Header.Set("X-Amz-Decoded-Content-Length", "10")
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, k, req, sigv4.StreamingPayload, "s3", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		req.RequestURI = path
		return req
	}
	newV := func(c aws.Credentials) *verifier.Verifier {
		v, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: c}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := hmacOf([]byte("AWS4"+alice.SecretAccessKey), now.Format("20060102"))
	for _, s := range []string{"us-east-1", "s3", "aws4_request"} {
		want = hmacOf(want, s)
	}
	v := newV(withKey)
	d, err := v.Authorize(ctx, seed(alice, "/data/home/x"), sigv4.StreamingPayload, "s3:PutObject", "arn:aws:s3:::data/home/x", nil,
		verifier.WithRegion("us-east-1"))
	if err != nil || !d.Allowed() || d.SigningKey != hex.EncodeToString(want) {
		t.Fatalf("allowed seed: %v %+v", err, d)
	}
	// Denied: no key.
	d, err = v.Authorize(ctx, seed(alice, "/data/private/x"), sigv4.StreamingPayload, "s3:PutObject", "arn:aws:s3:::data/private/x", nil,
		verifier.WithRegion("us-east-1"))
	if err != nil || d.Allowed() || d.SigningKey != "" {
		t.Fatalf("denied seed: %v %+v", err, d)
	}
	// A seed signed with the wrong secret: no key.
	bad := alice
	bad.SecretAccessKey = "not alice's secret"
	d, err = v.Authorize(ctx, seed(bad, "/data/home/x"), sigv4.StreamingPayload, "s3:PutObject", "arn:aws:s3:::data/home/x", nil,
		verifier.WithRegion("us-east-1"))
	if err != nil || d.Allowed() || d.SigningKey != "" || d.AuthenticationError == nil || d.AuthenticationError.Code != "SignatureDoesNotMatch" {
		t.Fatalf("forged seed: %v %+v", err, d)
	}
	// A caller without opensts:GetStreamingSigningKey gets no decision.
	_, err = newV(noKey).Authorize(ctx, seed(alice, "/data/home/x"), sigv4.StreamingPayload, "s3:PutObject", "arn:aws:s3:::data/home/x", nil,
		verifier.WithRegion("us-east-1"))
	var ae *verifier.APIError
	if !errors.As(err, &ae) || ae.Code != "AccessDeniedException" {
		t.Fatalf("caller without the key permission: %v", err)
	}
}

// TestGatewayAddressingAndAccounts: virtual-hosted-style requests under
// --domain, a Host outside it refused; buckets of another account
// (--resource-account) open to a principal only where the gateway's bucket
// policy allows it too.
func TestGatewayAddressingAndAccounts(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	gwCreds := e.userWith(t, "gateway", gatewayIdentity)
	alice := e.userWith(t, "alice", alicePolicy)
	up := startUpstream(t, "data")
	up.put(t, "data", "home/h.txt", "home")
	up.put(t, "data", "public/p.txt", "public")
	policies := t.TempDir()
	aliceARN := "arn:aws:iam::" + testAccount + ":user/alice"
	if err := os.WriteFile(filepath.Join(policies, "data.json"), []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"`+aliceARN+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/home/*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, e, up, gwCreds, "--domain", "s3.test", "--resource-account", "210987654321", "--bucket-policies", policies)
	get := func(host, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, gw.url+path, nil)
		req.Host = host
		req.Header.Set("X-Amz-Content-Sha256", emptyHash)
		if err := benchSigner.SignHTTP(ctx, alice, req, emptyHash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return doReq(t, req)
	}
	// Virtual-hosted and path-style name the same object; the bucket
	// policy of the other account allows home/*.
	if code, body := get("data.s3.test", "/home/h.txt"); code != 200 || body != "home" {
		t.Fatalf("virtual-hosted GET = %d %s", code, body)
	}
	if code, body := get("s3.test", "/data/home/h.txt"); code != 200 || body != "home" {
		t.Fatalf("path-style GET = %d %s", code, body)
	}
	// Alice's own policy allows public/*, but the bucket is another
	// account's and its policy does not: denied.
	if code, body := get("data.s3.test", "/public/p.txt"); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("cross-account without the bucket policy = %d %s", code, body)
	}
	// A Host that is not the gateway's.
	if code, body := get("data.elsewhere.test", "/home/h.txt"); code != 400 || !strings.Contains(body, "InvalidRequest") {
		t.Fatalf("foreign Host = %d %s", code, body)
	}
	// A Host naming a bucket, a path naming another: the Host wins, for
	// the policy and the store alike.
	up.put(t, "data", "data/home/h.txt", "nested")
	if code, body := get("data.s3.test", "/data/home/h.txt"); code != 403 {
		t.Fatalf("virtual-hosted bucket with a bucket-like path = %d %s", code, body)
	}
}

// trailerPut sends a STREAMING-UNSIGNED-PAYLOAD-TRAILER upload of data
// with the CRC32C trailer sum (base64), in chunks of 8 KiB.
func trailerPut(t *testing.T, gwURL, path string, k aws.Credentials, data []byte, sum string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	for off := 0; off < len(data); off += 8 << 10 {
		chunk := data[off:min(off+8<<10, len(data))]
		fmt.Fprintf(&body, "%x\r\n", len(chunk))
		body.Write(chunk)
		body.WriteString("\r\n")
	}
	fmt.Fprintf(&body, "0\r\nx-amz-checksum-crc32c:%s\r\n\r\n", sum)
	req, _ := http.NewRequest(http.MethodPut, gwURL+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingUnsignedTrailer)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32C")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	if err := benchSigner.SignHTTP(ctx, k, req, sigv4.StreamingUnsignedTrailer, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body, req.ContentLength = io.NopCloser(&body), int64(body.Len())
	return doReq(t, req)
}

// TestGatewayTrailer: uploads with a trailing checksum (the SDKs'
// default over https) are decoded and their checksum checked before the
// last byte reaches the store.
func TestGatewayTrailer(t *testing.T) {
	t.Parallel()
	g := startGatewayEnv(t)
	data := bytes.Repeat([]byte("trailing checksum "), 3000)
	c := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	sum := base64.StdEncoding.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
	if code, body := trailerPut(t, g.gw.url, "/data/home/trailer.bin", g.alice, data, sum); code != 200 {
		t.Fatalf("trailer PUT = %d %s", code, body)
	}
	if b, ok := g.up.has(t, "data", "home/trailer.bin"); !ok || !bytes.Equal(b, data) {
		t.Fatalf("upstream has %d bytes", len(b))
	}
	if code, body := trailerPut(t, g.gw.url, "/data/home/bad-trailer.bin", g.alice, data, "AAAAAA=="); code != 400 || !strings.Contains(body, "BadDigest") {
		t.Fatalf("wrong checksum = %d %s", code, body)
	}
	if b, ok := g.up.has(t, "data", "home/bad-trailer.bin"); ok {
		t.Logf("stored %d of %d bytes", len(b), len(data))
		t.Fatal("a body with a wrong checksum was stored")
	}
	if code, body := trailerPut(t, g.gw.url, "/data/private/t.bin", g.alice, data, sum); code != 403 {
		t.Fatalf("denied trailer PUT = %d %s", code, body)
	}
}

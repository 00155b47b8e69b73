package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The real AWS CLI (Debian's awscli) and boto3 (Debian's python3-boto3)
// against the real `opensts serve` binary. .ci/run installs both; a missing
// client fails the test, it is never skipped.

func awsCLIPath() string {
	if p := os.Getenv("OPENSTS_TEST_AWS_CLI"); p != "" {
		return p
	}
	return "/usr/bin/aws"
}

func pythonPath() string {
	if p := os.Getenv("OPENSTS_TEST_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds ./cmd/opensts once per test run (TestMain starts the build
// while the first tests run); under the race detector, with it.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(buildBinary)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func buildBinary() {
	dir, err := os.MkdirTemp("", "opensts-bin")
	if err != nil {
		buildErr = err
		return
	}
	binPath = filepath.Join(dir, "opensts")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(self))
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/opensts")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if raceBuild {
		// The processes the tests start are checked as the tests are
		// (checkRaces): the race detector needs cgo.
		cmd = exec.Command("go", "build", "-race", "-o", binPath, "./cmd/opensts")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build: %v\n%s", err, out)
	}
}

// TestMain starts building the server binary at once when every test runs
// (no -run), so that the build overlaps the tests that run alone first
// (see README) instead of holding up the first test that needs it.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" {
		go buildOnce.Do(buildBinary)
	}
	os.Exit(m.Run())
}

// proc is a running `opensts serve`.
type proc struct {
	endpoint string
	dataDir  string
	stderr   *syncBuffer
	// stop ends the server gracefully (SIGTERM) and waits for it to exit;
	// the test's cleanup calls it too, and only the first call acts.
	stop func()
}

// syncBuffer is a bytes.Buffer that the process's output goroutine and the
// test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveBinary starts `opensts serve` on a free loopback port and waits until
// it is healthy. The port is found by listening on port 0 and closing, so
// another process can take it before the server binds it; the server listens
// before it touches the data directory, so such a start is retried on
// another port.
func serveBinary(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, stderr := startBinary(t, dataDir, env)
		if p != nil {
			return p
		}
		if !strings.Contains(stderr, "address already in use") || attempt == 5 {
			t.Fatalf("opensts serve exited: %s", stderr)
		}
		t.Logf("port taken before opensts bound it, retrying: %s", stderr)
	}
}

// startBinary starts the server once; it returns nil and the server's
// stderr if the server exited before it was healthy. Entries of env that
// start with "--" are flags of serve, the others environment variables.
func startBinary(t *testing.T, dataDir string, env []string) (*proc, string) {
	t.Helper()
	addr := freePort(t)
	args := []string{"serve", "--listen", addr, "--data-dir", dataDir}
	var vars []string
	for _, e := range env {
		if strings.HasPrefix(e, "--") {
			args = append(args, e)
		} else {
			vars = append(vars, e)
		}
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), vars...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // the exit status is not the test's concern
	halt := sync.OnceFunc(func() { stop(cmd.Process, syscall.SIGTERM, exited, 15*time.Second) })
	t.Cleanup(func() {
		halt()
		checkRaces(t, "opensts serve", stderr.String())
	})
	p := &proc{endpoint: "http://" + addr, dataDir: dataDir, stderr: stderr, stop: halt}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, ""
			}
		}
		select {
		case <-exited:
			return nil, stderr.String()
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("opensts serve not healthy: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends a process the test started: it sends sig and waits for done
// (closed once the process has exited, or its output was read to its
// end), and kills the process if done is not closed within wait.
func stop(p *os.Process, sig os.Signal, done <-chan struct{}, wait time.Duration) {
	_ = p.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = p.Kill()
		<-done
	}
}

// raceReport is how the race detector starts each report it writes to a
// process's standard error.
const raceReport = "WARNING: DATA RACE"

// checkRaces fails t when what, an opensts process the test started
// (built with -race when the tests run under it), reported a data race in
// its standard error, out. A process that is not stopped gracefully (a
// kill) still reports each race when it happens, not at its exit.
func checkRaces(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.Index(out, raceReport); i >= 0 {
		t.Errorf("%s reported a data race:\n%s", what, out[i:])
	}
}

// cliEnv is an isolated environment for the CLI and boto3: its own HOME,
// config and credentials files, no instance metadata lookups.
type cliEnv struct {
	dir  string
	vars []string
}

func newCLIEnv(t *testing.T, endpoint string) *cliEnv {
	dir := t.TempDir()
	c := &cliEnv{dir: dir}
	// Debian's awscli 2.9 and botocore 1.29 predate endpoint_url and
	// AWS_ENDPOINT_URL_STS configuration (2.13 / 1.31), so the STS client
	// inside their assume-role credential provider cannot be pointed at a
	// custom endpoint by configuration. botocore's data path can: this
	// endpoint rule set sends every STS client to OpenSTS. --endpoint-url
	// still overrides it for commands.
	rules := filepath.Join(dir, "data", "sts", "2011-06-15")
	if err := os.MkdirAll(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	ruleset := `{"version":"1.0","parameters":{
"Region":{"builtIn":"AWS::Region","required":false,"documentation":"region","type":"String"},
"UseDualStack":{"builtIn":"AWS::UseDualStack","required":true,"default":false,"documentation":"dual","type":"Boolean"},
"UseFIPS":{"builtIn":"AWS::UseFIPS","required":true,"default":false,"documentation":"fips","type":"Boolean"},
"Endpoint":{"builtIn":"SDK::Endpoint","required":false,"documentation":"endpoint","type":"String"},
"UseGlobalEndpoint":{"builtIn":"AWS::STS::UseGlobalEndpoint","required":true,"default":false,"documentation":"global","type":"Boolean"}},
"rules":[
{"conditions":[{"fn":"isSet","argv":[{"ref":"Endpoint"}]}],"endpoint":{"url":{"ref":"Endpoint"},"properties":{},"headers":{}},"type":"endpoint"},
{"conditions":[],"endpoint":{"url":"` + endpoint + `","properties":{},"headers":{}},"type":"endpoint"}]}`
	if err := os.WriteFile(filepath.Join(rules, "endpoint-rule-set-1.json"), []byte(ruleset), 0o600); err != nil {
		t.Fatal(err)
	}
	c.vars = []string{
		"HOME=" + dir,
		"PATH=/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_DATA_PATH=" + filepath.Join(dir, "data"),
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	return c
}

func (c *cliEnv) write(t *testing.T, name, content string) string {
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a program in the environment and returns stdout, stderr and the exit code.
func (c *cliEnv) run(t *testing.T, extra []string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, c.vars...), extra...)
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errb.String(), code
}

func creds(akid, secret, token string) []string {
	v := []string{"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret}
	if token != "" {
		v = append(v, "AWS_SESSION_TOKEN="+token)
	}
	return v
}

func TestAWSCLI(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	aws := func(env []string, args ...string) (string, string, int) {
		t.Helper()
		return c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
	}
	ok := func(env []string, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := aws(env, args...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		var m map[string]any
		if strings.TrimSpace(out) == "" {
			return m
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %s: output not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}
	fails := func(code string, env []string, args ...string) string {
		t.Helper()
		_, errOut, exit := aws(env, args...)
		if exit == 0 || !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws %s: exit %d, want error %s: %s", strings.Join(args, " "), exit, code, errOut)
		}
		return errOut
	}

	id := ok(root, "sts", "get-caller-identity")
	if id["Account"] != testAccount || id["Arn"] != "arn:aws:iam::123456789012:root" {
		t.Fatalf("root identity %v", id)
	}
	ok(root, "iam", "create-user", "--user-name", "cli-user")
	key := ok(root, "iam", "create-access-key", "--user-name", "cli-user")["AccessKey"].(map[string]any)
	akid, secret := key["AccessKeyId"].(string), key["SecretAccessKey"].(string)
	assertNotStored(t, p.dataDir, secret, "")
	trust := c.write(t, "trust.json", trustAccount)
	role := ok(root, "iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", "file://"+trust)["Role"].(map[string]any)
	roleARN := role["Arn"].(string)
	// The CLI URL-decodes the document and prints it as an object.
	if doc, isObj := role["AssumeRolePolicyDocument"].(map[string]any); !isObj || doc["Version"] != "2012-10-17" {
		t.Fatalf("AssumeRolePolicyDocument = %#v", role["AssumeRolePolicyDocument"])
	}
	got := ok(root, "iam", "get-role", "--role-name", "cli-role")["Role"].(map[string]any)
	if got["Arn"] != roleARN {
		t.Fatalf("get-role %v", got)
	}
	ok(root, "iam", "put-user-policy", "--user-name", "cli-user", "--policy-name", "assume", "--policy-document", allow("sts:AssumeRole", roleARN))
	users := ok(root, "iam", "list-users")["Users"].([]any)
	if len(users) != 1 {
		t.Fatalf("list-users %v", users)
	}

	user := creds(akid, secret, "")
	ar := ok(user, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "cli-session", "--duration-seconds", "900")
	cr := ar["Credentials"].(map[string]any)
	if !strings.HasPrefix(cr["AccessKeyId"].(string), "ASIA") {
		t.Fatalf("assume-role credentials %v", cr)
	}
	sess := creds(cr["AccessKeyId"].(string), cr["SecretAccessKey"].(string), cr["SessionToken"].(string))
	id = ok(sess, "sts", "get-caller-identity")
	if id["Arn"] != "arn:aws:sts::123456789012:assumed-role/cli-role/cli-session" {
		t.Fatalf("session identity %v", id)
	}

	// A profile with role_arn and source_profile: the CLI's own assume-role
	// credential provider calls OpenSTS.
	c.write(t, "credentials", "[src]\naws_access_key_id = "+akid+"\naws_secret_access_key = "+secret+"\n")
	c.write(t, "config", "[profile src]\nregion = us-east-1\n\n[profile target]\nrole_arn = "+roleARN+"\nsource_profile = src\nrole_session_name = from-profile\nregion = us-east-1\n")
	id = ok(nil, "sts", "get-caller-identity", "--profile", "target")
	if id["Arn"] != "arn:aws:sts::123456789012:assumed-role/cli-role/from-profile" {
		t.Fatalf("profile identity %v", id)
	}

	// Error cases.
	msg := fails("AccessDenied", root, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "xx")
	if !strings.Contains(msg, "Roles may not be assumed by root accounts.") {
		t.Fatal(msg)
	}
	fails("ValidationError", user, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "xx", "--duration-seconds", "7200")
	fails("SignatureDoesNotMatch", creds(akid, wrongSecret(secret), ""), "sts", "get-caller-identity")
	fails("InvalidClientTokenId", creds("AKIAUNKNOWNUNKNOWN12", secret, ""), "sts", "get-caller-identity")
	// The AWS JSON services answer authentication failures with their own
	// codes.
	fails("InvalidSignatureException", creds(akid, wrongSecret(secret), ""), "organizations", "describe-organization")
	fails("UnrecognizedClientException", creds("AKIAUNKNOWNUNKNOWN12", secret, ""), "organizations", "describe-organization")
	fails("UnrecognizedClientException", creds("AKIAUNKNOWNUNKNOWN12", secret, ""), "cloudtrail", "lookup-events")
	fails("NoSuchEntity", root, "iam", "get-role", "--role-name", "nope")
	fails("EntityAlreadyExists", root, "iam", "create-user", "--user-name", "CLI-USER")
	fails("MalformedPolicyDocument", root, "iam", "put-user-policy", "--user-name", "cli-user", "--policy-name", "bad", "--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`)
	fails("AccessDenied", user, "iam", "create-user", "--user-name", "nope")
}

const boto3Script = `
import json, sys, boto3, botocore
endpoint, akid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
def client(svc, **kw):
    return boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1", **kw)
root = dict(aws_access_key_id=akid, aws_secret_access_key=secret)
iam = client("iam", **root)
iam.create_user(UserName="py-user")
k = iam.create_access_key(UserName="py-user")["AccessKey"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="py-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
out["trust_roundtrip"] = iam.get_role(RoleName="py-role")["Role"]["AssumeRolePolicyDocument"] == trust
iam.put_user_policy(UserName="py-user", PolicyName="assume", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}))
user_sts = client("sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
out["user_arn"] = user_sts.get_caller_identity()["Arn"]
c = user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="py-session")["Credentials"]
sess_sts = client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
out["session_arn"] = sess_sts.get_caller_identity()["Arn"]
out["expiration_tz"] = c["Expiration"].tzinfo is not None
paginator = iam.get_paginator("list_users")
for i in range(3):
    iam.create_user(UserName="page-%d" % i)
out["paged_users"] = sum(len(p["Users"]) for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2}))
errors = {}
for name, call in [
    ("root_assume", lambda: client("sts", **root).assume_role(RoleArn=role["Arn"], RoleSessionName="xx")),
    ("bad_duration", lambda: user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="xx", DurationSeconds=7200)),
    ("no_role", lambda: iam.get_role(RoleName="nope")),
    ("bad_policy", lambda: user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="xx", Policy="{")),
    ("bad_token", lambda: client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"][:-8] + "AAAAAAAA").get_caller_identity()),
]:
    try:
        call()
        errors[name] = "no error"
    except botocore.exceptions.ClientError as e:
        errors[name] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
out["errors"] = errors
print(json.dumps(out))
`

func TestBoto3(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	script := c.write(t, "check.py", boto3Script)
	out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, testRootKeyID, testRootSecret)
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\n%s", code, errOut)
	}
	var got struct {
		TrustRoundtrip bool             `json:"trust_roundtrip"`
		UserARN        string           `json:"user_arn"`
		SessionARN     string           `json:"session_arn"`
		ExpirationTZ   bool             `json:"expiration_tz"`
		PagedUsers     int              `json:"paged_users"`
		Errors         map[string][]any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !got.TrustRoundtrip || got.UserARN != "arn:aws:iam::123456789012:user/py-user" ||
		got.SessionARN != "arn:aws:sts::123456789012:assumed-role/py-role/py-session" || !got.ExpirationTZ || got.PagedUsers != 4 {
		t.Fatalf("boto3 results: %+v", got)
	}
	want := map[string]string{"root_assume": "AccessDenied", "bad_duration": "ValidationError", "no_role": "NoSuchEntity", "bad_policy": "MalformedPolicyDocument", "bad_token": "InvalidClientTokenId"}
	for k, code := range want {
		if len(got.Errors[k]) != 2 || got.Errors[k][0] != code {
			t.Errorf("%s: got %v, want %s", k, got.Errors[k], code)
		}
	}
}

func TestServeFirstStartGeneratesCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := serveBinary(t, dir)
	credFile := filepath.Join(dir, "root-credentials")
	st, err := os.Stat(credFile)
	if err != nil {
		t.Fatalf("root credentials file: %v (stderr: %s)", err, p.stderr.String())
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("root credentials mode %v", st.Mode().Perm())
	}
	if mk, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || mk.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", err, mk)
	}
	raw, _ := os.ReadFile(credFile)
	var akid, secret string
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			switch k {
			case "aws_access_key_id":
				akid = v
			case "aws_secret_access_key":
				secret = v
			}
		}
	}
	if !strings.HasPrefix(akid, "AKIA") || len(secret) != 40 {
		t.Fatalf("credentials file: %q", raw)
	}
	// The announcement reaches the pipe before /healthz answers, but the
	// goroutine that copies the pipe into the buffer may not have run yet.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), akid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.stderr.String(), akid) || strings.Contains(p.stderr.String(), secret) {
		t.Fatalf("stderr must announce the key id and never the secret: %s", p.stderr.String())
	}
	// No secret appears in plain text anywhere in the data directory except
	// the credentials file written for the operator.
	assertNotStored(t, dir, secret, credFile)
	c := newCLIEnv(t, p.endpoint)
	out, errOut, code := c.run(t, creds(akid, secret, ""), awsCLIPath(), "sts", "get-caller-identity", "--endpoint-url", p.endpoint, "--output", "json")
	if code != 0 || !strings.Contains(out, ":root") {
		t.Fatalf("generated root credentials do not work: %s %s", out, errOut)
	}
}

// TestKeysCommands rotates the signing key with `opensts keys rotate` while
// the server runs: sessions issued before keep working, and `keys list`
// shows both keys without any secret.
func TestKeysCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := serveBinary(t, dir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	e := &env{endpoint: p.endpoint}
	akid, secret := e.user(t, "rot")
	e.userPolicy(t, "rot", "all", allow("sts:AssumeRole", "*"))
	roleARN := e.role(t, "rot-role", "", trustAccount)
	before := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("before")}))

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary(t), args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("opensts %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("keys", "rotate", "--data-dir", dir); !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate: %s", out)
	}
	list := run("keys", "list", "--data-dir", dir)
	var keys []map[string]any
	if err := json.Unmarshal([]byte(list), &keys); err != nil || len(keys) != 2 {
		t.Fatalf("keys list: %v %s", err, list)
	}
	if strings.Contains(strings.ToLower(list), "private") || strings.Contains(list, "derive") {
		t.Fatalf("keys list shows key material: %s", list)
	}
	c := before.Credentials
	if _, err := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("session from before the rotation: %v", err)
	}
	after := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("after")}))
	c = after.Credentials
	if _, err := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("session from after the rotation: %v", err)
	}
}

// assertNotStored fails if any file under dir (but except) contains secret.
func assertNotStored(t *testing.T, dir, secret, except string) {
	t.Helper()
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || path == except {
			return nil
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains a secret in plain text", path)
		}
		return nil
	})
}

// TestProcessesBuiltLikeTheTests checks that the opensts processes the
// tests start are built as the tests are: under the race detector (make
// race), with it, so that the processes driven by the AWS CLI and boto3
// are checked for races too (checkRaces), not only the servers the tests
// run in process.
func TestProcessesBuiltLikeTheTests(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", binary(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if got := strings.Contains(string(out), "\tbuild\t-race=true\n"); got != raceBuild {
		t.Fatalf("opensts built with -race: %v, the tests: %v\n%s", got, raceBuild, out)
	}
}

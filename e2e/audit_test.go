package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestAuditTrailWithCLIAndBoto3 drives a scenario with the real AWS CLI
// (users, keys, AssumeRole, a role session's call, a denied call), looks the
// events up with `aws cloudtrail lookup-events` and boto3's CloudTrail
// client, scans every trail file for every secret used (raw and base64),
// and checks `opensts audit verify` on the intact and on a changed trail.
func TestAuditTrailWithCLIAndBoto3(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := serveBinary(t, dataDir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret,
		"OPENSTS_MASTER_KEY="+testMasterKey, "--audit")
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	ok := func(env []string, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %v: exit %d: %s", args, code, errOut)
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %v: %v: %s", args, err, out)
			}
		}
		return m
	}
	get := func(m map[string]any, path ...string) string {
		var v any = m
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		s, _ := v.(string)
		return s
	}
	ok(root, "iam", "create-user", "--user-name", "alice")
	key := ok(root, "iam", "create-access-key", "--user-name", "alice")
	aliceID, aliceSecret := get(key, "AccessKey", "AccessKeyId"), get(key, "AccessKey", "SecretAccessKey")
	alice := creds(aliceID, aliceSecret, "")
	ok(root, "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "p", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","cloudtrail:LookupEvents"],"Resource":"*"}]}`)
	ok(root, "iam", "create-role", "--role-name", "ops", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"sts:AssumeRole"}]}`)
	ar := ok(alice, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+testAccount+":role/ops", "--role-session-name", "audit-s")
	roleID, roleSecret, roleToken := get(ar, "Credentials", "AccessKeyId"), get(ar, "Credentials", "SecretAccessKey"), get(ar, "Credentials", "SessionToken")
	role := creds(roleID, roleSecret, roleToken)
	ok(role, "sts", "get-caller-identity")
	st := ok(alice, "sts", "get-session-token")
	stSecret, stToken := get(st, "Credentials", "SecretAccessKey"), get(st, "Credentials", "SessionToken")
	if _, _, code := c.run(t, role, awsCLIPath(), "iam", "list-users", "--endpoint-url", p.endpoint); code == 0 {
		t.Fatal("the role may not list users")
	}

	lookup := func(env []string, attr string) []map[string]any {
		t.Helper()
		args := []string{"cloudtrail", "lookup-events", "--region", "us-east-1"}
		if attr != "" {
			args = append(args, "--lookup-attributes", attr)
		}
		m := ok(env, args...)
		var out []map[string]any
		for _, e := range m["Events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	// The AssumeRole is found by the access key it minted, with every field.
	evs := lookup(alice, "AttributeKey=ResourceName,AttributeValue="+roleID)
	if len(evs) != 1 || evs[0]["EventName"] != "AssumeRole" || evs[0]["Username"] != "alice" || evs[0]["EventSource"] != "sts.amazonaws.com" {
		t.Fatalf("lookup by minted key: %v", evs)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(evs[0]["CloudTrailEvent"].(string)), &rec); err != nil {
		t.Fatal(err)
	}
	ui := rec["userIdentity"].(map[string]any)
	if rec["eventVersion"] != "1.08" || rec["eventType"] != "AwsApiCall" || rec["recipientAccountId"] != testAccount || rec["managementEvent"] != true ||
		rec["eventCategory"] != "Management" || rec["readOnly"] != true || rec["sourceIPAddress"] != "127.0.0.1" || !strings.Contains(rec["userAgent"].(string), "aws-cli") ||
		ui["type"] != "IAMUser" || ui["userName"] != "alice" || ui["accessKeyId"] != aliceID || ui["accountId"] != testAccount ||
		get(rec, "responseElements", "credentials", "accessKeyId") != roleID || get(rec, "responseElements", "credentials", "sessionToken") != "HIDDEN_DUE_TO_SECURITY_REASONS" ||
		get(rec, "requestParameters", "roleSessionName") != "audit-s" || len(rec["eventID"].(string)) != 36 || rec["requestID"] == "" {
		t.Errorf("AssumeRole record: %v", rec)
	}
	// The role session's calls join back by its access key.
	evs = lookup(alice, "AttributeKey=AccessKeyId,AttributeValue="+roleID)
	names := map[string]bool{}
	for _, e := range evs {
		names[e["EventName"].(string)] = true
		var r map[string]any
		if err := json.Unmarshal([]byte(e["CloudTrailEvent"].(string)), &r); err != nil {
			t.Fatal(err)
		}
		ui := r["userIdentity"].(map[string]any)
		issuer := ui["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)
		if ui["type"] != "AssumedRole" || ui["arn"] != "arn:aws:sts::"+testAccount+":assumed-role/ops/audit-s" || issuer["arn"] != "arn:aws:iam::"+testAccount+":role/ops" || issuer["type"] != "Role" {
			t.Errorf("role session identity: %v", ui)
		}
		if e["EventName"] == "ListUsers" && r["errorCode"] != "AccessDenied" {
			t.Errorf("denied call: %v", r)
		}
	}
	if !names["GetCallerIdentity"] || !names["ListUsers"] {
		t.Errorf("role session events: %v", names)
	}
	// A principal without cloudtrail:LookupEvents is refused.
	if _, errOut, code := c.run(t, role, awsCLIPath(), "cloudtrail", "lookup-events", "--endpoint-url", p.endpoint); code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("role lookup-events: %d %s", code, errOut)
	}

	// boto3's CloudTrail client, with a filter, a time range and paging.
	script := c.write(t, "ct.py", `
import boto3, datetime, json, sys
ct = boto3.client("cloudtrail", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
now = datetime.datetime.now(datetime.timezone.utc)
r = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}],
    StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=1))
pages = 0
total = 0
for page in ct.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 3}):
    pages += 1
    total += len(page["Events"])
try:
    ct.lookup_events(LookupAttributes=[{"AttributeKey": "Nope", "AttributeValue": "x"}])
    code = ""
except Exception as e:
    code = e.response["Error"]["Code"]
print(json.dumps({"n": len(r["Events"]), "name": r["Events"][0]["EventName"], "time": isinstance(r["Events"][0]["EventTime"], datetime.datetime), "pages": pages, "total": total, "bad": code}))
`)
	out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, aliceID, aliceSecret)
	if code != 0 {
		t.Fatalf("boto3: %s", errOut)
	}
	var b struct {
		N, Pages, Total int
		Name, Bad       string
		Time            bool
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err, out)
	}
	if b.N != 1 || b.Name != "CreateUser" || !b.Time || b.Pages < 3 || b.Total < 9 || b.Bad != "InvalidLookupAttributesException" {
		t.Errorf("boto3: %+v", b)
	}

	// The server stops (its writer flushed, the file sealed) before the
	// trail is read whole and changed: a batch written after the change
	// would land at the file's old end.
	p.stop()

	// No secret in any trail file, raw or in base64.
	secrets := map[string]string{"root secret": testRootSecret, "alice secret": aliceSecret, "role secret": roleSecret, "role token": roleToken,
		"session-token secret": stSecret, "session token": stToken, "master key": testMasterKey}
	auditDir := filepath.Join(dataDir, "audit")
	files, _ := filepath.Glob(filepath.Join(auditDir, "audit-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no trail files")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for what, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
				if strings.Contains(string(data), form) {
					t.Errorf("%s found in %s", what, f)
				}
			}
		}
	}

	// verify: intact, then a changed record is named.
	verify := exec.Command(binary(t), "audit", "verify", "--data-dir", dataDir)
	verify.Env = append(os.Environ(), "OPENSTS_MASTER_KEY="+testMasterKey)
	if out, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(out), "intact") {
		t.Fatalf("verify intact trail: %v: %s", err, out)
	}
	data, _ := os.ReadFile(files[0])
	ls := strings.SplitAfter(string(data), "\n")
	n := slices.IndexFunc(ls, func(l string) bool { return strings.Contains(l, `"alice"`) }) // a request's record (alerts come between)
	ls[n] = strings.Replace(ls[n], `"alice"`, `"mallory"`, 1)
	if err := os.WriteFile(files[0], []byte(strings.Join(ls, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	verify = exec.Command(binary(t), "audit", "verify", "--data-dir", dataDir)
	verify.Env = append(os.Environ(), "OPENSTS_MASTER_KEY="+testMasterKey)
	if out, err := verify.CombinedOutput(); err == nil || !strings.Contains(string(out), `"`+filepath.Base(files[0])+`":`+strconv.Itoa(n+1)+`: record changed`) {
		t.Errorf("verify changed trail: %v: %s", err, out)
	}
}

// TestAuditAnchoredHead: the server anchors its trail's head in the store
// at each checkpoint and seal, and `opensts audit verify` checks the trail
// against it by default. That catches what the files alone cannot: the
// newest records and the digest cut off leave what looks like a file a
// crash left open, which verifies without the anchor. The restart on such
// a trail leaves the file unsealed and records an alert.
func TestAuditAnchoredHead(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	e := startIn(t, dataDir)
	for range 3 {
		if _, err := e.sts(testRootKeyID, testRootSecret, "").GetCallerIdentity(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	e.stop() // seals the file: the seal's head is anchored
	verify := func(args ...string) (string, error) {
		cmd := exec.Command(binary(t), append([]string{"audit", "verify", "--data-dir", dataDir}, args...)...)
		cmd.Env = append(os.Environ(), "OPENSTS_MASTER_KEY="+testMasterKey)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "anchored in the store (setting audit.head) present") {
		t.Fatalf("verify of an intact trail: %v: %s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dataDir, "audit", "audit-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no trail files")
	}
	last := files[len(files)-1]
	data, _ := os.ReadFile(last)
	ls := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(ls) < 3 {
		t.Fatalf("%d lines", len(ls))
	}
	if err := os.WriteFile(last, []byte(strings.Join(ls[:len(ls)-2], "")), 0o600); err != nil { // the digest and the last event
		t.Fatal(err)
	}
	if out, err := verify("--no-anchor"); err != nil {
		t.Fatalf("the files alone cannot tell (the README says so), but verify --no-anchor failed: %v: %s", err, out)
	}
	if out, err := verify(); err == nil || !strings.Contains(out, "short of the head anchored in the store") {
		t.Fatalf("verify of a trail cut short: %v: %s", err, out)
	}

	e = startIn(t, dataDir)
	e.stop()
	if got, _ := os.ReadFile(last); string(got) != strings.Join(ls[:len(ls)-2], "") {
		t.Fatal("the restart sealed the file cut short")
	}
	query := exec.Command(binary(t), "audit", "query", "--data-dir", dataDir, "--lookup-attribute", "EventName=AuditTrailChanged")
	out, err := query.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"eventType":"OpenSTSAlert"`) || !strings.Contains(string(out), "short of the head anchored") {
		t.Fatalf("no alert in the trail after the restart: %v: %s", err, out)
	}
}

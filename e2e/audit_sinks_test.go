package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a webhook endpoint: it answers failStatus while failing
// is set, and keeps the records of the bodies it accepts.
type hookReceiver struct {
	mu       sync.Mutex
	failing  bool
	attempts int
	failed   int
	auth     []string
	bodies   []string
	records  []map[string]any
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.failing {
		h.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var body struct {
		Records []map[string]any `json:"Records"`
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &body) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.bodies = append(h.bodies, string(b))
	h.records = append(h.records, body.Records...)
}

// find returns the received records named name (and, if akid is set, made
// with that access key).
func (h *hookReceiver) find(name, akid string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, r := range h.records {
		ui, _ := r["userIdentity"].(map[string]any)
		if r["eventName"] == name && (akid == "" || ui["accessKeyId"] == akid) {
			out = append(out, r)
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cliOK runs the AWS CLI against endpoint and decodes its JSON output.
func cliOK(t *testing.T, c *cliEnv, endpoint string, env []string, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", endpoint, "--output", "json")...)
	if code != 0 {
		t.Fatalf("aws %v: exit %d: %s", args, code, errOut)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %v: %v: %s", args, err, out)
		}
	}
	return m
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

var rootEnv = []string{"OPENSTS_ACCOUNT_ID=" + testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID=" + testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY=" + testRootSecret, "OPENSTS_MASTER_KEY=" + testMasterKey}

// TestAuditWebhookSink runs the real binary with a webhook: a scenario
// driven with the AWS CLI reaches the receiver as CloudTrail records, with
// the configured Authorization header, and no secret is in the bodies or
// the server's log.
func TestAuditWebhookSink(t *testing.T) {
	t.Parallel()
	rc := &hookReceiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	const hookSecret = "Bearer hook-secret-7f3a9c"
	p := serveBinary(t, t.TempDir(), append(rootEnv, "--audit-webhook-url="+hook.URL+"/ingest", "--audit-webhook-header=Authorization: "+hookSecret)...)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	cliOK(t, c, p.endpoint, root, "iam", "create-user", "--user-name", "hooked")
	key := cliOK(t, c, p.endpoint, root, "iam", "create-access-key", "--user-name", "hooked")
	akid, secret := str(key, "AccessKey", "AccessKeyId"), str(key, "AccessKey", "SecretAccessKey")
	if _, _, code := c.run(t, creds(akid, secret, ""), awsCLIPath(), "iam", "list-users", "--endpoint-url", p.endpoint); code == 0 {
		t.Fatal("hooked may not list users")
	}

	eventually(t, "the scenario's records at the receiver", func() bool {
		return len(rc.find("CreateUser", testRootKeyID)) == 1 && len(rc.find("CreateAccessKey", testRootKeyID)) == 1 && len(rc.find("ListUsers", akid)) == 1
	})
	r := rc.find("ListUsers", akid)[0]
	if r["errorCode"] != "AccessDenied" || r["eventSource"] != "iam.amazonaws.com" || r["recipientAccountId"] != testAccount || r["eventVersion"] != "1.08" ||
		str(r, "userIdentity", "userName") != "hooked" || r["prevHash"] == "" || r["seq"] == nil {
		t.Errorf("ListUsers record: %v", r)
	}
	if str(rc.find("CreateAccessKey", testRootKeyID)[0], "responseElements", "accessKey", "accessKeyId") != akid {
		t.Errorf("CreateAccessKey record: %v", rc.find("CreateAccessKey", testRootKeyID)[0])
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, a := range rc.auth {
		if a != hookSecret {
			t.Fatalf("Authorization %q", a)
		}
	}
	for _, b := range rc.bodies {
		for what, s := range map[string]string{"root secret": testRootSecret, "user secret": secret, "master key": testMasterKey} {
			if strings.Contains(b, s) {
				t.Errorf("%s in a webhook body", what)
			}
		}
	}
	if strings.Contains(p.stderr.String(), "hook-secret-7f3a9c") {
		t.Error("the webhook's header is in the server's log")
	}
}

// TestAuditWebhookRetriesUntilReceiverRecovers: the receiver fails (503)
// while calls are made; once it recovers, the events arrive (retried with
// backoff), none lost.
func TestAuditWebhookRetriesUntilReceiverRecovers(t *testing.T) {
	t.Parallel()
	rc := &hookReceiver{failing: true}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	p := serveBinary(t, t.TempDir(), append(rootEnv, "--audit-webhook-url="+hook.URL)...)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	for _, u := range []string{"down-1", "down-2", "down-3"} {
		cliOK(t, c, p.endpoint, root, "iam", "create-user", "--user-name", u)
	}
	eventually(t, "three failed deliveries", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.failed >= 3
	})
	if n := len(rc.find("CreateUser", "")); n != 0 {
		t.Fatalf("%d records accepted while failing", n)
	}
	rc.mu.Lock()
	rc.failing = false
	rc.mu.Unlock()
	eventually(t, "the events after recovery", func() bool { return len(rc.find("CreateUser", "")) == 3 })
	users := map[string]bool{}
	for _, r := range rc.find("CreateUser", "") {
		users[str(r, "requestParameters", "userName")] = true
	}
	if !users["down-1"] || !users["down-2"] || !users["down-3"] {
		t.Fatalf("users %v", users)
	}
	if !strings.Contains(p.stderr.String(), "audit webhook: delivery failed; retrying") || !strings.Contains(p.stderr.String(), "delivering again") {
		t.Errorf("log: %s", p.stderr.String())
	}
}

// TestAuditDatabaseTwoNodes runs two binaries on one PostgreSQL database:
// calls made on node A are found through node B's LookupEvents, with the
// AWS CLI and boto3 (paging, a changed NextToken refused), though B's own
// trail files never saw them.
func TestAuditDatabaseTwoNodes(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	pgEnv := append(append([]string{}, rootEnv...), "OPENSTS_DATABASE_URL="+dsn, "--store=postgres")
	a := serveBinary(t, t.TempDir(), pgEnv...)
	b := serveBinary(t, t.TempDir(), pgEnv...)
	c := newCLIEnv(t, a.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	cliOK(t, c, a.endpoint, root, "iam", "create-user", "--user-name", "auditor")
	key := cliOK(t, c, a.endpoint, root, "iam", "create-access-key", "--user-name", "auditor")
	akid, secret := str(key, "AccessKey", "AccessKeyId"), str(key, "AccessKey", "SecretAccessKey")
	cliOK(t, c, a.endpoint, root, "iam", "put-user-policy", "--user-name", "auditor", "--policy-name", "ct", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:LookupEvents","sts:GetCallerIdentity"],"Resource":"*"}]}`)
	auditor := creds(akid, secret, "")
	for range 5 {
		cliOK(t, c, a.endpoint, auditor, "sts", "get-caller-identity")
	}

	// On node B, by the access key used on node A.
	var evs []any
	eventually(t, "node A's calls through node B", func() bool {
		m := cliOK(t, c, b.endpoint, auditor, "cloudtrail", "lookup-events", "--region", "us-east-1",
			"--lookup-attributes", "AttributeKey=AccessKeyId,AttributeValue="+akid)
		evs, _ = m["Events"].([]any)
		return len(evs) == 5
	})
	for _, e := range evs {
		ev := e.(map[string]any)
		var rec map[string]any
		if err := json.Unmarshal([]byte(ev["CloudTrailEvent"].(string)), &rec); err != nil {
			t.Fatal(err)
		}
		if ev["EventName"] != "GetCallerIdentity" || ev["Username"] != "auditor" || ev["AccessKeyId"] != akid || ev["ReadOnly"] != "true" ||
			rec["eventSource"] != "sts.amazonaws.com" || str(rec, "userIdentity", "accessKeyId") != akid {
			t.Errorf("event: %v", ev)
		}
	}
	m := cliOK(t, c, b.endpoint, auditor, "cloudtrail", "lookup-events", "--region", "us-east-1",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateUser")
	if evs := m["Events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["Resources"] == nil {
		t.Errorf("CreateUser through B: %v", m)
	}
	// B's own trail files do not hold them: the answer came from the table.
	files, _ := filepath.Glob(filepath.Join(b.dataDir, "audit", "audit-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("node B has no trail files")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for l := range strings.Lines(string(data)) {
			if strings.Contains(l, akid) && strings.Contains(l, `"eventName":"GetCallerIdentity"`) {
				t.Fatalf("node B's trail holds node A's call: %s", l)
			}
		}
	}

	// `opensts audit query --database-url` reads every node's events.
	q := exec.Command(binary(t), "audit", "query", "--database-url", dsn, "--lookup-attribute", "AccessKeyId="+akid, "--account", testAccount)
	qout, err := q.Output()
	if err != nil {
		t.Fatalf("audit query --database-url: %v", err)
	}
	gci := 0
	for l := range strings.Lines(string(qout)) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("audit query line %q: %v", l, err)
		}
		if rec["eventName"] == "GetCallerIdentity" && str(rec, "userIdentity", "accessKeyId") == akid {
			gci++
		}
	}
	if gci != 5 {
		t.Errorf("audit query --database-url: %d GetCallerIdentity records: %s", gci, qout)
	}

	script := c.write(t, "ctpg.py", `
import boto3, datetime, json, sys, botocore
ct = boto3.client("cloudtrail", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
now = datetime.datetime.now(datetime.timezone.utc)
pages, ids, gci = 0, [], 0
for page in ct.get_paginator("lookup_events").paginate(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "auditor"}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=1), PaginationConfig={"PageSize": 2}):
    pages += 1
    ids += [e["EventId"] for e in page["Events"]]
    gci += len([e for e in page["Events"] if e["EventName"] == "GetCallerIdentity"])
first = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "auditor"}], MaxResults=2)
tok = first["NextToken"]
bad = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
try:
    ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "auditor"}], MaxResults=2, NextToken=bad)
    code = ""
except botocore.exceptions.ClientError as e:
    code = e.response["Error"]["Code"]
try:
    ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}], MaxResults=2, NextToken=tok)
    other = ""
except botocore.exceptions.ClientError as e:
    other = e.response["Error"]["Code"]
print(json.dumps({"gci": gci, "pages": pages, "n": len(ids), "distinct": len(set(ids)), "bad": code, "other": other}))
`)
	out, errOut, code := c.run(t, nil, pythonPath(), script, b.endpoint, akid, secret)
	if code != 0 {
		t.Fatalf("boto3: %s", errOut)
	}
	var r struct {
		Pages, N, Distinct, GCI int
		Bad, Other              string
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err, out)
	}
	// auditor's events: 5 GetCallerIdentity on A, and the LookupEvents
	// calls on B (the IAM calls were root's); pages of 2, none repeated.
	if r.GCI != 5 || r.N < 7 || r.Distinct != r.N || r.Pages != (r.N+1)/2 || r.Bad != "InvalidNextTokenException" || r.Other != "InvalidNextTokenException" {
		t.Errorf("boto3 through node B: %+v", r)
	}
}

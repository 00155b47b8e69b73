package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAuditLookupEveryAttribute drives `aws cloudtrail lookup-events` and
// boto3's CloudTrail client with each lookup attribute on a known trail
// and checks that every event returned matches it (and the expected one is
// there), then a time range that excludes everything, and MaxResults /
// NextToken paging without repeats.
func TestAuditLookupEveryAttribute(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := serveBinary(t, dataDir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret,
		"OPENSTS_MASTER_KEY="+testMasterKey, "--audit")
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	aws := func(env []string, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--region", "us-east-1", "--output", "json")...)
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
	aws(root, "iam", "create-user", "--user-name", "carol")
	key := aws(root, "iam", "create-access-key", "--user-name", "carol")["AccessKey"].(map[string]any)
	carolID := key["AccessKeyId"].(string)
	aws(creds(carolID, key["SecretAccessKey"].(string), ""), "sts", "get-caller-identity")

	// The CLI, each attribute: every event returned matches, and the
	// expected event is among them.
	type want struct {
		attr, value, field, expect string // field of CloudTrailEvent checked against value; expect: an eventName that must be found
	}
	var createID string
	all := aws(root, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateUser")["Events"].([]any)
	if len(all) != 1 {
		t.Fatalf("CreateUser events: %v", all)
	}
	createID = all[0].(map[string]any)["EventId"].(string)
	cases := []want{
		{"EventName", "CreateUser", "eventName", "CreateUser"},
		{"Username", "carol", "userIdentity.userName", "GetCallerIdentity"},
		{"AccessKeyId", carolID, "userIdentity.accessKeyId", "GetCallerIdentity"},
		{"ResourceName", "carol", "", "CreateUser"},
		{"ResourceType", "AWS::IAM::User", "", "CreateUser"},
		{"EventId", createID, "eventID", "CreateUser"},
		{"EventSource", "sts.amazonaws.com", "eventSource", "GetCallerIdentity"},
		{"ReadOnly", "false", "readOnly", "CreateUser"},
		{"ReadOnly", "true", "readOnly", "GetCallerIdentity"},
	}
	for _, tc := range cases {
		evs := aws(root, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey="+tc.attr+",AttributeValue="+tc.value)["Events"].([]any)
		found := false
		for _, e := range evs {
			e := e.(map[string]any)
			var r map[string]any
			if err := json.Unmarshal([]byte(e["CloudTrailEvent"].(string)), &r); err != nil {
				t.Fatal(err)
			}
			found = found || r["eventName"] == tc.expect
			if tc.field != "" {
				var v any = r
				for _, k := range strings.Split(tc.field, ".") {
					v = v.(map[string]any)[k]
				}
				if s, _ := json.Marshal(v); strings.Trim(string(s), `"`) != tc.value {
					t.Errorf("%s=%s: event %v has %s %s", tc.attr, tc.value, r["eventName"], tc.field, s)
				}
			} else if !strings.Contains(e["CloudTrailEvent"].(string), tc.value) {
				t.Errorf("%s=%s: event %v does not name it", tc.attr, tc.value, r["eventName"])
			}
		}
		if !found || (tc.attr == "EventId" && len(evs) != 1) {
			t.Errorf("%s=%s: %d events, %s not among them", tc.attr, tc.value, len(evs), tc.expect)
		}
	}
	// A time range in the past finds nothing.
	if evs := aws(root, "cloudtrail", "lookup-events", "--start-time", "2001-01-01T00:00:00Z", "--end-time", "2001-01-02T00:00:00Z")["Events"].([]any); len(evs) != 0 {
		t.Errorf("time range in 2001: %d events", len(evs))
	}

	// boto3: each attribute, a time range, and MaxResults/NextToken.
	script := c.write(t, "attrs.py", `
import boto3, datetime, json, sys
ct = boto3.client("cloudtrail", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
out = {}
for attr, value in json.loads(sys.argv[4]):
    evs = ct.lookup_events(LookupAttributes=[{"AttributeKey": attr, "AttributeValue": value}])["Events"]
    out[attr + "=" + value] = sorted(set(e["EventName"] for e in evs))
now = datetime.datetime.now(datetime.timezone.utc)
out["window"] = len(ct.lookup_events(StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=1))["Events"])
out["past"] = len(ct.lookup_events(StartTime=now - datetime.timedelta(days=2), EndTime=now - datetime.timedelta(days=1))["Events"])
ids, token = [], None
while True:
    kw = {"MaxResults": 2}
    if token:
        kw["NextToken"] = token
    r = ct.lookup_events(**kw)
    assert len(r["Events"]) <= 2
    ids += [e["EventId"] for e in r["Events"]]
    token = r.get("NextToken")
    if not token:
        break
out["paged"], out["unique"] = len(ids), len(set(ids))
print(json.dumps(out))
`)
	pairs, _ := json.Marshal([][2]string{{"EventName", "CreateUser"}, {"Username", "carol"}, {"AccessKeyId", carolID}, {"ResourceName", "carol"},
		{"ResourceType", "AWS::IAM::User"}, {"EventId", createID}, {"EventSource", "sts.amazonaws.com"}, {"ReadOnly", "false"}})
	out, errOut, code := c.run(t, nil, "python3", script, p.endpoint, testRootKeyID, testRootSecret, string(pairs))
	if code != 0 {
		t.Fatalf("boto3: %s", errOut)
	}
	var b map[string]any
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err, out)
	}
	names := func(k string) string { s, _ := json.Marshal(b[k]); return string(s) }
	for k, want := range map[string]string{
		"EventName=CreateUser": `["CreateUser"]`, "Username=carol": `["GetCallerIdentity"]`, "AccessKeyId=" + carolID: `["GetCallerIdentity"]`,
		"EventId=" + createID: `["CreateUser"]`, "EventSource=sts.amazonaws.com": `["GetCallerIdentity"]`,
	} {
		if got := names(k); got != want {
			t.Errorf("boto3 %s: %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"ResourceName=carol", "ResourceType=AWS::IAM::User", "ReadOnly=false"} {
		if !strings.Contains(names(k), `"CreateUser"`) || k == "ReadOnly=false" && strings.Contains(names(k), "LookupEvents") {
			t.Errorf("boto3 %s: %s", k, names(k))
		}
	}
	if b["window"].(float64) < 4 || b["past"].(float64) != 0 || b["paged"].(float64) < 4 || b["paged"] != b["unique"] {
		t.Errorf("boto3 time range and paging: %v", b)
	}
}

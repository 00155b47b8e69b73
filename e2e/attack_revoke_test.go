package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An outsider chooses the access key id of an unauthenticated request (a
// presigned URL's X-Amz-Credential may hold any character): the
// invalid-credentials alert it raises must not forge rows or reach the
// operator's terminal as escapes in `opensts alerts list`.
func TestAttackAlertsListForgedKeyID(t *testing.T) {
	e := start(t)
	now := time.Now().UTC()
	forged := "AKIAFAKE\n2026-01-01T00:00:00Z\tself-escalation\tcritical\t\x1b[2Jforged"
	q := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "X-Amz-Algorithm": {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential": {forged + "/" + now.Format("20060102") + "/us-east-1/sts/aws4_request"}, "X-Amz-Date": {now.Format("20060102T150405Z")},
		"X-Amz-Expires": {"60"}, "X-Amz-SignedHeaders": {"host"}, "X-Amz-Signature": {strings.Repeat("0", 64)}}
	resp, err := http.Get(e.endpoint + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "InvalidClientTokenId") {
		t.Fatalf("forged key id: %d %s", resp.StatusCode, body)
	}
	if a := waitAlerts(t, e, "invalid-credentials")["invalid-credentials"]; a.UserIdentity.AccessKeyID != forged {
		t.Fatalf("alert names %q", a.UserIdentity.AccessKeyID)
	}
	c := newCLIEnv(t, e.endpoint)
	out, errOut, code := c.run(t, creds(testRootKeyID, testRootSecret, ""), binary(t), "alerts", "list", "--endpoint-url", e.endpoint, "--since", "1h")
	if code != 0 {
		t.Fatalf("alerts list: %d %s", code, errOut)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "2026-01-01T00:00:00Z  self-escalation") {
		t.Fatalf("the forged key id reached the table raw:\n%q", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !strings.Contains(line, "invalid-credentials") && !strings.Contains(line, "root-key-use") {
			t.Errorf("a row that is no alert: %q", line)
		}
	}
	if !strings.Contains(out, `AKIAFAKE\n2026-01-01T00:00:00Z\tself-escalation\tcritical\t\x1b[2Jforged`) {
		t.Errorf("the key id is not shown escaped:\n%s", out)
	}
}

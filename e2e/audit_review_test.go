package e2e

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var requestIDRe = regexp.MustCompile(`<RequestId>([^<]+)</RequestId>`)

// opensts runs the binary with env added and returns its output and exit code.
func opensts(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestAuditEveryPathIsRecorded: OPTIONS *, unknown and unclean paths, a
// method the API does not take and an oversize body are each answered with
// an AWS error (no redirect, no net/http answer) and recorded once.
func TestAuditEveryPathIsRecorded(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := serveBinary(t, dataDir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret,
		"OPENSTS_MASTER_KEY="+testMasterKey, "--audit")
	host := strings.TrimPrefix(p.endpoint, "http://")
	raw := func(req string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The server may answer (and close) before it has read the whole
		// request (an oversize body): the write's error is then the
		// expected reset, and the answer is what counts.
		wrote := make(chan error, 1)
		go func() {
			_, err := io.WriteString(conn, req)
			wrote <- err
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v (write: %v)", err, <-wrote)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	big := strings.Repeat("a", 2<<20)
	cases := map[string]string{
		"OPTIONS *":    "OPTIONS * HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
		"unknown path": "GET /no/such/path?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
		"unclean path": "GET //a/../b/./c HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
		"bad method":   "DELETE / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
		"oversize body": "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
			"2097161\r\nConnection: close\r\n\r\nAction=x&" + big,
		"healthz is not audited": "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
	}
	ids := map[string]string{}
	for name, req := range cases {
		code, body := raw(req)
		if name == "healthz is not audited" {
			if code != 200 {
				t.Errorf("healthz: %d", code)
			}
			continue
		}
		m := requestIDRe.FindStringSubmatch(body)
		if code < 400 || code >= 500 || m == nil || !strings.Contains(body, "<Code>") {
			t.Errorf("%s: %d %.300s, want an AWS error", name, code, body)
			continue
		}
		ids[m[1]] = name
	}
	// Each request id is in the trail exactly once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, code := opensts(t, nil, "audit", "query", "--data-dir", dataDir)
		if code != 0 {
			t.Fatalf("query: %s", out)
		}
		seen := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r struct {
				RequestID, ErrorCode string
			}
			if json.Unmarshal([]byte(line), &r) == nil && ids[r.RequestID] != "" {
				seen[r.RequestID]++
				if r.ErrorCode == "" {
					t.Errorf("%s: recorded without an error code", ids[r.RequestID])
				}
			}
		}
		missing := []string{}
		for id, name := range ids {
			if seen[id] != 1 {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recorded exactly once: %v (%v)", missing, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAuditVerifyNeedsATrustedKey: verify refuses to trust the key inside
// the trail directory unless told to; a replaced key is caught with the
// master key or a public key kept apart; --head catches a dropped tail.
func TestAuditVerifyNeedsATrustedKey(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := serveBinary(t, dataDir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret,
		"OPENSTS_MASTER_KEY="+testMasterKey, "--audit")
	sts := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	call := func() {
		t.Helper()
		if _, errOut, code := sts.run(t, root, awsCLIPath(), "sts", "get-caller-identity", "--endpoint-url", p.endpoint); code != 0 {
			t.Fatal(errOut)
		}
	}
	for range 3 {
		call()
	}
	time.Sleep(200 * time.Millisecond) // the writer's batch reaches the file
	auditDir := filepath.Join(dataDir, "audit")
	mk := []string{"OPENSTS_MASTER_KEY=" + testMasterKey}
	pubFile := filepath.Join(t.TempDir(), "audit.pub")
	pub, err := os.ReadFile(filepath.Join(auditDir, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}

	if out, code := opensts(t, nil, "audit", "verify", "--data-dir", dataDir); code == 0 || !strings.Contains(out, "no trusted key") {
		t.Errorf("no key: exit %d: %s", code, out)
	}
	if out, code := opensts(t, mk, "audit", "verify", "--data-dir", dataDir); code != 0 || !strings.Contains(out, "derived from the master key") {
		t.Errorf("master key: exit %d: %s", code, out)
	}
	if out, code := opensts(t, nil, "audit", "verify", "--data-dir", dataDir, "--public-key", pubFile); code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("--public-key: exit %d: %s", code, out)
	}
	if out, code := opensts(t, nil, "audit", "verify", "--data-dir", dataDir, "--trust-trail-key"); code != 0 || !strings.Contains(out, "whoever can write the trail") {
		t.Errorf("--trust-trail-key: exit %d: %s", code, out)
	}

	// --head: the head recorded now is found; once the records from it on
	// are cut off, verify with it fails while a plain verify of the files
	// cannot tell. The server is stopped first, so that no batch of its
	// writer lands after the cut (at the file's old end, leaving a hole),
	// and the cut is made at the head's own record, however many records
	// the server wrote after it (the call below, and the file's seal). The
	// store's anchor holds the head the server had when it stopped, which
	// would catch the cut first; the --head checks leave it out.
	head, code := opensts(t, nil, "audit", "head", "--data-dir", dataDir)
	head = strings.TrimSpace(head)
	if code != 0 || !regexp.MustCompile(`^\d+:[0-9a-f]{64}$`).MatchString(head) {
		t.Fatalf("audit head: exit %d: %q", code, head)
	}
	headSeq, err := strconv.ParseUint(head[:strings.IndexByte(head, ':')], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	call()
	p.stop()
	if out, code := opensts(t, mk, "audit", "verify", "--data-dir", dataDir, "--head", head); code != 0 || !strings.Contains(out, "head "+head+" present") {
		t.Errorf("verify --head: exit %d: %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(auditDir, "audit-*.jsonl"))
	last := files[len(files)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	cut := -1 // where the head's record starts
	for off := 0; off < len(data); {
		n := bytes.IndexByte(data[off:], '\n') + 1
		if n == 0 {
			n = len(data) - off
		}
		var rec struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(data[off:off+n], &rec) == nil && rec.Seq == headSeq {
			cut = off
			break
		}
		off += n
	}
	if cut < 0 {
		t.Fatalf("record %d, the head, is not in %s", headSeq, last)
	}
	if err := os.WriteFile(last, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := opensts(t, mk, "audit", "verify", "--data-dir", dataDir, "--no-anchor"); code != 0 {
		t.Errorf("plain verify of a cut tail, the files alone: exit %d: %s", code, out)
	}
	if out, code := opensts(t, mk, "audit", "verify", "--data-dir", dataDir, "--no-anchor", "--head", head); code == 0 || !strings.Contains(out, "tail truncated") ||
		!strings.Contains(out, `"`+filepath.Base(last)+`":`) {
		t.Errorf("verify --head of a cut tail: exit %d: %s", code, out)
	}

	// A replaced key in the trail directory: caught with the master key
	// and with the key kept apart; --trust-trail-key has only that key.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	if err := os.WriteFile(filepath.Join(auditDir, "audit.pub"), []byte(base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := opensts(t, mk, "audit", "verify", "--data-dir", dataDir); code == 0 || !strings.Contains(out, "replaced") {
		t.Errorf("replaced key, master key: exit %d: %s", code, out)
	}
}

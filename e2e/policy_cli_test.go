package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyCommands runs `opensts policy validate` and `opensts policy
// simulate` as users do, without a server, checking output and exit status.
func TestPolicyCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", allow("s3:GetObject", "arn:aws:s3:::b/*"))
	bad := write("bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)
	trust := write("trust.json", trustAccount)
	run := func(args ...string) (string, int) {
		out, err := exec.Command(binary(t), args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := run("policy", "validate", good); code != 0 {
		t.Fatalf("valid policy: exit %d: %s", code, out)
	}
	if out, code := run("policy", "validate", "--type", "trust", trust); code != 0 {
		t.Fatalf("valid trust policy: exit %d: %s", code, out)
	}
	out, code := run("policy", "validate", good, bad)
	if code != 1 || !strings.Contains(out, "bad.json") {
		t.Fatalf("invalid policy: exit %d: %s", code, out)
	}
	// A trust policy is not a valid identity policy (Principal is not allowed there).
	if out, code := run("policy", "validate", "--type", "identity", trust); code != 1 {
		t.Fatalf("trust policy as identity: exit %d: %s", code, out)
	}

	input := write("req.json", `{"principal":{"type":"User","arn":"arn:aws:iam::123456789012:user/a","account":"123456789012","id":"AIDAEXAMPLEEXAMPLE01"},
		"action":"s3:GetObject","resource":"arn:aws:s3:::b/key",
		"policies":{"identity":[{"id":"p1","document":`+allow("s3:GetObject", "arn:aws:s3:::b/*")+`}]}}`)
	out, code = run("policy", "simulate", "--input", input)
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["decision"] != "allowed" {
		t.Fatalf("simulate: exit %d: %s", code, out)
	}
	deny := write("deny.json", `{"principal":{"type":"User","arn":"arn:aws:iam::123456789012:user/a","account":"123456789012"},
		"action":"s3:PutObject","resource":"arn:aws:s3:::b/key",
		"policies":{"identity":[{"id":"p1","document":`+allow("s3:GetObject", "*")+`}]}}`)
	out, code = run("policy", "simulate", "--input", deny)
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["decision"] != "implicitDeny" || res["explanation"] == "" {
		t.Fatalf("simulate deny: exit %d: %s", code, out)
	}
	if _, code := run("policy", "simulate", "--input", bad); code == 0 {
		t.Fatal("simulate with a malformed request exited 0")
	}
}

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestKeysRevokeWhileServing: `opensts keys revoke` on the key a running
// server signs with (a leaked key) makes the server refuse every token it
// signed with InvalidClientTokenId once it refreshes its keyring, and a
// new key takes over signing in the same command.
func TestKeysRevokeWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := serveBinary(t, dir, "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	e := &env{endpoint: p.endpoint}
	akid, secret := e.user(t, "rev")
	e.userPolicy(t, "rev", "all", allow("sts:AssumeRole", "*"))
	roleARN := e.role(t, "rev-role", "", trustAccount)
	assume := func(name string) *sts.Client {
		t.Helper()
		out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(name)}))
		c := out.Credentials
		return e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	}
	leaked := assume("before")
	if _, err := leaked.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command(binary(t), args...).CombinedOutput()
		return string(out), err
	}
	list := func() []map[string]any {
		t.Helper()
		out, err := run("keys", "list", "--data-dir", dir)
		var keys []map[string]any
		if err != nil || json.Unmarshal([]byte(out), &keys) != nil {
			t.Fatalf("keys list: %v\n%s", err, out)
		}
		return keys
	}
	keys := list()
	if len(keys) != 1 || keys[0]["signing"] != true {
		t.Fatalf("keys: %v", keys)
	}
	id := keys[0]["id"].(string)
	out, err := run("keys", "revoke", id, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "revoked signing key "+id) || !strings.Contains(out, "new signing key") {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}

	// The server refreshes its keyring every second by default; wait for
	// it with a generous deadline (this is not a speed test).
	start := time.Now()
	for {
		_, err := leaked.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			wantCode(t, err, "InvalidClientTokenId")
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("a token signed by the revoked key still verifies after a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("revocation applied after %v", time.Since(start))

	// New sessions are signed with the new key and work.
	if _, err := assume("after").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("session signed after the revocation: %v", err)
	}
	keys = list()
	if len(keys) != 2 {
		t.Fatalf("keys: %v", keys)
	}
	for _, k := range keys {
		if (k["id"] == id) != (k["revoked"] == true) || (k["id"] == id) == (k["signing"] == true) {
			t.Fatalf("keys after revocation: %v", keys)
		}
	}

	if out, err := run("keys", "revoke", "0123456789abcdef", "--data-dir", dir); err == nil || !strings.Contains(out, "no signing key") {
		t.Fatalf("revoke an unknown key: %v\n%s", err, out)
	}
	// An unknown store is an error that writes nothing (it used to panic
	// after writing a master key).
	fresh := filepath.Join(t.TempDir(), "data")
	if out, err := run("keys", "list", "--data-dir", fresh, "--store", "foo"); err == nil || strings.Contains(out, "panic") {
		t.Fatalf("keys list --store foo: %v\n%s", err, out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("keys list --store foo wrote %s: %v", fresh, err)
	}
}

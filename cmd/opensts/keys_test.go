package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runKeysCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newKeysCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

type listedKey struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
	Signing bool   `json:"signing"`
}

func listKeys(t *testing.T, dir string) []listedKey {
	t.Helper()
	out, err := runKeysCmd(t, "list", "--data-dir", dir)
	if err != nil {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	var keys []listedKey
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	return keys
}

func signing(keys []listedKey) string {
	for _, k := range keys {
		if k.Signing {
			return k.ID
		}
	}
	return ""
}

// TestKeysRejectBadConfig: an unknown store is an error before anything is
// written (it used to panic after writing a master key).
func TestKeysRejectBadConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, sub := range []string{"list", "rotate"} {
		out, err := runKeysCmd(t, sub, "--data-dir", dir, "--store", "foo")
		if err == nil || !strings.Contains(err.Error(), `--store "foo"`) {
			t.Fatalf("keys %s --store foo: %v\n%s", sub, err, out)
		}
	}
	if out, err := runKeysCmd(t, "revoke", "0123456789abcdef", "--data-dir", dir, "--store", "foo"); err == nil {
		t.Fatalf("keys revoke --store foo: %s", out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory written: %v", err)
	}
}

// TestKeysRevoke: revoking the signing key replaces it in the same command;
// revoking another key leaves the signer alone; unknown and revoked ids are
// reported.
func TestKeysRevoke(t *testing.T) {
	t.Setenv("OPENSTS_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	dir := t.TempDir()
	keys := listKeys(t, dir)
	first := signing(keys)
	if len(keys) != 1 || first == "" {
		t.Fatalf("fresh keyring: %+v", keys)
	}
	out, err := runKeysCmd(t, "revoke", first, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "revoked signing key "+first) || !strings.Contains(out, "new signing key ") {
		t.Fatalf("revoke the signing key: %v\n%s", err, out)
	}
	keys = listKeys(t, dir)
	second := signing(keys)
	if len(keys) != 2 || second == "" || second == first {
		t.Fatalf("after revoking the signing key: %+v", keys)
	}
	for _, k := range keys {
		if k.ID == first && !k.Revoked {
			t.Fatalf("%s not revoked: %+v", first, keys)
		}
	}
	if out, err := runKeysCmd(t, "revoke", first, "--data-dir", dir); err != nil || !strings.Contains(out, "already revoked") {
		t.Fatalf("revoke again: %v\n%s", err, out)
	}
	if out, err := runKeysCmd(t, "revoke", "0123456789abcdef", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no signing key 0123456789abcdef") {
		t.Fatalf("revoke an unknown key: %v\n%s", err, out)
	}
	if _, err := runKeysCmd(t, "revoke", "--data-dir", dir); err == nil {
		t.Fatal("revoke without a key id succeeded")
	}
	// A key that is not signing: revoking it leaves the signer alone.
	if out, err := runKeysCmd(t, "rotate", "--data-dir", dir); err != nil {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	keys = listKeys(t, dir)
	signer, other := signing(keys), ""
	for _, k := range keys {
		if !k.Revoked && !k.Signing {
			other = k.ID
		}
	}
	if len(keys) != 3 || signer == "" || other == "" {
		t.Fatalf("after rotating: %+v", keys)
	}
	out, err = runKeysCmd(t, "revoke", other, "--data-dir", dir)
	if err != nil || strings.Contains(out, "new signing key") {
		t.Fatalf("revoke a key that is not signing: %v\n%s", err, out)
	}
	if s := signing(listKeys(t, dir)); s != signer {
		t.Fatalf("signing key %s, want %s", s, signer)
	}
}

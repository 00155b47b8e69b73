// Package sharedtest locates the shared test suites that live beside the
// repository (../shared/testdata), for tests only. A missing folder fails the
// test: these suites are never skipped.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of ../shared/testdata/name relative to the
// module root, failing t if it does not exist. OPENSTS_SHARED_TESTDATA
// overrides the testdata folder.
func Dir(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("OPENSTS_SHARED_TESTDATA")
	if base == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("shared testdata: %v", err)
		}
		base = filepath.Join(root, "..", "shared", "testdata")
	}
	dir := filepath.Join(base, name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared testdata %s: %v (expected beside the repository, see README)", name, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

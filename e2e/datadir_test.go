package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDataDirMode: the data directory is made mode 0700 on start, whether
// the server creates it or finds it with looser permissions.
func TestDataDirMode(t *testing.T) {
	t.Parallel()
	existing := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	for _, dir := range []string{existing, fresh} {
		e := startIn(t, dir)
		e.stop()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: mode %v, want 0700", dir, fi.Mode().Perm())
		}
	}
}

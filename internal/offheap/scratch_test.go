//go:build unix

package offheap

import (
	"os"
	"testing"
)

// A scratch file takes writes and gives them back, and is not in its
// directory from the start.
func TestScratchFile(t *testing.T) {
	dir := t.TempDir()
	f := ScratchFile(dir, ".x-*")
	if f == nil {
		t.Fatal("no scratch file")
	}
	defer f.Close()
	if des, err := os.ReadDir(dir); err != nil || len(des) != 0 {
		t.Fatalf("directory holds %d entries (%v), want none", len(des), err)
	}
	if _, err := f.WriteAt([]byte("record"), 4096); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	if _, err := f.ReadAt(b, 4096); err != nil || string(b) != "record" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if ScratchFile(dir+"/missing", ".x-*") != nil {
		t.Fatal("a scratch file in a directory that does not exist")
	}
}

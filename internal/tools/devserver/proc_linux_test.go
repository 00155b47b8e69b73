package devserver

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProcSyscalls: the counts are this process's, and a read and a write
// of a file move them.
func TestProcSyscalls(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r0, w0, err := ProcSyscalls(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := f.WriteAt([]byte("x"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
			t.Fatal(err)
		}
	}
	r1, w1, err := ProcSyscalls(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if r1-r0 < 5 || w1-w0 < 5 {
		t.Fatalf("5 reads and 5 writes moved syscr by %d and syscw by %d", r1-r0, w1-w0)
	}
	if _, _, err := ProcSyscalls(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

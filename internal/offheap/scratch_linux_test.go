package offheap

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A scratch file's reads leave its access time alone (O_NOATIME).
func TestScratchFileNoAccessTime(t *testing.T) {
	f := ScratchFile(t.TempDir(), ".x-*")
	if f == nil {
		t.Fatal("no scratch file")
	}
	defer f.Close()
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_NOATIME == 0 {
		t.Fatalf("flags %#o lack O_NOATIME", fl)
	}
}

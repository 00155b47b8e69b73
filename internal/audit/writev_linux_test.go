package audit

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestWritevOnAFullDisk runs the trail on a real file whose writes fail
// part way (a file size limit: writev writes what fits, then fails with
// EFBIG, as a disk that fills up), which the tests wrapping the writer do
// not reach: they write line by line, never through writev. The events a
// strict request was told are written are exactly those in the trail, it
// verifies, and it goes on once the disk has room again.
func TestWritevOnAFullDisk(t *testing.T) {
	if dir := os.Getenv("OPENSTS_AUDIT_FSIZE_DIR"); dir != "" {
		writevOnAFullDisk(t, dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	// The limit is the process's: the trail runs in a child of its own.
	cmd := exec.Command(os.Args[0], "-test.run=^TestWritevOnAFullDisk$", "-test.v")
	cmd.Env = append(os.Environ(), "OPENSTS_AUDIT_FSIZE_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	sum, err := Verify(dir, testPub)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(dir, "written"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Records; string(want) != strconv.Itoa(got) {
		t.Errorf("the trail holds %d events, %s were reported written\n%s", got, want, out)
	}
}

func writevOnAFullDisk(t *testing.T, dir string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, StrictWait: 5 * time.Second, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	written := 0
	record := func(from, n int) (failed int) {
		var wg sync.WaitGroup
		var ok, bad atomic.Int64
		for i := from; i < from+n; i++ {
			wg.Go(func() {
				if err := tr.Record(ctx, exchange(i)); err == nil {
					ok.Add(1)
				} else if errors.Is(err, ErrUnavailable) {
					bad.Add(1)
				} else {
					t.Errorf("record %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		written += int(ok.Load())
		return int(bad.Load())
	}
	if record(0, 5) != 0 {
		t.Fatal("writes failed before the disk filled")
	}
	fi, err := os.Stat(filepath.Join(dir, FileName(1)))
	if err != nil {
		t.Fatal(err)
	}
	// Room for a couple of events: a batch's writev is cut short.
	full := lim
	full.Cur = uint64(fi.Size()) + 1500
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	// One at a time first, so that some events fit whatever the timing:
	// the one that crosses the limit has its writev cut short, then fails.
	// Then a burst, whose batches find the disk full.
	before, failed := written, 0
	for i := 5; i < 15; i++ {
		failed += record(i, 1)
	}
	if written == before || failed == 0 {
		t.Errorf("one by one: %d written, %d failed on the full disk; want some of each", written-before, failed)
	}
	failed += record(15, 30)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	if record(45, 5) != 0 {
		t.Error("writes failed once the disk had room again")
	}
	if n := countEvents(t, tr, Filter{}); n != written {
		t.Errorf("LookupEvents finds %d events, %d were written", n, written)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "written"), []byte(strconv.Itoa(written)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events written, %d failed on the full disk", written, failed)
}

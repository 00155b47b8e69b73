//go:build unix

package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Two clean runs: files 1 and 2 sealed, the anchor at file 2's seal.
func twoSealedRuns(t *testing.T, quiet *slog.Logger) (string, *memAnchor) {
	a := &memAnchor{}
	return sealTwice(t, a, "", quiet), a
}

// sealTwice writes two runs of three events into a new trail anchored in
// a as node, each sealed by its Close, and returns its directory.
func sealTwice(t *testing.T, a Anchor, node string, quiet *slog.Logger) string {
	t.Helper()
	dir := t.TempDir()
	for run := range 2 {
		tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, Anchor: a, Node: node, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := tr.Record(context.Background(), exchange(run*10+i)); err != nil {
				t.Fatal(err)
			}
		}
		tr.Close()
	}
	return dir
}

// TestChangedTrailAlertIsWrittenBeforeAnything (found by a review as an
// attacker): the forger, who can write the audit volume, removes the newest
// sealed file (cutting records before the anchored head) and fills the
// volume while the server restarts. The AuditTrailChanged alert was an
// ordinary queued event: its write failed and it was dropped, and once the
// space was freed the next checkpoint anchored the forged trail's head. Now
// Open writes the alert, and a checkpoint over it, before anything else:
// with the volume full it fails, the anchor untouched; once the space is
// freed, the restart records the alert.
func TestChangedTrailAlertIsWrittenBeforeAnything(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, a := twoSealedRuns(t, quiet)
	old := a.get()
	if err := os.Remove(filepath.Join(dir, FileName(2))); err != nil { // the cut
		t.Fatal(err)
	}
	var full atomic.Bool
	full.Store(true) // the volume is full (ENOSPC)
	_, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Log: quiet,
		wrap: func(w io.Writer) io.Writer { return failingWriter{w, &full} }})
	if err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Fatalf("Open of a changed trail on a full volume: %v", err)
	}
	if a.get() != old {
		t.Fatal("the anchor moved")
	}
	full.Store(false) // the forger frees the space
	tr, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if !alertedIn(t, dir) {
		t.Fatalf("no %s alert in the trail", AlertTrailChanged)
	}
	if _, err := Verify(dir, testPub); err != nil {
		t.Fatalf("verify after the alert: %v", err)
	}
}

// loadFailAnchor fails LoadHead once (a store slow or unreachable for a
// moment at the restart) and works otherwise.
type loadFailAnchor struct{ *memAnchor }

func (l loadFailAnchor) LoadHead(context.Context, string) (uint64, string, error) {
	return 0, "", errors.New("store unreachable")
}

// TestUnreadAnchorIsNotOverwritten (found by a review as an attacker):
// when the anchor cannot
// be read at the restart, the cut trail is not checked (only logged), and
// the anchor goroutine then overwrites the stored head with the forged
// trail's: afterwards nothing shows the cut.
func TestUnreadAnchorIsNotOverwritten(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, a := twoSealedRuns(t, quiet)
	old := a.get()
	if err := os.Remove(filepath.Join(dir, FileName(2))); err != nil {
		t.Fatal(err)
	}
	tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, Anchor: loadFailAnchor{a}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_ = tr.Record(context.Background(), exchange(100))
	tr.Close()
	h := a.get()
	_, verr := Verify(dir, testPub)
	if h != old {
		t.Fatalf("anchor went from %d to %d over a trail that was never checked", old.seq, h.seq)
	}
	if verr != nil || CheckAnchored(dir, h.seq, h.hash) == nil {
		t.Fatalf("verify %v; the old head must still catch the cut", verr)
	}
	if !notCheckedAlert(t, dir) {
		t.Fatalf("no %s alert", AlertTrailNotChecked)
	}
}

// TestPlantedFIFODoesNotHangTheRestart (found by a review as an attacker):
// findInFile read a file that is not
// the last one without bounding by its size: a FIFO planted in place of
// the file holding the anchored head, with a one-line file after it whose
// line merely has a "digest" key, blocks Open forever (the server never
// starts). Before this change openHead read only the last file.
func TestPlantedFIFODoesNotHangTheRestart(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir0, a := twoSealedRuns(t, quiet)
	// a directory of our own, not removed by t.TempDir's cleanup (the
	// blocked goroutine may still write to it)
	dir, err := os.MkdirTemp("", "fifo-trail")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, n := range []string{FileName(1), FileName(2)} {
		b, err := os.ReadFile(filepath.Join(dir0, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p2 := filepath.Join(dir, FileName(2))
	if err := os.Remove(p2); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p2, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName(3)), []byte(`{"seq":999999,"digest":{}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		tr, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Log: quiet})
		if err == nil {
			tr.Close() // the index is built from the files too
		}
		done <- err
	}()
	select {
	case err := <-done:
		// Refused, saying why, or opened with the alert recorded.
		if err != nil && !strings.Contains(err.Error(), "is not a regular file") {
			t.Fatalf("Open: %v", err)
		}
		if err == nil {
			files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
			last, _ := os.ReadFile(files[len(files)-1])
			if !strings.Contains(string(last), `"eventName":"`+AlertTrailChanged+`"`) {
				t.Fatal("no alert: the file holding the anchored head is a FIFO")
			}
		}
	case <-time.After(5 * time.Second):
		// unblock the goroutine so the test binary can exit
		if f, err := os.OpenFile(p2, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Open or Close blocked for 5s on a FIFO planted in the trail directory (restart hangs)")
	}
	if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("verify: %v", err)
	}
}

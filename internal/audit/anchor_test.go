package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// memAnchor is an Anchor in memory (the server's is a store setting).
type memAnchor struct {
	mu     sync.Mutex
	head   chainStart
	stores int
	fail   error
}

func (a *memAnchor) LoadHead(context.Context, string) (uint64, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.head.seq, a.head.hash, a.fail
}

func (a *memAnchor) StoreHead(_ context.Context, _ string, seq uint64, hash string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.head, a.stores = chainStart{seq: seq, hash: hash}, a.stores+1
	return nil
}

func (a *memAnchor) get() chainStart {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.head
}

// checkpointHead returns the seq and hash of the first checkpoint among a
// file's lines.
func checkpointHead(t *testing.T, ls []string) chainStart {
	t.Helper()
	for _, l := range ls {
		if strings.Contains(l, `"eventType":"`+CheckpointType+`"`) {
			l = strings.TrimSuffix(l, "\n")
			seq, err := lineSeq([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			return chainStart{seq: seq, hash: hashLine([]byte(l))}
		}
	}
	t.Fatal("no checkpoint")
	return chainStart{}
}

// TestAnchorFollowsCheckpointsAndSeals: the head of each checkpoint and of
// the seal reaches the anchor; Close returns once the seal's is stored.
func TestAnchorFollowsCheckpointsAndSeals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := &memAnchor{}
	now := make(chan struct{})
	tr, err := Open(Config{Dir: dir, Key: testKey, Checkpoint: -1, Strict: true, Anchor: a, checkpointNow: now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	now <- struct{}{}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp := checkpointHead(t, lines(t, filepath.Join(dir, FileName(1))))
	for a.get() != cp { // stored by the anchor's goroutine, soon
		if err := tr.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	seq, hash, err := Head(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h := a.get(); h.seq != seq || h.hash != hash {
		t.Fatalf("anchored %d:%s after Close, the trail's head is %d:%s", h.seq, h.hash, seq, hash)
	}
	if err := CheckAnchored(dir, seq, hash); err != nil {
		t.Fatal(err)
	}
	if err := CheckAnchored(dir, cp.seq, cp.hash); err != nil {
		t.Fatalf("the checkpoint's head: %v", err)
	}
}

// TestAnchoredHeadCatchesAChangedTrail: what the files alone cannot show
// (TestLoggedCheckpointHeadCatchesRemovedCheckpoints) the head anchored in
// the store does, at the restart and in verify. After a crash (the
// anchor holds the last checkpoint's head, the file no digest), someone who
// can write the trail but not the store drops a record, removes the
// checkpoint and rechains the rest; or removes the open file; or cuts it
// short before the checkpoint. The restart leaves the file unsealed and
// records an alert in the trail, and CheckAnchored fails. The same crash
// with the files left alone is sealed, with no alert.
func TestAnchoredHeadCatchesAChangedTrail(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	crashed := func(t *testing.T) (dir string, ls []string, a *memAnchor) {
		dir = t.TempDir()
		a = &memAnchor{}
		writeCheckpointed(t, Config{Dir: dir, Anchor: a, Log: quiet}, 8, 5)
		ls = lines(t, filepath.Join(dir, FileName(1)))
		ls = ls[:len(ls)-1] // the crash: no digest, and the anchor at the checkpoint
		a.head = checkpointHead(t, ls)
		return dir, ls, a
	}
	restart := func(t *testing.T, dir string, a *memAnchor) {
		tr, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
	}
	alerted := alertedIn

	t.Run("left alone", func(t *testing.T) {
		dir, ls, a := crashed(t)
		writeLines(t, filepath.Join(dir, FileName(1)), ls)
		restart(t, dir, a)
		sum, err := Verify(dir, testPub)
		if err != nil || len(sum.Recovered) != 1 {
			t.Fatalf("an honest crash: %+v %v", sum, err)
		}
		if alerted(t, dir) {
			t.Fatal("an honest crash raised the alert")
		}
		if h := a.get(); CheckAnchored(dir, h.seq, h.hash) != nil {
			t.Fatal("the anchor after the restart is not in the trail")
		}
	})
	for _, forge := range []struct {
		name string
		do   func(t *testing.T, p string, ls []string)
	}{
		{"a record dropped and the checkpoint removed", func(t *testing.T, p string, ls []string) {
			writeLines(t, p, withoutACheckpointedRecord(t, ls))
		}},
		{"cut before the checkpoint", func(t *testing.T, p string, ls []string) { writeLines(t, p, ls[:3]) }},
		{"the open file removed", func(t *testing.T, p string, _ []string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(forge.name, func(t *testing.T) {
			dir, ls, a := crashed(t)
			anchored := a.head
			p := filepath.Join(dir, FileName(1))
			forge.do(t, p, ls)
			var before []string
			if _, err := os.Stat(p); err == nil {
				before = lines(t, p)
			}
			var ve *VerifyError
			if err := CheckAnchored(dir, anchored.seq, anchored.hash); !errors.As(err, &ve) {
				t.Fatalf("CheckAnchored before the restart: %v", err)
			}
			restart(t, dir, a)
			if before != nil {
				if got := lines(t, p); len(got) != len(before) {
					t.Fatalf("the changed file was sealed (%d lines, %d before)", len(got), len(before))
				}
			}
			if !alerted(t, dir) {
				t.Fatal("no alert in the trail")
			}
			if err := CheckAnchored(dir, anchored.seq, anchored.hash); err == nil {
				t.Fatal("the old anchored head passes after the restart")
			}
		})
	}
}

// A store that cannot be read never stops the trail: the check is skipped
// (logged, and an AuditTrailNotChecked alert written), and no head of the
// run is anchored over the one that could not be read. One that cannot be
// written is tried again at the next signature.
func TestAnchorFailing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := &memAnchor{fail: errors.New("store down")}
	var logged strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logged, mu: &mu}, nil))
	tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, Anchor: a, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(context.Background(), exchange(1)); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := Verify(dir, testPub); err != nil {
		t.Fatal(err)
	}
	if !notCheckedAlert(t, dir) {
		t.Error("no AuditTrailNotChecked alert")
	}
	// Read, but not written: the next start stores nothing either, and
	// says so.
	a.mu.Lock()
	a.fail, a.head = nil, chainStart{}
	a.mu.Unlock()
	w := &storeFails{memAnchor: a}
	tr, err = Open(Config{Dir: dir, Key: testKey, Strict: true, Anchor: w, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"cannot read the trail's anchored head", "cannot anchor the trail's head"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q: %s", want, logged.String())
		}
	}
}

// storeFails is an anchor that reads but cannot store.
type storeFails struct{ *memAnchor }

func (storeFails) StoreHead(context.Context, string, uint64, string) error {
	return errors.New("store read-only")
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// notCheckedAlert reports whether the trail in dir holds an
// AuditTrailNotChecked alert.
func notCheckedAlert(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	if err := Query(dir, Filter{}, func(line []byte) error {
		found = found || strings.Contains(string(line), `"eventName":"`+AlertTrailNotChecked+`"`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

func alertedIn(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	if err := Query(dir, Filter{}, func(line []byte) error {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		found = found || (r.EventType == AlertEventType && r.EventName == AlertTrailChanged)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// readFirstLine reads a trail file's first whole line and no more of the
// file: a prune reads the first record of the file the trail then starts
// at, and reading the whole file (64 MiB) for it was that much heap at
// every prune.
func TestReadFirstLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := bytes.Repeat([]byte("x"), 40<<10) // longer than the reader's buffer
	for _, tc := range []struct {
		name string
		data []byte
		want []byte
	}{
		{"one", []byte("{\"seq\":1}\n{\"seq\":2}\n"), []byte(`{"seq":1}`)},
		{"long", append(append(long, '\n'), "next\n"...), long},
		{"torn", []byte(`{"seq":1}`), nil},
		{"empty", nil, nil},
	} {
		got, err := readFirstLine(write(tc.name, tc.data))
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: readFirstLine = %.40q, %v; want %.40q", tc.name, got, err, tc.want)
		}
	}
	big := write("big", append([]byte("{\"seq\":7}\n"), bytes.Repeat([]byte("y"), 16<<20)...))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	line, err := readFirstLine(big)
	runtime.ReadMemStats(&after)
	if err != nil || string(line) != `{"seq":7}` {
		t.Fatalf("readFirstLine of a 16 MiB file = %q, %v", line, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("reading the first line of a 16 MiB file allocated %d bytes", n)
	}
}

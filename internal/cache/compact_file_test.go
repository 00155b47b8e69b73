//go:build linux

package cache

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// A flush the file refuses (a full disk) drops the records it held from
// the index: the file still holds, where they were to go, the same keys'
// records of the lap before, which must never be read for them. And an
// in-place rewrite the file refuses leaves the old value unread: the
// record is appended anew.
func TestCompactFileWriteFails(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	tr := newCompactFileBuf(compactSegments*10*rec, t.TempDir(), 3*rec)
	if tr == nil {
		t.Fatal("no file")
	}
	key := func(p string, i int) []byte { return fmt.Appendf(nil, "%s%05d", p, i) }
	val := func(s string) []byte { return bytes.Repeat([]byte(s), 100/len(s)) }
	for i := range 10 {
		tr.put(key("k", i), nil, val("1"))
	}
	for i := 10; i < 160; i++ { // a lap: segment 0 comes round again
		tr.put(key("f", i), nil, val("f"))
	}
	good := tr.file
	ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", good.Fd())) // the same file, read-only
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	tr.mu.Lock()
	tr.file = ro
	tr.mu.Unlock()
	for i := range 10 { // the same places as the lap before: their writes fail
		tr.put(key("k", i), nil, val("2"))
	}
	for i := range 10 {
		if v, ok := tr.get(nil, key("k", i)); ok && !bytes.Equal(v, val("2")) {
			t.Fatalf("k%d read %q after its write failed", i, v[:1])
		}
	}
	// f150 is in the file (segment 15): a rewrite in place fails, the
	// record is appended (to the buffer), and the new value is read.
	tr.put(key("f", 150), nil, val("g"))
	if v, ok := tr.get(nil, key("f", 150)); !ok || !bytes.Equal(v, val("g")) {
		t.Fatalf("f150 after a failed rewrite: %v %q", ok, v)
	}
	checkIndex(t, tr)
	tr.mu.Lock()
	tr.file = good
	tr.mu.Unlock()
}

// A segment a failed flush damaged is not parsed when its turn to be
// emptied comes: its records are dropped by a walk of the index, and the
// index stays consistent through the laps after.
func TestCompactFileDamagedSegment(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	tr := newCompactFileBuf(compactSegments*10*rec, t.TempDir(), 3*rec)
	if tr == nil {
		t.Fatal("no file")
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	val := bytes.Repeat([]byte("v"), 100)
	good := tr.file
	ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", good.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for i := range 5 {
		tr.put(key(i), nil, val)
	}
	tr.mu.Lock()
	tr.file = ro
	tr.mu.Unlock()
	for i := 5; i < 10; i++ { // the flush of 3..5 fails: segment 0 damaged
		tr.put(key(i), nil, val)
	}
	tr.mu.Lock()
	tr.file = good
	damaged := tr.damaged[0]
	tr.mu.Unlock()
	if !damaged {
		t.Fatal("a failed flush did not mark its segment")
	}
	for i := 10; i < 500; i++ { // three laps
		tr.put(key(i), nil, val)
		if i%50 == 0 {
			checkIndex(t, tr)
		}
	}
	checkIndex(t, tr)
	if v, ok := tr.get(nil, key(499)); !ok || !bytes.Equal(v, val) {
		t.Fatal("newest record lost")
	}
}

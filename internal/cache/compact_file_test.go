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
	tr := newCompactFileBuf(compactSegments*10*rec, t.TempDir(), 3*rec, 0)
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
	tr := newCompactFileBuf(compactSegments*10*rec, t.TempDir(), 3*rec, 0)
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

// mappedTier40 is a tier in a file, of segments of 10 records of rec bytes
// (key(i) and val(i)), read through a mapping while it holds at most 40.
func mappedTier40(t *testing.T) (tr *compact, rec int, key, val func(int) []byte) {
	t.Helper()
	rec = recordHeader + len("k00000") + 100
	key = func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	val = func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100) }
	if tr = newCompactFileBuf(compactSegments*10*rec, t.TempDir(), 3*rec, 40*rec); tr == nil || tr.mapped == nil {
		t.Fatal("no mapped file")
	}
	return tr, rec, key, val
}

// A tier read through its file's mapping reads without the file: with
// reads of the file failing (a descriptor open for writing only), its
// records are still found, and MappedBytes bounds what it mapped. Once the
// file grows past the mapping's bound, the tier leaves the mapping and
// reads with pread, which that descriptor then fails.
func TestCompactMappedReads(t *testing.T) {
	tr, rec, key, val := mappedTier40(t)
	for i := range 30 {
		tr.put(key(i), nil, val(i))
	}
	tr.mu.Lock()
	tr.flushLocked()
	tr.mu.Unlock()
	if got := tr.MappedBytes(); got != int64(30*rec) {
		t.Fatalf("MappedBytes = %d, want %d", got, 30*rec)
	}
	fds := newAttackFds(t, tr)
	fds.use(tr, fds.wo) // reads of the file fail from here
	for i := range 30 {
		if v, ok := tr.get(nil, key(i)); !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("key %d: ok %v, %q", i, ok, v)
		}
	}
	// Past 40 records the file is left; its records are preads now.
	for i := 30; i < 50; i++ {
		tr.put(key(i), nil, val(i))
	}
	tr.mu.Lock()
	tr.flushLocked()
	tr.mu.Unlock()
	if tr.mapped.b != nil || tr.MappedBytes() != 0 {
		t.Fatalf("still mapped past the bound: %d", tr.MappedBytes())
	}
	if _, ok := tr.get(nil, key(45)); ok {
		t.Fatal("read without the mapping did not go to the file")
	}
	fds.use(tr, fds.good)
	for i := range 50 {
		if v, ok := tr.get(nil, key(i)); !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("key %d after leaving the mapping: ok %v", i, ok)
		}
	}
}

// A file cut short under the mapping (by another process that can reach
// it) makes reads of what it no longer holds fault: they are misses, not
// the end of the process.
func TestCompactMappedFileCutShort(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	key := func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	tr := newCompactFileBuf(compactSegments*100*rec, t.TempDir(), 50*rec, 1<<30)
	if tr == nil || tr.mapped == nil {
		t.Fatal("no mapped file")
	}
	for i := range 200 {
		tr.put(key(i), nil, bytes.Repeat([]byte("v"), 100))
	}
	tr.mu.Lock()
	tr.flushLocked()
	tr.mu.Unlock()
	if _, ok := tr.get(nil, key(150)); !ok {
		t.Fatal("not stored")
	}
	if err := tr.file.Truncate(0); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, ok := tr.get(nil, key(i)); ok {
			t.Fatalf("key %d read from a file cut to nothing", i)
		}
	}
}

// Records written again and again (a key past its TTL) grow the file, not
// the records: the tier stays in its mapping, and what its mapping may
// hold resident is its records and what the file grew by since its pages
// were last dropped, not the whole file.
func TestCompactMappedRewrites(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	const mapMax = 40
	tr := rewriteMapped(t, 100*rec, mapMax*rec, 30, func(round int, tr *compact) {
		if got, most := tr.MappedBytes(), int64(10*rec+mapMax*rec/4); got == 0 || got > most {
			t.Fatalf("round %d: MappedBytes %d, want 1..%d (file %d)", round, got, most, tr.extent)
		}
	})
	if tr.extent < 250*int64(rec) || tr.mapped.b == nil {
		t.Fatalf("file %d bytes, mapped %v", tr.extent, tr.mapped.b != nil)
	}
}

// rewriteMapped makes a mapped tier of segments of segBytes, bound mapMax,
// and puts ten keys again in each of rounds rounds (their sizes
// alternating, so that each put appends a record), flushing and reading
// them back after each; check runs after every round.
func rewriteMapped(t *testing.T, segBytes, mapMax, rounds int, check func(round int, tr *compact)) *compact {
	t.Helper()
	rec := recordHeader + len("k00000") + 100
	key := func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	tr := newCompactFileBuf(compactSegments*segBytes, t.TempDir(), 3*rec, mapMax)
	if tr == nil || tr.mapped == nil {
		t.Fatal("no mapped file")
	}
	for round := range rounds {
		for i := range 10 {
			tr.put(key(i), nil, bytes.Repeat([]byte{byte(round)}, 100-round%2))
		}
		tr.mu.Lock()
		tr.flushLocked()
		tr.mu.Unlock()
		for i := range 10 {
			if v, ok := tr.get(nil, key(i)); !ok || v[0] != byte(round) {
				t.Fatalf("round %d key %d: %v", round, i, ok)
			}
		}
		if check != nil {
			check(round, tr)
		}
	}
	return tr
}

// A tier that left its mapping (its records past the bound) maps its file
// again once they are a quarter under it, and reads through the mapping
// from then on; not before.
func TestCompactMappedAgain(t *testing.T) {
	tr, rec, key, val := mappedTier40(t)
	flush := func() {
		tr.mu.Lock()
		tr.flushLocked()
		tr.mu.Unlock()
	}
	for i := range 50 {
		tr.put(key(i), nil, val(i))
	}
	flush()
	if tr.mapped.b != nil {
		t.Fatal("still mapped past the bound")
	}
	// 32 records: under the bound, not a quarter under it.
	for i := range 18 {
		tr.delete(string(key(i)))
	}
	tr.put(key(50), nil, val(50))
	tr.delete(string(key(50)))
	flush()
	if tr.mapped.b != nil {
		t.Fatal("mapped again less than a quarter under the bound")
	}
	for i := 18; i < 21; i++ {
		tr.delete(string(key(i)))
	}
	tr.put(key(51), nil, val(51)) // 30 records: a quarter under
	flush()
	if tr.mapped.b == nil || tr.MappedBytes() == 0 {
		t.Fatalf("not mapped again with %d bytes of records under a bound of %d", tr.bytes, 40*rec)
	}
	fds := newAttackFds(t, tr)
	fds.use(tr, fds.wo) // reads of the file fail from here: only the mapping reads
	for i := 21; i < 50; i++ {
		if v, ok := tr.get(nil, key(i)); !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("key %d through the mapping again: ok %v", i, ok)
		}
	}
	fds.use(tr, fds.good)
}

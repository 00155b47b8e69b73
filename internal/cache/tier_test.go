package cache

import (
	"fmt"
	"testing"
	"time"
	"unsafe"
)

func TestTier(t *testing.T) {
	tr := NewTier(16 * 1024)
	if _, ok := tr.Get(nil, []byte("a")); ok {
		t.Fatal("empty tier holds a")
	}
	tr.Put([]byte("a"), []byte("one"))
	tr.Put([]byte("a"), []byte("two"))
	if v, ok := tr.Get([]byte("x:"), []byte("a")); !ok || string(v) != "x:two" {
		t.Fatalf("Get(a) = %q, %v; want the value appended, replaced", v, ok)
	}
	tr.Delete([]byte("a"))
	if _, ok := tr.Get(nil, []byte("a")); ok {
		t.Fatal("deleted a still held")
	}
	// Past its bound it drops the oldest, and stays within it.
	for i := range 2000 {
		tr.Put(fmt.Appendf(nil, "k%d", i), make([]byte, 40))
	}
	n, b, alloc := tr.Stats()
	if alloc > 16*1024 || b > alloc || n == 0 {
		t.Fatalf("%d records of %d bytes in %d allocated, bound %d", n, b, alloc, 16*1024)
	}
	if _, ok := tr.Get(nil, []byte("k1999")); !ok {
		t.Fatal("newest record dropped")
	}
	if _, ok := tr.Get(nil, []byte("k0")); ok {
		t.Fatal("oldest record kept past the bound")
	}
}

// Where names the parts of a cache that hold a key.
func TestWhere(t *testing.T) {
	c := New(Config[string]{MaxBytes: 1 << 20, CompactBytes: 1 << 20})
	if w := c.Where([]byte("k")); w != "none" {
		t.Fatalf("empty: %s", w)
	}
	if _, err := c.LoadTiered([]byte("k"), func(b []byte) (string, bool) { return string(b), true },
		func() (string, []byte, error) { return "v", []byte("v"), nil }); err != nil {
		t.Fatal(err)
	}
	if w := c.Where([]byte("k")); w != "first+second" {
		t.Fatalf("loaded: %s", w)
	}
	c.DeleteFunc(func(string, string) bool { return true })
	if w := c.Where([]byte("k")); w != "second" {
		t.Fatalf("evicted from the first tier: %s", w)
	}
	c.Delete("k")
	if w := c.Where([]byte("k")); w != "none" {
		t.Fatalf("deleted: %s", w)
	}
}

// Interned reads the value String reads, returns one copy of a value read
// before, and keeps no more values than its bound.
func TestDecInterned(t *testing.T) {
	b := Enc(nil).String("111122223333").String("/path/").String("").String("111122223333")
	d := NewDec(b)
	a1, p, e, a2 := d.Interned(), d.Interned(), d.Interned(), d.Interned()
	if !d.OK() || a1 != "111122223333" || p != "/path/" || e != "" || a2 != a1 {
		t.Fatalf("read %q %q %q %q (ok %v)", a1, p, e, a2, d.OK())
	}
	if unsafe.StringData(a1) != unsafe.StringData(a2) {
		t.Error("the same value read twice is two copies")
	}
	if got := NewDec([]byte{0x05, 'a'}).Interned(); got != "" {
		t.Errorf("a truncated value read as %q", got)
	}
	for i := range internMax + 100 {
		NewDec(Enc(nil).String(fmt.Sprintf("distinct-%d", i))).Interned()
	}
	interned.mu.RLock()
	n, bytes := len(interned.m), interned.bytes
	interned.mu.RUnlock()
	if n > internMax || bytes > internMaxBytes {
		t.Errorf("the interner keeps %d values, %d bytes; bound %d, %d", n, bytes, internMax, internMaxBytes)
	}
}

// A tier's records put again at the same size do not push out the rest:
// the detection engine writes a subject's baseline back each time its
// table drops it, and appending each time filled the segments with dead
// copies of the subjects seen most, so that the oldest segment, emptied,
// took the others with it (at 100,000 roles a quarter of the baselines were
// read from the store again).
func TestTierPutAgainKeepsTheWorkingSet(t *testing.T) {
	const n, bound = 1000, 128 * 1024 // 1,000 records of some 80 bytes: 60 % of the bound
	tr := NewTier(bound)
	key := func(i int) []byte { return fmt.Appendf(nil, "subject-%04d", i) }
	val := func(i, round int) []byte { return fmt.Appendf(make([]byte, 0, 64), "%04d-%06d-%053d", i, round, 0) }
	for i := range n {
		tr.Put(key(i), val(i, 0))
	}
	// The first tenth, put again and again: 500 times the bound appended.
	for round := 1; round <= 1000; round++ {
		for i := range n / 10 {
			tr.Put(key(i), val(i, round))
		}
	}
	for i := range n {
		want := 0
		if i < n/10 {
			want = 1000
		}
		if v, ok := tr.Get(nil, key(i)); !ok || string(v) != string(val(i, want)) {
			t.Fatalf("record %d = %q, %v; want %q", i, v, ok, val(i, want))
		}
	}
	// A value of another size still replaces the record.
	tr.Put(key(7), []byte("short"))
	if v, ok := tr.Get(nil, key(7)); !ok || string(v) != "short" {
		t.Fatalf("resized record = %q, %v", v, ok)
	}
	if got, b, _ := tr.Stats(); got != n || b > bound {
		t.Fatalf("%d records of %d bytes; want %d within %d", got, b, n, bound)
	}
}

// ReplaceTiered rewrites a key's record unless an invalidation ran since
// the generation it was given, so it never brings back a dropped record;
// a cache with a TTL stores nothing through it.
func TestReplaceTiered(t *testing.T) {
	c := New(Config[string]{MaxBytes: 1 << 20, CompactBytes: 1 << 20})
	load := func(k string) {
		t.Helper()
		if _, err := c.LoadTiered([]byte(k), func(b []byte) (string, bool) { return string(b), true },
			func() (string, []byte, error) { return "v", []byte("v"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	record := func(k string) string {
		b, ok := c.TierRecord([]byte(k))
		if !ok {
			return "none"
		}
		return string(b)
	}
	load("k")
	gen := c.Gen()
	if !c.ReplaceTiered([]byte("k"), gen, []byte("w")) || record("k") != "w" {
		t.Fatalf("not replaced: %s", record("k"))
	}
	c.Delete("other") // an invalidation of another key
	if c.ReplaceTiered([]byte("k"), gen, []byte("x")) || record("k") != "w" {
		t.Fatalf("replaced after an invalidation: %s", record("k"))
	}
	gen = c.Gen()
	c.Delete("k")
	if c.ReplaceTiered([]byte("k"), gen, []byte("y")) || record("k") != "none" {
		t.Fatalf("a dropped record came back: %s", record("k"))
	}
	ttl := New(Config[string]{MaxBytes: 1 << 20, CompactBytes: 1 << 20, TTL: time.Minute})
	if ttl.ReplaceTiered([]byte("k"), ttl.Gen(), []byte("z")) {
		t.Fatal("a cache with a TTL stored a record without its expiry")
	}
}

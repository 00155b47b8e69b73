package cache

import (
	"errors"
	"fmt"
	"testing"
)

type blob struct{ n int }

func (b *blob) Size() int { return b.n }

type val struct {
	size   int
	shared []*blob
}

func newTestCache(max int) *Cache[val] {
	return New(Config[val]{MaxBytes: max, Cost: func(v val) (int, []Shared) {
		s := make([]Shared, len(v.shared))
		for i, b := range v.shared {
			s[i] = b
		}
		return v.size, s
	}})
}

// TestBoundAndClock drives the cache far past its bound: the accounting
// never exceeds it, and an entry read since the hand last passed survives a
// round that evicts unread ones.
func TestBoundAndClock(t *testing.T) {
	per := 1000 + entryBytes[val]() + len("k000")
	c := newTestCache(10 * per)
	key := func(i int) string { return fmt.Sprintf("k%03d", i) }
	for i := range 10 {
		c.Put(key(i), val{size: 1000})
	}
	if n, b, max := c.Stats(); n != 10 || b > max {
		t.Fatalf("%d entries, %d of %d bytes", n, b, max)
	}
	c.Get([]byte(key(0)))
	c.Put(key(10), val{size: 1000})
	if _, ok := c.Get([]byte(key(0))); !ok {
		t.Error("a recently read entry was evicted")
	}
	if _, ok := c.Get([]byte(key(1))); ok {
		t.Error("the least recently used unread entry was kept")
	}
	for i := range 1000 {
		c.Put(key(i), val{size: 1000 + i})
		if _, b, max := c.Stats(); b > max {
			t.Fatalf("%d bytes over the bound %d", b, max)
		}
	}
	c.Put("huge", val{size: 100 * per})
	if _, ok := c.Get([]byte("huge")); ok {
		t.Error("a value larger than the cache was stored")
	}
}

func TestSharedCountedOnce(t *testing.T) {
	c := newTestCache(1 << 20)
	b := &blob{n: 50000}
	for i := range 100 {
		c.Put(fmt.Sprint("k", i), val{size: 10, shared: []*blob{b}})
	}
	_, bytes, _ := c.Stats()
	if bytes > b.n+100*(10+entryBytes[val]()+sharedListBytes(1)+8)+sharedBytes {
		t.Errorf("100 entries sharing %d bytes cost %d", b.n, bytes)
	}
	if c.refs[b] != 100 {
		t.Errorf("refs %d", c.refs[b])
	}
	for i := range 100 {
		c.Delete(fmt.Sprint("k", i))
	}
	if _, ok := c.refs[b]; ok {
		t.Error("a value no entry holds is still counted")
	}
	if n, bytes, _ := c.Stats(); n != 0 || bytes != 0 {
		t.Errorf("%d entries, %d bytes after deleting all", n, bytes)
	}
}

// TestInvalidationDuringLoad: a value loaded while an invalidation ran is
// returned but not cached (it may predate the change).
func TestInvalidationDuringLoad(t *testing.T) {
	c := newTestCache(1 << 20)
	v, err := c.Load([]byte("k"), func() (val, error) {
		c.Delete("unrelated") // any invalidation meanwhile
		return val{size: 1}, nil
	})
	if err != nil || v.size != 1 {
		t.Fatal(v, err)
	}
	if _, ok := c.Get([]byte("k")); ok {
		t.Error("a value loaded across an invalidation was cached")
	}
	if _, err := c.Load([]byte("k"), func() (val, error) { return val{size: 2}, nil }); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get([]byte("k")); !ok || v.size != 2 {
		t.Error("a quiet load was not cached")
	}
	boom := errors.New("boom")
	if _, err := c.Load([]byte("e"), func() (val, error) { return val{}, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok := c.Get([]byte("e")); ok {
		t.Error("an error was cached")
	}
}

func TestDeletePrefixAndFunc(t *testing.T) {
	c := newTestCache(1 << 20)
	for _, k := range []string{"a/1", "a/2", "b/1", "b/2"} {
		c.Put(k, val{size: len(k)})
	}
	if n := c.DeletePrefix("a/"); n != 2 {
		t.Errorf("DeletePrefix removed %d", n)
	}
	if n := c.DeleteFunc(func(k string, v val) bool { return k == "b/2" }); n != 1 {
		t.Errorf("DeleteFunc removed %d", n)
	}
	if n, _, _ := c.Stats(); n != 1 {
		t.Errorf("%d left", n)
	}
	c.Clear()
	if n, b, _ := c.Stats(); n != 0 || b != 0 {
		t.Errorf("after Clear: %d, %d", n, b)
	}
}

func TestHitAllocatesNothing(t *testing.T) {
	c := newTestCache(1 << 20)
	c.Put("alice", val{size: 1})
	var kb [16]byte
	allocs := testing.AllocsPerRun(100, func() {
		key := append(kb[:0], "alice"...)
		if _, err := c.Load(key, func() (val, error) { t.Fatal("miss"); return val{}, nil }); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a hit allocates %.0f times", allocs)
	}
}

// TestScanResistance cycles through three times as many keys as fit: the
// keys cached before the scan stay cached and keep hitting, where CLOCK
// alone would replace each before its next use; a key that misses twice in
// short order is stored.
func TestScanResistance(t *testing.T) {
	per := 1000 + entryBytes[val]() + len("k0000")
	c := newTestCache(100*per + ghostBytes(ghostLen(100*per)))
	if c.ghost.ring == nil {
		t.Fatal("no ghost")
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }
	load := func(i int) bool {
		hit := true
		if _, err := c.Load(key(i), func() (val, error) { hit = false; return val{size: 1000}, nil }); err != nil {
			t.Fatal(err)
		}
		return hit
	}
	hits := 0
	for round := range 4 {
		for i := range 300 {
			if load(i) && round > 0 {
				hits++
			}
		}
	}
	if n, b, max := c.Stats(); b > max || n < 90 {
		t.Fatalf("%d entries, %d of %d bytes", n, b, max)
	}
	// About a third of the requests of the last three rounds hit.
	if hits < 3*90 {
		t.Errorf("%d hits in three rounds over 300 keys with room for 100, want at least 270", hits)
	}
	// A key loaded again soon after its first miss is served from the
	// window, without being stored.
	n, _, _ := c.Stats()
	first, second, third := load(1000), load(1000), load(1000)
	if first || !second || !third {
		t.Errorf("a key loaded three times in a row hit %v, %v, %v; want false, true, true", first, second, third)
	}
	if _, ok := c.items["k1000"]; ok {
		t.Error("a key seen once of late was stored")
	}
	if m, _, _ := c.Stats(); m != n {
		t.Errorf("%d entries, then %d", n, m)
	}
}

// TestWindowThenAdmission: a value the full cache did not store is served
// from the window until enough other misses push it out; the key's next
// miss, while the ghost remembers it, stores it in the cache, where it
// stays in use as CLOCK keeps it. Nothing in the cache is evicted for a
// value held in the window.
func TestWindowThenAdmission(t *testing.T) {
	per := 1000 + entryBytes[val]() + len("k0000")
	c := newTestCache(64 * per)
	if c.ghost.ring == nil || len(c.win.ring) == 0 {
		t.Fatal("no ghost or window")
	}
	wl := len(c.win.ring)
	key := func(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }
	fills := 0
	load := func(i int) {
		if _, err := c.Load(key(i), func() (val, error) { fills++; return val{size: 1000}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ { // fill the cache
		c.Put(string(key(5000+i)), val{size: 1000})
		if n, _, _ := c.Stats(); n < i+1 {
			break
		}
	}
	before := map[string]bool{}
	for k := range c.items {
		before[k] = true
	}
	load(1)
	load(1)
	if fills != 1 {
		t.Fatalf("%d fills for a key loaded twice in a row", fills)
	}
	if _, ok := c.items["k0001"]; ok {
		t.Fatal("stored on its first miss")
	}
	for k := range before {
		if _, ok := c.items[k]; !ok {
			t.Fatalf("%s evicted for a value kept in the window", k)
		}
	}
	for i := range wl { // push it out of the window
		load(100 + i)
	}
	if _, ok := c.win.at["k0001"]; ok {
		t.Fatalf("still in the window after %d others", wl)
	}
	fills = 0
	load(1)
	if fills != 1 {
		t.Fatal("served after leaving the window")
	}
	if _, ok := c.items["k0001"]; !ok {
		t.Error("not stored on its second miss of late")
	}
	load(1)
	if fills != 1 {
		t.Error("a stored key missed")
	}
	if _, b, max := c.Stats(); b > max {
		t.Errorf("%d of %d bytes", b, max)
	}
}

// TestWindowInvalidation: every invalidation drops what the window holds,
// as it does the cache's entries, and a value loaded across an
// invalidation is not kept in the window either.
func TestWindowInvalidation(t *testing.T) {
	per := 1000 + entryBytes[val]() + len("k0000")
	c := newTestCache(64 * per)
	for i := range 200 {
		c.Put(fmt.Sprintf("f%04d", i), val{size: 1000})
	}
	miss := func(k string) bool {
		hit := true
		if _, err := c.Load([]byte(k), func() (val, error) { hit = false; return val{size: 1000}, nil }); err != nil {
			t.Fatal(err)
		}
		return !hit
	}
	inWindow := func(k string) bool { _, ok := c.win.at[k]; return ok }
	for _, k := range []string{"a/1", "a/2", "b/1", "b/2", "c/1"} {
		miss(k)
		if !inWindow(k) {
			t.Fatalf("%s not in the window", k)
		}
	}
	c.Delete("a/1")
	if !miss("a/1") {
		t.Error("Delete left a/1 in the window")
	}
	c.DeletePrefix("a/")
	if !miss("a/2") {
		t.Error("DeletePrefix left a/2 in the window")
	}
	c.DeleteFunc(func(k string, _ val) bool { return k == "b/1" })
	if !miss("b/1") || miss("b/2") {
		t.Error("DeleteFunc dropped the wrong values from the window")
	}
	if _, err := c.Load([]byte("d/1"), func() (val, error) {
		c.Delete("unrelated")
		return val{size: 1000}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.items["d/1"]; ok || inWindow("d/1") {
		t.Error("a value loaded across an invalidation was kept")
	}
	c.Put("b/2", val{size: 20}) // a stored value replaces the window's
	if v, _ := c.Get([]byte("b/2")); v.size != 20 || inWindow("b/2") {
		t.Errorf("after Put: %d, in window %v", v.size, inWindow("b/2"))
	}
	c.Clear()
	if !miss("c/1") {
		t.Error("Clear left c/1 in the window")
	}
}

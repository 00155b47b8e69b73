package cache

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The second tier keeps what fits, evicts the oldest sixteenth when full,
// and keeps a record that is read as its segment comes up for reuse.
func TestCompactEvictsOldestAndKeepsWhatIsRead(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	tierModes(t, compactSegments*10*rec, func(t *testing.T, tr *compact) { testCompactEvicts(t, tr, rec) }) // ten records a segment
}

// tierModes runs f with a tier of maxBytes in memory, with one in a file
// whose buffer is a third of a segment (so that it is flushed within
// segments as well as when one is left) read with pread, and with the same
// read through a mapping of the file.
func tierModes(t *testing.T, maxBytes int, f func(t *testing.T, tr *compact)) {
	t.Run("memory", func(t *testing.T) { f(t, newCompact(maxBytes)) })
	for _, mode := range []struct {
		name     string
		mapBytes int
	}{{"file", 0}, {"mapped", maxBytes}} {
		t.Run(mode.name, func(t *testing.T) {
			tr := newCompactFileBuf(maxBytes, t.TempDir(), maxBytes/compactSegments/3, mode.mapBytes)
			if tr == nil {
				t.Fatal("no file")
			}
			if (tr.mapped != nil) != (mode.mapBytes > 0) {
				t.Fatalf("mapped: %v", tr.mapped != nil)
			}
			f(t, tr)
		})
	}
}

func testCompactEvicts(t *testing.T, tr *compact, rec int) {
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100) }
	key := func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	for i := range 160 {
		tr.put(key(i), nil, val(i))
	}
	if n, b, alloc := tr.stats(); n != 160 || b != 160*rec || alloc != compactSegments*10*rec {
		t.Fatalf("%d records, %d bytes, %d allocated", n, b, alloc)
	}
	for i := 30; i < 160; i++ { // outside the two oldest segments: reading moves nothing
		if v, ok := tr.get(nil, key(i)); !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("record %d: %v %x", i, ok, v)
		}
	}
	// Full: the next record empties the oldest segment (records 0..9) ...
	tr.put(key(160), nil, val(160))
	if _, ok := tr.get(nil, key(0)); ok {
		t.Fatal("the oldest record survived its segment's reuse")
	}
	if n, _, _ := tr.stats(); n != 151 {
		t.Fatalf("%d records after one segment's eviction", n)
	}
	// ... and records 10..29 sit in the two oldest segments now: one read
	// is copied forward and survives the next evictions, the others do not.
	if _, ok := tr.get(nil, key(15)); !ok {
		t.Fatal("record 15 missing")
	}
	for i := 161; i < 185; i++ {
		tr.put(key(i), nil, val(i))
	}
	if v, ok := tr.get(nil, key(15)); !ok || !bytes.Equal(v, val(15)) {
		t.Fatalf("a record read in the oldest segment was evicted: %v", ok)
	}
	if _, ok := tr.get(nil, key(14)); ok {
		t.Fatal("an unread record of the oldest segment survived")
	}
	_, b, alloc := tr.stats()
	if b > alloc {
		t.Fatalf("%d bytes held in %d allocated", b, alloc)
	}
}

func TestCompactDeleteAndReplace(t *testing.T) {
	tierModes(t, 1<<16, testCompactDeleteAndReplace)
}

func testCompactDeleteAndReplace(t *testing.T, tr *compact) {
	tr.put([]byte("role\x00a"), nil, []byte("one"))
	tr.put([]byte("role\x00b"), nil, []byte("two"))
	tr.put([]byte("scp\x00x"), nil, []byte("three"))
	tr.put([]byte("role\x00a"), nil, []byte("uno")) // replaced, counted once
	if v, _ := tr.get(nil, []byte("role\x00a")); string(v) != "uno" {
		t.Fatalf("replaced value %q", v)
	}
	if n, b, _ := tr.stats(); n != 3 || b != 3*recordHeader+3*len("role\x00a")-1+3+3+5 {
		t.Fatalf("%d records, %d bytes", n, b)
	}
	tr.delete("role\x00b")
	if _, ok := tr.get(nil, []byte("role\x00b")); ok {
		t.Fatal("deleted record found")
	}
	tr.deletePrefix("scp\x00")
	if _, ok := tr.get(nil, []byte("scp\x00x")); ok {
		t.Fatal("record under a deleted prefix found")
	}
	if _, ok := tr.get(nil, []byte("role\x00a")); !ok {
		t.Fatal("a record outside the prefix was deleted")
	}
	tr.put(bytes.Repeat([]byte("x"), 1<<16), nil, nil) // larger than a segment
	if n, _, _ := tr.stats(); n != 1 {
		t.Fatalf("%d records", n)
	}
	tr.clear()
	if n, b, alloc := tr.stats(); n != 0 || b != 0 || alloc != 0 {
		t.Fatalf("after clear: %d records, %d bytes, %d allocated", n, b, alloc)
	}
}

type tiered struct{ s string }

func decodeTiered(b []byte) (tiered, bool) {
	if string(b) == "expired" {
		return tiered{}, false
	}
	return tiered{s: string(b)}, true
}

// LoadTiered fills once, then serves from the second tier what the first
// evicted; invalidation reaches both tiers (DeleteFunc only the first); a
// value filled while an invalidation ran is stored in neither.
func TestLoadTiered(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20})
	fills := 0
	load := func(k string) tiered {
		t.Helper()
		v, err := c.LoadTiered([]byte(k), decodeTiered, func() (tiered, []byte, error) {
			fills++
			return tiered{s: "v" + k}, []byte("v" + k), nil
		})
		if err != nil || v.s != "v"+k {
			t.Fatalf("%s: %+v %v", k, v, err)
		}
		return v
	}
	load("a")
	load("b")
	c.DeleteFunc(func(string, tiered) bool { return true }) // first tier only
	load("a")
	load("b")
	if fills != 2 {
		t.Fatalf("%d fills: the second tier did not serve what the first dropped", fills)
	}
	c.Delete("a")
	load("a")
	c.DeletePrefix("b")
	load("b")
	if fills != 4 {
		t.Fatalf("%d fills: Delete or DeletePrefix left the second tier", fills)
	}
	c.Clear()
	load("a")
	if fills != 5 {
		t.Fatalf("%d fills: Clear left the second tier", fills)
	}
	// An encoding decode refuses is filled again.
	c.Clear()
	_, _ = c.LoadTiered([]byte("e"), decodeTiered, func() (tiered, []byte, error) { return tiered{s: "x"}, []byte("expired"), nil })
	c.DeleteFunc(func(string, tiered) bool { return true })
	v, _ := c.LoadTiered([]byte("e"), decodeTiered, func() (tiered, []byte, error) { return tiered{s: "fresh"}, []byte("fresh"), nil })
	if v.s != "fresh" {
		t.Fatalf("an encoding decode refused was served: %+v", v)
	}
	// Invalidated while filling: stored in neither tier.
	c.Clear()
	_, _ = c.LoadTiered([]byte("r"), decodeTiered, func() (tiered, []byte, error) {
		c.Delete("r")
		return tiered{s: "stale"}, []byte("stale"), nil
	})
	if _, ok := c.Get([]byte("r")); ok {
		t.Fatal("a value filled across an invalidation is in the first tier")
	}
	if n, _, _ := c.TierStats(); n != 0 {
		t.Fatal("a value filled across an invalidation is in the second tier")
	}
}

// LoadTieredMissed does not look in the first tier: it reads the second
// (or fills), and what it reads replaces the first tier's value, which its
// caller refused; an encoding decode refuses is filled and replaced.
func TestLoadTieredMissed(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20})
	c.Put("k", tiered{s: "old"})
	v, err := c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		return tiered{s: "new"}, []byte("expired"), nil
	})
	if err != nil || v.s != "new" {
		t.Fatalf("%+v %v: the first tier's value was served", v, err)
	}
	if got, _ := c.Get([]byte("k")); got.s != "new" {
		t.Fatalf("first tier holds %+v, not the value loaded", got)
	}
	v, _ = c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		return tiered{s: "newer"}, []byte("newer"), nil
	})
	if v.s != "newer" {
		t.Fatalf("%+v: the record decode refused was served", v)
	}
	c.DeleteFunc(func(string, tiered) bool { return true })
	v, _ = c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		t.Fatal("filled: the second tier's record was not read")
		return tiered{}, nil, nil
	})
	if v.s != "newer" {
		t.Fatalf("%+v from the second tier", v)
	}
}

// Concurrent loads, puts, evictions and deletes keep every record intact
// (run with -race).
func TestCompactConcurrent(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 4 << 10, CompactBytes: 32 << 10})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := strconv.Itoa((i * (w + 1)) % 700)
				v, err := c.LoadTiered([]byte(k), decodeTiered, func() (tiered, []byte, error) {
					return tiered{s: "v" + k}, []byte("v" + k + "|" + string(bytes.Repeat([]byte{'p'}, i%90))), nil
				})
				if err != nil || (v.s != "v"+k && !bytes.HasPrefix([]byte(v.s), []byte("v"+k+"|"))) {
					t.Errorf("%s: %q %v", k, v.s, err)
					return
				}
				if i%97 == 0 {
					c.Delete(k)
				}
			}
		})
	}
	wg.Wait()
	if _, b, alloc := c.TierStats(); b > alloc {
		t.Fatalf("%d bytes held in %d allocated", b, alloc)
	}
}

// TestTTL: with a TTL a value is served for at most TTL after it was
// loaded, from the first tier, the window or the second (whose records
// carry their expiry: a value decoded from one expires when the record
// does), whatever invalidations say; without one, for as long as it is
// cached.
func TestTTL(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, ttl := range []time.Duration{0, time.Minute} {
		c := New(Config[tiered]{MaxBytes: 64 << 10, CompactBytes: 64 << 10, TTL: ttl, Now: func() time.Time { return now }})
		fills := 0
		expect := func(key, want string) {
			t.Helper()
			v, err := c.LoadTiered([]byte(key), decodeTiered, func() (tiered, []byte, error) {
				fills++
				s := strconv.Itoa(fills)
				return tiered{s: s}, []byte(s), nil
			})
			if err != nil || v.s != want {
				t.Fatalf("ttl %v, %s: loaded %q (%v), want %q", ttl, key, v.s, err, want)
			}
		}
		evict := func() { c.DeleteFunc(func(string, tiered) bool { return true }) }
		expect("k", "1")
		now = now.Add(30 * time.Second)
		expect("k", "1") // the first tier
		evict()
		expect("k", "1") // the second tier: expires 60 s after the fill, not now
		now = now.Add(31 * time.Second)
		if ttl == 0 {
			expect("k", "1")
			continue
		}
		if _, ok := c.Get([]byte("k")); ok {
			t.Fatal("Get served an expired value")
		}
		expect("k", "2") // expired in both tiers: filled
		evict()
		now = now.Add(59 * time.Second)
		expect("k", "2")
		evict()
		now = now.Add(2 * time.Second)
		expect("k", "3")
		// The window: a full cache keeps a first miss there.
		w := New(Config[tiered]{MaxBytes: 32 << 10, TTL: ttl, Now: func() time.Time { return now }})
		for i := range 2000 {
			w.Put(fmt.Sprintf("fill-%d", i), tiered{s: "x"})
		}
		if _, err := w.Load([]byte("win"), func() (tiered, error) { return tiered{s: "w"}, nil }); err != nil {
			t.Fatal(err)
		}
		if w.Where([]byte("win")) != "window" {
			t.Fatalf("the value is in %s, want the window", w.Where([]byte("win")))
		}
		if _, ok := w.Get([]byte("win")); !ok {
			t.Fatal("the window does not serve its value")
		}
		now = now.Add(ttl)
		if _, ok := w.Get([]byte("win")); ok {
			t.Fatal("the window served an expired value")
		}
	}
}

// TestTTLSpread: with a spread, values loaded at one time expire between
// TTL less the spread and TTL after it, not all at once.
func TestTTLSpread(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New(Config[tiered]{MaxBytes: 1 << 20, TTL: time.Minute, TTLSpread: 20 * time.Second, Now: func() time.Time { return now }})
	const n = 200
	for i := range n {
		c.Put(strconv.Itoa(i), tiered{s: "v"})
	}
	live := func() int {
		k := 0
		for i := range n {
			if _, ok := c.Get([]byte(strconv.Itoa(i))); ok {
				k++
			}
		}
		return k
	}
	start := now
	now = start.Add(40*time.Second - time.Nanosecond)
	if k := live(); k != n {
		t.Fatalf("%d of %d served before TTL less the spread", k, n)
	}
	now = start.Add(50 * time.Second)
	if k := live(); k == 0 || k == n {
		t.Fatalf("%d of %d served halfway through the spread: they expire at once", k, n)
	}
	now = start.Add(time.Minute)
	if k := live(); k != 0 {
		t.Fatalf("%d of %d served past the TTL", k, n)
	}
}

// A TTL too large to add to a time does not overflow into an expiry in
// the past (every value expired at once: the cache off).
func TestTTLHuge(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 64 << 10, TTL: time.Duration(math.MaxInt64)})
	c.Put("k", tiered{s: "v"})
	if _, ok := c.Get([]byte("k")); !ok {
		t.Fatal("a value with a huge TTL expired at once")
	}
}

// Without a clock of its own a cache with a TTL reads the coarse clock: a
// value is served after it is put and expires once the clock's ticks pass
// its TTL (waited for up to 10 s: the ticks are a goroutine's).
func TestTTLCoarseClock(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 64 << 10, TTL: 300 * time.Millisecond})
	c.Put("k", tiered{s: "v"})
	if _, ok := c.Get([]byte("k")); !ok {
		t.Fatal("a value just put is not served")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, ok := c.Get([]byte("k")); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the value is still served 10 s after its 300 ms TTL")
		}
	}
}

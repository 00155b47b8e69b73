package cache

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTieredNeverStaleAfterInvalidation: a value changed and invalidated
// is never returned by a load that starts after the invalidation, whether
// from the first tier, its window, the second (after evictions from the
// first, reuse of segments and refreshes) or a fill racing it.
func TestTieredNeverStaleAfterInvalidation(t *testing.T) {
	t.Run("small", func(t *testing.T) { testNeverStale(t, 2<<10, 16<<10, 64) })
	// Large enough for a ghost and a window, and full: most loads are
	// served by the window or the second tier.
	t.Run("window", func(t *testing.T) {
		c := New(Config[tiered]{MaxBytes: 32 << 10})
		if len(c.win.ring) == 0 {
			t.Fatal("no window")
		}
		testNeverStale(t, 32<<10, 64<<10, 1024)
	})
}

func testNeverStale(t *testing.T, firstBytes, secondBytes, keys int) {
	c := New(Config[tiered]{MaxBytes: firstBytes, CompactBytes: secondBytes})
	versions, invalidated := make([]atomic.Int64, keys), make([]atomic.Int64, keys)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + w) % keys
				key := "k" + strconv.Itoa(k)
				before := invalidated[k].Load() // versions invalidated before this load
				v, err := c.LoadTiered([]byte(key), decodeTiered, func() (tiered, []byte, error) {
					s := strconv.FormatInt(versions[k].Load(), 10)
					return tiered{s: s}, []byte(s + "|padding-padding-padding"), nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				s, _, _ := strings.Cut(v.s, "|")
				got, _ := strconv.ParseInt(s, 10, 64)
				if got < before {
					t.Errorf("%s: version %d loaded after version %d was invalidated", key, got, before)
					stop.Store(true)
					return
				}
			}
		})
	}
	for i := range 20000 {
		k := i % keys
		versions[k].Add(1)
		c.Delete("k" + strconv.Itoa(k))
		invalidated[k].Store(versions[k].Load())
		if i%1000 == 0 {
			c.DeleteFunc(func(string, tiered) bool { return true }) // the first tier evicted, the second kept
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestTierReadDuringDeleteNotKept: a load that missed the first tier just
// before a Delete of its key, and reads the second tier while that Delete
// is under way (after it took the cache's lock, before it reached the
// second tier), must not keep what it read: the Delete's invalidation has
// to be complete before a load can see it. Delete made the generation new
// first and dropped the record last, so such a load took the new
// generation, read the old record, and stored it in the first tier after
// the Delete returned (TestTrustChangeRacesRoleLoads, rarely). The steps
// are ordered by the test: the load pauses in the clock (an expired entry
// of the first tier is its miss), and the second tier's lock holds the
// Delete and then the load where each must be.
func TestTierReadDuringDeleteNotKept(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	var now atomic.Int64
	var pause atomic.Bool
	paused, resume := make(chan struct{}), make(chan struct{})
	clock := func() time.Time {
		if pause.CompareAndSwap(true, false) {
			paused <- struct{}{}
			<-resume
		}
		return base.Add(time.Duration(now.Load()))
	}
	c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20, TTL: time.Minute, Now: clock})
	key := []byte("k")
	fills := 0
	fill := func(s string) func() (tiered, []byte, error) {
		return func() (tiered, []byte, error) { fills++; return tiered{s: s}, []byte(s), nil }
	}
	// The record expires at 90 s, the first tier's entry at 60 s: at 70 s
	// a load misses the first tier (reading the clock) and hits the second.
	now.Store(int64(30 * time.Second))
	if _, err := c.LoadTiered(key, decodeTiered, fill("old")); err != nil {
		t.Fatal(err)
	}
	now.Store(0)
	c.Put(string(key), tiered{s: "old"})
	now.Store(int64(70 * time.Second))
	fills = 0

	c.tier.mu.Lock() // the second tier is held: Delete stops at it
	pause.Store(true)
	loaded := make(chan tiered)
	go func() {
		v, err := c.LoadTiered(key, decodeTiered, fill("new"))
		if err != nil {
			t.Error(err)
		}
		loaded <- v
	}()
	<-paused // the load missed the first tier
	deleted := make(chan struct{})
	go func() { c.Delete(string(key)); close(deleted) }()
	// Delete holds the cache's lock and waits for the second tier.
	waitForStack(t, "(*compact).delete", "sync.(*RWMutex).Lock")
	close(resume)
	// The load waits for the second tier too; readers waiting go first
	// when it is let go: the load reads the record, then Delete drops it.
	waitForStack(t, "(*compact).read", "sync.runtime_SemacquireRWMutexR")
	c.tier.mu.Unlock()
	v := <-loaded
	<-deleted
	if v.s != "old" || fills != 0 {
		t.Fatalf("the load got %q with %d fills: it did not read the second tier during the Delete", v.s, fills)
	}
	if got, ok := c.Get(key); ok {
		t.Fatalf("%q cached after its Delete returned (in the cache's %s)", got.s, c.Where(key))
	}
	if got, err := c.LoadTiered(key, decodeTiered, fill("new")); err != nil || got.s != "new" {
		t.Fatalf("load after the Delete: %q, %v; want the new value", got.s, err)
	}
}

// waitForStack waits until a goroutine's stack holds every one of frames.
func waitForStack(t *testing.T, frames ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n := runtime.Stack(buf, true)
	next:
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			for _, f := range frames {
				if !strings.Contains(g, f) {
					continue next
				}
			}
			return
		}
	}
	t.Fatalf("no goroutine reached %q", frames)
}

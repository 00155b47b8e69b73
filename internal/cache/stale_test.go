package cache

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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

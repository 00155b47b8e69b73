package cache

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// Recent remembers, approximately and in a fixed amount of memory, which
// keys were marked within a window: it is how last-use recording writes a
// principal's use once per window instead of once per use. A slot holds a
// key's fingerprint and the second it was marked. A key's hash picks two
// buckets of recentWays slots (one cache line each); it is looked for in
// both, and a new key takes an empty slot, or one whose mark is out of the
// window, in whichever of its buckets has more of them (two choices, as in
// a cuckoo filter's placement). A key that finds both buckets full of marks
// still in the window is not remembered (each of its uses is written, as
// when it was new), and it takes no one's slot: taking the slot marked
// longest ago made keys that come back in rotation (every principal of a
// deployment, each calling every few seconds) take each other's slots at
// every use wherever a bucket held more of them than it had slots
// (TestRecentRotation). With one bucket a key, a table as full as it has
// slots leaves 14 % of its keys out; with two, 4 %, and at 0.9 keys a slot
// under 1 % (TestRecentFull). Collisions cost writes, never correctness.
//
// The table starts at the slots it is made with and grows, by Expect, to
// the keys its owner expects (a deployment's principals, counted by the
// store), up to a bound; a larger table starts empty, so growing forgets
// the marks (one window of uses is written again). The slots are mapped
// outside the Go heap, like the second tier's segments: the collector
// neither scans nor counts them.
//
// It is safe for concurrent use and, but for Expect, allocates nothing.
type Recent struct {
	tab    atomic.Pointer[recentTable]
	window int64 // seconds
	max    int   // the slots Expect may grow the table to

	growMu sync.Mutex
}

// recentTable is a Recent's slots: a power of two of them, at least
// recentWays, mapped at a page's start.
type recentTable struct {
	slots []atomic.Uint64
	mask  uint64 // len(slots) - 1
	shift uint   // 32 - log2(len(slots)): the second bucket's index from a product
}

// recentWays is the slots of a bucket: 64 bytes, one cache line (the
// slots are mapped at a page's start).
const recentWays = 8

// MaxRecentSlots bounds the slots Expect grows a Recent to: 32 MiB, room
// for some 4,000,000 keys.
const MaxRecentSlots = 1 << 22

// NewRecent returns a Recent of slots slots (rounded up to a power of two,
// at least recentWays, 8 bytes each) that remembers marks for window
// seconds, and that Expect may grow to MaxRecentSlots.
func NewRecent(slots int, windowSeconds int64) *Recent {
	r := &Recent{window: windowSeconds, max: max(slots, MaxRecentSlots)}
	r.tab.Store(newRecentTable(slots))
	return r
}

func newRecentTable(slots int) *recentTable {
	n := recentWays
	for n < slots {
		n <<= 1
	}
	b := offheap.Bytes(n * 8)
	t := &recentTable{slots: unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), mask: uint64(n - 1),
		shift: uint(32 - bits.TrailingZeros(uint(n)))}
	runtime.AddCleanup(t, offheap.Free, b)
	return t
}

// Slots is the size of r's table.
func (r *Recent) Slots() int {
	if r == nil {
		return 0
	}
	return len(r.tab.Load().slots)
}

// Expect makes r's table large enough for keys keys (a slot each, rounded
// up to a power of two; at most r's bound). A table that grows starts
// empty: each key's next use is written.
func (r *Recent) Expect(keys int) {
	if r == nil {
		return
	}
	want := min(keys, r.max)
	if want <= len(r.tab.Load().slots) {
		return
	}
	r.growMu.Lock()
	defer r.growMu.Unlock()
	if want > len(r.tab.Load().slots) {
		r.tab.Store(newRecentTable(want))
	}
}

// SizeBy makes r's table large enough (Expect) for the keys count
// returns; a count that fails, or none, changes nothing.
func (r *Recent) SizeBy(ctx context.Context, count func(context.Context) (int64, error)) {
	if r == nil || count == nil {
		return
	}
	if n, err := count(ctx); err == nil {
		r.Expect(int(min(n, int64(r.max))))
	}
}

// Seen reports whether the key whose hash is h was marked in the window
// before at (Unix seconds); when it was not, it marks it at at. Two racing
// first uses may both be told false: both are written.
func (r *Recent) Seen(h uint64, at int64) bool {
	if r == nil || r.window <= 0 || at <= 0 {
		return false
	}
	t := r.tab.Load()
	b1, b2 := t.buckets(h)
	fp := h>>32 | 1 // never 0, so an empty slot matches nothing
	mark := fp<<32 | uint64(uint32(at))
	// The slot to mark: the key's own, else one empty or marked out of
	// the window in the bucket with more of them; with none, the key is
	// not remembered.
	var (
		free   [2]int
		victim [2]int
	)
	for j, b := range [2][]atomic.Uint64{b1, b2} {
		victim[j] = -1
		for i := range b {
			v := b[i].Load()
			if v>>32 == fp {
				if d := at - int64(uint32(v)); d >= 0 && d < r.window {
					return true
				}
				b[i].Store(mark)
				runtime.KeepAlive(t) // t's cleanup unmaps b
				return false
			}
			if v == 0 || at-int64(uint32(v)) >= r.window {
				if victim[j] < 0 {
					victim[j] = i
				}
				free[j]++
			}
		}
		if j == 0 && &b1[0] == &b2[0] {
			break
		}
	}
	switch {
	case free[0] > 0 && free[0] >= free[1]:
		b1[victim[0]].Store(mark)
	case free[1] > 0:
		b2[victim[1]].Store(mark)
	}
	// t must outlive the stores (after the loop nothing else uses t, and
	// a caller may hold no other reference to it).
	runtime.KeepAlive(t)
	return false
}

// buckets returns the slots h may be in: one bucket from h's low bits,
// the other from their product with an odd constant's high bits (the
// same bucket for a few keys: they have its slots alone).
func (t *recentTable) buckets(h uint64) (b1, b2 []atomic.Uint64) {
	i := h & t.mask &^ (recentWays - 1)
	j := uint64(uint32(h)*0x9e3779b1>>t.shift) &^ (recentWays - 1)
	return t.slots[i : i+recentWays : i+recentWays], t.slots[j : j+recentWays : j+recentWays]
}

// Forget drops the key whose hash is h, so that its next use is written.
func (r *Recent) Forget(h uint64) {
	if r == nil {
		return
	}
	t := r.tab.Load()
	b1, b2 := t.buckets(h)
	for _, b := range [2][]atomic.Uint64{b1, b2} {
		for i := range b {
			if v := b[i].Load(); v>>32 == h>>32|1 {
				b[i].CompareAndSwap(v, 0)
			}
		}
	}
	runtime.KeepAlive(t) // as in Seen
}

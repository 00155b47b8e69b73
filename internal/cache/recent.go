package cache

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// Recent remembers, approximately and in a bounded amount of memory, which
// keys were marked within a window: it is how last-use recording writes a
// principal's use once per window instead of once per use. A slot holds a
// key's fingerprint and the second it was marked; a key's hash picks a
// bucket of recentWays slots (one cache line). A key takes its own slot, an
// empty one, or one whose mark is out of the window; a key that finds its
// bucket full of marks still in the window is not remembered (each of its
// uses is written, as when it was new), and it takes no one's slot. Taking
// the slot marked longest ago instead, as this did before, made keys that
// come back in rotation (every principal of a deployment, each calling
// every few seconds) take each other's slots at every use wherever a
// bucket held more of them than it had slots: at 100,000 keys and roles
// about one use in twenty was written again (TestRecentRotation), where
// now only the keys past a full bucket's are. Collisions cost writes, never
// correctness. The slots are mapped outside the Go heap, like the second
// tier's segments: the collector neither scans nor counts them.
//
// It is safe for concurrent use and allocates nothing.
type Recent struct {
	tab    atomic.Pointer[recentTable]
	max    int // slots it may grow to
	window int64
	grow   sync.Mutex
}

// recentTable is Recent's slots. Recent grows by making a table twice as
// large, in which every key is new (its next use is written once more);
// the old one is unmapped once no Seen uses it.
type recentTable struct {
	slots []atomic.Uint64
	mask  uint64
	// A sixteenth of the keys (by their hash's top bits) are counted: the
	// uses, and those not remembered for want of a slot.
	sampled, unplaced atomic.Int64
}

// recentWays is the slots of a bucket: 64 bytes, one cache line (the
// slots are mapped at a page's start).
const recentWays = 8

// NewRecent returns a Recent of slots slots (rounded up to a power of two,
// at least recentWays, 8 bytes each) that remembers marks for window
// seconds.
func NewRecent(slots int, windowSeconds int64) *Recent {
	return NewRecentUpTo(slots, slots, windowSeconds)
}

// NewRecentUpTo is NewRecent that grows, doubling up to maxSlots, while
// more than one use in sixteen finds its bucket full (more keys in use in
// the window than it has room for): a deployment of 100,000 principals
// keeps the small table, one of 1,000,000 grows to the large one.
func NewRecentUpTo(slots, maxSlots int, windowSeconds int64) *Recent {
	r := &Recent{max: max(maxSlots, slots), window: windowSeconds}
	r.tab.Store(newRecentTable(slots))
	return r
}

func newRecentTable(slots int) *recentTable {
	n := recentWays
	for n < slots {
		n <<= 1
	}
	b := offheap.Bytes(n * 8)
	t := &recentTable{slots: unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), mask: uint64(n - 1)}
	runtime.AddCleanup(t, offheap.Free, b)
	return t
}

// Seen reports whether the key whose hash is h was marked in the window
// before at (Unix seconds); when it was not, it marks it at at. Two racing
// first uses may both be told false: both are written.
func (r *Recent) Seen(h uint64, at int64) bool {
	if r == nil || r.window <= 0 || at <= 0 {
		return false
	}
	t := r.tab.Load()
	b := t.bucket(h)
	fp := h>>32 | 1 // never 0, so an empty slot matches nothing
	// The slot to mark: the key's own, else one empty or marked out of
	// the window; with none, the key is not remembered.
	victim := -1
	for i := range b {
		v := b[i].Load()
		if v>>32 == fp {
			if d := at - int64(uint32(v)); d >= 0 && d < r.window {
				return true
			}
			victim = i
			break
		}
		if victim < 0 && (v == 0 || at-int64(uint32(v)) >= r.window) {
			victim = i
		}
	}
	if h>>60 == 0 {
		r.count(t, victim < 0)
	}
	if victim >= 0 {
		b[victim].Store(fp<<32 | uint64(uint32(at)))
	}
	// b is memory t's cleanup unmaps: t must outlive the store (after the
	// loop nothing else uses t, and r may have a larger one already).
	runtime.KeepAlive(t)
	return false
}

// count counts a sampled use of t, unplaced when no slot took it, and
// grows r when, over as many sampled uses as a sixteenth of t's slots,
// more than one in sixteen was unplaced.
func (r *Recent) count(t *recentTable, unplaced bool) {
	if unplaced {
		t.unplaced.Add(1)
	}
	if n := t.sampled.Add(1); n < int64(len(t.slots)/16) {
		return
	}
	r.grow.Lock()
	defer r.grow.Unlock()
	if r.tab.Load() != t || t.sampled.Load() < int64(len(t.slots)/16) {
		return // grown, or counted again, meanwhile
	}
	if t.unplaced.Load()*16 > t.sampled.Load() && len(t.slots) < r.max {
		r.tab.Store(newRecentTable(2 * len(t.slots)))
		return
	}
	t.sampled.Store(0)
	t.unplaced.Store(0)
}

// Slots returns the slots of r's table now.
func (r *Recent) Slots() int { return len(r.tab.Load().slots) }

// bucket returns the slots h may be in.
func (t *recentTable) bucket(h uint64) []atomic.Uint64 {
	i := h & t.mask &^ (recentWays - 1)
	return t.slots[i : i+recentWays : i+recentWays]
}

// Forget drops the key whose hash is h, so that its next use is written.
func (r *Recent) Forget(h uint64) {
	if r == nil {
		return
	}
	t := r.tab.Load()
	b := t.bucket(h)
	for i := range b {
		if v := b[i].Load(); v>>32 == h>>32|1 {
			b[i].CompareAndSwap(v, 0)
		}
	}
	runtime.KeepAlive(t) // as in Seen
}

package cache

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// Recent remembers, approximately and in a fixed amount of memory, which
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
	slots  []atomic.Uint64
	mask   uint64
	window int64 // seconds
}

// recentWays is the slots of a bucket: 64 bytes, one cache line (the
// slots are mapped at a page's start).
const recentWays = 8

// NewRecent returns a Recent of slots slots (rounded up to a power of two,
// at least recentWays, 8 bytes each) that remembers marks for window
// seconds.
func NewRecent(slots int, windowSeconds int64) *Recent {
	n := recentWays
	for n < slots {
		n <<= 1
	}
	b := offheap.Bytes(n * 8)
	r := &Recent{slots: unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), mask: uint64(n - 1), window: windowSeconds}
	runtime.AddCleanup(r, offheap.Free, b)
	return r
}

// Seen reports whether the key whose hash is h was marked in the window
// before at (Unix seconds); when it was not, it marks it at at. Two racing
// first uses may both be told false: both are written.
func (r *Recent) Seen(h uint64, at int64) bool {
	if r == nil || r.window <= 0 || at <= 0 {
		return false
	}
	b := r.bucket(h)
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
	if victim < 0 {
		return false
	}
	b[victim].Store(fp<<32 | uint64(uint32(at)))
	// b is memory r's cleanup unmaps: r must outlive the store (after
	// the loop nothing else uses r, and a caller may hold no other
	// reference to it).
	runtime.KeepAlive(r)
	return false
}

// bucket returns the slots h may be in.
func (r *Recent) bucket(h uint64) []atomic.Uint64 {
	i := h & r.mask &^ (recentWays - 1)
	return r.slots[i : i+recentWays : i+recentWays]
}

// Forget drops the key whose hash is h, so that its next use is written.
func (r *Recent) Forget(h uint64) {
	if r == nil {
		return
	}
	b := r.bucket(h)
	for i := range b {
		if v := b[i].Load(); v>>32 == h>>32|1 {
			b[i].CompareAndSwap(v, 0)
		}
	}
	runtime.KeepAlive(r) // as in Seen
}

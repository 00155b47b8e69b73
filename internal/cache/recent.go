package cache

import (
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// Recent remembers, approximately and in a fixed amount of memory, which
// keys were marked within a window: it is how last-use recording writes a
// principal's use once per window instead of once per use. A slot holds a
// key's fingerprint and the second it was marked; a key's hash picks a
// bucket of recentWays slots (one cache line), and a key marked into a full
// bucket takes the slot marked longest ago. A key whose slot another key
// has since taken is simply not remembered (its next use is written again),
// so collisions cost writes, never correctness. With buckets, a table
// holding 0.4 keys a slot forgets about 2 % of them where one slot a key
// forgot 18 % (TestRecentRetention): at 100,000 keys and roles in use that
// was a last-use write for about one use in six. The slots are mapped
// outside the Go heap, like the second tier's segments: the collector
// neither scans nor counts them.
//
// It is safe for concurrent use and allocates nothing.
type Recent struct {
	slots  []atomic.Uint64
	mask   uint64
	window int64 // seconds
}

// recentWays is the slots of a bucket: 32 bytes, within a cache line.
const recentWays = 4

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
	// The slot to mark: the key's own, else an empty one, else the one
	// marked longest ago.
	victim, oldest := -1, int64(math.MaxInt64)
	for i := range b {
		v := b[i].Load()
		if v>>32 == fp {
			if d := at - int64(uint32(v)); d >= 0 && d < r.window {
				return true
			}
			victim = i
			break
		}
		if marked := int64(uint32(v)); marked < oldest {
			victim, oldest = i, marked // an empty slot is marked at 0
		}
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

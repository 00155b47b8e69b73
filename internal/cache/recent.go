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
// key's fingerprint and the second it was marked; a key whose slot another
// key has since taken is simply not remembered (its next use is written
// again), so collisions cost writes, never correctness. The slots are
// mapped outside the Go heap, like the second tier's segments: the
// collector neither scans nor counts them.
//
// It is safe for concurrent use and allocates nothing.
type Recent struct {
	slots  []atomic.Uint64
	mask   uint64
	window int64 // seconds
}

// NewRecent returns a Recent of slots slots (rounded up to a power of two,
// 8 bytes each) that remembers marks for window seconds.
func NewRecent(slots int, windowSeconds int64) *Recent {
	n := 1
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
	s := &r.slots[h&r.mask]
	fp := h>>32 | 1 // never 0, so an empty slot matches nothing
	v := s.Load()
	if v>>32 == fp {
		if d := at - int64(uint32(v)); d >= 0 && d < r.window {
			return true
		}
	}
	s.Store(fp<<32 | uint64(uint32(at)))
	return false
}

// Forget drops the key whose hash is h, so that its next use is written.
func (r *Recent) Forget(h uint64) {
	if r == nil {
		return
	}
	s := &r.slots[h&r.mask]
	if v := s.Load(); v>>32 == h>>32|1 {
		s.CompareAndSwap(v, 0)
	}
}

package offheap

import "unsafe"

// Index maps 64-bit hashes to 64-bit values (the cache's second tier: a
// record's key hash to its place): an open addressing table with linear
// probing in memory from Bytes. At 100,000 entities the Go map it replaced
// was some 5 MiB of heap that, scanned or not, counted toward the soft
// memory limit and so made the collector run more often.
//
// A slot is two words: the hash, and the ref plus one (0: empty). Deletion
// shifts the following entries back (no tombstones), so a lookup stops at
// the first empty slot. Not safe for concurrent use; reads may run
// concurrently with each other. Free it when done (or leave that to a
// cleanup of its owner).
type Index struct {
	mem   []byte
	slots []uint64 // 2 words a slot
	mask  int      // slots - 1
	n     int
}

// minIndexSlots is the smallest table: 8 KiB.
const minIndexSlots = 512

// NewIndex returns an empty Index.
func NewIndex() *Index {
	x := &Index{}
	x.alloc(minIndexSlots)
	return x
}

func (x *Index) alloc(slots int) {
	x.mem = Bytes(slots * 16)
	x.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(x.mem))), slots*2)
	x.mask = slots - 1
}

func (x *Index) home(h uint64) int { return int(h^h>>29) & x.mask }

// Get returns the value under h.
func (x *Index) Get(h uint64) (uint64, bool) {
	for i := x.home(h); ; i = (i + 1) & x.mask {
		v := x.slots[2*i+1]
		if v == 0 {
			return 0, false
		}
		if x.slots[2*i] == h {
			return v - 1, true
		}
	}
}

// Set puts r under h.
func (x *Index) Set(h, r uint64) {
	if (x.n+1)*4 > (x.mask+1)*3 {
		x.grow()
	}
	for i := x.home(h); ; i = (i + 1) & x.mask {
		v := x.slots[2*i+1]
		if v == 0 {
			x.slots[2*i], x.slots[2*i+1] = h, r+1
			x.n++
			return
		}
		if x.slots[2*i] == h {
			x.slots[2*i+1] = r + 1
			return
		}
	}
}

func (x *Index) grow() {
	old, oldMem := x.slots, x.mem
	x.alloc((x.mask + 1) * 2)
	x.n = 0
	for i := 0; i < len(old); i += 2 {
		if old[i+1] != 0 {
			x.Set(old[i], old[i+1]-1)
		}
	}
	Free(oldMem)
}

// Del removes h; false when it was not there.
func (x *Index) Del(h uint64) bool {
	i := x.home(h)
	for ; ; i = (i + 1) & x.mask {
		v := x.slots[2*i+1]
		if v == 0 {
			return false
		}
		if x.slots[2*i] == h {
			break
		}
	}
	// Shift back the entries after i that probing would no longer reach.
	for j := i; ; {
		x.slots[2*i+1] = 0
		for {
			j = (j + 1) & x.mask
			if x.slots[2*j+1] == 0 {
				x.n--
				return true
			}
			k := x.home(x.slots[2*j])
			// Leave the entry at j when its home lies cyclically in (i, j].
			if i <= j && i < k && k <= j || i > j && (i < k || k <= j) {
				continue
			}
			break
		}
		x.slots[2*i], x.slots[2*i+1] = x.slots[2*j], x.slots[2*j+1]
		i = j
	}
}

// Each calls f for every entry; f must not change the index.
func (x *Index) Each(f func(h, r uint64)) {
	for i := 0; i < len(x.slots); i += 2 {
		if v := x.slots[i+1]; v != 0 {
			f(x.slots[i], v-1)
		}
	}
}

// Len is the number of entries.
func (x *Index) Len() int { return x.n }

// Reset empties the index and gives back all but the smallest table.
func (x *Index) Reset() {
	x.Free()
	x.alloc(minIndexSlots)
	x.n = 0
}

// Free gives the table back; the index is unusable after it until Reset.
func (x *Index) Free() {
	if x.mem != nil {
		Free(x.mem)
		x.mem, x.slots = nil, nil
	}
}

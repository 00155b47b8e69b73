package cache

import "unsafe"

// index maps a record's key hash to its ref, for the second tier: an open
// addressing table with linear probing in memory mapped outside the Go
// heap (newSegment), as the records are. At 100,000 entities the Go map it
// replaces was some 5 MiB of heap that, scanned or not, counted toward the
// soft memory limit and so made the collector run more often.
//
// A slot is two words: the hash, and the ref plus one (0: empty). Deletion
// shifts the following entries back (no tombstones), so a lookup stops at
// the first empty slot. Not safe for concurrent use: the tier's lock
// guards it.
type index struct {
	mem   []byte
	slots []uint64 // 2 words a slot
	mask  int      // slots - 1
	n     int
}

// minIndexSlots is the smallest table: 8 KiB.
const minIndexSlots = 512

func newIndex() *index {
	x := &index{}
	x.alloc(minIndexSlots)
	return x
}

func (x *index) alloc(slots int) {
	x.mem = newSegment(slots * 16)
	x.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(x.mem))), slots*2)
	x.mask = slots - 1
}

func (x *index) home(h uint64) int { return int(h^h>>29) & x.mask }

func (x *index) get(h uint64) (uint64, bool) {
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

func (x *index) set(h, r uint64) {
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

func (x *index) grow() {
	old, oldMem := x.slots, x.mem
	x.alloc((x.mask + 1) * 2)
	x.n = 0
	for i := 0; i < len(old); i += 2 {
		if old[i+1] != 0 {
			x.set(old[i], old[i+1]-1)
		}
	}
	freeSegment(oldMem)
}

func (x *index) del(h uint64) bool {
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

// each calls f for every entry; f must not change the index.
func (x *index) each(f func(h, r uint64)) {
	for i := 0; i < len(x.slots); i += 2 {
		if v := x.slots[i+1]; v != 0 {
			f(x.slots[i], v-1)
		}
	}
}

func (x *index) len() int { return x.n }

// reset empties the index and gives back all but the smallest table.
func (x *index) reset() {
	x.free()
	x.alloc(minIndexSlots)
	x.n = 0
}

// free gives the table back; the index is unusable after it until reset.
func (x *index) free() {
	if x.mem != nil {
		freeSegment(x.mem)
		x.mem, x.slots = nil, nil
	}
}

package offheap

import (
	"math/bits"
	"unsafe"
)

// Refs maps 32-bit fingerprints of keys to 32-bit refs (the caches' second
// tier: a key's fingerprint to its record's place) in one word a slot, half
// of Index's: an open addressing table with linear probing in memory from
// Bytes, whose home slot is derived from the fingerprint alone so that it
// can grow without the keys.
//
// Two keys may share a fingerprint, and then share a slot: the second Set
// replaces the first's ref. Refs is for callers that find the key at the
// ref and compare it (a mismatch is a miss, and a key whose ref was
// replaced is simply not found), never for a set whose entries must not be
// lost (the revocation set uses Index, which keeps whole hashes). Across
// 200,000 keys about five pairs share one.
//
// A slot is the fingerprint and the ref plus one (0: empty), so a ref is
// below 1<<32-1. Deletion shifts the following entries back (no
// tombstones). Not safe for concurrent use; reads may run concurrently
// with each other. Free it when done.
type Refs struct {
	mem   []byte
	slots []uint64
	mask  int
	shift uint // 64 - log2(len(slots))
	n     int
}

// NewRefs returns an empty Refs.
func NewRefs() *Refs {
	x := &Refs{}
	x.alloc(minIndexSlots)
	return x
}

func (x *Refs) alloc(slots int) {
	x.mem = Bytes(slots * 8)
	x.slots = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(x.mem))), slots)
	x.mask = slots - 1
	x.shift = uint(64 - bits.TrailingZeros(uint(slots)))
}

// home is fp's first slot: the top bits of a multiplicative hash of it.
func (x *Refs) home(fp uint32) int { return int(uint64(fp) * 0x9e3779b97f4a7c15 >> x.shift) }

// Get returns the ref under fp.
func (x *Refs) Get(fp uint32) (uint32, bool) {
	for i := x.home(fp); ; i = (i + 1) & x.mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if uint32(v>>32) == fp {
			return uint32(v) - 1, true
		}
	}
}

// Set puts ref (below 1<<32-1) under fp.
func (x *Refs) Set(fp, ref uint32) {
	if (x.n+1)*4 > (x.mask+1)*3 {
		x.grow()
	}
	s := uint64(fp)<<32 | uint64(ref+1)
	for i := x.home(fp); ; i = (i + 1) & x.mask {
		v := x.slots[i]
		if v == 0 {
			x.slots[i] = s
			x.n++
			return
		}
		if uint32(v>>32) == fp {
			x.slots[i] = s
			return
		}
	}
}

func (x *Refs) grow() {
	old, oldMem := x.slots, x.mem
	x.alloc((x.mask + 1) * 2)
	x.n = 0
	for _, v := range old {
		if v != 0 {
			x.Set(uint32(v>>32), uint32(v)-1)
		}
	}
	Free(oldMem)
}

// Del removes fp; false when it was not there.
func (x *Refs) Del(fp uint32) bool {
	i := x.home(fp)
	for ; ; i = (i + 1) & x.mask {
		v := x.slots[i]
		if v == 0 {
			return false
		}
		if uint32(v>>32) == fp {
			break
		}
	}
	// Shift back the entries after i that probing would no longer reach.
	for j := i; ; {
		x.slots[i] = 0
		for {
			j = (j + 1) & x.mask
			if x.slots[j] == 0 {
				x.n--
				return true
			}
			k := x.home(uint32(x.slots[j] >> 32))
			// Leave the entry at j when its home lies cyclically in (i, j].
			if i <= j && i < k && k <= j || i > j && (i < k || k <= j) {
				continue
			}
			break
		}
		x.slots[i] = x.slots[j]
		i = j
	}
}

// Each calls f for every entry; f must not change the table.
func (x *Refs) Each(f func(fp, ref uint32)) {
	for _, v := range x.slots {
		if v != 0 {
			f(uint32(v>>32), uint32(v)-1)
		}
	}
}

// Len is the number of entries.
func (x *Refs) Len() int { return x.n }

// Reset empties the table and gives back all but the smallest.
func (x *Refs) Reset() {
	x.Free()
	x.alloc(minIndexSlots)
	x.n = 0
}

// Free gives the table back; it is unusable after it until Reset.
func (x *Refs) Free() {
	if x.mem != nil {
		Free(x.mem)
		x.mem, x.slots = nil, nil
	}
}

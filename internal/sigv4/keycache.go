package sigv4

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"sync"
)

// signingKeys caches derived signing keys by id (a SHA-256 over the
// length-prefixed secret and scope; the secret itself is never a key). It
// is set-associative: an id has one set of keyWays slots, and a set that
// is full replaces the entry in the way the new id's bits choose. A
// working set larger than the cache then keeps hitting most of what it
// holds: in a rotation over more ids than a set holds, only the ids that
// choose the same way replace each other (one replacing the oldest would
// replace each id before its next use, as LRU does). The map it replaced
// dropped every key at its bound, and so hit nothing in a rotation over
// slightly more keys than that. The slots are allocated once and hold no pointers, so
// the collector neither scans nor reallocates them.
type signingKeys struct {
	mu    sync.RWMutex
	slots []keySlot // len(sets) * keyWays
	mask  uint64    // sets - 1
}

// keyWays is the associativity: an id can be in any of a set's 4 slots.
const keyWays = 4

type keySlot struct {
	id   [sha256.Size]byte
	key  [sha256.Size]byte
	used bool
}

// newSigningKeys returns a cache of at least max keys (rounded up to a
// power of two sets; at least one set).
func newSigningKeys(max int) *signingKeys {
	sets := 1
	if n := (max + keyWays - 1) / keyWays; n > 1 {
		sets = 1 << bits.Len(uint(n-1))
	}
	return &signingKeys{slots: make([]keySlot, sets*keyWays), mask: uint64(sets - 1)}
}

func (c *signingKeys) set(id *[sha256.Size]byte) int {
	return int(binary.LittleEndian.Uint64(id[:8]) & c.mask)
}

func (c *signingKeys) get(id *[sha256.Size]byte) ([sha256.Size]byte, bool) {
	s := c.set(id)
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := range c.slots[s*keyWays : (s+1)*keyWays] {
		if e := &c.slots[s*keyWays+i]; e.used && e.id == *id {
			return e.key, true
		}
	}
	return [sha256.Size]byte{}, false
}

func (c *signingKeys) put(id, key *[sha256.Size]byte) {
	s := c.set(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.slots[s*keyWays : (s+1)*keyWays]
	w := int(id[8]) % keyWays // full: the way the id chooses
	for i := range set {
		if set[i].used && set[i].id == *id {
			return // put by a concurrent miss
		}
		if !set[i].used {
			w = i
			break
		}
	}
	set[w] = keySlot{id: *id, key: *key, used: true}
}

package audit

import (
	"sync"
	"sync/atomic"
)

// attrDictionary numbers the attribute values the index packs by number
// (accounts, event names and sources, resource types): values that repeat
// across events and come from a small set. It is the process's, shared by
// every index (a trail's, and the one built from its files at start, whose
// segments join it), append-only and bounded: once full, or for a longer
// value, values are packed as bytes, so a flood of distinct values costs
// the index bytes, never the dictionary memory.
var attrDictionary dictionary

// maxDict bounds the dictionary's values, and maxDictString each value's
// length.
const (
	maxDict       = 4096
	maxDictString = 128
)

type dictionary struct {
	// ids is read without a lock on every event (a lookup in a map that
	// is never written once published: no box for the key, which a
	// sync.Map's would be, and which made the request's resources escape
	// to the heap); a new value publishes a copy with it. At most maxDict
	// copies are ever made.
	ids atomic.Pointer[map[string]uint32]
	mu  sync.Mutex
	// strs[id] is written, under mu, before the map holding id is
	// published: a reader holds an id only through a packed attribute
	// made after that.
	strs [maxDict]string
}

// id returns s's number, giving it one when there is room.
func (d *dictionary) id(s string) (uint32, bool) {
	if len(s) > maxDictString {
		return 0, false
	}
	if m := d.ids.Load(); m != nil {
		if id, ok := (*m)[s]; ok {
			return id, true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var old map[string]uint32
	if m := d.ids.Load(); m != nil {
		old = *m
	}
	if id, ok := old[s]; ok {
		return id, true
	}
	if len(old) == maxDict {
		return 0, false
	}
	m := make(map[string]uint32, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	id := uint32(len(old))
	own := string([]byte(s)) // a copy: s may be a request's (and must not escape)
	d.strs[id] = own
	m[own] = id
	d.ids.Store(&m)
	return id, true
}

// str returns the value numbered id ("" for a number it never gave).
func (d *dictionary) str(id uint64) string {
	if id >= maxDict {
		return ""
	}
	return d.strs[id]
}

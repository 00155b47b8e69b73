package audit

import "sync"

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
	ids sync.Map // string -> uint32; lock-free for values already in it
	mu  sync.Mutex
	n   int
	// strs[id] is written, under mu, before id is published in ids: a
	// reader holds an id only through a packed attribute made after that.
	strs [maxDict]string
}

// id returns s's number, giving it one when there is room.
func (d *dictionary) id(s string) (uint32, bool) {
	if len(s) > maxDictString {
		return 0, false
	}
	if v, ok := d.ids.Load(s); ok {
		return v.(uint32), true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.ids.Load(s); ok {
		return v.(uint32), true
	}
	if d.n == maxDict {
		return 0, false
	}
	id := uint32(d.n)
	s = string([]byte(s)) // its own copy: s may be a request's
	d.strs[id] = s
	d.n++
	d.ids.Store(s, id)
	return id, true
}

// str returns the value numbered id ("" for a number it never gave).
func (d *dictionary) str(id uint64) string {
	if id >= maxDict {
		return ""
	}
	return d.strs[id]
}

package audit

import (
	"encoding/binary"
	"strings"
	"unsafe"
)

// The index keeps, for each recent event, a fixed-size slot without
// pointers (where its line is, its seq, time and readOnly) and its other
// lookup attributes packed as bytes in its segment's blob. Neither holds a
// pointer, so nothing of a request (its body, its parsed input) stays
// reachable from it. Each segment is one block of memory outside the Go
// heap (mapMem), so the collector never scans it and its goal does not
// grow with it: the index costs at most IndexBytes of resident memory.
// Whole segments are dropped, oldest first, to keep it within its bounds:
// a number of events (IndexMax) and a number of bytes (IndexBytes).

// slot is one event in the index.
type slot struct {
	seq      uint64
	time     int64
	off      int64
	file     int32
	n        uint32
	attrs    uint32 // offset of its attributes in the segment's blob
	alen     uint32
	readOnly bool
}

const slotSize = int64(unsafe.Sizeof(slot{}))

// maxAttrString bounds each packed attribute (a longer value is cut, and
// a lookup by its whole value does not find it), so that an event's
// attributes always fit a segment.
const maxAttrString = 2048

// segment is one block of memory: slots, then the blob.
type segment struct {
	mem   []byte
	slots []slot // in mem
	blob  []byte // in mem, after the slots
	start int    // slots before it were removed by retention
}

func (s *segment) bytes() int64 { return int64(len(s.mem)) }

func newSegment(slots int) *segment {
	blob := max(slots*256, 64<<10)
	n := (int(slotSize)*slots + blob + 4095) &^ 4095
	mem := mapMem(n)
	return &segment{mem: mem, slots: unsafe.Slice((*slot)(unsafe.Pointer(&mem[0])), slots)[:0],
		blob: mem[int(slotSize)*slots : int(slotSize)*slots : n]}
}

func (s *segment) free() {
	m := s.mem
	s.mem, s.slots, s.blob = nil, nil, nil
	unmapMem(m)
}

type index struct {
	segs     []*segment
	count    int
	bytes    int64
	maxCount int
	maxBytes int64
	segCap   int
	// spare is the last segment dropped, kept (and counted in bytes) to
	// be filled again: its pages are already resident, so the writer does
	// not fault a new mapping in every few thousand events.
	spare *segment
}

func newIndex(maxCount int, maxBytes int64) *index {
	return &index{maxCount: maxCount, maxBytes: maxBytes, segCap: min(max(min(maxCount/16, int(maxBytes/16/(slotSize+256))), 64), 4096)}
}

// appendAttrs packs e's lookup attributes.
func appendAttrs(b []byte, e *entry) []byte {
	for _, s := range [...]string{e.account, e.id, e.name, e.source, e.user, e.accessKey} {
		b = appendStr(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(e.resources)))
	for _, r := range e.resources {
		b = appendStr(b, r.Type)
		b = appendStr(b, r.ARN)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	s = s[:min(len(s), maxAttrString)]
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// attrReader reads packed attributes; its strings share the blob's bytes,
// which are never written again once appended.
type attrReader []byte

func (r *attrReader) str() string {
	n, k := binary.Uvarint(*r)
	if k <= 0 || uint64(len(*r)-k) < n {
		*r = nil
		return ""
	}
	b := (*r)[k : k+int(n)]
	*r = (*r)[k+int(n):]
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (r *attrReader) uvarint() int {
	n, k := binary.Uvarint(*r)
	if k <= 0 || n > uint64(len(*r)) {
		*r = nil
		return 0
	}
	*r = (*r)[k:]
	return int(n)
}

// add indexes one event, then drops the oldest segments while a bound is
// exceeded (the newest segment always stays).
func (x *index) add(s slot, attrs []byte) {
	var seg *segment
	if n := len(x.segs); n > 0 && len(x.segs[n-1].slots) < cap(x.segs[n-1].slots) && len(attrs) <= cap(x.segs[n-1].blob)-len(x.segs[n-1].blob) {
		seg = x.segs[n-1]
	} else {
		if seg, x.spare = x.spare, nil; seg == nil {
			seg = newSegment(x.segCap)
			x.bytes += seg.bytes()
		}
		x.segs = append(x.segs, seg)
	}
	if len(attrs) > cap(seg.blob)-len(seg.blob) {
		return // cannot happen: maxAttrString bounds attrs well below a segment
	}
	s.attrs, s.alen = uint32(len(seg.blob)), uint32(len(attrs))
	seg.blob = append(seg.blob, attrs...) // within mem: never reallocates
	seg.slots = append(seg.slots, s)
	x.count++
	x.trim()
}

// trim drops the oldest segments while a bound is exceeded (the newest
// segment always stays).
func (x *index) trim() {
	for len(x.segs) > 1 && (x.count > x.maxCount || x.bytes > x.maxBytes) {
		old := x.segs[0]
		x.count -= len(old.slots) - old.start
		if x.spare == nil {
			old.slots, old.blob, old.start = old.slots[:0], old.blob[:0], 0
			x.spare = old
		} else {
			x.bytes -= old.bytes()
			old.free()
		}
		x.segs[0] = nil
		x.segs = x.segs[1:]
	}
}

// dropFiles removes the events of files before keep.
func (x *index) dropFiles(keep int) {
	for len(x.segs) > 0 {
		seg := x.segs[0]
		for seg.start < len(seg.slots) && int(seg.slots[seg.start].file) < keep {
			seg.start++
			x.count--
		}
		if seg.start < len(seg.slots) || len(x.segs) == 1 && len(seg.slots) < cap(seg.slots) {
			return // events left, or the segment events are added to
		}
		x.bytes -= seg.bytes()
		seg.free()
		x.segs[0] = nil
		x.segs = x.segs[1:]
	}
}

// prepend puts old's events (all older than x's) before x's, then trims
// x to its bounds. old is empty after.
func (x *index) prepend(old *index) {
	if old.spare != nil {
		old.spare.free()
		old.spare = nil
	}
	x.segs = append(old.segs, x.segs...)
	x.count += old.count
	x.bytes += old.bytes
	old.segs, old.count, old.bytes = nil, 0, 0
	x.trim()
}

// dropAll empties the index and returns its memory.
func (x *index) dropAll() {
	for _, seg := range x.segs {
		seg.free()
	}
	if x.spare != nil {
		x.spare.free()
	}
	x.segs, x.spare, x.count, x.bytes = nil, nil, 0, 0
}

// each calls f with every event, newest first, until f returns false.
func (x *index) each(f func(s *slot, attrs []byte) bool) {
	for i := len(x.segs) - 1; i >= 0; i-- {
		seg := x.segs[i]
		for j := len(seg.slots) - 1; j >= seg.start; j-- {
			s := &seg.slots[j]
			if !f(s, seg.blob[s.attrs:s.attrs+s.alen]) {
				return
			}
		}
	}
}

// decode returns the entry of a slot, its strings copied out of the
// segment (which is unmapped when dropped).
func decode(s *slot, attrs []byte) entry {
	r := attrReader(attrs)
	c := strings.Clone
	e := entry{seq: s.seq, time: s.time, file: int(s.file), off: s.off, n: s.n, readOnly: s.readOnly}
	e.account, e.id, e.name, e.source, e.user, e.accessKey = c(r.str()), c(r.str()), c(r.str()), c(r.str()), c(r.str()), c(r.str())
	if n := r.uvarint(); n > 0 {
		e.resources = make([]Resource, 0, min(n, 64))
		for range n {
			typ := c(r.str())
			e.resources = append(e.resources, Resource{Type: typ, ARN: c(r.str())})
		}
	}
	return e
}

// matchSlot is Filter.match on a slot, without allocating.
func (f *Filter) matchSlot(s *slot, attrs []byte) bool {
	if !f.Start.IsZero() && s.time < f.Start.Unix() || !f.End.IsZero() && s.time > f.End.Unix() {
		return false
	}
	r := attrReader(attrs)
	account, id, name, source, user, accessKey := r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
	if f.Account != "" && account != f.Account {
		return false
	}
	switch f.Attribute {
	case "":
		return true
	case "EventId":
		return id == f.Value
	case "EventName":
		return name == f.Value
	case "ReadOnly":
		return (f.Value == "true" && s.readOnly) || (f.Value == "false" && !s.readOnly)
	case "Username":
		return user == f.Value
	case "EventSource":
		return source == f.Value
	case "AccessKeyId":
		return accessKey == f.Value
	case "ResourceType", "ResourceName":
		for range r.uvarint() {
			typ, a := r.str(), r.str()
			if f.Attribute == "ResourceType" && typ == f.Value || f.Attribute == "ResourceName" && a == f.Value {
				return true
			}
		}
	}
	return false
}

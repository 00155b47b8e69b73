package audit

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The index keeps, for each recent event, a fixed-size slot without
// pointers (where its line is, its seq, time and readOnly) and its other
// lookup attributes packed as bytes in its segment's blob. Neither holds a
// pointer, so nothing of a request (its body, its parsed input) stays
// reachable from it. Each segment is one block of memory outside the Go
// heap (mapMem), so the collector never scans it and its goal does not
// grow with it. Where the system allows (unix), the segments but the
// newest are moved to a scratch file (spillFile): the index then costs one
// segment (some 830 KiB) of the process's resident memory, and the rest,
// at most IndexBytes, is file data the kernel caches while it has memory
// to spare and lookups read back. Whole segments are dropped, oldest
// first, to keep it within its bounds: a number of events (IndexMax) and a
// number of bytes (IndexBytes).

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

// segment is one block of memory: slots, then the blob. Once full and no
// longer the newest, it is written to the index's spill file and its
// memory given to the next segment (spilled): what it held is read back,
// through the page cache, only by a lookup (view).
type segment struct {
	mem   []byte
	slots []slot // in mem
	blob  []byte // in mem, after the slots
	start int    // slots before it were removed by retention

	// Where a spilled segment is: size bytes at off in the spill file,
	// its n slots at the start, its blob of nblob bytes at blobAt.
	spilled       bool
	off           int64
	size, n       int
	blobAt, nblob int
	lastFile      int32 // the file of its last slot
}

func (s *segment) bytes() int64 {
	if s.spilled {
		return int64(s.size)
	}
	return int64(len(s.mem))
}

// len is the number of slots s holds, those removed by retention included.
func (s *segment) len() int {
	if s.spilled {
		return s.n
	}
	return len(s.slots)
}

// blobPerSlot is the blob a segment has for each of its slots: an event's
// attributes are some 115-130 bytes (an AssumeRole's 115), so a segment of
// ordinary events fills its slots first; one of longer attributes fills
// its blob first, with fewer events.
const blobPerSlot = 160

func newSegment(slots int) *segment {
	blob := max(slots*blobPerSlot, 64<<10)
	n := (int(slotSize)*slots + blob + 4095) &^ 4095
	return segmentIn(mapMem(n), slots)
}

// segmentIn is an empty segment of the given slots in mem.
func segmentIn(mem []byte, slots int) *segment {
	at := int(slotSize) * slots
	return &segment{mem: mem, slots: unsafe.Slice((*slot)(unsafe.Pointer(&mem[0])), slots)[:0], blob: mem[at:at:len(mem)]}
}

// free returns s's memory, or its place in sp when it is spilled.
func (s *segment) free(sp *spillFile) {
	if s.spilled {
		sp.release(s.off, s.size)
		s.spilled = false
		return
	}
	m := s.mem
	s.mem, s.slots, s.blob = nil, nil, nil
	unmapMem(m)
}

// view returns s's slots and blob, and a function to call when done with
// them (a spilled segment is mapped from the spill file for the while).
func (s *segment) view(sp *spillFile) (slots []slot, blob []byte, done func(), err error) {
	if !s.spilled {
		return s.slots, s.blob, func() {}, nil
	}
	mem, done, err := sp.view(s.off, s.size)
	if err != nil {
		return nil, nil, nil, err
	}
	return unsafe.Slice((*slot)(unsafe.Pointer(&mem[0])), s.n), mem[s.blobAt : s.blobAt+s.nblob], done, nil
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
	// sp, when set, holds the segments before the newest (spilled): the
	// index then keeps two segments resident, the newest and the spare,
	// and the rest on disk, read back through the page cache by lookups.
	// Without it (or when a write to it fails) they stay in memory.
	sp *spillFile
}

func newIndex(maxCount int, maxBytes int64) *index {
	return &index{maxCount: maxCount, maxBytes: maxBytes, segCap: min(max(min(maxCount/16, int(maxBytes/16/(slotSize+blobPerSlot))), 64), 4096)}
}

// appendAttrs packs e's lookup attributes. Each is a uvarint tag and what
// it says follows: attrRaw, the value's bytes (tag>>2 of them); attrDict, no
// bytes, the value is the dictionary's string tag>>2; attrUUID, the event
// id's 16 bytes (a canonical lowercase UUID, as NewUUID makes). Values that
// repeat across events (accounts, event names and sources, resource
// types) take two bytes: an AssumeRole's attributes are some 120 bytes,
// where they were some 210 as text, so the index holds 1.5 times the
// events in the same memory.
func appendAttrs(b []byte, e *entry) []byte {
	b = appendDict(b, e.account)
	b = appendUUID(b, e.id)
	b = appendDict(b, e.name)
	b = appendDict(b, e.source)
	b = appendStr(b, e.user)
	b = appendStr(b, e.accessKey)
	b = binary.AppendUvarint(b, uint64(len(e.resources)))
	for _, r := range e.resources {
		b = appendDict(b, r.Type)
		b = appendStr(b, r.ARN)
	}
	return b
}

// validUTF8 is s with each byte that is not UTF-8 replaced by U+FFFD, as
// a JSON writer writes it (strings.ToValidUTF8 replaces a run of them with
// one). Every packed value goes through it: the record's line is written
// so (pipeline.AppendJSONString), and what reads it back (ParseAttrs, a
// restart's index, the database sink's columns) has that, so the packed
// attributes must too. Without it a request whose action held such a
// byte (no credentials needed) was stored in PostgreSQL as sent, which
// refused it, and the database sink retried that batch for ever.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// cutRunes is s cut to at most n bytes, at the start of a character.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// The kinds of a packed attribute, in its tag's low two bits.
const (
	attrRaw  = 0
	attrDict = 1
	attrUUID = 2
)

func appendStr(b []byte, s string) []byte {
	s = cutRunes(validUTF8(s), maxAttrString)
	b = binary.AppendUvarint(b, uint64(len(s))<<2|attrRaw)
	return append(b, s...)
}

// appendDict appends s by its number in the dictionary, or as bytes when
// the dictionary is full or s too long for it.
func appendDict(b []byte, s string) []byte {
	s = validUTF8(s)
	if id, ok := attrDictionary.id(s); ok {
		return binary.AppendUvarint(b, uint64(id)<<2|attrDict)
	}
	return appendStr(b, s)
}

// appendUUID appends s as 16 bytes when it is a canonical lowercase UUID
// (what formatUUID gives back, byte for byte), else as bytes.
func appendUUID(b []byte, s string) []byte {
	var u [16]byte
	if !parseUUID(&u, s) {
		return appendStr(b, s)
	}
	b = append(b, attrUUID)
	return append(b, u[:]...)
}

// parseUUID parses a canonical lowercase UUID (8-4-4-4-12 hex digits).
func parseUUID(u *[16]byte, s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	bad := byte(0)
	for j, i := range uuidDigits {
		hi, lo := unhex[s[i]], unhex[s[i+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo&15
	}
	return bad&0x80 == 0
}

// uuidDigits is where each byte's two hex digits start in a UUID.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// unhex is each byte's value as a lowercase hex digit, 0x80 for others.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x80
	}
	for i, c := range hexDigit {
		t[c] = byte(i)
	}
	return t
}()

// formatUUID writes u in canonical form into dst.
func formatUUID(dst *[36]byte, u []byte) {
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigit[c>>4], hexDigit[c&15]
		j += 2
	}
}

const hexDigit = "0123456789abcdef"

// attrReader reads packed attributes; its strings share the blob's bytes
// (never written again once appended) or the dictionary's.
type attrReader []byte

// str reads a value packed as bytes or by the dictionary.
func (r *attrReader) str() string {
	tag, ok := r.tag()
	switch {
	case !ok:
	case tag&3 == attrDict:
		return attrDictionary.str(tag >> 2)
	case tag&3 == attrRaw:
		n := tag >> 2
		if uint64(len(*r)) < n {
			break
		}
		b := (*r)[:n]
		*r = (*r)[n:]
		if len(b) == 0 {
			return ""
		}
		return unsafe.String(&b[0], len(b))
	}
	*r = nil
	return ""
}

func (r *attrReader) tag() (uint64, bool) {
	tag, k := binary.Uvarint(*r)
	if k <= 0 {
		return 0, false
	}
	*r = (*r)[k:]
	return tag, true
}

// uuid reads the event id's 16 bytes, when it was packed so.
func (r *attrReader) uuid() ([]byte, bool) {
	if len(*r) < 17 || (*r)[0] != attrUUID {
		return nil, false
	}
	u := (*r)[1:17]
	*r = (*r)[17:]
	return u, true
}

// id reads the event id (a new string).
func (r *attrReader) id() string {
	if u, ok := r.uuid(); ok {
		var s [36]byte
		formatUUID(&s, u)
		return string(s[:])
	}
	return strings.Clone(r.str())
}

// idIs reads the event id and reports whether it is v.
func (r *attrReader) idIs(v string) bool {
	if u, ok := r.uuid(); ok {
		var w [16]byte
		return parseUUID(&w, v) && string(w[:]) == string(u)
	}
	return r.str() == v
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
		if n > 0 {
			seg = x.spill(x.segs[n-1])
		}
		if seg == nil {
			if seg, x.spare = x.spare, nil; seg == nil {
				seg = newSegment(x.segCap)
				x.bytes += seg.bytes()
			}
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

// spill writes seg (full, and about to be followed by a new newest
// segment) to the spill file and returns an empty segment in its memory;
// nil, with seg left as it was, when there is no spill file or the write
// failed.
func (x *index) spill(seg *segment) *segment {
	if x.sp == nil || seg.spilled || len(seg.slots) == 0 {
		return nil
	}
	off, ok := x.sp.put(seg.mem)
	if !ok {
		return nil
	}
	fresh := segmentIn(seg.mem, cap(seg.slots))
	seg.spilled, seg.off, seg.size, seg.n = true, off, len(seg.mem), len(seg.slots)
	seg.blobAt, seg.nblob = int(slotSize)*cap(seg.slots), len(seg.blob)
	seg.lastFile = seg.slots[len(seg.slots)-1].file
	seg.mem, seg.slots, seg.blob = nil, nil, nil
	x.bytes += fresh.bytes() // seg still counts, now as file
	return fresh
}

// trim drops the oldest segments while a bound is exceeded (the newest
// segment always stays).
func (x *index) trim() {
	for len(x.segs) > 1 && (x.count > x.maxCount || x.bytes > x.maxBytes) {
		old := x.segs[0]
		x.count -= old.len() - old.start
		if x.spare == nil && !old.spilled {
			old.slots, old.blob, old.start = old.slots[:0], old.blob[:0], 0
			x.spare = old
		} else {
			x.bytes -= old.bytes()
			old.free(x.sp)
		}
		x.segs[0] = nil
		x.segs = x.segs[1:]
	}
}

// dropFiles removes the events of files before keep.
func (x *index) dropFiles(keep int) {
	for len(x.segs) > 0 {
		seg := x.segs[0]
		if seg.spilled && int(seg.lastFile) >= keep {
			// Some of its events stay: read where they start.
			slots, _, done, err := seg.view(x.sp)
			if err != nil {
				return // its events stay found until trimmed
			}
			for seg.start < len(slots) && int(slots[seg.start].file) < keep {
				seg.start++
				x.count--
			}
			done()
			return
		}
		if seg.spilled {
			x.count -= seg.n - seg.start
			seg.start = seg.n
		}
		for seg.start < len(seg.slots) && int(seg.slots[seg.start].file) < keep {
			seg.start++
			x.count--
		}
		if !seg.spilled && (seg.start < len(seg.slots) || len(x.segs) == 1 && len(seg.slots) < cap(seg.slots)) {
			return // events left, or the segment events are added to
		}
		x.bytes -= seg.bytes()
		seg.free(x.sp)
		x.segs[0] = nil
		x.segs = x.segs[1:]
	}
}

// prepend puts old's events (all older than x's) before x's, then trims
// x to its bounds. old is empty after. Both spill to the same file.
func (x *index) prepend(old *index) {
	if old.spare != nil {
		old.spare.free(old.sp)
		old.spare = nil
	}
	if n := len(old.segs); n > 0 {
		// Its newest, not x's, is the one partly filled: it goes to the
		// file too, so that only x's newest stays resident.
		if fresh := old.spill(old.segs[n-1]); fresh != nil {
			fresh.free(nil)
			old.bytes -= fresh.bytes()
		}
	}
	x.segs = append(old.segs, x.segs...)
	x.count += old.count
	x.bytes += old.bytes
	old.segs, old.count, old.bytes = nil, 0, 0
	x.trim()
}

// dropAll empties the index and returns its memory and its place in the
// spill file.
func (x *index) dropAll() {
	for _, seg := range x.segs {
		seg.free(x.sp)
	}
	if x.spare != nil {
		x.spare.free(nil)
	}
	x.segs, x.spare, x.count, x.bytes = nil, nil, 0, 0
}

// each calls f with every event, newest first, until f returns false. It
// fails only when a spilled segment cannot be read back; the events of
// the segments before it were given to f.
func (x *index) each(f func(s *slot, attrs []byte) bool) error {
	for i := len(x.segs) - 1; i >= 0; i-- {
		seg := x.segs[i]
		slots, blob, done, err := seg.view(x.sp)
		if err != nil {
			return err
		}
		for j := len(slots) - 1; j >= seg.start; j-- {
			s := &slots[j]
			if !f(s, blob[s.attrs:s.attrs+s.alen]) {
				done()
				return nil
			}
		}
		done()
	}
	return nil
}

// decode returns the entry of a slot, its strings copied out of the
// segment (which is unmapped when dropped).
func decode(s *slot, attrs []byte) entry {
	r := attrReader(attrs)
	c := strings.Clone
	e := entry{seq: s.seq, time: s.time, file: int(s.file), off: s.off, n: s.n, readOnly: s.readOnly}
	e.account = c(r.str())
	e.id = r.id()
	e.name, e.source, e.user, e.accessKey = c(r.str()), c(r.str()), c(r.str()), c(r.str())
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
	if account := r.str(); f.Account != "" && account != f.Account {
		return false
	}
	if f.Attribute == "EventId" {
		return r.idIs(f.Value)
	}
	if _, ok := r.uuid(); !ok {
		r.str() // an event id not packed as a UUID
	}
	name, source, user, accessKey := r.str(), r.str(), r.str(), r.str()
	switch f.Attribute {
	case "":
		return true
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

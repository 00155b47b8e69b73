package cache

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opensts/opensts/internal/offheap"
)

// compact is a cache's second tier: values encoded as bytes, by key, in
// memory the garbage collector does not scan. Records are appended to one
// of compactSegments fixed-size byte segments in turn; an index (a key's
// fingerprint to segment and offset, offheap.Refs: 8 bytes a slot) finds
// them. When the segment being filled is full, the oldest is emptied and reused (FIFO eviction in
// sixteenths), and a record read while it sits in one of the two oldest
// segments is copied forward, so what is in use survives a lap.
//
// A large working set of small records costs the collector nothing to
// mark, where the decoded entries of the first tier, each a few dozen
// pointers, are what made it spend more CPU than the hits saved; and the
// segments are mapped outside the Go heap (segment_unix.go), so they do not
// count toward the soft memory limit either, which with them inside made
// the collector run without pause at 100,000 entities.
type compact struct {
	seed    maphash.Seed
	segSize int

	mu    sync.RWMutex
	idx   *offheap.Refs // key fingerprint -> ref(segment, offset)
	segs  *segments
	ends  [compactSegments]int // bytes used in each segment
	cur   int                  // the segment appended to
	bytes int                  // bytes of the records the index holds

	// In a file (file != nil, compact_file.go), segment s is at s*segSize
	// in it, and only the records appended to the current segment since
	// flushed are in memory, in buf: the tier then costs the process buf,
	// not its bound, and holds what the page cache holds of the file.
	file    *os.File
	buf     []byte
	flushed int                   // the current segment's bytes in the file
	damaged [compactSegments]bool // a flush to them failed: not parsed again

	// mapped, when not nil, maps the file (compact_file.go): reads of the
	// first extent bytes (what writes to the file have put there) copy
	// from it, until the records grow past mapMax and the tier leaves it.
	// mappedBytes is what its pages may hold, for MappedBytes (read
	// without the lock).
	mapped      *mapping
	mapMax      int64
	extent      int64
	sinceDrop   int64 // bytes written since the mapping's pages were last dropped
	mappedBytes atomic.Int64

	// live counts the index's entries in each segment: a scan of a segment
	// that did not meet them all (bytes in the file it could not parse
	// right) is followed by a walk of the index, so that no entry outlives
	// its segment's emptying or its prefix's deletion.
	live [compactSegments]int
}

// compactSegments is how many segments a tier has: eviction empties one.
const compactSegments = 16

// segments are a tier's segments, in an object of their own so that the
// tier's cleanup can unmap them once the tier is gone.
type segments [compactSegments][]byte

func (ss *segments) free() {
	for i, s := range ss {
		if s != nil {
			offheap.Free(s)
			ss[i] = nil
		}
	}
}

// recordHeader is a record's header: the key's length (2 bytes) and the
// value's (4 bytes).
const recordHeader = 6

// maxSegment bounds a segment, so that a ref (4 bits of segment, 28 of
// offset) fits the index's 32 bits.
const maxSegment = 1<<28 - 1

func newCompact(maxBytes int) *compact {
	t := &compact{seed: maphash.MakeSeed(), segSize: min(maxBytes/compactSegments, maxSegment), idx: offheap.NewRefs(), segs: &segments{}}
	runtime.AddCleanup(t, (*segments).free, t.segs)
	runtime.AddCleanup(t, (*offheap.Refs).Free, t.idx)
	return t
}

func ref(seg, off int) uint32       { return uint32(seg)<<28 | uint32(off) }
func unref(r uint32) (seg, off int) { return int(r >> 28), int(r & (1<<28 - 1)) }

// hash is key's fingerprint in the index. Two keys may share one (the
// index then holds the later): every read compares the record's key, so
// that costs a miss, never another key's value.
func (t *compact) hash(k []byte) uint32 { return fingerprint(maphash.Bytes(t.seed, k)) }

// hashString is hash for a key held as a string (the same fingerprint).
func (t *compact) hashString(k string) uint32 { return fingerprint(maphash.String(t.seed, k)) }

func fingerprint(h uint64) uint32 { return uint32(h >> 32) }

// record returns the key and value of the record at r; the caller holds a
// lock. They are in the tier's memory (which the caller may write to, and
// which holds them only while the lock is held) when inMem; else they were
// read from the file into scratch (or into memory of their own, when
// larger), and ok is false when that read failed.
func (t *compact) record(r uint32, scratch []byte) (key, value []byte, inMem, ok bool) {
	seg, off := unref(r)
	b, inMem := t.inMemory(seg, off)
	if !inMem {
		if b, ok = t.readAt(seg, off, scratch); !ok {
			return nil, nil, false, false
		}
	}
	key, value, ok = parseRecord(b)
	return key, value, inMem && ok, ok
}

// inMemory returns the bytes of segment seg from off to its end when they
// are in memory (none when off is not within the segment's used bytes).
func (t *compact) inMemory(seg, off int) ([]byte, bool) {
	switch {
	case t.file == nil:
		if off >= t.ends[seg] {
			return nil, true
		}
		return t.segs[seg][off:t.ends[seg]], true
	case seg == t.cur && off >= t.flushed:
		if off >= t.ends[seg] {
			return nil, true
		}
		return t.buf[off-t.flushed : t.ends[seg]-t.flushed], true
	}
	return nil, false
}

// parseRecord splits the record b starts with into its key and value;
// false when b does not hold it whole.
func parseRecord(b []byte) (key, value []byte, ok bool) {
	if len(b) < recordHeader {
		return nil, nil, false
	}
	kl, vl := int(binary.LittleEndian.Uint16(b)), int(binary.LittleEndian.Uint32(b[2:]))
	if vl > len(b) || recordHeader+kl+vl > len(b) {
		return nil, nil, false
	}
	return b[recordHeader : recordHeader+kl], b[recordHeader+kl : recordHeader+kl+vl], true
}

// get appends the value stored under key to dst, copying its record
// forward when it sits in one of the two oldest segments.
func (t *compact) get(dst, key []byte) ([]byte, bool) {
	dst, h, r, old, ok := t.read(dst, key)
	if old {
		t.refresh(h, r)
	}
	return dst, ok
}

// peek is get without copying the record forward.
func (t *compact) peek(dst, key []byte) ([]byte, bool) {
	dst, _, _, _, ok := t.read(dst, key)
	return dst, ok
}

// read appends the value stored under key to dst, and returns its key's
// hash, its record's place, and whether that is in one of the two oldest
// segments.
func (t *compact) read(dst, key []byte) (_ []byte, h, r uint32, old, ok bool) {
	h = t.hash(key)
	t.mu.RLock()
	defer t.mu.RUnlock()
	if r, ok = t.idx.Get(h); !ok {
		return dst, h, r, false, false
	}
	var scratch [512]byte
	k, v, _, ok := t.record(r, scratch[:])
	if !ok || !bytes.Equal(k, key) {
		return dst, h, r, false, false
	}
	seg, _ := unref(r)
	old = t.oldLocked(seg)
	return append(dst, v...), h, r, old, true
}

// refresh copies the record at r forward, unless it was dropped or
// replaced meanwhile.
func (t *compact) refresh(h, r uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.idx.Get(h); !ok || cur != r {
		return
	}
	var scratch, buf [512]byte
	k, v, _, ok := t.record(r, scratch[:])
	if !ok {
		return
	}
	// Copied out first: appending may empty and reuse their segment.
	kv := append(append(buf[:0], k...), v...)
	t.removeLocked(h)
	t.appendLocked(h, kv[:len(k)], nil, kv[len(k):])
}

// put stores value under key; the caller checked that no invalidation ran
// since value was read, holding what makes that check and this put atomic
// with respect to invalidations (see Cache.loadTiered).
//
// A record of the same size is rewritten where it is, unless that is one
// of the two oldest segments: a value put again and again (detection's
// baselines, written back each time its table drops them) then leaves no
// dead copy behind, which appended each time filled the segments with
// them and emptied the live records out with the oldest segment.
func (t *compact) put(key, head, value []byte) {
	h := t.hash(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.idx.Get(h); ok {
		var scratch [512]byte
		k, v, inMem, ok := t.record(r, scratch[:])
		if seg, off := unref(r); ok && len(v) == len(head)+len(value) && !t.oldLocked(seg) && bytes.Equal(k, key) {
			if inMem {
				copy(v[copy(v, head):], value)
				return
			}
			if t.rewrite(seg, off+recordHeader+len(k), head, value) {
				return
			}
		}
	}
	t.removeLocked(h) // key's record, or another key's with its hash
	t.appendLocked(h, key, head, value)
}

// oldLocked reports whether seg is one of the two segments emptied next.
func (t *compact) oldLocked(seg int) bool {
	return (seg-t.cur+compactSegments)%compactSegments <= 2 && seg != t.cur
}

// appendLocked appends a record of key and value (head, then the rest)
// and indexes it, emptying the oldest segment when the current one is
// full. A record larger than a segment, or with a key over 64 KiB, is not
// stored.
func (t *compact) appendLocked(h uint32, key, head, value []byte) {
	n := recordHeader + len(key) + len(head) + len(value)
	if n > t.segSize || len(key) > 0xffff || t.file != nil && n > len(t.buf) {
		return
	}
	if t.ends[t.cur]+n > t.segSize {
		t.flushLocked()
		t.cur = (t.cur + 1) % compactSegments
		t.flushed = t.ends[t.cur] // its records of a lap before: all in the file
		t.emptyLocked(t.cur)
		t.flushed = 0
	}
	off := t.ends[t.cur]
	var b []byte
	if t.file != nil {
		if off+n-t.flushed > len(t.buf) {
			t.flushLocked()
		}
		b = t.buf[off-t.flushed : off-t.flushed+n]
	} else {
		if t.segs[t.cur] == nil {
			t.segs[t.cur] = offheap.Bytes(t.segSize)
		}
		b = t.segs[t.cur][off : off+n]
	}
	binary.LittleEndian.PutUint16(b, uint16(len(key)))
	binary.LittleEndian.PutUint32(b[2:], uint32(len(head)+len(value)))
	copy(b[recordHeader:], key)
	copy(b[recordHeader+len(key):], head)
	copy(b[recordHeader+len(key)+len(head):], value)
	t.ends[t.cur] = off + n
	t.setLocked(h, ref(t.cur, off))
	t.bytes += n
}

// emptyLocked drops the records of segment seg from the index.
func (t *compact) emptyLocked(seg int) {
	t.eachLocked(seg, func(off int, key []byte, n int) {
		h := t.hash(key)
		if r, ok := t.idx.Get(h); ok && r == ref(seg, off) {
			t.delLocked(h, r)
			t.bytes -= n
		}
	})
	if t.live[seg] > 0 {
		t.dropSegment(seg) // entries the scan did not meet
	}
	t.ends[seg] = 0
	t.damaged[seg] = false
}

// setLocked indexes the record at r under h.
func (t *compact) setLocked(h, r uint32) {
	if old, ok := t.idx.Get(h); ok {
		s, _ := unref(old)
		t.live[s]--
	}
	t.idx.Set(h, r)
	s, _ := unref(r)
	t.live[s]++
}

// delLocked drops the index's entry h, whose record is at r.
func (t *compact) delLocked(h, r uint32) {
	t.idx.Del(h)
	s, _ := unref(r)
	t.live[s]--
}

// eachLocked calls f with the place, key and size of each record of
// segment seg, oldest first; in a file, once its records in memory are
// flushed (f must not append).
func (t *compact) eachLocked(seg int, f func(off int, key []byte, n int)) {
	if t.file != nil {
		t.eachInFile(seg, f)
		return
	}
	walkRecords(t.segs[seg][:t.ends[seg]], f)
}

// walkRecords calls f with the place, key and size of each whole record b
// holds from its start, and returns the bytes they take (a record that
// does not end within b ends the walk).
func walkRecords(b []byte, f func(off int, key []byte, n int)) int {
	off := 0
	for {
		k, v, ok := parseRecord(b[off:])
		if !ok {
			return off
		}
		n := recordHeader + len(k) + len(v)
		f(off, k, n)
		off += n
	}
}

// removeLocked drops the record the index holds under h, if any.
func (t *compact) removeLocked(h uint32) {
	if r, ok := t.idx.Get(h); ok {
		t.bytes -= t.sizeLocked(r)
		t.delLocked(h, r)
	}
}

// sizeLocked is the size of the record at r (its header read back from
// the file, when there; 0 when that read fails).
func (t *compact) sizeLocked(r uint32) int {
	seg, off := unref(r)
	b, inMem := t.inMemory(seg, off)
	if !inMem {
		var h [recordHeader]byte
		if off >= t.ends[seg] {
			return 0
		}
		if _, err := t.readFile(h[:], t.at(seg, off)); err != nil {
			return 0
		}
		b = h[:]
	}
	if len(b) < recordHeader {
		return 0
	}
	return recordHeader + int(binary.LittleEndian.Uint16(b)) + int(binary.LittleEndian.Uint32(b[2:]))
}

func (t *compact) delete(key string) {
	h := t.hashString(key)
	t.mu.Lock()
	if r, ok := t.idx.Get(h); ok {
		var scratch [512]byte
		if k, _, _, ok := t.record(r, scratch[:]); !ok || string(k) == key {
			t.removeLocked(h) // or a record that cannot be read: dropped
		}
	}
	t.mu.Unlock()
}

func (t *compact) deletePrefix(prefix string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked()
	// Segment by segment (a file is read in order, not record by record).
	var drop [][2]uint32
	for seg := range compactSegments {
		met := 0
		t.eachLocked(seg, func(off int, key []byte, n int) {
			h := t.hash(key)
			r, ok := t.idx.Get(h)
			if !ok || r != ref(seg, off) {
				return
			}
			met++
			if strings.HasPrefix(string(key), prefix) {
				drop = append(drop, [2]uint32{h, r})
				t.bytes -= n
			}
		})
		if met < t.live[seg] {
			// The scan missed records the index holds: each is read by
			// its entry, and dropped when it matches or cannot be read.
			var scratch [512]byte
			t.idx.Each(func(h, r uint32) {
				if s, _ := unref(r); s != seg {
					return
				}
				if k, _, _, ok := t.record(r, scratch[:]); !ok || strings.HasPrefix(string(k), prefix) {
					drop = append(drop, [2]uint32{h, r})
					t.bytes -= t.sizeLocked(r)
				}
			})
		}
	}
	for _, d := range drop {
		if r, ok := t.idx.Get(d[0]); ok && r == d[1] {
			t.delLocked(d[0], d[1])
		}
	}
}

// clear drops every record and gives the segments back.
func (t *compact) clear() {
	t.mu.Lock()
	t.idx.Reset()
	t.live = [compactSegments]int{}
	t.segs.free()
	t.ends = [compactSegments]int{}
	t.cur, t.bytes, t.flushed = 0, 0, 0
	if t.file != nil {
		t.damaged = [compactSegments]bool{}
		_ = t.file.Truncate(0) // its bytes are no one's now
	}
	t.mu.Unlock()
}

// stats returns the records held, their bytes, and the segments' bytes
// allocated; the index costs about 11 bytes a record beside them.
func (t *compact) stats() (entries, bytes, allocated int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i, s := range t.segs {
		allocated += len(s)
		if t.file != nil && t.ends[i] > 0 {
			allocated += t.segSize // in the file (or, its newest bytes, the buffer)
		}
	}
	return t.idx.Len(), t.bytes, allocated
}

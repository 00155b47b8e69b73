package cache

import (
	"encoding/binary"
	"io"
	"os"
	"runtime"

	"github.com/opensts/opensts/internal/offheap"
)

// compactBuf is the memory of a tier in a file: the records appended since
// the last flush, written to the file when it is full (and when the
// current segment is left). A record larger than it is not stored.
const compactBuf = 256 << 10

// newCompactIn returns an empty tier of fileBytes whose segments are in
// an unlinked scratch file in dir (offheap.ScratchFile); without dir or
// fileBytes, or where the file cannot be made, one in memory of maxBytes.
// Reads of the file go through a mapping of it while it holds at most
// mapBytes (see compact.mapped).
//
// The file holds what the tier would: records encoded as the store has
// them (a key's signing key sealed). Nothing reads it after the process:
// it is gone from dir from the start, and its records are rebuilt from
// the store.
func newCompactIn(maxBytes int, dir string, fileBytes, mapBytes int) *compact {
	if dir != "" && fileBytes > 0 {
		if t := newCompactFileBuf(fileBytes, dir, compactBuf, mapBytes); t != nil {
			return t
		}
	}
	return newCompact(maxBytes)
}

// newCompactFileBuf is a tier of maxBytes in a scratch file in dir, with a
// buffer of bufBytes at most, read through a mapping while the file holds
// at most mapBytes; nil when the file cannot be made.
func newCompactFileBuf(maxBytes int, dir string, bufBytes, mapBytes int) *compact {
	f := offheap.ScratchFile(dir, ".tier-*")
	if f == nil {
		return nil
	}
	t := newCompact(maxBytes)
	t.file = f
	t.buf = offheap.Bytes(min(bufBytes, t.segSize))
	runtime.AddCleanup(t, func(b []byte) { offheap.Free(b) }, t.buf)
	if mapBytes > 0 {
		// The whole file's span: its pages cost nothing until read.
		if m := offheap.MapFile(f, t.segSize*compactSegments); m != nil {
			t.mapped, t.mapMax = &mapping{b: m}, int64(mapBytes)
			runtime.AddCleanup(t, (*mapping).unmap, t.mapped)
		}
	}
	runtime.AddCleanup(t, func(f *os.File) { _ = f.Close() }, f)
	return t
}

// mapping is a tier file's mapping, in an object of its own so that the
// tier's cleanup can unmap it once the tier is gone.
type mapping struct{ b []byte }

func (m *mapping) unmap() {
	offheap.Unmap(m.b)
	m.b = nil
}

// readFile reads b from the file at off: through the mapping when the
// file holds those bytes (a copy, where pread cost a system call: some 3
// µs here, three of them a request across 100,000 roles), else with pread.
// The caller holds a lock.
func (t *compact) readFile(b []byte, off int64) (int, error) {
	if m := t.mapped; m != nil && m.b != nil && off+int64(len(b)) <= t.extent {
		if n, ok := offheap.CopyMapped(b, m.b[off:]); ok {
			return n, nil
		}
		return 0, io.ErrUnexpectedEOF // the file was cut short under the mapping
	}
	return t.file.ReadAt(b, off)
}

// wroteLocked notes that the file holds n bytes at off. The tier reads
// through the mapping while its records (the index's) are at most mapMax
// bytes: past that it leaves the mapping, its pages with it, and reads
// with pread, whose pages are the kernel's to keep or drop, rather than
// map more of them into the process's resident memory. Records written
// again (a key past its TTL, a refresh) leave dead copies behind, some of
// whose pages reads mapped while they were live: each time the file grows
// by a quarter of mapMax, the mapping's pages are dropped (they stay in
// the page cache; reads map those of live records again). Bytes written,
// not the file's growth: once the file wraps (the oldest segment emptied
// and written again) it grows no more, and live records moving lap after
// lap mapped the whole file (found by a review as an attacker).
func (t *compact) wroteLocked(off int64, n int) {
	if end := off + int64(n); end > t.extent {
		t.extent = end
	}
	m := t.mapped
	if m == nil {
		return
	}
	if m.b == nil {
		// Left: mapped again once the records are a quarter under the
		// bound, so that a tier about the bound does not map and leave
		// by turns. Left for good, a key tier at 100,000 keys read with
		// pread from the last hour of its first UTC day on: its records
		// keep the sealed secret then (dayAhead, internal/server), which
		// took them past the bound for that hour.
		if int64(t.bytes) > t.mapMax/4*3 {
			return
		}
		if m.b = offheap.MapFile(t.file, t.segSize*compactSegments); m.b == nil {
			return
		}
		t.sinceDrop = 0
	}
	if int64(t.bytes) > t.mapMax {
		m.unmap()
		t.mappedBytes.Store(0)
		return
	}
	if t.sinceDrop += int64(n); t.sinceDrop > t.mapMax/4 {
		offheap.DropMapped(m.b)
		t.sinceDrop = 0
	}
	// What reads may have mapped since: the live records, and what was
	// written since the last drop (about: a read's fault maps the pages
	// about it that the page cache holds too).
	t.mappedBytes.Store(min(t.extent, int64(t.bytes)+t.sinceDrop))
}

// MappedBytes is about what the tier's mapping adds to the process's
// resident memory at most (see wroteLocked): 0 once it left the mapping,
// or without one.
func (t *compact) MappedBytes() int64 { return t.mappedBytes.Load() }

func (t *compact) at(seg, off int) int64 { return int64(seg)*int64(t.segSize) + int64(off) }

// readAt reads the record at off in segment seg from the file into
// scratch, or into memory of its own when larger.
func (t *compact) readAt(seg, off int, scratch []byte) ([]byte, bool) {
	end := t.ends[seg] // what the file holds of the segment
	if seg == t.cur {
		end = t.flushed
	}
	if off >= end {
		return nil, false
	}
	b := scratch[:min(len(scratch), end-off)]
	if len(b) < recordHeader {
		return nil, false
	}
	// A short read is no failure when it holds the record: the file may
	// end before the segment's last bytes (a flush of them that failed).
	n, _ := t.readFile(b, t.at(seg, off))
	if n < recordHeader {
		return nil, false
	}
	size := recordHeader + int(binary.LittleEndian.Uint16(b)) + int(binary.LittleEndian.Uint32(b[2:]))
	if size > end-off {
		return nil, false // cannot be: a record ends within its segment's written bytes
	}
	if size <= n {
		return b[:size], true
	}
	if n < len(b) {
		return nil, false
	}
	big := make([]byte, size)
	if _, err := t.readFile(big, t.at(seg, off)); err != nil {
		return nil, false
	}
	return big, true
}

// rewrite writes head and value over the value at off in segment seg of
// the file (a record of the same size put again); false when the write
// failed, and the caller then appends the record anew.
func (t *compact) rewrite(seg, off int, head, value []byte) bool {
	var stack [512]byte
	b := append(append(stack[:0], head...), value...)
	_, err := t.file.WriteAt(b, t.at(seg, off))
	if err == nil {
		t.wroteLocked(t.at(seg, off), len(b))
	}
	return err == nil
}

// flushLocked writes the records in memory to the file. Those a failed
// write did not put there are dropped from the index: the file may still
// hold, where they were to go, the records of a lap before, which a read
// must never take for them.
func (t *compact) flushLocked() {
	if t.file == nil || t.ends[t.cur] == t.flushed {
		return
	}
	n := t.ends[t.cur] - t.flushed
	if _, err := t.file.WriteAt(t.buf[:n], t.at(t.cur, t.flushed)); err == nil {
		t.wroteLocked(t.at(t.cur, t.flushed), n)
	} else {
		// Part of it may be written: the segment's records are not
		// parsed from the file again (eachInFile), only dropped.
		t.damaged[t.cur] = true
		walkRecords(t.buf[:n], func(off int, key []byte, size int) {
			h := t.hash(key)
			if r, ok := t.idx.Get(h); ok && r == ref(t.cur, t.flushed+off) {
				t.delLocked(h, r)
				t.bytes -= size
			}
		})
	}
	t.flushed = t.ends[t.cur]
}

// eachInFile is eachLocked for a tier in a file: the segment is read in
// order, a buffer at a time (the buffer is free: what it held is
// flushed). A segment that cannot be read, or that a failed flush left
// partly written, has its records dropped from the index by a walk of the
// index instead (f is not called: a prefix deletion drops them all).
func (t *compact) eachInFile(seg int, f func(off int, key []byte, n int)) {
	if t.damaged[seg] {
		t.dropSegment(seg)
		return
	}
	end := t.ends[seg] // the current segment's flushed by the caller
	for pos := 0; pos < end; {
		b := t.buf[:min(len(t.buf), end-pos)]
		if _, err := t.file.ReadAt(b, t.at(seg, pos)); err != nil {
			t.dropSegment(seg)
			return
		}
		off := walkRecords(b, func(off int, key []byte, n int) { f(pos+off, key, n) })
		if off == 0 {
			t.dropSegment(seg) // a record larger than the buffer: cannot be
			return
		}
		pos += off
	}
}

// dropSegment drops from the index every record of segment seg.
func (t *compact) dropSegment(seg int) {
	var drop []uint32
	t.idx.Each(func(h, r uint32) {
		if s, _ := unref(r); s == seg {
			drop = append(drop, h)
		}
	})
	for _, h := range drop {
		if r, ok := t.idx.Get(h); ok {
			t.bytes -= t.sizeLocked(r)
			t.delLocked(h, r)
		}
	}
}

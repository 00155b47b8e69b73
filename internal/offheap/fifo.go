package offheap

import (
	"encoding/binary"
	"os"
	"strconv"
)

// FIFO is a queue of byte records in memory from Bytes: records waiting to
// be sent somewhere (the audit database sink's backlog, up to tens of MiB
// under load), which on the Go heap were each an allocation the collector
// paced itself by and marked while they waited. Records are appended into
// chunks mapped as the queue grows; a chunk is given back once every record
// in it is popped (one emptied chunk is kept for reuse), so resident memory
// follows the backlog. A record never spans two chunks: one larger than a
// chunk gets a chunk of its own.
//
// It is not safe for concurrent use; its owner locks around every call.
// The records Peek hands out stay valid, whatever is pushed meanwhile,
// until Pop removes them or Free is called: the owner may read them
// without its lock while it alone pops.
type FIFO struct {
	chunk  int
	chunks [][]byte // in order; chunks[0] holds the first record
	ends   []int    // where the records of each chunk but the last end
	head   int      // offset of the first record in chunks[0]
	tail   int      // end of the records in the last chunk
	n      int      // records
	spare  []byte   // an emptied chunk of the default size, kept for reuse

	// With a scratch file (NewFIFOIn): a full chunk behind those Peek
	// has handed records out of waits in the file, chunks[i] nil and
	// out[i] where; peeked is the last chunk Peek reached.
	file   *os.File
	out    []*spilled // parallel to chunks
	peeked int
	slots  []int64 // offsets in file no chunk holds
	size   int64   // end of the slots in file
	lost   int     // records of chunks that could not be read back
}

// spilled is where a chunk waits in the scratch file, and the lengths of
// its records, which come back zeroed if it cannot be read.
type spilled struct {
	off  int64
	lens []uint32
}

// fifoHeader is a record's length in front of it.
const fifoHeader = 4

// MaxRecord bounds a record: Push panics beyond it, so owners that push
// under a lock check first.
const MaxRecord = 1<<31 - fifoHeader

// NewFIFO returns an empty FIFO that maps chunks of chunk bytes (rounded up
// to a page).
func NewFIFO(chunk int) *FIFO {
	return &FIFO{chunk: roundPage(max(chunk, 1))}
}

// NewFIFOIn is NewFIFO whose full chunks, while they wait behind those
// the owner reads (what Peek handed out) and the last (which Push fills),
// are kept in a scratch file in dir (ScratchFile): a backlog of tens of
// MiB (the audit database sink's while the database falls behind) is then
// file data the kernel caches, not the process's resident memory, which
// holds the chunks being read and written. A chunk is written once, when
// the next one starts, and read back once, when Peek or Pop reaches it.
// Without dir, or where the file cannot be made, it is NewFIFO; a chunk
// the file does not take stays in memory.
func NewFIFOIn(chunk int, dir string) *FIFO {
	q := NewFIFO(chunk)
	if dir != "" {
		q.file = ScratchFile(dir, ".queue-*")
	}
	return q
}

// Lost is the number of records that came back zeroed, their chunk not
// read back from the scratch file (an I/O error): each has its length,
// and its bytes are zero.
func (q *FIFO) Lost() int { return q.lost }

// InFile is the number of chunks waiting in the scratch file.
func (q *FIFO) InFile() int { return int(q.size/int64(q.chunk)) - len(q.slots) }

func roundPage(n int) int {
	const page = 4096
	return (n + page - 1) &^ (page - 1)
}

// Len is the number of records queued.
func (q *FIFO) Len() int { return q.n }

// end is where the records of chunk i end.
func (q *FIFO) end(i int) int {
	if i == len(q.chunks)-1 {
		return q.tail
	}
	return q.ends[i]
}

// Push appends a record of n bytes and returns them, zeroed or not, for
// the caller to fill before its next call on q.
func (q *FIFO) Push(n int) []byte {
	if n < 0 || n > MaxRecord {
		panic("offheap: FIFO record of " + strconv.Itoa(n) + " bytes")
	}
	need := fifoHeader + n
	if len(q.chunks) == 0 || q.tail+need > len(q.chunks[len(q.chunks)-1]) {
		if last := len(q.chunks) - 1; last >= 0 && q.tail == 0 {
			// The last chunk holds nothing (an emptied queue's): it goes
			// back rather than sit empty in front of the new one.
			q.release(q.chunks[last])
			q.chunks = q.chunks[:last]
			if q.file != nil {
				q.out = q.out[:last]
			}
		} else if last >= 0 {
			q.ends = append(q.ends, q.tail)
		}
		q.chunks = append(q.chunks, q.newChunk(need))
		q.tail = 0
		if q.file != nil {
			q.out = append(q.out, nil)
			q.spill(len(q.chunks) - 2)
		}
	}
	c := q.chunks[len(q.chunks)-1]
	binary.LittleEndian.PutUint32(c[q.tail:], uint32(n))
	rec := c[q.tail+fifoHeader : q.tail+need : q.tail+need]
	q.tail += need
	q.n++
	return rec
}

// newChunk maps a chunk for a record of need bytes (header included).
func (q *FIFO) newChunk(need int) []byte {
	if need <= q.chunk {
		if s := q.spare; s != nil {
			q.spare = nil
			return s
		}
		return Bytes(q.chunk)
	}
	return Bytes(roundPage(need))
}

// spill writes chunk i, full and behind every chunk Peek reached, to the
// scratch file and gives its memory back; it stays in memory when the
// file does not take it.
func (q *FIFO) spill(i int) {
	if i <= q.peeked || i < 0 || q.out[i] != nil || len(q.chunks[i]) != q.chunk {
		return
	}
	c, end := q.chunks[i], q.ends[i]
	off := q.size
	if k := len(q.slots); k > 0 {
		off = q.slots[k-1]
	}
	if _, err := q.file.WriteAt(c[:end], off); err != nil {
		return
	}
	if k := len(q.slots); k > 0 {
		q.slots = q.slots[:k-1]
	} else {
		q.size += int64(q.chunk)
	}
	var lens []uint32
	for at := 0; at < end; {
		n := binary.LittleEndian.Uint32(c[at:])
		lens = append(lens, n)
		at += fifoHeader + int(n)
	}
	q.out[i] = &spilled{off: off, lens: lens}
	q.chunks[i] = nil
	q.release(c)
}

// resident returns chunk i, read back from the scratch file if it waits
// there. One that cannot be read comes back as its records' lengths with
// zeroed bytes (Lost counts them).
func (q *FIFO) resident(i int) []byte {
	if c := q.chunks[i]; c != nil {
		return c
	}
	sp, end := q.out[i], q.ends[i]
	c := q.newChunk(end)
	if _, err := q.file.ReadAt(c[:end], sp.off); err != nil {
		clear(c[:end])
		at := 0
		for _, n := range sp.lens {
			binary.LittleEndian.PutUint32(c[at:], n)
			at += fifoHeader + int(n)
		}
		q.lost += len(sp.lens)
	}
	q.slots = append(q.slots, sp.off)
	q.out[i] = nil
	q.chunks[i] = c
	return c
}

// Peek calls f with the first records in order, at most max of them, until
// f returns false. The records stay valid until Pop removes them.
func (q *FIFO) Peek(limit int, f func(rec []byte) bool) {
	i, off := 0, q.head
	for seen := 0; seen < limit && seen < q.n; seen++ {
		for off >= q.end(i) {
			i, off = i+1, 0
		}
		q.peeked = max(q.peeked, i)
		c := q.resident(i)
		n := int(binary.LittleEndian.Uint32(c[off:]))
		rec := c[off+fifoHeader : off+fifoHeader+n : off+fifoHeader+n]
		off += fifoHeader + n
		if !f(rec) {
			return
		}
	}
}

// Pop removes the first n records (all of them when n is larger), giving
// back each chunk it empties.
func (q *FIFO) Pop(n int) {
	for ; n > 0 && q.n > 0; n-- {
		for q.head >= q.end(0) {
			q.dropFirst()
		}
		q.head += fifoHeader + int(binary.LittleEndian.Uint32(q.resident(0)[q.head:]))
		q.n--
	}
	if q.n == 0 {
		// Empty: keep one chunk of the default size, from its start.
		for len(q.chunks) > 0 && (len(q.chunks) > 1 || len(q.chunks[0]) != q.chunk) {
			q.dropFirst()
		}
		q.head, q.tail, q.peeked = 0, 0, 0
		return
	}
	for q.head >= q.end(0) {
		q.dropFirst()
	}
}

// dropFirst gives back the first chunk (kept as the spare when there is
// none and it has the default size) and starts at the next.
func (q *FIFO) dropFirst() {
	c := q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	if q.file != nil {
		if sp := q.out[0]; sp != nil {
			q.slots = append(q.slots, sp.off)
		}
		q.out[0] = nil
		q.out = q.out[1:]
		q.peeked = max(q.peeked-1, 0)
	}
	if len(q.ends) > 0 {
		q.ends = q.ends[1:]
	} else {
		q.tail = 0
	}
	q.head = 0
	if c != nil { // nil: it waited in the file
		q.release(c)
	}
}

// release keeps c as the spare when there is none and it has the default
// size, and gives it back otherwise.
func (q *FIFO) release(c []byte) {
	if q.spare == nil && len(c) == q.chunk {
		q.spare = c
		return
	}
	Free(c)
}

// Free gives back every chunk, and closes the scratch file; q is empty
// after it (in memory from then on), and what Peek handed out is invalid.
func (q *FIFO) Free() {
	for _, c := range q.chunks {
		if c != nil {
			Free(c)
		}
	}
	if q.spare != nil {
		Free(q.spare)
	}
	if q.file != nil {
		_ = q.file.Close()
	}
	*q = FIFO{chunk: q.chunk, lost: q.lost}
}

package offheap

import (
	"encoding/binary"
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
		} else if last >= 0 {
			q.ends = append(q.ends, q.tail)
		}
		q.chunks = append(q.chunks, q.newChunk(need))
		q.tail = 0
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

// Peek calls f with the first records in order, at most max of them, until
// f returns false. The records stay valid until Pop removes them.
func (q *FIFO) Peek(max int, f func(rec []byte) bool) {
	i, off := 0, q.head
	for seen := 0; seen < max && seen < q.n; seen++ {
		for off >= q.end(i) {
			i, off = i+1, 0
		}
		c := q.chunks[i]
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
		q.head += fifoHeader + int(binary.LittleEndian.Uint32(q.chunks[0][q.head:]))
		q.n--
	}
	if q.n == 0 {
		// Empty: keep one chunk of the default size, from its start.
		for len(q.chunks) > 0 && (len(q.chunks) > 1 || len(q.chunks[0]) != q.chunk) {
			q.dropFirst()
		}
		q.head, q.tail = 0, 0
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
	if len(q.ends) > 0 {
		q.ends = q.ends[1:]
	} else {
		q.tail = 0
	}
	q.head = 0
	q.release(c)
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

// Free gives back every chunk; q is empty after it, and what Peek handed
// out is invalid.
func (q *FIFO) Free() {
	for _, c := range q.chunks {
		Free(c)
	}
	if q.spare != nil {
		Free(q.spare)
	}
	*q = FIFO{chunk: q.chunk}
}

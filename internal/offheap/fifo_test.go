package offheap

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestFIFOModel drives a FIFO and a slice of records with the same random
// pushes (some larger than a chunk), peeks and pops, and checks that they
// agree, that records a peek handed out survive later pushes until popped,
// and that emptied chunks are given back.
func TestFIFOModel(t *testing.T) {
	q := NewFIFO(4096)
	defer q.Free()
	fifoModel(t, q, 1)
}

// TestFIFOSpillModel is TestFIFOModel on a FIFO whose waiting chunks go to
// a scratch file, checked whole (which reaches every chunk, so that none
// spills until new ones start) only every 97 steps: chunks are spilled and
// read back, and what the model holds comes back byte for byte, records a
// peek handed out included, while at most the chunks Peek reached and the
// last are in memory.
func TestFIFOSpillModel(t *testing.T) {
	q := NewFIFOIn(4096, t.TempDir())
	if q.file == nil {
		t.Fatal("no scratch file")
	}
	defer q.Free()
	spills, reads := fifoModel(t, q, 97)
	t.Logf("%d spills, %d reads", spills, reads)
	if spills < 100 || reads < 100 {
		t.Fatalf("%d chunks spilled, %d read back: the file was barely used", spills, reads)
	}
	if q.Lost() != 0 {
		t.Fatalf("%d records lost", q.Lost())
	}
}

// fifoModel drives q with random pushes, peeks and pops against a model,
// checking q whole every checkEvery steps; it returns the chunks q spilled
// and read back (seen as they changed between steps).
func fifoModel(t *testing.T, q *FIFO, checkEvery int) (spills, reads int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var model [][]byte
	lastOut := 0
	next := byte(0)
	push := func() {
		n := r.IntN(600)
		if r.IntN(50) == 0 {
			n = 4096 + r.IntN(10000) // its own chunk
		}
		if r.IntN(40) == 0 {
			n = 0
		}
		rec := make([]byte, n)
		for i := range rec {
			rec[i] = next + byte(i)
		}
		next++
		copy(q.Push(n), rec)
		model = append(model, rec)
	}
	check := func(step int) {
		t.Helper()
		if q.Len() != len(model) {
			t.Fatalf("step %d: Len %d, model %d", step, q.Len(), len(model))
		}
		i := 0
		q.Peek(len(model)+5, func(rec []byte) bool {
			if !bytes.Equal(rec, model[i]) {
				t.Fatalf("step %d: record %d is %d bytes %x..., want %d bytes", step, i, len(rec), rec[:min(len(rec), 4)], len(model[i]))
			}
			i++
			return true
		})
		if i != len(model) {
			t.Fatalf("step %d: Peek gave %d records, model has %d", step, i, len(model))
		}
	}
	for step := range 20000 {
		switch k := r.IntN(10); {
		case k < 6:
			push()
		case k < 8:
			// A batch taken, more pushed while it is sent, then popped.
			max := r.IntN(40) + 1
			var held [][]byte
			q.Peek(max, func(rec []byte) bool { held = append(held, rec); return true })
			for range r.IntN(30) {
				push()
			}
			for i, rec := range held {
				if !bytes.Equal(rec, model[i]) {
					t.Fatalf("step %d: held record %d changed by later pushes", step, i)
				}
			}
			q.Pop(len(held))
			model = model[len(held):]
		case k == 8:
			// Peek stops when told to.
			calls := 0
			q.Peek(10, func([]byte) bool { calls++; return calls < 3 })
			if want := min(3, len(model)); calls != want {
				t.Fatalf("step %d: Peek made %d calls after false, want %d", step, calls, want)
			}
		default:
			n := r.IntN(len(model) + 3)
			q.Pop(n)
			model = model[min(n, len(model)):]
		}
		if step%checkEvery == 0 {
			check(step)
		}
		if q.file != nil {
			out := 0
			for i, c := range q.chunks {
				if c == nil {
					out++
					if q.out[i] == nil || i < q.peeked || (i == q.peeked && i > 0) || i == len(q.chunks)-1 {
						t.Fatalf("step %d: chunk %d of %d out (peeked %d) without its place", step, i, len(q.chunks), q.peeked)
					}
				}
			}
			if len(q.out) != len(q.chunks) {
				t.Fatalf("step %d: %d chunks, %d places", step, len(q.chunks), len(q.out))
			}
			if out > lastOut {
				spills += out - lastOut
			} else {
				reads += lastOut - out
			}
			lastOut = out
			if int64(len(q.slots))*int64(q.chunk)+int64(out)*int64(q.chunk) != q.size || q.InFile() != out {
				t.Fatalf("step %d: file of %d bytes, %d chunks in it and %d free slots", step, q.size, out, len(q.slots))
			}
		}
		// Chunks follow the backlog: every chunk but the last holds a
		// record, and an empty queue keeps at most one chunk.
		if len(model) == 0 && len(q.chunks) > 1 {
			t.Fatalf("step %d: empty, %d chunks kept", step, len(q.chunks))
		}
		if len(q.chunks) != len(q.ends)+1 && len(q.chunks) != 0 {
			t.Fatalf("step %d: %d chunks, %d ends", step, len(q.chunks), len(q.ends))
		}
		if len(q.chunks) > 0 && q.head >= q.end(0) && q.n > 0 {
			t.Fatalf("step %d: head %d at the end of its chunk (%d) with records left", step, q.head, q.end(0))
		}
	}
	check(-1)
	q.Pop(len(model) + 1)
	if q.Len() != 0 || len(q.chunks) > 1 {
		t.Fatalf("after popping all: %d records, %d chunks", q.Len(), len(q.chunks))
	}
	// Reused from the start of its chunk.
	copy(q.Push(3), "abc")
	q.Peek(1, func(rec []byte) bool {
		if string(rec) != "abc" {
			t.Fatalf("record after reuse: %q", rec)
		}
		return true
	})
	q.Pop(1)
	return spills, reads
}

// TestFIFOFree leaves nothing mapped and an empty, usable queue.
func TestFIFOFree(t *testing.T) {
	q := NewFIFO(1)
	for i := range 100 {
		copy(q.Push(1000), bytes.Repeat([]byte{byte(i)}, 1000))
	}
	q.Free()
	if q.Len() != 0 || q.chunks != nil || q.spare != nil {
		t.Fatalf("after Free: %d records, %d chunks, spare %v", q.Len(), len(q.chunks), q.spare != nil)
	}
	copy(q.Push(2), "ok")
	q.Peek(1, func(rec []byte) bool {
		if string(rec) != "ok" {
			t.Fatalf("record after Free: %q", rec)
		}
		return true
	})
	q.Free()
}

// A record too large for its length header is refused loudly, not written
// with a cut length that later reads would walk off.
func TestFIFOPushRefusesOversizedRecord(t *testing.T) {
	q := NewFIFO(4096)
	defer q.Free()
	for _, n := range []int{-1, MaxRecord + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Push(%d) did not panic", n)
				}
			}()
			q.Push(n)
		}()
	}
	if q.Len() != 0 {
		t.Fatalf("%d records after refused pushes", q.Len())
	}
}

// TestFIFOSpillUnreadable: a chunk that cannot be read back from the
// scratch file (here its descriptor closed under it) gives its records
// back with their lengths and zeroed bytes, counted by Lost, so that an
// owner that accounts by their lengths keeps its count; the records in
// memory come back whole.
func TestFIFOSpillUnreadable(t *testing.T) {
	q := NewFIFOIn(4096, t.TempDir())
	defer q.Free()
	rec := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 1000+i) }
	for i := range 40 { // three a chunk: the chunks between the first and the last spilled
		copy(q.Push(len(rec(i))), rec(i))
	}
	out, inOut := 0, 0
	for i, c := range q.chunks {
		if c == nil {
			out++
			inOut += len(q.out[i].lens)
		}
	}
	if out == 0 {
		t.Fatal("nothing spilled")
	}
	_ = q.file.Close()
	i := 0
	q.Peek(40, func(got []byte) bool {
		want := rec(i)
		if len(got) != len(want) || (!bytes.Equal(got, want) && !bytes.Equal(got, make([]byte, len(want)))) {
			t.Fatalf("record %d: %d bytes %x..., want %d bytes, whole or zeroed", i, len(got), got[:4], len(want))
		}
		i++
		return true
	})
	if i != 40 || q.Lost() != inOut {
		t.Fatalf("%d records, %d lost; %d chunks were out, with %d records", i, q.Lost(), out, inOut)
	}
	q.Pop(40)
	if q.Len() != 0 {
		t.Fatalf("%d records after popping all", q.Len())
	}
}

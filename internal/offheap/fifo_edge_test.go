package offheap

import (
	"bytes"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// TestFIFOEdgeSizes drives FIFOs of several chunk sizes with records
// sized around the chunk boundaries (0, exactly filling a chunk, one byte
// over, several chunks), holds peeked records across pushes and partial
// pops, frees and reuses the queue, and checks structure invariants after
// every step. A touch of unmapped memory faults into a panic.
func TestFIFOEdgeSizes(t *testing.T) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for seed := uint64(0); seed < 6; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		chunk := []int{1, 4096, 8192, 4096 * 3}[seed%4]
		q := NewFIFO(chunk)
		C := q.chunk
		var model [][]byte
		next := byte(1)
		size := func() int {
			switch r.IntN(12) {
			case 0:
				return 0
			case 1:
				return C - fifoHeader // exactly fills a chunk
			case 2:
				return C - fifoHeader + 1 // one byte over: own chunk
			case 3:
				return C*2 + r.IntN(3)
			case 4:
				return C/2 - fifoHeader
			default:
				return r.IntN(C / 3)
			}
		}
		push := func() {
			n := size()
			rec := make([]byte, n)
			for i := range rec {
				rec[i] = next ^ byte(i*7)
			}
			next++
			copy(q.Push(n), rec)
			model = append(model, rec)
		}
		invariants := func(step int) {
			t.Helper()
			if q.Len() != len(model) {
				t.Fatalf("seed %d step %d: Len %d model %d", seed, step, q.Len(), len(model))
			}
			if len(q.chunks) > 0 && len(q.ends) != len(q.chunks)-1 {
				t.Fatalf("seed %d step %d: %d chunks %d ends", seed, step, len(q.chunks), len(q.ends))
			}
			if len(q.chunks) == 0 && (len(q.ends) != 0 || q.tail != 0 || q.head != 0 || q.n != 0) {
				t.Fatalf("seed %d step %d: no chunks, ends %d tail %d head %d n %d", seed, step, len(q.ends), q.tail, q.head, q.n)
			}
			seen := map[*byte]bool{}
			for i, c := range q.chunks {
				if seen[&c[0]] {
					t.Fatalf("seed %d step %d: chunk %d twice", seed, step, i)
				}
				seen[&c[0]] = true
				if q.end(i) > len(c) {
					t.Fatalf("seed %d step %d: chunk %d end %d > len %d", seed, step, i, q.end(i), len(c))
				}
			}
			if q.spare != nil && seen[&q.spare[0]] {
				t.Fatalf("seed %d step %d: spare is also queued", seed, step)
			}
			if q.spare != nil && len(q.spare) != C {
				t.Fatalf("seed %d step %d: spare of %d bytes", seed, step, len(q.spare))
			}
			if q.n > 0 && q.head >= q.end(0) {
				t.Fatalf("seed %d step %d: head at end", seed, step)
			}
			i := 0
			q.Peek(len(model)+3, func(rec []byte) bool {
				if !bytes.Equal(rec, model[i]) || cap(rec) != len(rec) {
					t.Fatalf("seed %d step %d: record %d differs", seed, step, i)
				}
				i++
				return true
			})
			if i != len(model) {
				t.Fatalf("seed %d step %d: peeked %d of %d", seed, step, i, len(model))
			}
		}
		for step := range 6000 {
			switch k := r.IntN(20); {
			case k < 10:
				push()
			case k < 14:
				// Held batch; pushes; pop part of it; the rest still valid;
				// more pushes; pop the rest.
				var held [][]byte
				q.Peek(r.IntN(20)+1, func(rec []byte) bool { held = append(held, rec); return true })
				for range r.IntN(10) {
					push()
				}
				part := r.IntN(len(held) + 1)
				q.Pop(part)
				model = model[part:]
				for range r.IntN(5) {
					push()
				}
				for i, rec := range held[part:] {
					if !bytes.Equal(rec, model[i]) {
						t.Fatalf("seed %d step %d: held record changed", seed, step)
					}
				}
				q.Pop(len(held) - part)
				model = model[len(held)-part:]
			case k < 18:
				n := r.IntN(len(model) + 2)
				q.Pop(n)
				model = model[min(n, len(model)):]
			case k == 18:
				q.Pop(len(model) + r.IntN(3))
				model = nil
			default:
				q.Free()
				model = nil
			}
			invariants(step)
		}
		q.Free()
	}
}

// vmSize is the process's mapped virtual memory, from /proc/self/status.
func vmSize(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmSize:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmSize")
	return 0
}

// TestFIFOMappingsFollowTheQueue: with huge chunks (only touched
// pages cost memory), the mapped size follows what the FIFO holds, and
// Free gives everything back.
func TestFIFOMappingsFollowTheQueue(t *testing.T) {
	const C = 256 << 20
	base := vmSize(t)
	q := NewFIFO(C)
	r := rand.New(rand.NewPCG(5, 6))
	held := func() int64 {
		var n int64
		for _, c := range q.chunks {
			n += int64(len(c))
		}
		return n + int64(len(q.spare))
	}
	n := 0
	for step := range 400 {
		switch k := r.IntN(10); {
		case k < 5:
			sz := r.IntN(100)
			if r.IntN(4) == 0 {
				sz = C + r.IntN(3)*4096 // own chunk
			}
			q.Push(sz)
			n++
		case k < 9:
			p := r.IntN(n + 1)
			q.Pop(p)
			n -= p
		default:
			q.Pop(n + 1)
			n = 0
		}
		got := vmSize(t) - base
		if d := got - held(); d > 64<<20 || d < -64<<20 {
			t.Fatalf("step %d: %d MiB mapped beyond the start, the FIFO holds %d MiB", step, got>>20, held()>>20)
		}
	}
	q.Free()
	if got := vmSize(t) - base; got > 64<<20 {
		t.Fatalf("after Free: %d MiB still mapped", got>>20)
	}
}

//go:build linux

package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// An attack review of the second tier in a file (compact_file.go).

// attackFds holds the ways a tier's file can be made to fail: the same
// file opened read-only (writes fail: a full disk, a read-only mount) and
// write-only (reads fail), swapped in under the tier's lock.
type attackFds struct {
	good, ro, wo *os.File
}

func newAttackFds(t *testing.T, tr *compact) *attackFds {
	t.Helper()
	path := fmt.Sprintf("/proc/self/fd/%d", tr.file.Fd())
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	wo, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ro.Close(); _ = wo.Close() })
	return &attackFds{good: tr.file, ro: ro, wo: wo}
}

func (a *attackFds) use(tr *compact, f *os.File) {
	tr.mu.Lock()
	tr.file = f
	tr.mu.Unlock()
}

// checkRefs checks what must hold whatever the file did: every index entry
// points inside the used bytes of its segment (a ref past them reads bytes
// that are no record of this lap: stale ones, or the buffer's leftovers),
// and, when the file reads, at a record whose key has the entry's
// fingerprint. It leaves the byte count alone (see
// TestCompactAttackDamagedSegmentBytes).
func checkRefs(tb testing.TB, tr *compact, readable bool) {
	tb.Helper()
	tr.mu.RLock()
	defer tr.mu.RUnlock()
	if readable {
		checkRecords(tb, tr) // the bytes it counts may drift with garbage in the file: a statistic
		return
	}
	tr.idx.Each(func(_, r uint32) {
		if seg, off := unref(r); seg >= compactSegments || off >= tr.ends[seg] {
			tb.Fatalf("ref %x out of range (seg %d off %d end %d cur %d)", r, seg, off, tr.ends[seg], tr.cur)
		}
	})
}

// safeGet is get that turns a panic into a test failure.
func safeGet(t *testing.T, tr *compact, key []byte, peek bool) (v []byte, ok bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("get(%q) panicked: %v", key, p)
		}
	}()
	if peek {
		return tr.peek(nil, key)
	}
	return tr.get(nil, key)
}

// A model check in a file with tiny segments and buffers: random puts (of
// varying sizes, often the same size: rewritten in place), gets, peeks,
// deletes, prefix deletes and clears, while the file is now and then
// swapped for one whose writes fail or whose reads fail. A hit must be the
// key's latest value; the index never points past a segment's used bytes.
func TestCompactAttackModelWithFaults(t *testing.T) {
	for seed := range 8 {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			testAttackModel(t, uint64(seed), false)
		})
	}
}

func testAttackModel(t *testing.T, seed uint64, garbage bool) {
	rng := rand.New(rand.NewPCG(seed, 77))
	segSize := 300 + rng.IntN(1500)
	bufBytes := 60 + rng.IntN(segSize)
	tr := newCompactFileBuf(compactSegments*segSize, t.TempDir(), bufBytes, 0)
	if tr == nil {
		t.Fatal("no file")
	}
	fds := newAttackFds(t, tr)
	var keys []string
	// Colliding keys too: a record of another key with the same
	// fingerprint must never be served.
	for _, g := range collidingKeys(tr, fmt.Sprintf("c%d/", seed%3), 1<<20, 15) {
		keys = append(keys, g...)
	}
	for i := range 60 {
		keys = append(keys, fmt.Sprintf("p%d/k%d", i%4, i))
	}
	model := map[string]string{}
	mode := fds.good
	const ops = 60_000
	for i := range ops {
		k := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(1000); {
		case op < 8: // the file fails, or works again
			switch rng.IntN(3) {
			case 0:
				mode = fds.good
			case 1:
				mode = fds.ro
			default:
				mode = fds.wo
			}
			fds.use(tr, mode)
		case op < 400:
			v := fmt.Sprintf("%s=%d:", k, i)
			if old, ok := model[k]; ok && rng.IntN(2) == 0 && len(old) >= len(v) {
				v += strings.Repeat("#", len(old)-len(v)) // same size: rewritten in place
			} else {
				n := rng.IntN(min(bufBytes, 120))
				if rng.IntN(8) == 0 { // larger than the read scratch, or than the buffer
					n = rng.IntN(bufBytes + 50)
				}
				v += strings.Repeat("-", n)
			}
			var head []byte
			if rng.IntN(4) == 0 && len(v) > 3 {
				head, v = []byte(v[:3]), v[3:]
				tr.put([]byte(k), head, []byte(v))
				model[k] = string(head) + v
			} else {
				tr.put([]byte(k), nil, []byte(v))
				model[k] = v
			}
		case op < 480:
			tr.delete(k)
			delete(model, k)
		case op < 486:
			p := k[:3]
			if rng.IntN(3) == 0 {
				p = k[:1]
			}
			tr.deletePrefix(p)
			for mk := range model {
				if strings.HasPrefix(mk, p) {
					delete(model, mk)
				}
			}
		case op < 488:
			tr.clear()
			clear(model)
		case op < 520 && garbage && mode == fds.good:
			garbageInDeadBytes(t, tr, rng)
		default:
			v, ok := safeGet(t, tr, []byte(k), op%2 == 0)
			if ok {
				want, in := model[k]
				if !in || string(v) != want {
					t.Fatalf("seed %d op %d (file %s): get(%q) = %q; model %q %v", seed, i, mode.Name(), k, v, want, in)
				}
			}
		}
		if i%500 == 0 {
			checkRefs(t, tr, mode == fds.good)
		}
	}
	fds.use(tr, fds.good)
	checkRefs(t, tr, true)
	for _, k := range keys {
		if v, ok := safeGet(t, tr, []byte(k), false); ok && string(v) != model[k] {
			t.Fatalf("seed %d end: get(%q) = %q; model %q", seed, k, v, model[k])
		}
	}
}

// The model check with garbage written now and then into the file's dead
// bytes: bytes no index entry's record covers (a key's copies before it
// was put again, records dropped or evicted, what a failed flush left).
// Whoever can write there changes no live record, so every hit must still
// be the key's latest value, and nothing may panic.
func TestCompactAttackModelGarbageInDeadBytes(t *testing.T) {
	for seed := range 8 {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			testAttackModel(t, uint64(seed), true)
		})
	}
}

// garbageInDeadBytes writes a few random bytes into a gap between the
// live records of a segment's bytes in the file.
func garbageInDeadBytes(t *testing.T, tr *compact, rng *rand.Rand) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	seg := rng.IntN(compactSegments)
	end := tr.ends[seg]
	if seg == tr.cur {
		end = tr.flushed
	}
	if end == 0 {
		return
	}
	live := make([]bool, end)
	tr.idx.Each(func(_, r uint32) {
		s, off := unref(r)
		if s != seg || off >= end {
			return
		}
		k, v, _, ok := tr.record(r, make([]byte, 512))
		if !ok {
			t.Fatalf("index entry %x (%d/%d, segment end %d): no readable record there", r, s, off, tr.ends[s])
		}
		for i := off; i < off+recordHeader+len(k)+len(v) && i < end; i++ {
			live[i] = true
		}
	})
	// Half the time a plausible header (a record of a few dozen bytes),
	// else random bytes.
	g := binary.LittleEndian.AppendUint16(nil, uint16(rng.IntN(12)))
	g = binary.LittleEndian.AppendUint32(g, uint32(rng.IntN(150)))
	if rng.IntN(2) == 0 {
		g = g[:0]
		for range 1 + rng.IntN(8) {
			g = append(g, byte(rng.IntN(256)))
		}
	}
	p := rng.IntN(end)
	if rng.IntN(2) == 0 { // the header of a dead record, as the scan finds it
		seen := make([]byte, end)
		if _, err := tr.file.ReadAt(seen, tr.at(seg, 0)); err == nil {
			var starts, dead []int
			for off := 0; off+recordHeader <= end; {
				n := recordHeader + int(binary.LittleEndian.Uint16(seen[off:])) + int(binary.LittleEndian.Uint32(seen[off+2:]))
				starts = append(starts, off)
				if !live[off] {
					dead = append(dead, len(starts)-1)
				}
				off += n
			}
			if len(dead) > 0 {
				i := dead[rng.IntN(len(dead))]
				p = starts[i]
				if j := i + 1 + rng.IntN(3); j < len(starts) && rng.IntN(2) == 0 {
					// a length that ends at a later record's start: the
					// scan resumes in step there
					kl := int(binary.LittleEndian.Uint16(seen[p:]))
					g = binary.LittleEndian.AppendUint16(g[:0], uint16(kl))
					g = binary.LittleEndian.AppendUint32(g, uint32(starts[j]-p-recordHeader-kl))
				}
			}
		}
	}
	var b []byte
	for i := p; i < end && !live[i] && len(b) < len(g); i++ {
		b = append(b, g[len(b)])
	}
	if len(b) > 0 {
		if _, err := tr.file.WriteAt(b, tr.at(seg, p)); err != nil {
			t.Fatal(err)
		}
	}
}

// Concurrent writers, each with keys of its own (so that what it reads is
// known exactly: the others only make its records miss), against clears,
// prefix deletions of the others' keys and a file that fails now and then,
// in a tier small enough to wrap constantly. Run with -race.
func TestCompactAttackConcurrent(t *testing.T) {
	tr := newCompactFileBuf(compactSegments*900, t.TempDir(), 250, 0)
	if tr == nil {
		t.Fatal("no file")
	}
	fds := newAttackFds(t, tr)
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			model := map[string]string{}
			prefix := fmt.Sprintf("w%d/", w)
			for i := 0; !stop.Load(); i++ {
				k := prefix + strconv.Itoa(rng.IntN(40))
				switch op := rng.IntN(10); {
				case op < 4:
					v := fmt.Sprintf("%s=%d", k, i)
					if old, ok := model[k]; ok && rng.IntN(2) == 0 && len(old) >= len(v) {
						v += strings.Repeat("#", len(old)-len(v))
					} else {
						v += strings.Repeat("-", rng.IntN(60))
					}
					tr.put([]byte(k), nil, []byte(v))
					model[k] = v
				case op < 5:
					tr.delete(k)
					delete(model, k)
				default:
					var v []byte
					var ok bool
					func() {
						defer func() {
							if p := recover(); p != nil {
								errs <- fmt.Sprintf("get(%q) panicked: %v", k, p)
								stop.Store(true)
							}
						}()
						if op%2 == 0 {
							v, ok = tr.get(nil, []byte(k))
						} else {
							v, ok = tr.peek(nil, []byte(k))
						}
					}()
					if ok && string(v) != model[k] {
						select {
						case errs <- fmt.Sprintf("get(%q) = %q; latest %q", k, v, model[k]):
						default:
						}
						stop.Store(true)
					}
				}
			}
		})
	}
	wg.Go(func() { // the others' disruptions
		rng := rand.New(rand.NewPCG(9, 9))
		files := []*os.File{fds.good, fds.good, fds.ro, fds.wo}
		for !stop.Load() {
			switch rng.IntN(4) {
			case 0:
				tr.clear()
			case 1:
				tr.deletePrefix("x/") // nobody's: walks every segment
			case 2:
				fds.use(tr, files[rng.IntN(len(files))])
			default:
				tr.put([]byte("x/"+strconv.Itoa(rng.IntN(100))), nil, bytes.Repeat([]byte("x"), rng.IntN(200)))
			}
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
	})
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	fds.use(tr, fds.good)
	checkRefs(t, tr, true)
}

// LoadTiered with its tier in a file: a load that starts after an
// invalidation (Delete, DeletePrefix, Clear) returned never gets a version
// older than the one it invalidated, while the tier wraps and its file
// fails now and then.
func TestCompactAttackLoadTieredNeverStale(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 4 << 10, CompactBytes: 1 << 20, CompactDir: t.TempDir(), CompactFileBytes: compactSegments * 2000})
	if c.tier == nil || c.tier.file == nil {
		t.Fatal("no tier in a file")
	}
	fds := newAttackFds(t, c.tier)
	const keys = 300
	versions, invalidated := make([]atomic.Int64, keys), make([]atomic.Int64, keys)
	var stop atomic.Bool
	var decoded atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for !stop.Load() {
				k := rng.IntN(keys)
				key := "k" + strconv.Itoa(k) + "/"
				before := invalidated[k].Load()
				v, err := c.LoadTiered([]byte(key), func(b []byte) (tiered, bool) {
					decoded.Add(1)
					return decodeTiered(b)
				}, func() (tiered, []byte, error) {
					s := key + "|" + strconv.FormatInt(versions[k].Load(), 10) + strings.Repeat("p", rng.IntN(50))
					return tiered{s: s}, []byte(s), nil
				})
				if err != nil {
					errs <- err.Error()
					stop.Store(true)
					return
				}
				name, rest, _ := strings.Cut(v.s, "|")
				rest = strings.TrimRight(rest, "p")
				got, _ := strconv.ParseInt(rest, 10, 64)
				if name != key || got < before {
					select {
					case errs <- fmt.Sprintf("%s: loaded %q, invalidated at version %d", key, v.s, before):
					default:
					}
					stop.Store(true)
					return
				}
			}
		})
	}
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(5, 5))
		files := []*os.File{fds.good, fds.good, fds.good, fds.ro, fds.wo}
		for i := 0; !stop.Load(); i++ {
			k := rng.IntN(keys)
			nv := versions[k].Add(1) // the store changes, then the cache is told
			switch rng.IntN(20) {
			case 0:
				c.Clear()
				for j := range keys {
					bumpTo(&invalidated[j], versions[j].Load())
				}
			case 1:
				// k1/, k10/, k100/ ... share the prefix "k1"
				p := "k" + strconv.Itoa(k)[:1]
				c.DeletePrefix(p)
				for j := range keys {
					if strings.HasPrefix("k"+strconv.Itoa(j)+"/", p) {
						bumpTo(&invalidated[j], versions[j].Load())
					}
				}
			default:
				c.Delete("k" + strconv.Itoa(k) + "/")
				bumpTo(&invalidated[k], nv)
			}
			if i%50 == 0 {
				fds.use(c.tier, files[rng.IntN(len(files))])
			}
		}
	})
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	fds.use(c.tier, fds.good)
	if decoded.Load() == 0 {
		t.Error("no value was read from the second tier")
	}
	t.Logf("%d values decoded from the second tier", decoded.Load())
}

func bumpTo(a *atomic.Int64, v int64) {
	for {
		o := a.Load()
		if o >= v || a.CompareAndSwap(o, v) {
			return
		}
	}
}

// A segment a failed flush damaged is emptied, when its turn comes, by a
// walk of the index (dropSegment), whose sizeLocked takes the records of
// the segment being emptied, at offsets at or past the last segment's
// flushed bytes, for records in the buffer: t.cur is already the new
// segment, t.flushed still the last one's (appendLocked resets it only
// after emptyLocked). It reads the header of whatever the buffer holds
// there, and the tier's byte count drifts from its records (stats only:
// no value is served from it).
func TestCompactAttackDamagedSegmentBytes(t *testing.T) {
	tr := smallFileTier(t)
	fds := newAttackFds(t, tr)
	small := func(i int) []byte { return fmt.Appendf(nil, "s%03d", i) } // 6+4+50 = 60 bytes
	big := func(i int) []byte { return fmt.Appendf(nil, "b%03d", i) }   // 6+4+140 = 150 bytes
	for i := range 16 {                                                 // segment 0: 16 records, to 960
		if i == 6 {
			fds.use(tr, fds.ro) // the flush of records 3..5 fails: segment 0 damaged
		}
		if i == 7 {
			fds.use(tr, fds.good)
		}
		tr.put(small(i), nil, bytes.Repeat([]byte{'a'}, 50))
	}
	// Segments 1..15: six records of 150 each (900 bytes); the seventh
	// does not fit, so each ends at 900, and s015 (at 900 in segment 0) is
	// at or past the last one's flushed bytes when segment 0 is emptied.
	for i := range 15*6 + 1 {
		tr.put(big(i), nil, bytes.Repeat([]byte{'b'}, 140))
	}
	checkIndex(t, tr)
}

// Garbage in the dead bytes of the file (a record no index entry points
// at: a key's copy before it was put again) makes the scan that empties a
// segment (eachInFile) parse the next, live record as part of it, so that
// record's index entry is left behind when the segment is reused. The
// entry then points past the segment's used bytes: read while the segment
// is the current one, record() slices the buffer at it (a panic, or the
// buffer's leftovers parsed as a record); once the segment is refilled,
// at whatever record or value bytes lie there now, which a value put by
// anyone can make look like a record of the victim's key.
func TestCompactAttackGarbageInDeadRecordPanics(t *testing.T) {
	tr, victim := garbageInDeadRecord(t)
	// Segment 0 is the current one, empty: the victim's entry (0, 240)
	// is past its used bytes and past the buffer (200 bytes).
	if v, ok := safeGet(t, tr, victim, false); ok {
		t.Fatalf("victim read %q from an emptied segment", v)
	}
}

func TestCompactAttackGarbageInDeadRecordForged(t *testing.T) {
	tr, victim := garbageInDeadRecord(t)
	// Anyone's value, now at segment 0's offset 240, holding what looks
	// like a record of the victim's key.
	evil := []byte("EVIL-secret")
	forged := binary.LittleEndian.AppendUint16(nil, uint16(len(victim)))
	forged = binary.LittleEndian.AppendUint32(forged, uint32(len(evil)))
	forged = append(append(forged, victim...), evil...)
	tr.mu.RLock()
	at := tr.ends[0] // the filler that came first
	tr.mu.RUnlock()
	val := bytes.Repeat([]byte{'n'}, 192) // its value at at+8
	copy(val[240-(at+recordHeader+2):], forged)
	tr.put([]byte("m2"), nil, val)
	if v, ok := safeGet(t, tr, victim, false); ok {
		t.Fatalf("victim %q read %q, a value of key m2", victim, v)
	}
}

// garbageInDeadRecord fills segment 0 with 60-byte records r00..r15,
// puts r03 again elsewhere (its record at 180 is dead), writes into that
// dead record's header a length that spans the live r04 (at 240) too,
// and fills the tier until segment 0 is emptied and current again.
func garbageInDeadRecord(t *testing.T) (*compact, []byte) {
	tr := smallFileTier(t)
	key := func(i int) []byte { return fmt.Appendf(nil, "r%02d", i) } // 6+3+51 = 60 bytes
	for i := range 16 {
		tr.put(key(i), nil, bytes.Repeat([]byte{byte('A' + i)}, 51))
	}
	tr.put(key(3), nil, []byte("moved")) // to segment 1
	var h [recordHeader]byte
	binary.LittleEndian.PutUint16(h[:], 3)
	binary.LittleEndian.PutUint32(h[2:], 120-recordHeader-3) // 180..300: r04 swallowed
	if _, err := tr.file.WriteAt(h[:], 180); err != nil {
		t.Fatal(err)
	}
	checkRefs(t, tr, true) // the index is sound: only dead bytes changed
	for i := 0; ; i++ {    // until segment 0 is emptied
		tr.put(fmt.Appendf(nil, "f%04d", i), nil, bytes.Repeat([]byte{'f'}, 100))
		tr.mu.RLock()
		cur := tr.cur
		tr.mu.RUnlock()
		if cur == 0 {
			break
		}
	}
	return tr, key(4)
}

// The same garbage in a dead record's header makes a prefix deletion, which
// finds the records to drop by scanning the segments (eachInFile), skip the
// live record behind it: DeletePrefix returns, and that record is still
// indexed and served, stale. No wrap-around needed.
func TestCompactAttackGarbageInDeadRecordSurvivesDeletePrefix(t *testing.T) {
	tr := smallFileTier(t)
	key := func(i int) []byte { return fmt.Appendf(nil, "u/%02d", i) } // 6+4+50 = 60 bytes
	for i := range 8 {
		tr.put(key(i), nil, bytes.Repeat([]byte{byte('A' + i)}, 50))
	}
	tr.put(key(3), nil, []byte("moved")) // its record at 180 is dead
	tr.mu.Lock()
	tr.flushLocked() // as any later put would
	tr.mu.Unlock()
	var h [recordHeader]byte
	binary.LittleEndian.PutUint16(h[:], 4)
	binary.LittleEndian.PutUint32(h[2:], 120-recordHeader-4) // 180..300: u/04 swallowed
	if _, err := tr.file.WriteAt(h[:], 180); err != nil {
		t.Fatal(err)
	}
	checkRefs(t, tr, true) // only dead bytes changed
	tr.deletePrefix("u/")
	for i := range 8 {
		if v, ok := safeGet(t, tr, key(i), false); ok {
			t.Errorf("%s read %q after deletePrefix(\"u/\")", key(i), v)
		}
	}
}

// smallFileTier is a tier in a file of segments of 1,000 bytes and a
// buffer of 200.
func smallFileTier(t *testing.T) *compact {
	t.Helper()
	tr := newCompactFileBuf(compactSegments*1000, t.TempDir(), 200, 0)
	if tr == nil {
		t.Fatal("no file")
	}
	return tr
}

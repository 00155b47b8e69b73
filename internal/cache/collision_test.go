package cache

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// collidingKeys returns groups of keys (>=2 each) that share t.hash.
func collidingKeys(t *compact, prefix string, n, want int) [][]string {
	seen := make(map[uint32]string, n)
	groups := map[uint32][]string{}
	for i := 0; i < n && len(groups) < want; i++ {
		k := prefix + strconv.Itoa(i)
		h := t.hash([]byte(k))
		if o, ok := seen[h]; ok {
			if len(groups[h]) == 0 {
				groups[h] = []string{o}
			}
			groups[h] = append(groups[h], k)
			continue
		}
		seen[h] = k
	}
	var out [][]string
	for _, g := range groups {
		out = append(out, g)
	}
	return out
}

// checkIndex verifies the tier's invariants: every index entry points at a
// record inside a segment's used bytes, whose key hashes to that entry's
// fingerprint; bytes equals the sum of indexed records.
func checkIndex(tb testing.TB, t *compact) {
	tb.Helper()
	sum := checkRecords(tb, t)
	if sum != t.bytes {
		tb.Fatalf("bytes %d, indexed %d", t.bytes, sum)
	}
	var live [compactSegments]int
	t.idx.Each(func(_, r uint32) { s, _ := unref(r); live[s]++ })
	if live != t.live {
		tb.Fatalf("live %v, indexed %v", t.live, live)
	}
	if t.idx.Len() != countEach(t) {
		tb.Fatalf("len %d, each %d", t.idx.Len(), countEach(t))
	}
}

// checkRecords verifies that every index entry points at a readable record
// inside a segment's used bytes whose key hashes to the entry, and returns
// the bytes of those records; the caller holds the lock or owns t.
func checkRecords(tb testing.TB, t *compact) int {
	tb.Helper()
	sum := 0
	t.idx.Each(func(fp, r uint32) {
		seg, off := unref(r)
		if seg >= compactSegments || off >= t.ends[seg] || t.file == nil && t.segs[seg] == nil {
			tb.Fatalf("ref %x out of range (seg %d off %d end %d)", r, seg, off, t.ends[seg])
		}
		k, v, _, ok := t.record(r, make([]byte, 512))
		if !ok {
			tb.Fatalf("record at %d/%d unreadable", seg, off)
		}
		if off+recordHeader+len(k)+len(v) > t.ends[seg] {
			tb.Fatalf("record at %d/%d past end %d", seg, off, t.ends[seg])
		}
		if t.hash(k) != fp {
			tb.Fatalf("index fp %x holds key %q of fp %x", fp, k, t.hash(k))
		}
		sum += recordHeader + len(k) + len(v)
	})
	return sum
}

func countEach(t *compact) int { n := 0; t.idx.Each(func(uint32, uint32) { n++ }); return n }

// Two keys sharing a fingerprint share the index's slot: the later one's
// record is found, the earlier one is a miss, never the other's value; a
// delete of either never leaves the other's stale record readable, in
// place rewrites included (an attack review of offheap.Refs).
func TestFingerprintCollisions(t *testing.T) {
	tierModes(t, 1<<20, testFingerprintCollisions)
}

func testFingerprintCollisions(t *testing.T, tr *compact) {
	groups := collidingKeys(tr, "AKIAVICTIM", 1<<21, 50)
	if len(groups) == 0 {
		t.Fatal("no collisions")
	}
	for _, g := range groups {
		a, b := g[0], g[1]
		tr.put([]byte(a), nil, []byte("secret-of-"+a))
		tr.put([]byte(b), nil, []byte("secret-of-"+b))
		if v, ok := tr.get(nil, []byte(a)); ok {
			t.Fatalf("%s read %q after %s took its slot", a, v, b)
		}
		if v, ok := tr.get(nil, []byte(b)); !ok || string(v) != "secret-of-"+b {
			t.Fatalf("%s: %q %v", b, v, ok)
		}
		tr.delete(a) // a not indexed: b must stay
		if v, ok := tr.get(nil, []byte(b)); !ok || string(v) != "secret-of-"+b {
			t.Fatalf("deleting %s dropped %s: %q %v", a, b, v, ok)
		}
		tr.delete(b)
		if _, ok := tr.get(nil, []byte(b)); ok {
			t.Fatal("b survived delete")
		}
		if v, ok := tr.get(nil, []byte(a)); ok {
			t.Fatalf("a's old record came back after b's delete: %q", v)
		}
		// same-size in-place rewrite path
		tr.put([]byte(a), nil, []byte("v1-of-"+a))
		tr.put([]byte(b), nil, []byte("v1-of-"+b))
		tr.put([]byte(a), nil, []byte("v2-of-"+a))
		tr.delete(a)
		if v, ok := tr.get(nil, []byte(a)); ok {
			t.Fatalf("a readable after delete: %q", v)
		}
		if v, ok := tr.get(nil, []byte(b)); ok {
			t.Fatalf("b readable though a replaced it: %q", v)
		}
		checkIndex(t, tr)
	}
	// deletePrefix with colliding keys of different prefixes
	for _, g := range groups {
		tr.put([]byte("x/"+g[0]), nil, []byte("x"))
	}
	tr.deletePrefix("x/")
	checkIndex(t, tr)
	for _, g := range groups {
		if _, ok := tr.get(nil, []byte("x/"+g[0])); ok {
			t.Fatal("deletePrefix left a record")
		}
	}
}

// A model check: random puts, deletes, prefix deletes, gets (with refresh)
// over a universe made of colliding groups, in a small tier that evicts
// and refreshes constantly. A hit must return the key's latest value, and
// the index stays consistent with the segments.
func TestCompactCollisionsAgreeWithModel(t *testing.T) {
	for seed := range 9 {
		tr := newCompact(16 * (2000 + seed%3*700))
		if seed >= 3 { // the same in a file, flushed every 500 bytes or so; from 6 on, read through its mapping
			mapBytes := 0
			if seed >= 6 {
				mapBytes = 1 << 20
			}
			if tr = newCompactFileBuf(16*(2000+seed%3*700), t.TempDir(), 500+seed*7, mapBytes); tr == nil {
				t.Fatal("no file")
			}
		}
		groups := collidingKeys(tr, fmt.Sprintf("p%d/AKIA", seed%3), 1<<21, 60)
		var keys []string
		for _, g := range groups {
			keys = append(keys, g...)
		}
		for i := range 40 {
			keys = append(keys, fmt.Sprintf("q%d/plain%d", i%3, i))
		}
		model := map[string]string{}
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		for i := range 100_000 {
			k := keys[rng.IntN(len(keys))]
			switch op := rng.IntN(100); {
			case op < 40:
				// values of varying length, sometimes equal length (in place)
				v := fmt.Sprintf("%s=%d%s", k, i, strings.Repeat("#", rng.IntN(3)*7))
				if rng.IntN(2) == 0 {
					if old, ok := model[k]; ok {
						v = strings.Repeat("!", len(old)) // same length: rewritten in place
						v = v[:len(v)-len(strconv.Itoa(i%10))] + strconv.Itoa(i%10)
					}
				}
				tr.put([]byte(k), nil, []byte(v))
				model[k] = v
			case op < 50:
				tr.delete(k)
				delete(model, k)
			case op < 51:
				p := k[:3]
				tr.deletePrefix(p)
				for mk := range model {
					if strings.HasPrefix(mk, p) {
						delete(model, mk)
					}
				}
			default:
				v, ok := tr.get(nil, []byte(k))
				if ok {
					want, in := model[k]
					if !in || string(v) != want {
						t.Fatalf("seed %d op %d: get(%q) = %q, model %q %v", seed, i, k, v, want, in)
					}
				}
			}
			if i%5000 == 0 {
				checkIndex(t, tr)
			}
		}
		checkIndex(t, tr)
	}
}

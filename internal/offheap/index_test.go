package offheap

import (
	"math/rand/v2"
	"testing"
)

// The index agrees with a Go map through random sets, deletes, growth and
// resets, with hashes crowded into few homes so that probes run long and
// deletions shift entries across the table's end.
func TestIndexAgreesWithMap(t *testing.T) {
	for _, spread := range []uint64{1 << 62, 1 << 12, 64} {
		x := NewIndex()
		want := map[uint64]uint64{}
		rng := rand.New(rand.NewPCG(1, spread))
		for i := range 200_000 {
			h := rng.Uint64N(spread) * 0x9e3779b97f4a7c15 // crowded when spread is small
			if spread == 64 {
				h = rng.Uint64N(spread)<<40 | uint64(x.mask) // all near the table's end
			}
			switch op := rng.IntN(10); {
			case op < 5:
				r := rng.Uint64()
				x.Set(h, r)
				want[h] = r
			case op < 9:
				_, had := want[h]
				if got := x.Del(h); got != had {
					t.Fatalf("spread %d op %d: del(%x) = %v, want %v", spread, i, h, got, had)
				}
				delete(want, h)
			default:
				r, ok := x.Get(h)
				if w, had := want[h]; ok != had || r != w {
					t.Fatalf("spread %d op %d: get(%x) = %x %v, want %x %v", spread, i, h, r, ok, w, had)
				}
			}
			if i%50_000 == 49_999 {
				if x.Len() != len(want) {
					t.Fatalf("len %d, want %d", x.Len(), len(want))
				}
				for h, w := range want {
					if r, ok := x.Get(h); !ok || r != w {
						t.Fatalf("spread %d: entry %x lost (%x %v, want %x)", spread, h, r, ok, w)
					}
				}
				n := 0
				x.Each(func(h, r uint64) {
					n++
					if want[h] != r {
						t.Fatalf("each: %x -> %x, want %x", h, r, want[h])
					}
				})
				if n != len(want) {
					t.Fatalf("each visited %d, want %d", n, len(want))
				}
			}
		}
		x.Reset()
		if _, ok := x.Get(1); ok || x.Len() != 0 {
			t.Fatal("reset left entries")
		}
		x.Free()
	}
}

// BenchmarkIndexGet is a second tier's lookup across 1,000,000 entries
// (a 32 MiB table) at random, the way requests across that many roles
// read it: each lookup's key comes from the one before, so that misses do
// not overlap (as a request's reads do not), and it measures what a cache
// miss costs, and with 4 KiB pages a TLB miss too. Here (a virtual
// machine) about 270 ns a lookup; with the table in transparent huge pages
// (madvise) 250-270 ns: the miss, not the page walk, is the cost, so the
// tables keep 4 KiB pages and their resident memory exact. A request
// across 100,000 roles costs some 24 µs of CPU more than one to a role
// used a moment before: the time of some ninety such misses, and its
// profile is spread over reads of this kind (the tiers' indexes and
// records, detection's baselines, the store's pages) rather than any one.
//
//	go test ./internal/offheap -run '^$' -bench IndexGet
func BenchmarkIndexGet(b *testing.B) {
	x := NewIndex()
	defer x.Free()
	const n = 1_000_000
	hs := make([]uint64, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range hs {
		hs[i] = rng.Uint64() | 1
	}
	// One cycle through all n: entry i's value is the next's place.
	order := rng.Perm(n)
	for k, i := range order {
		x.Set(hs[i], uint64(order[(k+1)%n]))
	}
	i := uint64(order[0])
	for b.Loop() {
		next, ok := x.Get(hs[i])
		if !ok {
			b.Fatal("missing")
		}
		i = next
	}
}

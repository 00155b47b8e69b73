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

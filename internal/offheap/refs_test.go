package offheap

import (
	"math/rand/v2"
	"testing"
)

// Refs agrees with a Go map through random sets, deletes, growth and
// resets, with fingerprints crowded into few homes so that probes run long
// and deletions shift entries across the table's end.
func TestRefsAgreesWithMap(t *testing.T) {
	for _, spread := range []uint64{1 << 32, 1 << 12, 64} {
		x := NewRefs()
		want := map[uint32]uint32{}
		rng := rand.New(rand.NewPCG(1, spread))
		last := lastHomes(x) // homes at the table's end, which stays at its smallest with 8 entries
		for i := range 200_000 {
			fp := uint32(rng.Uint64N(spread))
			if spread == 64 {
				fp = last[rng.IntN(len(last))]
			}
			switch op := rng.IntN(10); {
			case op < 5:
				r := rng.Uint32N(1<<32 - 1)
				x.Set(fp, r)
				want[fp] = r
			case op < 9:
				_, had := want[fp]
				if got := x.Del(fp); got != had {
					t.Fatalf("spread %d op %d: del(%x) = %v, want %v", spread, i, fp, got, had)
				}
				delete(want, fp)
			default:
				r, ok := x.Get(fp)
				if w, had := want[fp]; ok != had || r != w {
					t.Fatalf("spread %d op %d: get(%x) = %x %v, want %x %v", spread, i, fp, r, ok, w, had)
				}
			}
			if i%50_000 == 49_999 {
				if x.Len() != len(want) {
					t.Fatalf("len %d, want %d", x.Len(), len(want))
				}
				for fp, w := range want {
					if r, ok := x.Get(fp); !ok || r != w {
						t.Fatalf("spread %d: entry %x lost (%x %v, want %x)", spread, fp, r, ok, w)
					}
				}
				n := 0
				x.Each(func(fp, r uint32) {
					n++
					if want[fp] != r {
						t.Fatalf("each: %x -> %x, want %x", fp, r, want[fp])
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

// lastHomes returns 8 fingerprints whose home is one of x's last slots.
func lastHomes(x *Refs) []uint32 {
	var fps []uint32
	for fp := uint32(1); len(fps) < 8; fp++ {
		if x.home(fp) >= x.mask-3 {
			fps = append(fps, fp)
		}
	}
	return fps
}

// A slot is one word: 200,000 entries take 4 MiB, where Index takes 8.
func TestRefsSize(t *testing.T) {
	x, y := NewRefs(), NewIndex()
	defer x.Free()
	defer y.Free()
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200_000 {
		h := rng.Uint64()
		x.Set(uint32(h>>32), 1)
		y.Set(h, 1)
	}
	if len(x.mem) != 4<<20 || len(y.mem) != 8<<20 {
		t.Fatalf("200,000 entries: Refs %d bytes, Index %d; want 4 and 8 MiB", len(x.mem), len(y.mem))
	}
}

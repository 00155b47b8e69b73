package cache

import (
	"math/rand/v2"
	"sync"
	"testing"
)

func TestRecentWindow(t *testing.T) {
	r := NewRecent(1024, 300)
	const h = 0xdeadbeef_00000042
	if r.Seen(h, 1000) {
		t.Fatal("first use seen")
	}
	for _, at := range []int64{1000, 1001, 1299} {
		if !r.Seen(h, at) {
			t.Fatalf("use at %d, within the window of 1000, not seen", at)
		}
	}
	if r.Seen(h, 1300) {
		t.Fatal("use at the window's end seen")
	}
	if !r.Seen(h, 1400) {
		t.Fatal("use within the window of the new mark (1300) not seen")
	}
	if r.Seen(h, 999) {
		t.Fatal("a use older than the mark is seen") // clock moved back: written
	}
	r.Forget(h)
	if r.Seen(h, 1000) {
		t.Fatal("forgotten key seen")
	}
	// Keys of the same bucket fill its other slots; one more takes the
	// slot marked longest ago (h's), and h is written again.
	others := []uint64{0x12345678_00000041, 0x22345678_00000040, 0x32345678_00000043}
	for i, o := range others {
		if r.Seen(o, 1001+int64(i)) {
			t.Fatalf("key %#x seen on its first use", o)
		}
	}
	if !r.Seen(h, 1004) {
		t.Fatal("a key displaced by keys of its bucket with a slot to spare")
	}
	other := uint64(0x42345678_00000042)
	if r.Seen(other, 1005) || r.Seen(h, 1006) {
		t.Fatal("a key taking the bucket's oldest slot, or the key it displaced, seen")
	}
	for i, o := range others[1:] {
		if !r.Seen(o, 1007+int64(i)) {
			t.Fatalf("key %#x, not the oldest of its bucket, displaced", o)
		}
	}
	// Forget leaves a slot another key took alone.
	r.Forget(other)
	if !r.Seen(others[1], 1010) || r.Seen(other, 1010) {
		t.Fatal("Forget dropped another key of the bucket, or kept the key")
	}
}

// TestRecentRetention checks what a table holding 0.4 keys a slot
// remembers after each was marked once: at least 95 % (one slot a key
// remembered 82 %).
func TestRecentRetention(t *testing.T) {
	const slots = 1 << 16
	r := NewRecent(slots, 300)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, slots*4/10)
	for i := range keys {
		keys[i] = rng.Uint64()
		if r.Seen(keys[i], 1000) {
			t.Fatalf("key %d seen on its first use", i)
		}
	}
	kept := 0
	for _, h := range keys {
		b := r.bucket(h)
		for i := range b {
			if b[i].Load()>>32 == h>>32|1 {
				kept++
				break
			}
		}
	}
	if got := float64(kept) / float64(len(keys)); got < 0.95 {
		t.Errorf("remembered %.1f %% of %d keys in %d slots, want at least 95 %%", 100*got, len(keys), slots)
	}
}

func TestRecentOff(t *testing.T) {
	var nilRecent *Recent
	if nilRecent.Seen(1, 1) || NewRecent(8, 0).Seen(1, 1) || NewRecent(8, 60).Seen(1, 0) {
		t.Fatal("a nil or zero-window Recent remembers")
	}
	nilRecent.Forget(1)
}

func TestRecentConcurrent(t *testing.T) {
	r := NewRecent(64, 60)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10000 {
				r.Seen(uint64(i*g)<<32|uint64(i), int64(i/100+1))
			}
		}()
	}
	wg.Wait()
}

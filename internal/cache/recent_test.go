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
	// Keys of h's bucket fill its other slots, and h stays.
	var others []uint64
	for i := range uint64(recentWays - 1) {
		others = append(others, (i+1)<<33|0x40+i) // fingerprints differ in more than the low bit
	}
	for i, o := range others {
		if r.Seen(o, 1001+int64(i)) {
			t.Fatalf("key %#x seen on its first use", o)
		}
	}
	if !r.Seen(h, 1010) {
		t.Fatal("a key displaced by keys of its bucket with a slot to spare")
	}
	// One more finds the bucket full of marks in the window: it is not
	// remembered, and displaces no one.
	other := uint64(0x42345678_00000047)
	if r.Seen(other, 1011) || r.Seen(other, 1012) {
		t.Fatal("a key with no slot in its bucket seen")
	}
	for _, o := range append(others, h) {
		if !r.Seen(o, 1013) {
			t.Fatalf("key %#x displaced by a key of a full bucket", o)
		}
	}
	// Once h's mark (1000) is out of the window, its slot is free.
	if r.Seen(other, 1300) || !r.Seen(other, 1301) {
		t.Fatal("a key did not take a slot marked out of the window")
	}
	if r.Seen(h, 1302) {
		t.Fatal("a key whose slot was taken seen")
	}
	// Forget leaves a slot another key took alone.
	r.Forget(other)
	if !r.Seen(others[len(others)-1], 1303) || r.Seen(other, 1303) {
		t.Fatal("Forget dropped another key of the bucket, or kept the key")
	}
}

// TestRecentRotation marks the keys of a table holding 0.4 keys a slot in
// rotation, as last-use recording sees a deployment whose principals each
// call every few seconds: once each is marked, a pass in the window writes
// almost none again. Letting a key take the slot marked longest ago wrote
// 4.8 % of them again at every pass (with 8 slots a bucket, 1.0 %): in a
// bucket holding more of them than its slots they took each other's.
func TestRecentRotation(t *testing.T) {
	const slots = 1 << 16
	r := NewRecent(slots, 300)
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, slots*4/10)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	now := int64(1000)
	for pass := range 4 {
		again := 0
		for i, h := range keys {
			if !r.Seen(h, now+int64(i)/10_000) {
				again++
			}
		}
		now += 5
		if pass == 0 {
			continue
		}
		if got := float64(again) / float64(len(keys)); got > 0.005 {
			t.Errorf("pass %d: %d of %d keys (%.2f %%) written again, want at most 0.5 %%", pass, again, len(keys), 100*got)
		}
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

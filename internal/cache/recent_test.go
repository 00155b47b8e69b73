package cache

import (
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
	// Another key in the same slot takes it: the first is written again.
	other := uint64(0x12345678_00000042)
	if r.Seen(other, 1000) || r.Seen(h, 1001) {
		t.Fatal("a key taking the slot, or the key it displaced, seen")
	}
	// Forget leaves a slot another key took alone.
	r.Forget(other)
	if !r.Seen(h, 1002) {
		t.Fatal("Forget of a displaced key dropped the slot's key")
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

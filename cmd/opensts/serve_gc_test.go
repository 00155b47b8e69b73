package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// The soft memory limit gives way to what the tiers' mappings may hold,
// down to its floor, and comes back when they leave them.
func TestFollowMappings(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit))
	var mapped, floor atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go followMappings(ctx, time.Millisecond, mapped.Load, floor.Load)
	waitLimit := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for debug.SetMemoryLimit(-1) != want {
			if time.Now().After(deadline) {
				t.Fatalf("limit %d, want %d", debug.SetMemoryLimit(-1), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	mapped.Store(10 << 20)
	waitLimit(memoryLimit - 2*10<<20)
	mapped.Store(200 << 20)
	waitLimit(minMemoryLimit)
	mapped.Store(0)
	waitLimit(memoryLimit)
	// The runtime's floor wins when it is higher, up to memoryLimit.
	mapped.Store(200 << 20)
	floor.Store(60 << 20)
	waitLimit(60 << 20)
	floor.Store(120 << 20)
	waitLimit(memoryLimit)
	floor.Store(0)
	waitLimit(minMemoryLimit)
}

// runtimeFloor covers the live heap with room beside it: with 64 MiB
// live it is above 64 MiB and half of it.
func TestRuntimeFloor(t *testing.T) {
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	if f := runtimeFloor(); f < 64<<20+32<<20 || f > 1<<30 {
		t.Errorf("floor %d MiB with 64 MiB live", f>>20)
	}
	runtime.KeepAlive(live)
	runtime.GC()
	if f := runtimeFloor(); f >= 64<<20+32<<20 {
		t.Errorf("floor %d MiB once the 64 MiB are garbage", f>>20)
	}
}

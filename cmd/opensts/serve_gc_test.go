package main

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// The soft memory limit gives way to what the tiers' mappings may hold,
// down to its floor, and comes back when they leave them.
func TestFollowMappings(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit))
	var mapped atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go followMappings(ctx, time.Millisecond, mapped.Load)
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
}

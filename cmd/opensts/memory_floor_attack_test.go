package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestAttackRuntimeFloorGarbage: garbage a client makes the server
// allocate (request bodies answered and dropped) does not raise the soft
// memory limit's floor between collections: the floor counts the live
// heap as of the last collection and the runtime's memory beside the
// heap's objects, not the dead objects still in the heap; and the floor
// is proportional to the live heap (about 1.5x and some MiB), with no
// term a client can grow without holding the memory itself.
// floorSink keeps an allocation from being optimized away.
var floorSink []byte

func TestAttackRuntimeFloorGarbage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))
	runtime.GC()
	base := runtimeFloor()
	for range 96 {
		floorSink = make([]byte, 1<<20) // on the heap, garbage at the next
	}
	floorSink = nil
	if f := runtimeFloor(); f > base+8<<20 {
		t.Errorf("96 MiB of garbage raised the floor from %d to %d MiB", base>>20, f>>20)
	}
	live := make([][]byte, 32)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	f := runtimeFloor()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// At most the runtime's memory beside the heap, 1.5x the live heap,
	// and 4 MiB; the runtime's own beside the heap is small here.
	if f < 48<<20 || f > int64(ms.HeapAlloc)*3/2+int64(ms.Sys-ms.HeapSys)+16<<20 {
		t.Errorf("floor %d MiB with %d MiB live (sys beside the heap %d MiB)", f>>20, ms.HeapAlloc>>20, (ms.Sys-ms.HeapSys)>>20)
	}
	runtime.KeepAlive(live)
}

// TestAttackFloorOutlivesTheLoad: a client holding memory live (150
// slow requests with 1 MiB bodies in flight held some 150 MiB of heap)
// raised the uncapped floor to 1.5x it, and once the requests ended the
// limit stayed there: the floor counts the live heap of the last
// collection, and with GOGC=1000 under a limit of 1.5x that heap no
// collection came until the heap grew by half again or the runtime forced
// one (every 2 minutes), so the process stayed at 199 MiB RSS for those 2
// minutes (86 MiB within 3 s before the floor). Capped at memoryLimit,
// the limit is back under it once the memory is garbage.
func TestAttackFloorOutlivesTheLoad(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1000)) // as serve's tuneGC
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit))
	debug.SetMemoryLimit(1 << 40) // no collections while it is allocated
	held := make([][]byte, 128)
	for i := range held {
		held[i] = make([]byte, 1<<20)
	}
	runtime.GC()                      // a collection while the client's memory is live
	debug.SetMemoryLimit(memoryLimit) // as serve's tuneGC, before followMappings
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go followMappings(ctx, 10*time.Millisecond, func() int64 { return 0 }, runtimeFloor)
	// (Under the load the limit may rise above memoryLimit, or, capped,
	// not: either way it must come back under it once the load ends.)
	time.Sleep(200 * time.Millisecond)
	t.Logf("limit under the load: %d MiB", debug.SetMemoryLimit(-1)>>20)
	// Settled: the limit is the floor's, and the last collection (none
	// pending, as there were while the limit was below the live heap)
	// saw the client's memory live, as in the server under the load.
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	runtime.KeepAlive(held) // the requests end: held is garbage from here
	deadline := time.Now().Add(2 * time.Second)
	for debug.SetMemoryLimit(-1) > memoryLimit {
		if time.Now().After(deadline) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			t.Fatalf("2 s after the client's 128 MiB became garbage the soft limit is still %d MiB (heap in use %d MiB): the floor holds up the memory it was raised for",
				debug.SetMemoryLimit(-1)>>20, ms.HeapInuse>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package audit

import (
	"testing"
	"time"
)

// The writer waits longer between writes under sustained load, so that
// each write carries about writeTarget bytes, but never so long that the
// queue could fill, and not at all longer at a light load.
func TestNextPause(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name           string
		n, size, queue int
		gathered, want time.Duration
	}{
		{"one event", 1, 1400, DefaultQueue, 2 * ms, writePause},
		{"light load after a long idle", busyBatch - 1, 15 * 1400, DefaultQueue, time.Minute, writePause},
		{"sustained: the rate brings writeTarget", 64, 64 << 10, DefaultQueue, 2 * ms, 16 * ms},
		{"sustained, faster", 256, 256 << 10, DefaultQueue, 2 * ms, 4 * ms},
		{"bounded by maxWritePause", 20, 20 << 10, DefaultQueue, 2 * ms, maxWritePause},
		{"bounded by the queue: at most half of it in a pause", 64, 64 << 10, 256, 2 * ms, 4 * ms},
		{"never under writePause", 1000, 4 << 20, DefaultQueue, 2 * ms, writePause},
		{"nothing measured", 64, 0, DefaultQueue, 0, writePause},
	} {
		if got := nextPause(c.n, c.size, c.queue, c.gathered); got != c.want {
			t.Errorf("%s: nextPause(%d, %d, %d, %v) = %v, want %v", c.name, c.n, c.size, c.queue, c.gathered, got, c.want)
		}
	}
}

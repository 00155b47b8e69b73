package audit

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailureAfterARotationInABatch: a batch fills a file, which is
// sealed, and the next file's disk fails. The events written to the sealed
// file before the rotation are in the trail: LookupEvents finds them, the
// sinks get them, a strict request whose event is there is not failed, and
// they are not counted as dropped.
func TestFailureAfterARotationInABatch(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		dir := t.TempDir()
		var fail atomic.Bool
		fail.Store(true)
		var sunk atomic.Int64
		tr, err := Open(Config{Dir: dir, Key: testKey, MaxBytes: 4 << 10, Strict: strict, StrictWait: 5 * time.Second,
			Sink: func([]byte, []byte) { sunk.Add(1) },
			wrap: func(w io.Writer) io.Writer {
				if f, ok := w.(*os.File); ok && strings.HasSuffix(f.Name(), FileName(2)) {
					return failingWriter{w, &fail} // the second file's disk fails
				}
				return w
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// One event, then many at once while the writer pauses after it:
		// they are one batch, and it crosses the rotation.
		if err := tr.Record(ctx, exchange(0)); err != nil {
			t.Fatal(err)
		}
		if err := tr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		const n = 40
		var failed atomic.Int64
		var done = make(chan struct{}, n)
		for i := 1; i < n; i++ {
			if strict {
				go func() {
					if tr.Record(ctx, exchange(i)) != nil {
						failed.Add(1)
					}
					done <- struct{}{}
				}()
				continue
			}
			_ = tr.Record(ctx, exchange(i))
			done <- struct{}{}
		}
		for i := 1; i < n; i++ {
			<-done
		}
		_ = tr.Flush(ctx)
		written := eventsIn(t, filepath.Join(dir, FileName(1)))
		if written < 2 || written >= n {
			t.Fatalf("strict=%v: %d events in the first file: the batch did not cross the rotation", strict, written)
		}
		if got := countEvents(t, tr, Filter{}); got != written {
			t.Errorf("strict=%v: LookupEvents finds %d events, the sealed file holds %d", strict, got, written)
		}
		if got := sunk.Load(); got != int64(written) {
			t.Errorf("strict=%v: the sink got %d events, the sealed file holds %d", strict, got, written)
		}
		if !strict && tr.Dropped() != uint64(n-written) {
			t.Errorf("dropped %d, want %d (of %d, %d written)", tr.Dropped(), n-written, n, written)
		}
		if strict && failed.Load() != int64(n-written) {
			t.Errorf("strict: %d requests failed, want %d (of %d, %d written)", failed.Load(), n-written, n, written)
		}
		fail.Store(false)
		tr.Close()
	}
}

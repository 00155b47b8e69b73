package pgsink

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStressRefusedBigFlakyClose: concurrent writers of ordinary,
// refused (row-by-row fallback), chunk-sized and larger-than-a-chunk
// records, with the database going down and up, Flushes, and a Close with
// a short deadline while writers still write. The process must not fault;
// afterwards every Write is accounted for exactly once (inserted or
// dropped), nothing stays counted in the buffer, and the table holds no
// more than was inserted or cut short.
func TestStressRefusedBigFlakyClose(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	p, s := startBehindProxy(t, dsn, true, 6<<20, 25)
	var writes, accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pad := func(l []byte, n int) []byte {
		// a longer userAgent, still valid JSON
		return bytes.Replace(l, []byte(`"userAgent":"t"`), append(append([]byte(`"userAgent":"`), bytes.Repeat([]byte("x"), n)...), '"'), 1)
	}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				l := line("333333333333", w*1_000_000+i)
				switch i % 17 {
				case 3:
					l = bytes.Replace(l, []byte(`"userAgent":"t"`), []byte("\"userAgent\":\"t\xff\""), 1) // refused
				case 7:
					l = pad(l, queueChunk-4-len(l)-1) // about a chunk
				case 11:
					l = pad(l, queueChunk+5000) // its own chunk
				}
				writes.Add(1)
				if s.Write(l) {
					accepted.Add(1)
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	for range 6 {
		time.Sleep(150 * time.Millisecond)
		p.up.Store(!p.up.Load())
		fctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_ = s.Flush(fctx)
		cancel()
	}
	p.up.Store(true)
	time.Sleep(200 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	s.Close(cctx)
	cancel()
	close(stop)
	wg.Wait()
	s.Close(ctx) // a second Close
	if s.Write(line("333333333333", 99)) {
		t.Fatal("Write after Close accepted")
	}
	writes.Add(1)
	s.mu.Lock()
	b, qn := s.bytes, s.queue.Len()
	s.mu.Unlock()
	if b != 0 || qn != 0 || s.Backlog() != 0 {
		t.Fatalf("after Close: bytes %d, queued %d, backlog %d", b, qn, s.Backlog())
	}
	if got := int64(s.Inserted() + s.Dropped()); got != writes.Load() {
		t.Fatalf("inserted %d + dropped %d = %d, writes %d (accepted %d)", s.Inserted(), s.Dropped(), got, writes.Load(), accepted.Load())
	}
	if s.handled.Load() != uint64(accepted.Load()) {
		t.Fatalf("handled %d, accepted %d", s.handled.Load(), accepted.Load())
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, distinct int64
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id) FROM audit_events WHERE account = '333333333333'`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	t.Logf("writes %d accepted %d inserted %d dropped %d failures %d rows %d", writes.Load(), accepted.Load(), s.Inserted(), s.Dropped(), s.Failures(), rows)
	if rows != distinct || rows < int64(s.Inserted()) || rows > accepted.Load() {
		t.Fatalf("%d rows (%d distinct), inserted %d, accepted %d", rows, distinct, s.Inserted(), accepted.Load())
	}
}

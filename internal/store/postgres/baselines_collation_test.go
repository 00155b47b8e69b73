package postgres

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two MergeBaselines whose subjects fall into different batches lock their
// rows in one order, byte order, whatever the column's collation: on a
// database whose collation is not byte order (an en_US locale's), the
// SELECT ... FOR UPDATE locked each batch in the collation's order while
// the batches were cut in byte order, and two such merges deadlocked (a
// retry after deadlock_timeout; five in a row failed the flush). Found by
// a review as an attacker.
func TestMergeBaselinesLockOrderUnderACollation(t *testing.T) {
	ctx := t.Context()
	s, dsn := attackStore(t, "collation")
	admin := connect(t, dsn)
	if _, err := admin.Exec(ctx, `ALTER TABLE detect_baselines ALTER COLUMN subject TYPE text COLLATE "en-US-x-icu"`); err != nil {
		t.Fatal(err)
	}
	k := func(s string) string { return "role:arn:aws:iam::111111111111:role/" + s }
	// In bytes B < _a < a; in the collation _a < a < B. 199 fillers and B
	// make the first batch of the large merge, _a and a its second.
	a, B, ua := k("a"), k("B"), k("_a")
	var big []string
	for i := range 199 {
		big = append(big, k(fmt.Sprintf("A%03d", i)))
	}
	big = append(big, B, ua, a)
	all := map[string][]byte{}
	for _, x := range big {
		all[x] = []byte{1}
	}
	if err := s.PutBaselines(ctx, all, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Another transaction holds _a: the large merge stops after its first
	// batch, holding B.
	xtx, err := connect(t, dsn).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xtx.Exec(ctx, `SELECT 1 FROM detect_baselines WHERE subject = $1 FOR UPDATE`, ua); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	merge := func(st map[string][]byte) (map[string][]byte, error) {
		calls.Add(1)
		out := map[string][]byte{}
		for k, v := range st {
			out[k] = append(v[:len(v):len(v)], 2)
		}
		return out, nil
	}
	waiting := func(n int) {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var got int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE 'SELECT subject, data FROM detect_baselines%'`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got >= n {
				return
			}
		}
		t.Fatalf("never %d merges waiting for a lock", n)
	}
	retried := s.retried.Load()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = s.MergeBaselines(context.Background(), big, time.Now(), merge) })
	waiting(1)
	wg.Go(func() { errs[1] = s.MergeBaselines(context.Background(), []string{a, B}, time.Now(), merge) })
	waiting(2)
	if err := xtx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("merges: %v", errs)
	}
	if n := s.retried.Load() - retried; n != 0 || calls.Load() != 2 {
		t.Errorf("the merges deadlocked: %d transactions run again, %d merges for 2", n, calls.Load())
	}
	got, err := s.GetBaselines(ctx, []string{a, B})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{a, B} {
		if !bytes.Equal(got[k], []byte{1, 2, 2}) {
			t.Errorf("%s holds %v, want both merges' [1 2 2]", k, got[k])
		}
	}
}

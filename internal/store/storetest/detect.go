package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testDetectState(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	k := []byte("rule|subject-0123456789abcdef")
	ok(t, s.ClaimAlert(ctx, k, at(15*time.Minute), t0))
	isErr(t, s.ClaimAlert(ctx, k, at(20*time.Minute), at(time.Minute)), store.ErrAlreadyExists, "a live claim")
	ok(t, s.ClaimAlert(ctx, k, at(40*time.Minute), at(16*time.Minute)))
	n, err := s.PruneAlertClaims(ctx, at(41*time.Minute))
	ok(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	// Concurrent claims of one key (one per node): exactly one wins.
	k2 := []byte("rule|subject-two")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if err := s.ClaimAlert(ctx, k2, at(time.Hour), t0); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !store.IsExists(err) {
				t.Errorf("concurrent claim: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent claims won, want 1", wins)
	}

	got, err := s.GetBaselines(ctx, []string{"role:a"})
	ok(t, err)
	if len(got) != 0 {
		t.Errorf("baselines before any: %v", got)
	}
	many := map[string][]byte{}
	var subjects []string
	for i := range 450 { // more than one query's batch
		k := fmt.Sprintf("principal:arn:aws:iam::111111111111:user/u%d", i)
		many[k] = []byte(fmt.Sprintf(`{"n":%d}`, i))
		subjects = append(subjects, k)
	}
	ok(t, s.PutBaselines(ctx, many, t0))
	ok(t, s.PutBaselines(ctx, map[string][]byte{subjects[7]: []byte(`{"n":"replaced"}`)}, at(time.Minute)))
	got, err = s.GetBaselines(ctx, append(subjects, "role:none"))
	ok(t, err)
	if len(got) != 450 || string(got[subjects[7]]) != `{"n":"replaced"}` || string(got[subjects[449]]) != `{"n":449}` {
		t.Errorf("baselines: %d, %s, %s", len(got), got[subjects[7]], got[subjects[449]])
	}
}

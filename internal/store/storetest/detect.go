package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// MergeBaselines gives merge the stored baselines of those subjects that
// have one and writes what it returns; a subject it writes nothing for is
// left without one, and an error from it writes nothing. Merges of the
// same subjects at once (the nodes of a deployment flushing) each see
// what the ones before them wrote, so that none is lost, whether the
// subject was stored before or not.
func testBaselinesMerged(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	subj := func(i int) string { return fmt.Sprintf("principal:arn:aws:iam::111111111111:user/m%d", i) }
	ok(t, s.PutBaselines(ctx, map[string][]byte{subj(0): []byte("a")}, t0))
	var seen map[string][]byte
	ok(t, s.MergeBaselines(ctx, []string{subj(0), subj(1), subj(0)}, t0, func(st map[string][]byte) (map[string][]byte, error) {
		seen = maps.Clone(st)
		return map[string][]byte{subj(0): append(slices.Clip(st[subj(0)]), 'b'), subj(1): []byte("c")}, nil
	}))
	same(t, "what merge was given", map[string][]byte{subj(0): []byte("a")}, seen)
	ok(t, s.MergeBaselines(ctx, []string{subj(2)}, t0, func(map[string][]byte) (map[string][]byte, error) { return nil, nil }))
	// A nil or empty value is no baseline: nothing is written.
	ok(t, s.MergeBaselines(ctx, []string{subj(4), subj(5)}, t0, func(map[string][]byte) (map[string][]byte, error) {
		return map[string][]byte{subj(4): nil, subj(5): {}}, nil
	}))
	boom := errors.New("boom")
	err := s.MergeBaselines(ctx, []string{subj(0), subj(3)}, t0, func(map[string][]byte) (map[string][]byte, error) {
		return map[string][]byte{subj(0): []byte("x"), subj(3): []byte("y")}, boom
	})
	isErr(t, err, boom, "a merge that failed")
	got, err := s.GetBaselines(ctx, []string{subj(0), subj(1), subj(2), subj(3), subj(4), subj(5)})
	ok(t, err)
	same(t, "baselines after the merges", map[string][]byte{subj(0): []byte("ab"), subj(1): []byte("c")}, got)

	// More subjects than one statement's batch, half of them written.
	var many []string
	for i := range 450 {
		many = append(many, subj(100+i))
	}
	ok(t, s.MergeBaselines(ctx, many, t0, func(st map[string][]byte) (map[string][]byte, error) {
		if len(st) != 0 {
			return nil, fmt.Errorf("given %d stored baselines of new subjects", len(st))
		}
		out := map[string][]byte{}
		for i, k := range many {
			if i%2 == 0 {
				out[k] = []byte(k)
			}
		}
		return out, nil
	}))
	got, err = s.GetBaselines(ctx, many)
	ok(t, err)
	if len(got) != 225 || string(got[many[0]]) != many[0] || got[many[1]] != nil || string(got[many[448]]) != many[448] {
		t.Errorf("%d of 450 subjects stored after a merge that wrote 225", len(got))
	}

	// Writers merging the same subjects at once, one stored and two new
	// (the stored one's lock orders them), then two new ones alone: each
	// adds its own byte, and every subject ends with all of them.
	for _, shared := range [][]string{{subj(0), subj(10), subj(11)}, {subj(20), subj(21)}} {
		const writers = 8
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				err := s.MergeBaselines(ctx, shared, at(time.Minute), func(st map[string][]byte) (map[string][]byte, error) {
					out := map[string][]byte{}
					for _, k := range shared {
						out[k] = append(slices.Clip(st[k]), byte('A'+w))
					}
					return out, nil
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
			})
		}
		wg.Wait()
		got, err := s.GetBaselines(ctx, shared)
		ok(t, err)
		for _, k := range shared {
			for w := range writers {
				if !bytes.Contains(got[k], []byte{byte('A' + w)}) {
					t.Errorf("%s holds %q: writer %d's merge was lost", k, got[k], w)
				}
			}
		}
	}
}

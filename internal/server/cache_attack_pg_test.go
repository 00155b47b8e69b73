package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/sharedtest"
)

// TestRevokeThroughOtherNodeDuringStorm: two servers share one PostgreSQL
// database; node B serves AssumeRole in rotation over more roles than its
// first tiers hold while node A changes trust policies and deactivates
// keys. Once B's change feed applied a revocation, B refuses the entity on
// every later request: no window, first or second tier serves the old role
// or key.
func TestRevokeThroughOtherNodeDuringStorm(t *testing.T) {
	dsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "srv")
	pg := func(c *config.Config) {
		c.Store, c.DatabaseURL, c.RefreshInterval = "postgres", dsn, 200*time.Millisecond
	}
	a := benchServer(t, pg)
	b := benchServer(t, pg)
	const n = 12000
	reqs := scaleEntities(t, a, n)
	h := b.Handler()
	for _, r := range reqs {
		if st := serveStatus(h, r); st != 200 {
			t.Fatalf("warm-up AssumeRole on node B: status %d", st)
		}
	}
	refused := make([]atomic.Bool, n) // B refused it once after its revocation
	var stop atomic.Bool
	// Held by the revocations in every other round: the storm stops while
	// the feed applies the change, so that what B served just before is
	// still in its window (which the storm would otherwise turn over).
	var pause sync.RWMutex
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; !stop.Load(); i = (i + 7919) % n {
				pause.RLock()
				was := refused[i].Load()
				st := serveStatus(h, reqs[i])
				pause.RUnlock()
				if was && st == 200 {
					t.Errorf("entity %d: node B allowed AssumeRole after it had refused it", i)
					stop.Store(true)
				}
			}
		})
	}
	ctx := context.Background()
	for round, k := 0, 5; k < n && !t.Failed(); round, k = round+1, k+1499 {
		if round%4 < 2 {
			pause.Lock()
		}
		for range 2 {
			if st := serveStatus(h, reqs[k]); st != 200 {
				t.Fatalf("entity %d before its revocation: status %d", k, st)
			}
		}
		if k%2 == 0 {
			r, err := a.store.GetRole(ctx, benchAccount, fmt.Sprintf("r%07d", k))
			if err != nil {
				t.Fatal(err)
			}
			r.TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + fmt.Sprintf("AIDASCALEBENCH%07d", (k+1)%n) + `"},"Action":"sts:AssumeRole"}]}`
			if err := a.store.UpdateRole(ctx, r); err != nil {
				t.Fatal(err)
			}
		} else {
			key, err := a.store.GetAccessKey(ctx, fmt.Sprintf("AKIASCALEBEN%08d", k))
			if err != nil {
				t.Fatal(err)
			}
			key.Status = "Inactive"
			if err := a.store.UpdateAccessKey(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		// Node A refuses at once; node B within its feed's bound.
		if st := serveStatus(a.Handler(), reqs[k]); st == 200 {
			t.Errorf("entity %d: node A allowed AssumeRole after its own revocation", k)
		}
		// Node B, once its feed applied the change, refuses at once.
		target := feedSeq(a)
		deadline := time.Now().Add(10 * time.Second)
		for feedSeq(b) < target {
			if time.Now().After(deadline) {
				t.Fatalf("entity %d: node B's feed did not apply node A's revocation in 10s", k)
			}
			time.Sleep(10 * time.Millisecond)
		}
		refused[k].Store(true)
		for j := range 3 {
			if st := serveStatus(h, reqs[k]); st == 200 {
				t.Errorf("entity %d: node B's AssumeRole %d after its feed applied the revocation allowed", k, j+1)
			}
		}
		if round%4 < 2 {
			pause.Unlock()
		}
	}
	stop.Store(true)
	wg.Wait()
}

// feedSeq returns the newest change s's feed applied.
func feedSeq(s *Server) int64 {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.feed.last
}

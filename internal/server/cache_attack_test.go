package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// serveStatus serves a pre-signed request of scaleEntities and returns its
// status.
func serveStatus(h http.Handler, r *http.Request) int {
	body := r.Context().Value(bodyKey{}).([]byte)
	req := r.Clone(r.Context())
	req.Body = httpBody(body)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	return w.status
}

// TestRevokeDuringAssumeRoleStorm: with AssumeRole in rotation over more
// roles than the first tiers hold (so that users, keys and roles are served
// by the windows and the second tiers), a role whose trust policy stops
// naming its user, and a user whose key is deactivated, are refused by the
// very next request after the write returned, and by every later one,
// however recently they were served.
func TestRevokeDuringAssumeRoleStorm(t *testing.T) {
	s := benchServer(t)
	const n = 12000
	reqs := scaleEntities(t, s, n)
	h := s.Handler()
	for _, r := range reqs {
		if st := serveStatus(h, r); st != 200 {
			t.Fatalf("warm-up AssumeRole: status %d", st)
		}
	}
	if st := s.CacheStats(); st.AuthzCompact.Entries == 0 || st.KeysCompact.Entries == 0 {
		t.Fatalf("second tiers unused: %+v", st)
	}
	revoked := make([]atomic.Bool, n)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; !stop.Load(); i = (i + 7919) % n {
				was := revoked[i].Load()
				st := serveStatus(h, reqs[i])
				if was && st == 200 {
					t.Errorf("entity %d: AssumeRole allowed after its revocation", i)
					stop.Store(true)
				}
			}
		})
	}
	ctx := context.Background()
	for k := 3; k < n && !t.Failed(); k += 211 {
		// Served just before, so that its user, key and role sit in the
		// first tier, the window or the second tier.
		for range 2 {
			if st := serveStatus(h, reqs[k]); st != 200 {
				t.Fatalf("entity %d before its revocation: status %d", k, st)
			}
		}
		if k%2 == 0 {
			r, err := s.store.GetRole(ctx, benchAccount, fmt.Sprintf("r%07d", k))
			if err != nil {
				t.Fatal(err)
			}
			r.TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + fmt.Sprintf("AIDASCALEBENCH%07d", (k+1)%n) + `"},"Action":"sts:AssumeRole"}]}`
			if err := s.store.UpdateRole(ctx, r); err != nil {
				t.Fatal(err)
			}
		} else {
			key, err := s.store.GetAccessKey(ctx, fmt.Sprintf("AKIASCALEBEN%08d", k))
			if err != nil {
				t.Fatal(err)
			}
			key.Status = "Inactive"
			if err := s.store.UpdateAccessKey(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		revoked[k].Store(true)
		for j := range 3 {
			if st := serveStatus(h, reqs[k]); st == 200 {
				t.Errorf("entity %d: AssumeRole %d after its revocation allowed", k, j+1)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}

package server

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// revStore is a store of revocations whose ListRevocations can be held,
// once, after it read the set (the snapshot an older reload read).
type revStore struct {
	store.Store
	mu      sync.Mutex
	entries []store.Revocation
	hold    bool
	held    chan struct{} // the held read has its snapshot
	release chan struct{}
}

func (s *revStore) ListRevocations(ctx context.Context, account string, now time.Time) ([]store.Revocation, error) {
	s.mu.Lock()
	out := append([]store.Revocation(nil), s.entries...)
	hold := s.hold
	s.hold = false
	s.mu.Unlock()
	if hold {
		close(s.held)
		<-s.release
	}
	return out, nil
}

// TestRevocationReloadsDoNotRegress: the revoking node's reload (Applied,
// after the entry committed) and a reload of the run loop (or of another
// request's Applied) that read the set before the commit may run at once;
// the one that read the older set must not be the one installed last.
// Otherwise a session revoked by a RevokeSessions that returned is
// accepted again until the next reload (up to a minute when the feed's
// signal was already consumed).
func TestRevocationReloadsDoNotRegress(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	st := &revStore{hold: true, held: make(chan struct{}), release: make(chan struct{})}
	r := newRevocations(st, func() time.Time { return now }, prometheus.NewRegistry())
	ctx := context.Background()

	// The older reload reads the set (empty) and is held before it
	// installs it.
	olderDone := make(chan error, 1)
	go func() { olderDone <- r.reload(ctx) }()
	<-st.held

	// The revocation commits; the revoking request's reload runs.
	st.mu.Lock()
	st.entries = append(st.entries, store.Revocation{ID: "rev-1", Account: "111122223333", Kind: session.RevokeSession,
		Target: "ASIAREVOKED", IssuedBefore: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	st.mu.Unlock()
	newerDone := make(chan error, 1)
	go func() { newerDone <- r.reload(ctx) }()
	// Either the newer reload completes, or it waits for the older one.
	waitNewer(t, newerDone)

	close(st.release)
	if err := <-olderDone; err != nil {
		t.Fatal(err)
	}
	if err := <-newerDone; err != nil {
		t.Fatal(err)
	}
	s := &session.Session{AccessKeyID: "ASIAREVOKED", Account: "111122223333", IssuedAt: now.Add(-time.Minute), Expires: now.Add(time.Hour)}
	if !r.set.Revoked(s, now) {
		t.Fatal("the session is accepted after its revocation was applied: the older reload's set was installed last")
	}
}

// waitNewer waits until the reload whose result is done has finished, or
// is waiting for a lock in reload.
func waitNewer(t *testing.T, done chan error) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if len(done) > 0 {
			return
		}
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "(*revocations).reload") && strings.Contains(g, "sync.(*Mutex).Lock") && !strings.Contains(g, "ListRevocations") {
				return
			}
		}
	}
	t.Fatal("the newer reload neither finished nor waited")
}

// TestFeedGapAppliesRevocations: a node that fell behind the change feed
// (store.ErrChangesPruned: here its position is past the newest change)
// clears its caches and skips to the feed's end; a revocation among what
// it skipped is applied then, not at the next minute's reload of the set.
func TestFeedGapAppliesRevocations(t *testing.T) {
	s := benchServer(t)
	ctx := context.Background()
	s.feed.mu.Lock()
	s.feed.last = 1 << 40
	s.feed.mu.Unlock()
	now := s.now()
	// Written to the store directly, as another node would: the change
	// hook reads the feed, which is a gap.
	if err := s.store.CreateRevocation(ctx, store.Revocation{ID: "rev-gap", Account: benchAccount, Kind: session.RevokeSession,
		Target: "ASIAGAPREVOKED", IssuedBefore: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sess := &session.Session{AccessKeyID: "ASIAGAPREVOKED", Account: benchAccount, IssuedAt: now.Add(-time.Minute), Expires: now.Add(time.Hour)}
	for deadline := time.Now().Add(10 * time.Second); !s.revs.set.Revoked(sess, now); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the revocation skipped by the feed's gap is not applied 10 s later")
		}
	}
}

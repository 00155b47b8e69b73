package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testThrottles(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	limit := store.ThrottleLimit{Max: 3, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
	k := []byte("mfa|0123456789abcdef0123456789abcdef")
	_, err := s.GetThrottle(ctx, k)
	isErr(t, err, store.ErrNotFound, "a key never failed")
	ok(t, s.ResetThrottle(ctx, k)) // absent: no error

	fail := func(at time.Time) store.Throttle {
		t.Helper()
		th, err := s.FailThrottle(ctx, k, limit, at)
		ok(t, err)
		return th
	}
	ms := func(d time.Duration) time.Time { return at(d).Truncate(time.Millisecond) }
	// Two failures in one window, then the window ends: a new one starts.
	if th := fail(at(0)); th.Failures != 1 || !th.WindowStart.Equal(ms(0)) || th.Locked(at(0)) {
		t.Fatalf("first failure: %+v", th)
	}
	if th := fail(at(time.Minute)); th.Failures != 2 || !th.WindowStart.Equal(ms(0)) {
		t.Fatalf("second failure: %+v", th)
	}
	if th := fail(at(5 * time.Minute)); th.Failures != 1 || !th.WindowStart.Equal(ms(5*time.Minute)) {
		t.Fatalf("failure after the window: %+v", th)
	}
	got, err := s.GetThrottle(ctx, k)
	ok(t, err)
	if got.Failures != 1 || got.Locked(at(5*time.Minute)) {
		t.Fatalf("get: %+v", got)
	}
	// The third failure within the window locks the key for the lockout.
	fail(at(6 * time.Minute))
	th := fail(at(7 * time.Minute))
	if th.Failures != 0 || !th.Locked(at(7*time.Minute)) || !th.LockedUntil.Equal(ms(22*time.Minute)) {
		t.Fatalf("lockout: %+v", th)
	}
	if got, _ := s.GetThrottle(ctx, k); !got.Locked(at(22*time.Minute-time.Millisecond)) || got.Locked(at(22*time.Minute)) {
		t.Fatalf("lockout as read: %+v", got)
	}
	// Pruning keeps state that still matters and removes what ended.
	n, err := s.PruneThrottles(ctx, at(21*time.Minute))
	ok(t, err)
	if n != 0 {
		t.Fatalf("pruned %d during the lockout", n)
	}
	n, err = s.PruneThrottles(ctx, at(23*time.Minute))
	ok(t, err)
	if n != 1 {
		t.Fatalf("pruned %d after the lockout, want 1", n)
	}
	_, err = s.GetThrottle(ctx, k)
	isErr(t, err, store.ErrNotFound, "a pruned key")
	// Reset forgets failures.
	fail(at(30 * time.Minute))
	fail(at(30 * time.Minute))
	ok(t, s.ResetThrottle(ctx, k))
	if th := fail(at(31 * time.Minute)); th.Failures != 1 {
		t.Fatalf("after reset: %+v", th)
	}
	// A limit of one locks at the first failure.
	one := []byte("ldap|one")
	if th, err := s.FailThrottle(ctx, one, store.ThrottleLimit{Max: 1, Window: time.Minute, Lockout: time.Minute}, t0); err != nil || !th.Locked(t0) || th.Failures != 0 {
		t.Fatalf("max 1: %+v, %v", th, err)
	}

	// Concurrent failures of one key (as from several nodes) are each
	// counted: 40 failures with Max 10 make exactly one lockout.
	race := []byte("ldap|race")
	big := store.ThrottleLimit{Max: 10, Window: time.Hour, Lockout: time.Hour}
	var wg sync.WaitGroup
	var mu sync.Mutex
	lockouts := 0
	for range 8 {
		wg.Go(func() {
			for range 5 {
				th, err := s.FailThrottle(ctx, race, big, t0)
				if err != nil {
					t.Errorf("concurrent failure: %v", err)
					return
				}
				if th.Failures == 0 {
					mu.Lock()
					lockouts++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	got, err = s.GetThrottle(ctx, race)
	ok(t, err)
	// The tenth starts the lockout; the thirty after it are counted and
	// start no other (each would let a guess through to a comparison).
	if lockouts != 1 || got.Failures != 30 || !got.Locked(t0) {
		t.Fatalf("40 concurrent failures, max 10: %d lockouts, state %+v", lockouts, got)
	}
	// Keys are independent.
	other, err := s.FailThrottle(ctx, []byte("ldap|other"), big, t0)
	ok(t, err)
	if other.Failures != 1 {
		t.Fatalf("another key: %+v", other)
	}
	testRefundThrottle(t, s)
}

// testRefundThrottle: a refund takes back one counted attempt, lifts the
// lockout the attempt started when nothing was counted since, and changes
// nothing once the window or lockout is another one.
func testRefundThrottle(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	limit := store.ThrottleLimit{Max: 3, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
	k := []byte("ldap|refund")
	ok(t, s.RefundThrottle(ctx, k, limit, store.Throttle{Failures: 1, WindowStart: t0})) // absent: no error
	fail := func(at time.Time) store.Throttle {
		t.Helper()
		th, err := s.FailThrottle(ctx, k, limit, at)
		ok(t, err)
		return th
	}
	state := func() store.Throttle {
		t.Helper()
		th, err := s.GetThrottle(ctx, k)
		ok(t, err)
		return th
	}
	fail(at(0))
	a := fail(at(time.Second))
	ok(t, s.RefundThrottle(ctx, k, limit, a))
	if got := state(); got.Failures != 1 || got.Locked(at(time.Second)) {
		t.Fatalf("after a refund of the second of two: %+v", got)
	}
	// The attempt that started a lockout, refunded before any other
	// failure: no lockout, and the next failure starts it.
	fail(at(2 * time.Second))
	trip := fail(at(3 * time.Second))
	if trip.Failures != 0 || !trip.Locked(at(3*time.Second)) {
		t.Fatalf("third failure: %+v", trip)
	}
	ok(t, s.RefundThrottle(ctx, k, limit, trip))
	if got := state(); got.Failures != 2 || got.Locked(at(3*time.Second)) {
		t.Fatalf("after the refund of the lockout's start: %+v", got)
	}
	if th := fail(at(4 * time.Second)); th.Failures != 0 || !th.Locked(at(4*time.Second)) {
		t.Fatalf("the failure after the refund: %+v", th)
	}
	// A failure counted during the lockout since: it stands.
	k2 := []byte("ldap|refund2")
	for range 2 {
		_, err := s.FailThrottle(ctx, k2, limit, t0)
		ok(t, err)
	}
	trip, err := s.FailThrottle(ctx, k2, limit, t0)
	ok(t, err)
	_, err = s.FailThrottle(ctx, k2, limit, at(time.Second))
	ok(t, err)
	ok(t, s.RefundThrottle(ctx, k2, limit, trip))
	if got, err := s.GetThrottle(ctx, k2); err != nil || !got.Locked(at(time.Second)) {
		t.Fatalf("a refund after a failure fed the lockout lifted it: %+v, %v", got, err)
	}
	// A refund of an attempt of an ended window changes nothing.
	k3 := []byte("ldap|refund3")
	old, err := s.FailThrottle(ctx, k3, limit, t0)
	ok(t, err)
	_, err = s.FailThrottle(ctx, k3, limit, at(10*time.Minute))
	ok(t, err)
	ok(t, s.RefundThrottle(ctx, k3, limit, old))
	if got, err := s.GetThrottle(ctx, k3); err != nil || got.Failures != 1 {
		t.Fatalf("a refund of an ended window's attempt: %+v, %v", got, err)
	}
}

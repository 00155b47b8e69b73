package store

import (
	"context"
	"time"
)

// ThrottleLimit is how a throttle counts: at most Max failures in a window
// of Window that starts with the first failure; the Max-th starts a lockout
// of Lockout.
type ThrottleLimit struct {
	Max     int
	Window  time.Duration
	Lockout time.Duration
}

// Throttle is the state of one throttled key.
type Throttle struct {
	// Failures in the window that started at WindowStart; 0 right after the
	// failure that started a lockout.
	Failures    int
	WindowStart time.Time
	// LockedUntil is the end of the last lockout (zero if none).
	LockedUntil time.Time
}

// Locked reports whether the key is locked out at now.
func (t Throttle) Locked(now time.Time) bool { return now.Before(t.LockedUntil) }

// Throttles counts failures per key (failed MFA codes per device, failed
// directory binds per user and per source address) for every node of a
// deployment, so that N nodes behind a load balancer give an attacker the
// budget of one. Keys are opaque to the store (hashes); no secret is stored.
// Times are kept to the millisecond.
type Throttles interface {
	// FailThrottle records one failure of key at now, atomically across
	// nodes: a key with no window, or whose window started at or before
	// now-limit.Window, starts a new window at now with one failure; else
	// its count grows by one. When the count reaches limit.Max and no
	// lockout is running, a lockout until now+limit.Lockout starts, the
	// count returns to 0 and a new window starts at now (failures during a
	// lockout are counted and start no other). It returns the state after
	// the failure; exactly
	// one of concurrent failures sees the one that started a lockout
	// (Failures 0 and Locked(now)).
	FailThrottle(ctx context.Context, key []byte, limit ThrottleLimit, now time.Time) (Throttle, error)
	// GetThrottle returns key's state; ErrNotFound when it has none.
	GetThrottle(ctx context.Context, key []byte) (Throttle, error)
	// ResetThrottle forgets key's failures and lockout (absent keys are
	// not an error).
	ResetThrottle(ctx context.Context, key []byte) error
	// RefundThrottle takes back one failure FailThrottle counted for key
	// and answered with attempt: an attempt counted before its outcome was
	// known that turned out not to be a failure (a success, a directory
	// that could not be reached). If the key still has attempt's window,
	// its count drops by one; if attempt started a lockout (Failures 0)
	// and no failure was counted during it since, the lockout is lifted
	// and the count is limit.Max-1 again (in a window that starts at the
	// lockout's start, never earlier: the refund never shortens what the
	// other failures count for). In every other case (the window ended,
	// another failure fed the lockout) nothing changes. Absent keys are not
	// an error.
	RefundThrottle(ctx context.Context, key []byte, limit ThrottleLimit, attempt Throttle) error
	// PruneThrottles deletes the state that stopped mattering before
	// before (windows and lockouts that ended) and returns how many.
	PruneThrottles(ctx context.Context, before time.Time) (int64, error)
}

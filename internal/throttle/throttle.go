// Package throttle counts failures per key (a device, a user name, a source
// address) in the store (store.Throttles), so that every node of a
// deployment draws on one budget: with N nodes behind a load balancer an
// attacker gets the guesses of one node, not N times as many. Keys are
// hashed with the counter's scope before they reach the store, so what is
// stored neither grows with the key nor shows it.
//
// It imports store only.
package throttle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// Store is the part of store.Store a Counter uses.
type Store interface {
	FailThrottle(ctx context.Context, key []byte, limit store.ThrottleLimit, now time.Time) (store.Throttle, error)
	GetThrottle(ctx context.Context, key []byte) (store.Throttle, error)
	ResetThrottle(ctx context.Context, key []byte) error
	RefundThrottle(ctx context.Context, key []byte, limit store.ThrottleLimit, attempt store.Throttle) error
}

// Counter is one kind of throttle (one scope and limit). It is safe for
// concurrent use; every call is one store statement, so use it only on
// paths that are slow already (a code check, a directory bind), never on
// the request hot path.
type Counter struct {
	store Store
	scope string
	limit store.ThrottleLimit
}

// New returns a Counter of failures of scope's keys in st. The limit must
// have Max >= 1 and a positive Window.
func New(st Store, scope string, limit store.ThrottleLimit) *Counter {
	return &Counter{store: st, scope: scope, limit: limit}
}

// Limit returns the counter's limit.
func (c *Counter) Limit() store.ThrottleLimit { return c.limit }

func (c *Counter) key(k string) []byte {
	h := sha256.New()
	h.Write([]byte(c.scope))
	h.Write([]byte{0})
	h.Write([]byte(k))
	return h.Sum(nil)
}

// Locked reports whether k is locked out at now. A store error is returned
// as it is: callers fail closed.
func (c *Counter) Locked(ctx context.Context, k string, now time.Time) (bool, error) {
	t, _, err := c.State(ctx, k)
	return t.Locked(now), err
}

// State returns k's state, and whether it has any (a key with none needs
// no Reset after a success).
func (c *Counter) State(ctx context.Context, k string) (store.Throttle, bool, error) {
	t, err := c.store.GetThrottle(ctx, c.key(k))
	if errors.Is(err, store.ErrNotFound) {
		return store.Throttle{}, false, nil
	}
	if err != nil {
		return store.Throttle{}, false, fmt.Errorf("throttle %s: %w", c.scope, err)
	}
	return t, true, nil
}

// Fail records a failure of k at now and reports whether it started a
// lockout (exactly one failure does, whichever node records it).
func (c *Counter) Fail(ctx context.Context, k string, now time.Time) (started bool, err error) {
	t, err := c.store.FailThrottle(ctx, c.key(k), c.limit, now)
	if err != nil {
		return false, fmt.Errorf("throttle %s: %w", c.scope, err)
	}
	return t.Failures == 0 && t.Locked(now), nil
}

// Attempt counts an attempt of k at now before its outcome is known, so
// that attempts made at once on any node each draw on the budget: a check
// of the lockout followed by Fail after a slow comparison lets n
// concurrent attempts all read "not locked" and all be compared. held is
// true when k was already locked out (the attempt must be refused
// unchecked); started is true when this attempt used the last of the
// budget and started the lockout: it is still checked, and a success
// (Reset) lifts the lockout. An attempt that then fails needs no Fail: it
// was counted here. With a limit of Max 1 every attempt restarts the
// lockout and none is held here; callers check Locked first as well.
func (c *Counter) Attempt(ctx context.Context, k string, now time.Time) (held, started bool, err error) {
	a, err := c.Take(ctx, k, now)
	return a.Held, a.Started, err
}

// Taken is an attempt Take counted, to be refunded if it turns out not to
// be a failure.
type Taken struct {
	// Held and Started are as Attempt reports them.
	Held, Started bool
	state         store.Throttle
}

// Take counts an attempt of k at now as Attempt does, and returns it so
// that Refund can take it back.
func (c *Counter) Take(ctx context.Context, k string, now time.Time) (Taken, error) {
	t, err := c.store.FailThrottle(ctx, c.key(k), c.limit, now)
	if err != nil {
		return Taken{}, fmt.Errorf("throttle %s: %w", c.scope, err)
	}
	started := t.Failures == 0 && t.Locked(now)
	return Taken{Held: t.Locked(now) && !started, Started: started, state: t}, nil
}

// Refund takes back an attempt of k that Take counted and that was not a
// failure (a success that must not use up a shared budget, or an attempt
// that could not be checked): see store.Throttles.RefundThrottle. A zero
// Taken refunds nothing.
func (c *Counter) Refund(ctx context.Context, k string, a Taken) error {
	if a.state.WindowStart.IsZero() {
		return nil
	}
	if err := c.store.RefundThrottle(ctx, c.key(k), c.limit, a.state); err != nil {
		return fmt.Errorf("throttle %s: %w", c.scope, err)
	}
	return nil
}

// Reset forgets k's failures and lockout (after a success).
func (c *Counter) Reset(ctx context.Context, k string) error {
	if err := c.store.ResetThrottle(ctx, c.key(k)); err != nil {
		return fmt.Errorf("throttle %s: %w", c.scope, err)
	}
	return nil
}

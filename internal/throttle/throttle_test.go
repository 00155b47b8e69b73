package throttle_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/throttle"
)

func TestCounter(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	limit := store.ThrottleLimit{Max: 3, Window: time.Minute, Lockout: 2 * time.Minute}
	users := throttle.New(st, "users", limit)
	addrs := throttle.New(st, "addresses", limit)
	for i := range 3 {
		started, err := users.Fail(ctx, "bob", now)
		if err != nil {
			t.Fatal(err)
		}
		if started != (i == 2) {
			t.Fatalf("failure %d: started = %v", i, started)
		}
	}
	if locked, err := users.Locked(ctx, "bob", now.Add(2*time.Minute-time.Millisecond)); err != nil || !locked {
		t.Fatalf("bob during the lockout: %v, %v", locked, err)
	}
	if locked, _ := users.Locked(ctx, "bob", now.Add(2*time.Minute)); locked {
		t.Fatal("bob after the lockout")
	}
	// Scopes do not share keys: the same key in another counter is clean.
	if locked, _ := addrs.Locked(ctx, "bob", now); locked {
		t.Fatal("the same key in another scope is locked")
	}
	if err := users.Reset(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if locked, _ := users.Locked(ctx, "bob", now); locked {
		t.Fatal("bob after a reset")
	}
	// A store that fails makes the check fail (closed), not pass.
	st.Close()
	if _, err := users.Locked(ctx, "bob", now); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("locked on a closed store: %v", err)
	}
}

// TestAttempt: attempts are counted before their outcome; the one that
// uses the last of the budget starts the lockout and is still checked,
// every later one is held until the lockout ends, and a reset (a
// success) clears the count.
func TestAttempt(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	c := throttle.New(st, "mfa", store.ThrottleLimit{Max: 3, Window: time.Minute, Lockout: 2 * time.Minute})
	for i := range 5 {
		held, started, err := c.Attempt(ctx, "dev", now)
		if err != nil {
			t.Fatal(err)
		}
		if held != (i >= 3) || started != (i == 2) {
			t.Fatalf("attempt %d: held %v, started %v", i, held, started)
		}
	}
	if held, _, _ := c.Attempt(ctx, "dev", now.Add(2*time.Minute)); held {
		t.Fatal("held after the lockout")
	}
	if err := c.Reset(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if held, started, _ := c.Attempt(ctx, "dev", now.Add(3*time.Minute)); held || started {
			t.Fatalf("attempt %d after a reset: held %v, started %v", i, held, started)
		}
	}
}

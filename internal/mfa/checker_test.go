package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// devices is an in-memory store.MFADevices with the store's semantics.
type devices struct {
	mu     sync.Mutex
	m      map[string]store.MFADevice
	writes int
}

func (s *devices) CreateMFADevice(_ context.Context, d store.MFADevice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.m[strings.ToLower(d.SerialNumber)] = d
	return nil
}

func (s *devices) GetMFADevice(_ context.Context, serial string) (store.MFADevice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.m[strings.ToLower(serial)]
	if !ok {
		return d, fmt.Errorf("get %s: %w", serial, store.ErrNotFound)
	}
	return d, nil
}

func (s *devices) UpdateMFADevice(_ context.Context, d store.MFADevice) error {
	return s.CreateMFADevice(context.Background(), d)
}

func (s *devices) ResyncMFADevice(_ context.Context, was store.MFADevice, seed []byte, counter int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.m[strings.ToLower(was.SerialNumber)]
	if !ok {
		return fmt.Errorf("resync %s: %w", was.SerialNumber, store.ErrNotFound)
	}
	if !bytes.Equal(d.Seed, was.Seed) || d.UserName != was.UserName || !d.EnabledAt.Equal(was.EnabledAt) || counter <= d.LastCounter {
		return fmt.Errorf("resync %s: %w", was.SerialNumber, store.ErrConflict)
	}
	s.writes++
	d.Seed, d.LastCounter = seed, counter
	s.m[strings.ToLower(d.SerialNumber)] = d
	return nil
}

func (s *devices) DeleteMFADevice(_ context.Context, serial string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, strings.ToLower(serial))
	return nil
}

func (s *devices) ListMFADevices(context.Context, string, store.MFAAssignment, store.ListOptions) ([]store.MFADevice, error) {
	return nil, errors.New("not used")
}

func (s *devices) ListUserMFADevices(context.Context, string, string) ([]store.MFADevice, error) {
	return nil, errors.New("not used")
}

func (s *devices) AdvanceMFACounter(_ context.Context, serial string, counter int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	d, ok := s.m[strings.ToLower(serial)]
	if !ok {
		return store.ErrNotFound
	}
	if counter <= d.LastCounter {
		return store.ErrConflict
	}
	d.LastCounter = counter
	s.m[strings.ToLower(serial)] = d
	return nil
}

const (
	acct   = "123456789012"
	serial = "arn:aws:iam::123456789012:mfa/alice-phone"
	seed   = "ZR7JHXQ4N6KQ2VWSAOYPLX3BBJ7KJQ6ZL2CI3N4EXSHUE4RNDJMGYTAMG63WQVB6"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 10, 0, time.UTC)

func newSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setup(t *testing.T) (*Checker, *devices) {
	t.Helper()
	sealer := newSealer(t)
	sealed, err := SealSecret(sealer, serial, Secret{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	ds := &devices{m: map[string]store.MFADevice{}}
	add := func(d store.MFADevice) {
		if err := ds.CreateMFADevice(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	add(store.MFADevice{Account: acct, SerialNumber: serial, Name: "alice-phone", Path: "/", Seed: sealed, UserName: "alice", EnabledAt: t0.Add(-time.Hour)})
	other := "arn:aws:iam::123456789012:mfa/unassigned"
	sealedOther, _ := SealSecret(sealer, other, Secret{Seed: seed})
	add(store.MFADevice{Account: acct, SerialNumber: other, Name: "unassigned", Path: "/", Seed: sealedOther})
	root := "arn:aws:iam::123456789012:mfa/root-account-mfa-device"
	sealedRoot, _ := SealSecret(sealer, root, Secret{Seed: seed})
	add(store.MFADevice{Account: acct, SerialNumber: root, Name: "root-account-mfa-device", Path: "/", Seed: sealedRoot, EnabledAt: t0.Add(-time.Hour)})
	// Stolen seal: another device's sealed seed does not open under this serial.
	stolen := "arn:aws:iam::123456789012:mfa/stolen"
	add(store.MFADevice{Account: acct, SerialNumber: stolen, Name: "stolen", Path: "/", Seed: sealed, UserName: "alice", EnabledAt: t0})
	ds.writes = 0
	return NewChecker(CheckerConfig{Devices: ds, Throttles: throttles(t), Sealer: sealer}), ds
}

// throttles is a real store for the failure counts (the devices above stay
// in memory to count writes).
func throttles(t *testing.T) store.Throttles {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func codeAt(t *testing.T, at time.Time) string {
	t.Helper()
	c, err := Code(seed, Step(at))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckDevice(t *testing.T) {
	c, ds := setup(t)
	ctx := context.Background()
	code := codeAt(t, t0)
	for _, tc := range []struct {
		name, account, user, serial string
		want                        error
	}{
		{"unknown serial", acct, "alice", "arn:aws:iam::123456789012:mfa/nope", ErrUnknownDevice},
		{"other user", acct, "bob", serial, ErrUnknownDevice},
		{"other account", "210987654321", "alice", serial, ErrUnknownDevice},
		{"not enabled", acct, "alice", "arn:aws:iam::123456789012:mfa/unassigned", ErrUnknownDevice},
		{"root device for a user", acct, "alice", "arn:aws:iam::123456789012:mfa/root-account-mfa-device", ErrUnknownDevice},
		{"user device for root", acct, "", serial, ErrUnknownDevice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Check(ctx, tc.account, tc.user, tc.serial, code, t0); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if ds.writes != 0 {
		t.Fatalf("%d store writes for refused devices", ds.writes)
	}
	err := c.Check(ctx, acct, "alice", "arn:aws:iam::123456789012:mfa/stolen", code, t0)
	if err == nil || errors.Is(err, ErrUnknownDevice) || errors.Is(err, ErrInvalidCode) {
		t.Fatalf("moved sealed seed: err = %v, want an internal error", err)
	}
	if strings.Contains(err.Error(), seed) {
		t.Fatal("error carries the seed")
	}
	// Case-insensitive user name and serial; root devices for root.
	if err := c.Check(ctx, acct, "ALICE", strings.ToUpper(serial[:8])+serial[8:], code, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx, acct, "", "arn:aws:iam::123456789012:mfa/root-account-mfa-device", code, t0); err != nil {
		t.Fatalf("root device: %v", err)
	}
}

func TestCheckReplay(t *testing.T) {
	c, ds := setup(t)
	ctx := context.Background()
	now := t0
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now); err != nil {
		t.Fatal(err)
	}
	// The same code again, in the same step and in the next one (still in the window).
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("replay: %v", err)
	}
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now.Add(30*time.Second)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("replay next step: %v", err)
	}
	// A later code works; then an earlier (still in-window) one does not.
	later := now.Add(30 * time.Second)
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, later.Add(30*time.Second)), later); err != nil {
		t.Fatalf("code of the next step: %v", err)
	}
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, later), later); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("earlier step after a later one: %v", err)
	}
	d, _ := ds.GetMFADevice(ctx, serial)
	if d.LastCounter != Step(later)+1 {
		t.Fatalf("LastCounter = %d, want %d", d.LastCounter, Step(later)+1)
	}
}

func TestCheckThrottle(t *testing.T) {
	c, _ := setup(t)
	ctx := context.Background()
	now := t0
	wrong := func(at time.Time) string {
		// A code valid for no step of the window.
		for i := 0; ; i++ {
			w := fmt.Sprintf("%06d", i)
			if _, ok, _ := Validate(seed, w, at, 0); !ok {
				return w
			}
		}
	}
	// Failures spread wider than the window never lock.
	for i := range 8 {
		at := now.Add(time.Duration(i) * (DefaultFailureWindow / 4))
		if err := c.Check(ctx, acct, "alice", serial, wrong(at), at); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("spread failure %d: %v", i, err)
		}
	}
	now = now.Add(time.Hour)
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now); err != nil {
		t.Fatalf("after spread failures: %v", err)
	}
	// DefaultMaxFailures wrong codes within the window lock the device.
	now = now.Add(time.Minute)
	for i := range DefaultMaxFailures {
		if err := c.Check(ctx, acct, "alice", serial, wrong(now), now); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("failure %d: %v", i, err)
		}
		now = now.Add(10 * time.Second)
	}
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now); !errors.Is(err, ErrThrottled) {
		t.Fatalf("right code during lockout: %v", err)
	}
	// Other devices are not affected.
	if err := c.Check(ctx, acct, "", "arn:aws:iam::123456789012:mfa/root-account-mfa-device", codeAt(t, now), now); err != nil {
		t.Fatalf("other device: %v", err)
	}
	almost := now.Add(DefaultLockout - 20*time.Second)
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, almost), almost); !errors.Is(err, ErrThrottled) {
		t.Fatalf("right code just before the lockout ends: %v", err)
	}
	after := now.Add(DefaultLockout)
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, after), after); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// Replays count as failures too.
	for i := range DefaultMaxFailures {
		if err := c.Check(ctx, acct, "alice", serial, codeAt(t, after), after); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	next := after.Add(30 * time.Second)
	if err := c.Check(ctx, acct, "alice", serial, codeAt(t, next), next); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after replays: %v", err)
	}
}

func TestSealSecret(t *testing.T) {
	s := newSealer(t)
	for _, sec := range []Secret{{Seed: seed}, {Seed: seed, Drift: 7}, {Seed: seed, Drift: -3}} {
		b, err := SealSecret(s, serial, sec)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(seed)) {
			t.Fatal("sealed form contains the seed")
		}
		got, err := OpenSecret(s, serial, b)
		if err != nil || got != sec {
			t.Fatalf("OpenSecret = %+v, %v; want %+v", got, err, sec)
		}
		if _, err := OpenSecret(s, serial+"x", b); err == nil {
			t.Fatal("opened under another serial")
		}
	}
}

// TestCheckThrottleShared: two checkers on one store (two nodes) draw on one
// budget: failures on either add up to the lockout, which both then apply,
// and Reset (a resync) lifts it for both.
func TestCheckThrottleShared(t *testing.T) {
	_, ds := setup(t)
	sealer := newSealer(t)
	shared := throttles(t)
	a := NewChecker(CheckerConfig{Devices: ds, Throttles: shared, Sealer: sealer})
	b := NewChecker(CheckerConfig{Devices: ds, Throttles: shared, Sealer: sealer})
	ctx := context.Background()
	now := t0
	wrong := func() string {
		for i := 0; ; i++ {
			w := fmt.Sprintf("%06d", i)
			if _, ok, _ := Validate(seed, w, now, 0); !ok {
				return w
			}
		}
	}
	for i := range DefaultMaxFailures {
		node := a
		if i%2 == 1 {
			node = b
		}
		if err := node.Check(ctx, acct, "alice", serial, wrong(), now); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	for name, node := range map[string]*Checker{"a": a, "b": b} {
		if err := node.Check(ctx, acct, "alice", serial, codeAt(t, now), now); !errors.Is(err, ErrThrottled) {
			t.Fatalf("node %s after %d failures spread over both: %v", name, DefaultMaxFailures, err)
		}
	}
	if err := a.Reset(ctx, strings.ToUpper(serial)); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, acct, "alice", serial, codeAt(t, now), now); err != nil {
		t.Fatalf("after a reset on the other node: %v", err)
	}
}

// TestCheckSuccessClearsFailures: a right code forgets the wrong ones
// before it, so MaxFailures-1 wrong codes around each success never lock.
func TestCheckSuccessClearsFailures(t *testing.T) {
	c, _ := setup(t)
	ctx := context.Background()
	now := t0
	for round := range 3 {
		for i := range DefaultMaxFailures - 1 {
			w := "000000"
			if _, ok, _ := Validate(seed, w, now, 0); ok {
				w = "000001"
			}
			if err := c.Check(ctx, acct, "alice", serial, w, now); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("round %d, failure %d: %v", round, i, err)
			}
		}
		now = now.Add(30 * time.Second)
		if err := c.Check(ctx, acct, "alice", serial, codeAt(t, now), now); err != nil {
			t.Fatalf("round %d, the right code: %v", round, err)
		}
	}
}

// barrierThrottles holds every GetThrottle until n callers have read (or
// a while has passed), so that n concurrent checks all read the state
// before any of them records a failure: the interleaving an attacker gets
// by sending n guesses at once.
type barrierThrottles struct {
	store.Throttles
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrierThrottles) GetThrottle(ctx context.Context, key []byte) (store.Throttle, error) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(5 * time.Second):
	}
	return b.Throttles.GetThrottle(ctx, key)
}

// TestAttackCheckConcurrentGuesses: guesses sent at once must not each
// be checked against a state read before any of them failed. Checking
// the lockout before the code and counting the failure after let n
// concurrent guesses all be tried however small the limit; each attempt
// is now counted before its code is compared, so at most MaxFailures of
// them are.
func TestAttackCheckConcurrentGuesses(t *testing.T) {
	_, ds := setup(t)
	const n = 24
	bt := &barrierThrottles{Throttles: throttles(t), n: n, all: make(chan struct{})}
	c := NewChecker(CheckerConfig{Devices: ds, Throttles: bt, Sealer: newSealer(t)})
	var wrongs []string
	for i := 0; len(wrongs) < n; i++ {
		w := fmt.Sprintf("%06d", i)
		if _, ok, _ := Validate(seed, w, t0, 0); !ok {
			wrongs = append(wrongs, w)
		}
	}
	var (
		wg                  sync.WaitGroup
		mu                  sync.Mutex
		compared, throttled int
	)
	for _, w := range wrongs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Check(context.Background(), acct, "alice", serial, w, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrInvalidCode):
				compared++
			case errors.Is(err, ErrThrottled):
				throttled++
			default:
				t.Errorf("check: %v", err)
			}
		}()
	}
	wg.Wait()
	if compared > DefaultMaxFailures || compared+throttled != n {
		t.Fatalf("%d concurrent guesses: %d compared, %d throttled; want at most %d compared", n, compared, throttled, DefaultMaxFailures)
	}
}

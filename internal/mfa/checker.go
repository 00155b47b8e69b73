package mfa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// Errors of Check. Callers map them to API errors; none carries the seed
// or the code.
var (
	// ErrUnknownDevice: the device does not exist, is not enabled, or is not
	// assigned to the caller.
	ErrUnknownDevice = errors.New("mfa device not found or not assigned to the caller")
	// ErrInvalidCode: the code is wrong, or was already used (replay).
	ErrInvalidCode = errors.New("invalid mfa code")
	// ErrThrottled: too many wrong codes for the device recently; every
	// attempt fails until the lockout ends.
	ErrThrottled = errors.New("too many failed mfa attempts")
)

// Secret is what is sealed for a device: its seed and the clock drift (in
// steps, device minus server) learned by ResyncMFADevice.
type Secret struct {
	Seed  string // base32
	Drift int64
}

// SealSecret seals a device's secret with the serial number (as stored) as
// additional data, so a sealed seed cannot be moved to another device.
func SealSecret(s *seal.Sealer, serial string, sec Secret) ([]byte, error) {
	plain := sec.Seed
	if sec.Drift != 0 {
		plain += ";" + strconv.FormatInt(sec.Drift, 10)
	}
	b, err := s.Seal([]byte(plain), []byte(serial))
	if err != nil {
		return nil, fmt.Errorf("seal mfa seed: %w", err)
	}
	return b, nil
}

// OpenSecret opens what SealSecret sealed.
func OpenSecret(s *seal.Sealer, serial string, sealed []byte) (Secret, error) {
	b, err := s.Open(sealed, []byte(serial))
	if err != nil {
		return Secret{}, fmt.Errorf("open mfa seed: %w", err)
	}
	seed, drift, found := strings.Cut(string(b), ";")
	sec := Secret{Seed: seed}
	if found {
		if sec.Drift, err = strconv.ParseInt(drift, 10, 64); err != nil {
			return Secret{}, errors.New("open mfa seed: malformed drift")
		}
	}
	return sec, nil
}

// Throttle defaults: at most MaxFailures wrong codes per device within
// FailureWindow; then every attempt, even with the right code, is refused
// until Lockout has passed. With six-digit codes and three acceptable codes
// per step, an attacker gets 5 guesses per 15 minutes, about 1 in 10^6
// chances per hour.
const (
	DefaultMaxFailures   = 5
	DefaultFailureWindow = 5 * time.Minute
	DefaultLockout       = 15 * time.Minute
)

// CheckerConfig configures a Checker. Zero values take the defaults.
type CheckerConfig struct {
	Devices       store.MFADevices
	Sealer        *seal.Sealer
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	// OnFailure, if set, is told of each refused check by reason
	// ("unknown_device", "throttled", "invalid_code", "replay"), and
	// OnLockout of each lockout started (metrics). Both must be fast.
	OnFailure func(reason string)
	OnLockout func()
}

// Checker verifies MFA codes for STS. It is safe for concurrent use.
//
// Throttling state is kept in memory, per node: with N nodes behind a load
// balancer an attacker gets at most N times the budget, still negligible
// against 10^6 codes. Replay protection is not per node: a code is accepted
// only if the store atomically advances the device's last used step
// (store.MFADevices.AdvanceMFACounter), so a code (or any code of an earlier
// step) is accepted at most once across all nodes.
type Checker struct {
	devices store.MFADevices
	sealer  *seal.Sealer
	max     int
	window  time.Duration
	lockout time.Duration
	onFail  func(string)
	onLock  func()

	mu    sync.Mutex
	state map[string]*attempts // by lower-cased serial number
}

type attempts struct {
	failures    []time.Time // within window, oldest first
	lockedUntil time.Time
}

// NewChecker returns a Checker.
func NewChecker(cfg CheckerConfig) *Checker {
	c := &Checker{devices: cfg.Devices, sealer: cfg.Sealer, max: cfg.MaxFailures, window: cfg.FailureWindow, lockout: cfg.Lockout,
		onFail: cfg.OnFailure, onLock: cfg.OnLockout, state: make(map[string]*attempts)}
	if c.onFail == nil {
		c.onFail = func(string) {}
	}
	if c.onLock == nil {
		c.onLock = func() {}
	}
	if c.max <= 0 {
		c.max = DefaultMaxFailures
	}
	if c.window <= 0 {
		c.window = DefaultFailureWindow
	}
	if c.lockout <= 0 {
		c.lockout = DefaultLockout
	}
	return c
}

// Check verifies code for the MFA device serial of userName in account
// ("" for the account root) at time now:
//  1. the device must exist, be enabled and be assigned to that user
//     (ErrUnknownDevice);
//  2. a device with too many recent failures is refused (ErrThrottled);
//  3. the code must be the device's code for now, one step either side,
//     after the drift learned by resync (ErrInvalidCode);
//  4. the matched step must be later than every step accepted before, which
//     the store records atomically (ErrInvalidCode for a replay).
//
// Wrong codes and replays count as failures. Only Check writes to the store,
// and only for a code that passed 1-3. Other errors are internal.
func (c *Checker) Check(ctx context.Context, account, userName, serial, code string, now time.Time) error {
	d, err := c.devices.GetMFADevice(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		c.onFail("unknown_device")
		return ErrUnknownDevice
	}
	if err != nil {
		return fmt.Errorf("check mfa: %w", err)
	}
	if d.Account != account || d.EnabledAt.IsZero() || !strings.EqualFold(d.UserName, userName) {
		c.onFail("unknown_device")
		return ErrUnknownDevice
	}
	key := strings.ToLower(d.SerialNumber)
	if c.locked(key, now) {
		c.onFail("throttled")
		return ErrThrottled
	}
	sec, err := OpenSecret(c.sealer, d.SerialNumber, d.Seed)
	if err != nil {
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	counter, ok, err := Validate(sec.Seed, code, now, sec.Drift)
	if err != nil {
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	if !ok {
		c.onFail("invalid_code")
		c.fail(key, now)
		return ErrInvalidCode
	}
	if err := c.devices.AdvanceMFACounter(ctx, d.SerialNumber, counter); err != nil {
		if errors.Is(err, store.ErrConflict) {
			c.onFail("replay")
			c.fail(key, now)
			return ErrInvalidCode
		}
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	c.Reset(d.SerialNumber)
	return nil
}

// Reset forgets the failures and lockout of a device on this node (after a
// successful code, a resync, deactivation or deletion).
func (c *Checker) Reset(serial string) {
	c.mu.Lock()
	delete(c.state, strings.ToLower(serial))
	c.mu.Unlock()
}

func (c *Checker) locked(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.state[key]
	return a != nil && now.Before(a.lockedUntil)
}

// fail records a failure and starts the lockout at the max-th failure
// within the window.
func (c *Checker) fail(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.state[key]
	if a == nil {
		c.sweep(now)
		a = &attempts{}
		c.state[key] = a
	}
	cut := 0
	for cut < len(a.failures) && now.Sub(a.failures[cut]) >= c.window {
		cut++
	}
	a.failures = append(a.failures[cut:], now)
	if len(a.failures) >= c.max {
		a.lockedUntil = now.Add(c.lockout)
		a.failures = nil
		c.onLock()
	}
}

// sweep drops state that no longer matters, so memory stays bounded by the
// devices with recent failures. The caller holds c.mu.
func (c *Checker) sweep(now time.Time) {
	if len(c.state) < 1024 {
		return
	}
	for k, a := range c.state {
		recent := len(a.failures) > 0 && now.Sub(a.failures[len(a.failures)-1]) < c.window
		if !recent && !now.Before(a.lockedUntil) {
			delete(c.state, k)
		}
	}
}

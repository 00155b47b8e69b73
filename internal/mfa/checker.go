package mfa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/throttle"
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
	Devices store.MFADevices
	// Throttles keeps the failure counts, shared by every node on the
	// store (required).
	Throttles     throttle.Store
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
// Throttling and replay protection hold across every node on one store.
// Attempts are counted in the store (store.Throttles, one upsert per
// attempt, before its code is compared, and a delete after a right one),
// so N nodes behind a load balancer, or N guesses sent at once, give an
// attacker the budget of one: MaxFailures wrong codes per device in a window of FailureWindow
// that starts with the first (a fixed window: at worst 2*MaxFailures-2
// guesses fit in one FailureWindow across two windows). A code is accepted
// only if the store atomically advances the device's last used step
// (store.MFADevices.AdvanceMFACounter), so a code (or any code of an
// earlier step) is accepted at most once across all nodes.
type Checker struct {
	devices  store.MFADevices
	throttle *throttle.Counter
	sealer   *seal.Sealer
	onFail   func(string)
	onLock   func()
}

// NewChecker returns a Checker.
func NewChecker(cfg CheckerConfig) *Checker {
	limit := store.ThrottleLimit{Max: cfg.MaxFailures, Window: cfg.FailureWindow, Lockout: cfg.Lockout}
	if limit.Max <= 0 {
		limit.Max = DefaultMaxFailures
	}
	if limit.Window <= 0 {
		limit.Window = DefaultFailureWindow
	}
	if limit.Lockout <= 0 {
		limit.Lockout = DefaultLockout
	}
	c := &Checker{devices: cfg.Devices, throttle: throttle.New(cfg.Throttles, "mfa-device", limit), sealer: cfg.Sealer,
		onFail: cfg.OnFailure, onLock: cfg.OnLockout}
	if c.onFail == nil {
		c.onFail = func(string) {}
	}
	if c.onLock == nil {
		c.onLock = func() {}
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
// Every attempt on a device that is not locked counts toward the lockout
// before its code is compared (so concurrent guesses cannot all pass step
// 2); a right code resets the count. Check writes to the store only for a
// device that passed 1-2. Other errors are internal.
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
	// A locked device is refused without a write.
	if locked, err := c.throttle.Locked(ctx, key, now); err != nil {
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	} else if locked {
		c.onFail("throttled")
		return ErrThrottled
	}
	// The attempt is counted before the code is compared, so that guesses
	// sent at once (on one node or many) each draw on the budget instead
	// of all passing the check above; a right code resets the count.
	held, started, err := c.throttle.Attempt(ctx, key, now)
	if err != nil {
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	if held {
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
		return c.failed(started)
	}
	if err := c.devices.AdvanceMFACounter(ctx, d.SerialNumber, counter); err != nil {
		if errors.Is(err, store.ErrConflict) {
			c.onFail("replay")
			return c.failed(started)
		}
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	// The attempts before a good code, and this one, no longer count.
	if err := c.throttle.Reset(ctx, key); err != nil {
		return fmt.Errorf("check mfa %s: %w", d.SerialNumber, err)
	}
	return nil
}

// Reset forgets the failures and lockout of a device, on every node (after
// a resync, enabling, deactivation or deletion).
func (c *Checker) Reset(ctx context.Context, serial string) error {
	return c.throttle.Reset(ctx, strings.ToLower(serial))
}

// failed ends a wrong code or a replay (already counted by Attempt).
func (c *Checker) failed(started bool) error {
	if started {
		c.onLock()
	}
	return ErrInvalidCode
}

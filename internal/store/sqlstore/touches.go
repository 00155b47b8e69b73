package sqlstore

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/store"
)

// Touch is one use of an access key.
type Touch struct {
	At              time.Time
	Service, Region string
}

// recentSlots bounds the uses the window remembers (8 bytes each, outside
// the Go heap): a use the table has forgotten is written again.
const recentSlots = 1 << 19

// Touches coalesces access key usage in memory and writes it in batches, once
// per interval, from a goroutine of its own. The latest use of a key wins,
// within store.UseWindow (see there). It is safe for concurrent use; Stop it to
// write what is pending.
type Touches struct {
	interval time.Duration
	write    func(context.Context, map[string]Touch) error
	recent   *cache.Recent
	seed     maphash.Seed

	// Direct makes callers write every use at once instead of recording it
	// (benchmarks only). Set it before the Touches is shared.
	Direct bool

	mu      sync.RWMutex
	size    func(context.Context) (int64, error) // SizeBy's
	pending map[string]Touch
	// roles is the pending uses of roles by role id, beside their entries
	// in pending (under RolePrefix), so a role's repeated use is found
	// without making its pending key.
	roles  map[string]Touch
	closed bool

	done    chan struct{}
	stopped chan struct{}
}

// NewTouches starts a Touches that writes pending uses with write every
// interval. write must not let an older use overwrite a newer stored one.
func NewTouches(interval time.Duration, write func(context.Context, map[string]Touch) error) *Touches {
	t := &Touches{
		interval: interval,
		write:    write,
		recent:   cache.NewRecent(recentSlots, int64(store.UseWindow/time.Second)),
		seed:     maphash.MakeSeed(),
		pending:  make(map[string]Touch),
		roles:    make(map[string]Touch),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go t.run()
	return t
}

func (t *Touches) run() {
	defer close(t.stopped)
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	resize := time.NewTicker(store.PopulationEvery)
	defer resize.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			// A failed write is retried on the next tick; Stop reports it.
			_ = t.flush(context.Background())
		case <-resize.C:
			t.mu.RLock()
			size := t.size
			t.mu.RUnlock()
			t.recent.SizeBy(context.Background(), size)
		}
	}
}

// SizeBy sizes the table of recent uses for the keys and roles population
// counts (users and roles: a user has about one key), now and every
// store.PopulationEvery: with a table smaller than the principals that call within
// store.UseWindow, most uses are written (at 1,000,000 users and roles,
// a quarter of the server's CPU). The table grows and never shrinks; a
// grown table forgets what it remembered (a window of uses is written
// again).
func (t *Touches) SizeBy(ctx context.Context, population func(context.Context) (int64, error)) {
	t.mu.Lock()
	t.size = population
	t.mu.Unlock()
	t.recent.SizeBy(ctx, population)
}

// Write writes batch at once with the write function.
func (t *Touches) Write(ctx context.Context, batch map[string]Touch) error {
	return t.write(ctx, batch)
}

// Record keeps the latest use of key id; false if the Touches is stopped.
// A use in the same second as the pending one, from the same service and
// region, changes nothing (uses are kept to the second) and costs a read
// lock: a key or role used at a high rate writes its entry once a second.
func (t *Touches) Record(id string, u Touch) bool {
	t.mu.RLock()
	old, ok := t.pending[id]
	closed := t.closed
	t.mu.RUnlock()
	if closed {
		return false
	}
	if ok && sameSecond(old, u) || t.recentlyWritten('k', id, u) {
		return true
	}
	return t.record(id, u)
}

// recentlyWritten reports whether a use of the key ('k') or role ('r') id
// from u's service and region was recorded within store.UseWindow before u (and
// remembers u when not).
func (t *Touches) recentlyWritten(kind byte, id string, u Touch) bool {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteByte(kind)
	h.WriteString(id)
	h.WriteByte(0)
	h.WriteString(u.Service)
	h.WriteByte(0)
	h.WriteString(u.Region)
	return t.recent.Seen(h.Sum64(), u.At.Unix())
}

// RecordRole is Record for role id (under RolePrefix), with no string made
// when the role's pending use is in the same second.
func (t *Touches) RecordRole(id string, u Touch) bool {
	t.mu.RLock()
	old, ok := t.roles[id]
	closed := t.closed
	t.mu.RUnlock()
	if closed {
		return false
	}
	if ok && sameSecond(old, u) || t.recentlyWritten('r', id, u) {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if old, ok := t.roles[id]; !ok || !old.At.After(u.At) {
		t.roles[id] = u
		t.pending[RolePrefix+id] = u
	}
	return true
}

func (t *Touches) record(id string, u Touch) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if old, ok := t.pending[id]; !ok || !old.At.After(u.At) {
		// A copy: an access key id is a piece of its request's
		// Authorization header, which the pending use would otherwise keep
		// alive until written (a map assignment replaces the key too).
		t.pending[strings.Clone(id)] = u
	}
	return true
}

// sameSecond reports whether u adds nothing to the pending old: it is not
// in a later second, and it names the same service and region.
func sameSecond(old, u Touch) bool {
	return u.At.Unix() <= old.At.Unix() && u.Service == old.Service && u.Region == old.Region
}

// Overlay applies a pending use of k newer than its stored one.
func (t *Touches) Overlay(k *store.AccessKey) {
	t.mu.RLock()
	u, ok := t.pending[k.ID]
	t.mu.RUnlock()
	if ok && u.At.After(k.LastUsedAt) {
		k.LastUsedAt, k.LastUsedService, k.LastUsedRegion = u.At.UTC(), u.Service, u.Region
	}
}

// RolePrefix marks the pending uses of roles: RolePrefix + role id. Access
// key ids never contain "/".
const RolePrefix = "role/"

// OverlayRole applies a pending use of r newer than its stored one.
func (t *Touches) OverlayRole(r *store.Role) {
	t.mu.RLock()
	u, ok := t.roles[r.ID]
	t.mu.RUnlock()
	if ok && u.At.After(r.LastUsedAt) {
		r.LastUsedAt, r.LastUsedRegion = u.At.UTC(), u.Region
	}
}

// Forget drops the pending uses of the keys ids.
func (t *Touches) Forget(ids ...string) {
	t.mu.Lock()
	for _, id := range ids {
		delete(t.pending, id)
		if role, ok := strings.CutPrefix(id, RolePrefix); ok {
			delete(t.roles, role)
		}
	}
	t.mu.Unlock()
}

// flush writes the pending uses; on failure they are merged back.
func (t *Touches) flush(ctx context.Context) error {
	t.mu.Lock()
	batch := t.pending
	if len(batch) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.pending = make(map[string]Touch, len(batch))
	t.roles = make(map[string]Touch, len(t.roles))
	t.mu.Unlock()

	err := t.write(ctx, batch)
	if err != nil {
		t.mu.Lock()
		for id, u := range batch {
			if old, ok := t.pending[id]; !ok || u.At.After(old.At) {
				t.pending[id] = u
				if role, ok := strings.CutPrefix(id, RolePrefix); ok {
					t.roles[role] = u
				}
			}
		}
		t.mu.Unlock()
	}
	return err
}

// Stop ends the background goroutine and writes what is pending. Later
// calls do nothing and return nil.
func (t *Touches) Stop() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	close(t.done)
	<-t.stopped
	return t.flush(context.Background())
}

// Package lastaccess records which principal used which action of which
// service, and when: IAM's service last accessed data. Uses are coalesced
// in memory and written in batches by a goroutine of its own, so that the
// request path never waits for the store.
//
// It imports only the store's records.
package lastaccess

import (
	"context"
	"hash/maphash"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/store"
)

// Writer writes a batch of uses (store.LastAccessed.RecordServiceAccess).
type Writer interface {
	RecordServiceAccess(ctx context.Context, uses []store.ServiceAccess) error
}

// Key is one principal's use of one action: the unit the recorder keeps.
type Key struct {
	PrincipalID string // AIDA... or AROA...
	Service     string // namespace: iam, sts, ...
	Action      string
}

// slot is the latest use of a key. at is Unix nanoseconds; a slot whose
// at is above written has a use to write.
type slot struct {
	at      atomic.Int64
	region  atomic.Pointer[string]
	account string
	written int64 // the flusher's alone
	idle    int   // the flusher's alone: flushes since the last use
}

const shards = 64

type shard struct {
	mu sync.RWMutex
	m  map[Key]*slot
	// peak is the most keys m held since it was made: a Go map keeps the
	// room of its largest size, so once it holds far fewer, the flusher
	// copies it into a map of their size (after a burst of new
	// principals, 100,000 in the scale run, the room alone was 4 MiB of
	// live heap for the collector to keep).
	peak int
}

// shrinkBelow is the share of its peak under which a shard's map is made
// anew, and shrinkMin the peak under which it is never worth it.
const (
	shrinkBelow = 4
	shrinkMin   = 512
)

// Recorder coalesces uses. Record is safe for concurrent use and, for a key
// seen before, takes a shard's read lock and two atomic operations and
// allocates nothing. Memory: at most MaxKeys keys (about 200 bytes each
// plus the strings); a key not used for IdleFlushes flushes in a row is
// dropped from memory (its use is in the store by then). At the bound, uses
// of new keys are counted in Dropped and not recorded.
type Recorder struct {
	w        Writer
	interval time.Duration
	maxKeys  int64
	seed     maphash.Seed
	recent   *cache.Recent
	// population sizes recent (Config.Population).
	population func(context.Context) (int64, error)
	shards     [shards]shard
	keys       atomic.Int64
	dropped    atomic.Int64
	failed     atomic.Int64

	flushMu sync.Mutex // one flush at a time
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Config configures a Recorder.
type Config struct {
	Writer Writer
	// Interval between writes (default 1s): the bound on how stale the
	// stored data is, and on what a crash loses.
	Interval time.Duration
	// MaxKeys bounds the keys kept in memory (default 1<<16, some 13 MiB).
	MaxKeys int
	// Window: a use within Window of the last one recorded for the same
	// key and region is not recorded (default store.UseWindow; negative:
	// every use is). It is how far behind the stored data may be for a
	// principal that calls again and again.
	Window time.Duration
	// Population, when set, counts the principals (store.Store's): the
	// table that remembers the window's uses is sized by it when New
	// returns and every store.PopulationEvery after (it grows and never
	// shrinks; growing forgets the marks). A table smaller than the
	// principals that call within the window remembers few, and most uses
	// are written.
	Population func(context.Context) (int64, error)
}

// recentSlots bounds the uses the window remembers (8 bytes each, outside
// the Go heap); a use it has forgotten is recorded again.
const recentSlots = 1 << 18

// IdleFlushes is how many flushes a key may go unused before it leaves
// memory. A key is kept past its write only so that a principal calling
// steadily costs no allocation; across many principals (100,000 users each
// assuming its own role) keeping each for a minute held tens of MiB of live
// heap, so a key goes after a few idle seconds.
const IdleFlushes = 3

// New starts a Recorder; Close it to write what is pending.
func New(cfg Config) *Recorder {
	r := &Recorder{w: cfg.Writer, interval: cfg.Interval, maxKeys: int64(cfg.MaxKeys), seed: maphash.MakeSeed(),
		stop: make(chan struct{}), done: make(chan struct{})}
	if r.interval <= 0 {
		r.interval = time.Second
	}
	if r.maxKeys <= 0 {
		r.maxKeys = 1 << 16
	}
	if cfg.Window == 0 {
		cfg.Window = store.UseWindow
	}
	if cfg.Window > 0 {
		r.recent = cache.NewRecent(recentSlots, int64(cfg.Window/time.Second))
	}
	for i := range r.shards {
		r.shards[i].m = make(map[Key]*slot)
	}
	r.population = cfg.Population
	r.recent.SizeBy(context.Background(), r.population)
	go r.run()
	return r
}

func (r *Recorder) shard(k *Key) *shard {
	h := maphash.String(r.seed, k.PrincipalID) ^ maphash.String(r.seed, k.Action)*31
	return &r.shards[h%shards]
}

// Record notes that the principal of account used k at at in region. An
// older use than the one kept changes nothing, nor does a use within the
// window of the last one recorded for k and region.
func (r *Recorder) Record(k Key, account string, at time.Time, region string) {
	var rh uint64
	if r.recent != nil {
		var h maphash.Hash
		h.SetSeed(r.seed)
		h.WriteString(k.PrincipalID)
		h.WriteByte(0)
		h.WriteString(k.Service)
		h.WriteByte(0)
		h.WriteString(k.Action)
		h.WriteByte(0)
		h.WriteString(region)
		if rh = h.Sum64(); r.recent.Seen(rh, at.Unix()) {
			return
		}
	}
	sh := r.shard(&k)
	ns := at.UnixNano()
	sh.mu.RLock()
	s := sh.m[k]
	if s != nil {
		s.update(ns, region)
		sh.mu.RUnlock()
		return
	}
	sh.mu.RUnlock()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s = sh.m[k]; s == nil {
		if r.keys.Load() >= r.maxKeys {
			r.dropped.Add(1)
			r.recent.Forget(rh) // not recorded: the next use must be
			return
		}
		// Copies: a key must not keep a request's memory alive.
		k = Key{PrincipalID: strings.Clone(k.PrincipalID), Service: strings.Clone(k.Service), Action: strings.Clone(k.Action)}
		s = &slot{account: strings.Clone(account)}
		sh.m[k] = s
		sh.peak = max(sh.peak, len(sh.m))
		r.keys.Add(1)
	}
	s.update(ns, region)
}

// update moves the slot to a newer use. Callers hold the shard's lock
// (read or write), so that the flusher's eviction never drops a slot
// being updated.
func (s *slot) update(ns int64, region string) {
	for {
		old := s.at.Load()
		if ns <= old {
			return
		}
		if s.at.CompareAndSwap(old, ns) {
			break
		}
	}
	// The region of the newest use; racing updates may pair a time with
	// another racing use's region, both of this second.
	if p := s.region.Load(); p == nil || *p != region {
		reg := strings.Clone(region)
		s.region.Store(&reg)
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	resize := time.NewTicker(store.PopulationEvery)
	defer resize.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			// A failed write is retried on the next tick.
			_ = r.Flush(context.Background())
		case <-resize.C:
			r.recent.SizeBy(context.Background(), r.population)
		}
	}
}

// Flush writes the uses not written yet, at once.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	type pending struct {
		s  *slot
		at int64
	}
	var batch []store.ServiceAccess
	var marks []pending
	for i := range r.shards {
		sh := &r.shards[i]
		evict := false
		sh.mu.RLock()
		for k, s := range sh.m {
			at := s.at.Load()
			if at <= s.written {
				s.idle++
				evict = evict || s.idle >= IdleFlushes
				continue
			}
			s.idle = 0
			region := ""
			if p := s.region.Load(); p != nil {
				region = *p
			}
			batch = append(batch, store.ServiceAccess{PrincipalID: k.PrincipalID, Account: s.account, Service: k.Service, Action: k.Action,
				At: time.Unix(0, at).UTC(), Region: region})
			marks = append(marks, pending{s, at})
		}
		sh.mu.RUnlock()
		if evict {
			sh.mu.Lock()
			for k, s := range sh.m {
				if s.idle >= IdleFlushes && s.at.Load() <= s.written {
					delete(sh.m, k)
					r.keys.Add(-1)
				}
			}
			if sh.peak >= shrinkMin && len(sh.m) < sh.peak/shrinkBelow {
				m := make(map[Key]*slot, len(sh.m))
				maps.Copy(m, sh.m)
				sh.m, sh.peak = m, len(m)
			}
			sh.mu.Unlock()
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if err := r.w.RecordServiceAccess(ctx, batch); err != nil {
		r.failed.Add(1)
		return err
	}
	for _, m := range marks {
		m.s.written = m.at
	}
	return nil
}

// Keys is the number of keys in memory.
func (r *Recorder) Keys() int64 { return r.keys.Load() }

// Dropped is the number of uses not recorded because memory was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Failed is the number of batch writes that failed (and were retried).
func (r *Recorder) Failed() int64 { return r.failed.Load() }

// Close stops the background writer and writes what is pending. Record
// may still be called; uses after Close are kept until the next Flush.
func (r *Recorder) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	return r.Flush(ctx)
}

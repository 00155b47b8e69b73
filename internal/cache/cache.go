// Package cache is the bounded in-memory cache OpenSTS's invalidated caches
// share (the authorizer's loaded policies and roles, the server's long-term
// keys): values by string key, bounded by the bytes they retain, evicted in
// CLOCK order, and invalidated exactly (by key, or by a key predicate) when
// the store's change feed says something changed.
//
// A read takes only the read lock and allocates nothing (a key built in a
// caller's buffer is looked up without conversion). Values shared by many
// entries (a compiled policy attached to a thousand users) are counted once.
//
// It resists scans: a value Load reads while the cache is full is stored
// only if its key missed recently before, so that requests cycling through
// more keys than fit keep hitting the ones cached (LRU and CLOCK alone
// would replace every entry before its next use and hit nothing), while a
// key in steady use gets in on its second miss. A value not stored is kept
// a short while in a small window instead (the last few hundred, in the
// order they came), which serves the uses that follow soon after (one
// request reads a user twice, for its key and for its decision) without
// letting the value into the cache, whose entries it would evict: a key
// read once in a rotation over more keys than fit costs one load, not two,
// and evicts nothing.
//
// It imports only the standard library.
package cache

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Shared is a value several entries may reference, counted once at Size
// while any entry references it. It is identified by its dynamic value, so
// it must be a comparable type (a pointer).
type Shared interface{ Size() int }

// Config configures a Cache.
type Config[V any] struct {
	// MaxBytes bounds the estimated bytes of the cached entries (keys,
	// values, shared values, bookkeeping). A value larger than the bound
	// is returned by Load but not stored.
	MaxBytes int
	// Cost estimates what v retains beside its key and the shared values
	// it references, which it returns (distinct). Nil counts only keys and
	// bookkeeping.
	Cost func(v V) (int, []Shared)
	// CompactBytes, when not zero, gives the cache a second tier of that
	// many bytes for the values loaded with LoadTiered: their encoded
	// form, in memory the garbage collector does not scan (see compact).
	// Delete, DeletePrefix and Clear apply to both tiers; DeleteFunc only
	// to the first, so an encoded value must not hold what a DeleteFunc
	// predicate looks at.
	CompactBytes int
	// CompactDir, when set with CompactFileBytes, puts the second tier in
	// an unlinked scratch file in that directory, bounded by
	// CompactFileBytes (see newCompactIn): the tier then costs the
	// process a write buffer (256 KiB) of memory, and its records are file
	// data, which the kernel caches while it has memory to spare. Where the
	// file cannot be made, the tier is in memory, bounded by CompactBytes.
	CompactDir       string
	CompactFileBytes int
	// CompactMapBytes, with CompactDir, has reads of the file go through
	// a mapping of it (a copy, not a system call) while it holds at most
	// that many bytes: those it reads then count toward the process's
	// resident memory (about MappedBytes), which pread's did not.
	// Past it, reads are preads, as without it.
	CompactMapBytes int
	// TTL, when not zero, bounds how long a value is served after it was
	// loaded, whatever invalidations say: a second line behind them, so
	// that a value kept stale by a missed invalidation (or a read the store
	// served from before a change) is served for at most TTL. Values put
	// with Put expire as loaded ones do; the second tier's records carry
	// their expiry.
	TTL time.Duration
	// TTLSpread, when not zero, shortens each value's TTL by a random
	// part of it (at most half the TTL): values loaded together (at a
	// start, or by a sweep over every entity) expire spread over TTLSpread
	// rather than at once, and their loads again do not come in one wave.
	TTLSpread time.Duration
	// Now is the clock of TTL (default: the monotonic clock, read by a
	// goroutine every coarseTick, so that a value may be served up to that
	// much past its TTL and a check costs no clock read).
	Now func() time.Time
}

// Cache is a bounded cache. It is safe for concurrent use.
type Cache[V any] struct {
	cost func(V) (int, []Shared)
	max  int
	ttl  int64 // nanoseconds; 0: none
	// spread is Config.TTLSpread, in nanoseconds, at most ttl/2.
	spread int64
	now    func() time.Time
	base   time.Time // expiries are nanoseconds since it, on the monotonic clock
	// gen is bumped by every invalidation; Load stores a value only if no
	// invalidation happened while it was being loaded, so a value read from
	// the store before a change is never cached after it. An invalidation
	// bumps it once it has dropped what it drops from every tier: a load
	// reads gen, then the second tier, without the cache's lock.
	gen atomic.Uint64

	mu    sync.RWMutex
	bytes int
	items map[string]*entry[V]
	hand  *entry[V] // the next entry CLOCK looks at; nil when empty
	refs  map[Shared]int
	ghost ghost     // keys of recent misses not stored
	win   window[V] // values of recent misses not stored

	tier *compact // nil without CompactBytes
}

// ghost remembers the hashes of the last len(ring) keys Load did not store
// because the cache was full.
type ghost struct {
	seed maphash.Seed
	ring []uint64
	next int
	set  map[uint64]int32 // hash -> times in ring
}

// ghostBytes is what a ghost of n keys costs: its ring, and its set at
// the map's load factor.
func ghostBytes(n int) int { return n*8 + n*(16+1)*8/7 }

// ghostLen is how many misses a cache of maxBytes remembers: one per 4 KiB,
// a quarter of its entries or fewer when an entry costs 1 KiB or more.
func ghostLen(maxBytes int) int { return min(max(maxBytes/4096, 16), 1<<20) }

func (g *ghost) hash(key string) uint64 { return maphash.String(g.seed, key) }

// seen reports whether h is remembered.
func (g *ghost) seen(h uint64) bool { return g.set[h] > 0 }

// add remembers h, forgetting the oldest.
func (g *ghost) add(h uint64) {
	if len(g.ring) == 0 {
		return
	}
	if old := g.ring[g.next]; old != 0 {
		if g.set[old]--; g.set[old] <= 0 {
			delete(g.set, old)
		}
	}
	g.ring[g.next] = h
	g.set[h]++
	g.next = (g.next + 1) % len(g.ring)
}

// window keeps the last values Load did not store (their key's first miss
// of late, with the cache full), in a ring: a value stays until as many
// others came after it as the ring holds, or their bytes exceed the
// window's bound, or an invalidation drops it. The cache's lock guards it.
type window[V any] struct {
	ring  []winSlot[V]
	next  int              // the slot written next: the oldest
	at    map[string]int32 // key -> slot
	bytes int              // cost of the values held
	max   int
}

type winSlot[V any] struct {
	key     string
	value   V
	cost    int
	expires int64 // Cache.expiry; 0: never
	live    bool
}

// windowLen is how many values the window of a cache of maxBytes holds:
// an eighth of its ghost's keys, between 16 and 512.
func windowLen(maxBytes int) int { return min(max(ghostLen(maxBytes)/8, 16), 512) }

// get returns the value under key, and when it expires.
func (w *window[V]) get(key []byte) (V, int64, bool) {
	if i, ok := w.at[string(key)]; ok { // no allocation for the lookup
		return w.ring[i].value, w.ring[i].expires, true
	}
	var zero V
	return zero, 0, false
}

// add keeps v under key, dropping the oldest values as the ring and the
// byte bound require; a value costing more than the bound is not kept.
func (w *window[V]) add(key string, v V, cost int, expires int64) {
	if len(w.ring) == 0 || cost > w.max {
		return
	}
	w.delete(key)
	w.drop(w.next)
	for i := 1; w.bytes+cost > w.max && i < len(w.ring); i++ {
		w.drop((w.next + i) % len(w.ring)) // the next oldest
	}
	w.ring[w.next] = winSlot[V]{key: key, value: v, cost: cost, expires: expires, live: true}
	w.at[key] = int32(w.next)
	w.bytes += cost
	w.next = (w.next + 1) % len(w.ring)
}

// drop empties slot i.
func (w *window[V]) drop(i int) {
	if sl := &w.ring[i]; sl.live {
		delete(w.at, sl.key)
		w.bytes -= sl.cost
		*sl = winSlot[V]{}
	}
}

// delete drops the value under key.
func (w *window[V]) delete(key string) {
	if i, ok := w.at[key]; ok {
		w.drop(int(i))
	}
}

// deleteFunc drops the values for which drop is true, and returns how many.
func (w *window[V]) deleteFunc(drop func(key string, v V) bool) int {
	n := 0
	for i := range w.ring {
		if sl := &w.ring[i]; sl.live && drop(sl.key, sl.value) {
			w.drop(i)
			n++
		}
	}
	return n
}

// clear drops every value.
func (w *window[V]) clear() {
	clear(w.ring)
	clear(w.at)
	w.bytes = 0
}

type entry[V any] struct {
	key        string
	value      V
	cost       int32 // at most MaxBytes, which put checks fits
	expires    int64 // Cache.expiry; 0: never
	used       atomic.Bool
	shared     *[]Shared // nil when the value references none
	prev, next *entry[V]
}

// sharedOf returns what e shares.
func (e *entry[V]) sharedOf() []Shared {
	if e.shared == nil {
		return nil
	}
	return *e.shared
}

const wordSize = int(unsafe.Sizeof(uintptr(0)))

// New returns an empty cache.
func New[V any](cfg Config[V]) *Cache[V] {
	c := &Cache[V]{cost: cfg.Cost, max: cfg.MaxBytes, items: map[string]*entry[V]{}, refs: map[Shared]int{},
		ttl: int64(cfg.TTL), now: cfg.Now}
	if c.now == nil {
		if c.ttl != 0 {
			startCoarse()
		}
		c.now = coarseTime
	}
	c.base = c.now()
	c.ttl = min(c.ttl, int64(100*365*24*time.Hour)) // no overflow below
	if c.ttl > 0 {
		c.spread = min(max(int64(cfg.TTLSpread), 0), c.ttl/2)
	}
	if cfg.CompactBytes > 0 {
		c.tier = newCompactIn(cfg.CompactBytes, cfg.CompactDir, cfg.CompactFileBytes, cfg.CompactMapBytes)
	}
	// The ghost counts against the bound, and so does the window, which
	// holds at most a thirty-second of it; a cache too small to spare a
	// sixty-fourth of it for the ghost has neither.
	if n := ghostLen(cfg.MaxBytes); ghostBytes(n) <= cfg.MaxBytes/64 {
		c.max -= ghostBytes(n)
		c.ghost = ghost{seed: maphash.MakeSeed(), ring: make([]uint64, n), set: make(map[uint64]int32, n)}
		wl := windowLen(cfg.MaxBytes)
		c.win = window[V]{ring: make([]winSlot[V], wl), at: make(map[string]int32, wl), max: cfg.MaxBytes / 32}
		c.max -= c.win.max + wl*int(unsafe.Sizeof(winSlot[V]{}))
	}
	return c
}

// entryBytes is what an entry costs beside its key and value: the entry, its
// map slot at the map's load factor, and the pointer to it.
func entryBytes[V any]() int {
	return int(unsafe.Sizeof(entry[V]{})) + 2*wordSize + (int(unsafe.Sizeof(""))+wordSize+1)*8/7
}

// sharedListBytes is what an entry's list of n shared values costs: the
// slice header and its array, each with a word of overhead.
func sharedListBytes(n int) int {
	return int(unsafe.Sizeof([]Shared(nil))) + n*int(unsafe.Sizeof(Shared(nil))) + 2*wordSize
}

// sharedBytes is the cost of counting one shared value.
const sharedBytes = (4*wordSize + 1) * 8 / 7

// Get returns the value stored under key, or kept in the window, unless
// it expired.
func (c *Cache[V]) Get(key []byte) (V, bool) {
	c.mu.RLock()
	e := c.items[string(key)] // no allocation for the lookup
	if e == nil {
		v, exp, ok := c.win.get(key)
		c.mu.RUnlock()
		if ok && c.expired(exp) {
			var zero V
			return zero, false
		}
		return v, ok
	}
	c.mu.RUnlock()
	if c.expired(e.expires) {
		var zero V
		return zero, false // replaced by the load that follows
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.value, true
}

// coarse is the monotonic time since coarseBase as of the last tick of a
// goroutine that advances it every coarseTick: what caches with a TTL and
// no clock of their own read. A clock read costs some 100 ns on the
// virtual machines the server runs on, and a request checks several
// entries.
var (
	coarseBase = time.Now()
	coarse     atomic.Int64
	coarseOnce sync.Once
)

const coarseTick = 250 * time.Millisecond

func startCoarse() {
	coarseOnce.Do(func() {
		coarse.Store(int64(time.Since(coarseBase)))
		go func() {
			for range time.Tick(coarseTick) {
				coarse.Store(int64(time.Since(coarseBase)))
			}
		}()
	})
}

// coarseTime is the time of the last tick.
func coarseTime() time.Time { return coarseBase.Add(time.Duration(coarse.Load())) }

// expiry is when a value loaded now expires (0: never), in nanoseconds
// since base: on the monotonic clock, so that a step of the wall clock
// neither lengthens nor shortens a TTL.
func (c *Cache[V]) expiry() int64 {
	if c.ttl == 0 {
		return 0
	}
	ttl := c.ttl
	if c.spread > 0 {
		ttl -= rand.Int64N(c.spread + 1)
	}
	return max(int64(c.now().Sub(c.base))+ttl, 1)
}

// expired reports whether a value expiring at exp has.
func (c *Cache[V]) expired(exp int64) bool {
	return exp != 0 && int64(c.now().Sub(c.base)) >= exp
}

// Load returns the value under key, calling fill on a miss and storing what
// it returns unless the cache was invalidated meanwhile. Errors are not
// cached.
func (c *Cache[V]) Load(key []byte, fill func() (V, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	g, exp := c.gen.Load(), c.expiry()
	v, err := fill()
	if err != nil {
		return v, err
	}
	c.put(string(key), v, g, exp, true)
	return v, nil
}

// LoadTiered is Load with the second tier: on a miss in the first, the
// value encoded under key in the second is decoded (and stored in the
// first) instead of filled; a filled value is stored in the first tier and
// its encoding, which fill returns, in the second. decode returns false for
// an encoding it no longer accepts (one past its own expiry, say), which
// is then filled; it must not keep the slice it is given (or any slice of
// it), which is reused after it returns. Without a second tier it is Load.
func (c *Cache[V]) LoadTiered(key []byte, decode func([]byte) (V, bool), fill func() (V, []byte, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	return c.LoadTieredMissed(key, decode, fill)
}

// LoadTieredMissed is LoadTiered for a caller that has just looked key up
// with Get and found nothing, or a value it does not accept (past an
// expiry of its own, say): it skips the first tier's lookup, and the value
// it decodes or fills replaces the one there (if it is stored, as by put).
func (c *Cache[V]) LoadTieredMissed(key []byte, decode func([]byte) (V, bool), fill func() (V, []byte, error)) (V, error) {
	g, exp := c.gen.Load(), c.expiry()
	if c.tier != nil {
		// The record is copied out into a pooled buffer: decode is a
		// function value, so a buffer on the stack would escape to the heap
		// (a 512-byte allocation a miss).
		bp := recordBufs.Get().(*[]byte)
		b, ok := c.tier.get((*bp)[:0], key)
		if ok {
			rec := b
			if c.ttl != 0 {
				// A record's first 8 bytes are its expiry: the value
				// decoded from it expires then, not a TTL from now.
				if len(rec) < 8 {
					ok = false
				} else {
					exp, rec = int64(binary.LittleEndian.Uint64(rec)), rec[8:]
					ok = !c.expired(exp)
				}
			}
			var v V
			if ok {
				v, ok = decode(rec)
			}
			if cap(b) <= maxPooledRecord {
				*bp = b[:0]
			}
			recordBufs.Put(bp)
			if ok {
				c.put(string(key), v, g, exp, true)
				return v, nil
			}
			exp = c.expiry() // filled below
		} else {
			recordBufs.Put(bp)
		}
	}
	v, enc, err := fill()
	if err != nil {
		return v, err
	}
	if c.tier != nil && enc != nil {
		// Under the first tier's lock, as invalidations bump gen: an
		// encoding read before one is never stored after it.
		var head []byte
		if c.ttl != 0 {
			var hb [8]byte
			head = binary.LittleEndian.AppendUint64(hb[:0], uint64(exp))
		}
		c.mu.Lock()
		if c.gen.Load() == g {
			c.tier.put(key, head, enc)
		}
		c.mu.Unlock()
	}
	c.put(string(key), v, g, exp, true)
	return v, nil
}

// Gen returns the cache's generation, which every invalidation bumps: a
// value read after it is current as of it (see ReplaceTiered).
func (c *Cache[V]) Gen() uint64 { return c.gen.Load() }

// ReplaceTiered stores enc (a value's encoding, as LoadTiered's fill
// returns it, built from what the tier held under key) as the second
// tier's record under key, when no invalidation ran since gen (Gen, read
// before the value was): it never brings back a record an invalidation
// dropped, and costs the first tier's lock only the write. It reports
// whether it stored enc; a cache with a TTL (whose records start with
// their expiry) or without a second tier stores nothing.
func (c *Cache[V]) ReplaceTiered(key []byte, gen uint64, enc []byte) bool {
	if c.tier == nil || c.ttl != 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return false
	}
	c.tier.put(key, nil, enc)
	return true
}

// recordBufs are the buffers LoadTiered copies records into for decode,
// which must not keep them; one grown past maxPooledRecord is let go.
var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledRecord = 16 << 10

// Put stores v under key (unless an invalidation is running concurrently),
// evicting others as the bound requires.
func (c *Cache[V]) Put(key string, v V) { c.put(key, v, c.gen.Load(), c.expiry(), false) }

// put stores v. With admit set, it stores v in a cache that would have to
// evict for it only if key missed recently before (the ghost), and keeps it
// in the window otherwise.
func (c *Cache[V]) put(key string, v V, gen uint64, expires int64, admit bool) {
	own := 0
	var shared []Shared
	if c.cost != nil {
		own, shared = c.cost(v)
	}
	cost := len(key) + own + entryBytes[V]()
	if len(shared) > 0 {
		cost += sharedListBytes(len(shared))
	}
	need := cost
	for _, s := range shared {
		need += s.Size() + sharedBytes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return // invalidated while v was loaded: v may be stale
	}
	if old := c.items[key]; old != nil {
		c.remove(old)
	}
	c.win.delete(key)
	if need > c.max || cost > math.MaxInt32 {
		return
	}
	if admit && c.ghost.ring != nil && c.bytes+need > c.max {
		if h := c.ghost.hash(key); !c.ghost.seen(h) {
			c.ghost.add(h) // its first miss of late: not stored, kept a while
			c.win.add(key, v, need, expires)
			return
		}
	}
	e := &entry[V]{key: key, value: v, cost: int32(cost), expires: expires}
	if len(shared) > 0 {
		sh := shared // on the heap only when there is a list to keep
		e.shared = &sh
	}
	c.items[key] = e
	c.bytes += int(e.cost)
	for _, s := range shared {
		if c.refs[s]++; c.refs[s] == 1 {
			c.bytes += s.Size() + sharedBytes
		}
	}
	// Insert just behind the hand: the last entry it comes to.
	if c.hand == nil {
		e.prev, e.next = e, e
		c.hand = e
	} else {
		e.prev, e.next = c.hand.prev, c.hand
		e.prev.next, c.hand.prev = e, e
	}
	for c.bytes > c.max {
		// need <= max: entries other than e remain while over the bound.
		h := c.hand
		if h == e || h.used.Load() {
			h.used.Store(false)
			c.hand = h.next
			continue
		}
		c.remove(h)
	}
}

// remove drops e; the caller holds the write lock.
func (c *Cache[V]) remove(e *entry[V]) {
	delete(c.items, e.key)
	c.bytes -= int(e.cost)
	for _, s := range e.sharedOf() {
		if c.refs[s]--; c.refs[s] == 0 {
			delete(c.refs, s)
			c.bytes -= s.Size() + sharedBytes
		}
	}
	if e.next == e {
		c.hand = nil
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
		if c.hand == e {
			c.hand = e.next
		}
	}
	e.prev, e.next = nil, nil
}

// Delete drops the entry under key.
//
// The generation is made new last, once the second tier's record is gone
// too: a load reads gen and then the second tier without the cache's lock,
// so a load that saw the new generation while the record was still there
// would store it, stale, once Delete returned (DeletePrefix, and Clear,
// likewise drop the second tier's records first).
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	if e := c.items[key]; e != nil {
		c.remove(e)
	}
	c.win.delete(key)
	if c.tier != nil {
		c.tier.delete(key)
	}
	c.gen.Add(1)
	c.mu.Unlock()
}

// DeletePrefix drops every entry whose key starts with prefix, and returns
// how many. It costs a walk of the cache.
func (c *Cache[V]) DeletePrefix(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tier != nil {
		c.tier.deletePrefix(prefix)
	}
	return c.deleteLocked(func(key string, _ V) bool { return strings.HasPrefix(key, prefix) })
}

// DeleteFunc drops every entry of the first tier (and of its window) for
// which drop is true, and returns how many. It costs a walk of the cache; drop runs under the
// cache's lock and must not call it.
func (c *Cache[V]) DeleteFunc(drop func(key string, v V) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deleteLocked(drop)
}

func (c *Cache[V]) deleteLocked(drop func(key string, v V) bool) int {
	c.gen.Add(1)
	n := c.win.deleteFunc(drop)
	for k, e := range c.items {
		if drop(k, e.value) {
			c.remove(e)
			n++
		}
	}
	return n
}

// Clear drops every entry.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	clear(c.items)
	clear(c.refs)
	c.win.clear()
	c.bytes, c.hand = 0, nil
	if c.tier != nil {
		c.tier.clear()
	}
	c.gen.Add(1) // last, as in Delete
	c.mu.Unlock()
}

// Where reports which part of the cache holds a value under key: "first"
// (the first tier), "window", "second" (the second tier's record), each
// that does joined by "+", or "none" (diagnostics and tests).
func (c *Cache[V]) Where(key []byte) string {
	var at []string
	c.mu.RLock()
	if c.items[string(key)] != nil {
		at = append(at, "first")
	}
	if _, _, ok := c.win.get(key); ok {
		at = append(at, "window")
	}
	c.mu.RUnlock()
	if c.tier != nil {
		var buf [512]byte
		if _, ok := c.tier.peek(buf[:0], key); ok {
			at = append(at, "second")
		}
	}
	if len(at) == 0 {
		return "none"
	}
	return strings.Join(at, "+")
}

// TierRecord returns a copy of the second tier's record under key, as
// stored (its expiry first, with a TTL), read without the first tier's
// lock: for what rewrites a record (ReplaceTiered), diagnostics and tests.
func (c *Cache[V]) TierRecord(key []byte) ([]byte, bool) {
	if c.tier == nil {
		return nil, false
	}
	return c.tier.peek(nil, key)
}

// Stats returns the number of entries, their estimated bytes, and the bound
// (the window's values and their bound included).
func (c *Cache[V]) Stats() (entries, bytes, max int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items) + len(c.win.at), c.bytes + c.win.bytes, c.max + c.win.max
}

// MappedBytes is about what the second tier's mapping of its file may
// hold resident (see Config.CompactMapBytes): 0 without one.
func (c *Cache[V]) MappedBytes() int64 {
	if c.tier == nil {
		return 0
	}
	return c.tier.MappedBytes()
}

// TierStats returns the second tier's records, their bytes, and the bytes
// of its segments allocated so far (all zero without one).
func (c *Cache[V]) TierStats() (entries, bytes, allocated int) {
	if c.tier == nil {
		return 0, 0, 0
	}
	return c.tier.stats()
}

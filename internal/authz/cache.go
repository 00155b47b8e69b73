package authz

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/policy"
)

// DefaultCacheBytes bounds the authorizer's cache of loaded principals,
// roles, managed policies and SCPs: 64 MiB, by the estimate of loadCache.
const DefaultCacheBytes = 64 << 20

// loadCache is the Authorizer's cache: values by key, each stamped with the
// generation it was loaded at, bounded by the bytes they retain. An entry
// costs its key, its value's structs, slices and strings (walked by
// reflection when it is stored, see footprint) and a fixed overhead; the
// compiled policies values hold are counted apart, once each however many
// entries share them (a managed policy attached to a thousand users is one
// policy), at policy.Size. Past the bound, entries are evicted in CLOCK
// order (second chance for those read since the hand last passed), which
// approximates least recently used while letting a read take only the read
// lock and allocate nothing.
type loadCache struct {
	mu    sync.RWMutex
	max   int
	bytes int // entries' costs and the referenced policies' sizes
	items map[string]*loadEntry
	hand  *loadEntry // the next entry CLOCK looks at; nil when empty
	refs  map[*policy.Policy]int
}

type loadEntry struct {
	key        string
	gen        int64
	value      any
	cost       int
	pols       []*policy.Policy // distinct
	used       atomic.Bool
	prev, next *loadEntry // the CLOCK ring
}

const (
	wordSize = int(unsafe.Sizeof(uintptr(0)))
	// loadEntryBytes is what an entry costs beside its key and value: the
	// entry, its map slot at the map's load factor, and the value's box.
	loadEntryBytes = int(unsafe.Sizeof(loadEntry{})) + 2*wordSize + (int(unsafe.Sizeof(""))+wordSize+1)*8/7 + 2*wordSize
	// policyRefBytes is the cost of counting a referenced policy.
	policyRefBytes = (2*wordSize + 1) * 8 / 7
)

func newLoadCache(maxBytes int) *loadCache {
	return &loadCache{max: maxBytes, items: map[string]*loadEntry{}, refs: map[*policy.Policy]int{}}
}

// get returns the value stored under key at generation gen.
func (c *loadCache) get(key []byte, gen int64) (any, bool) {
	c.mu.RLock()
	e := c.items[string(key)] // no allocation for the lookup
	c.mu.RUnlock()
	if e == nil || e.gen != gen {
		return nil, false
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.value, true
}

// put stores v under key at generation gen, replacing what the key held,
// and evicts entries until the cache is within its bound. A value that
// would not fit in an empty cache is not stored.
func (c *loadCache) put(key []byte, gen int64, v any) {
	own, pols := footprint(v)
	e := &loadEntry{key: string(key), gen: gen, value: v, pols: pols}
	e.cost = len(e.key) + own + loadEntryBytes
	need := e.cost
	for _, p := range pols {
		need += p.Size() + policyRefBytes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.items[e.key]; old != nil {
		c.remove(old)
	}
	if need > c.max {
		return
	}
	c.items[e.key] = e
	c.bytes += e.cost
	for _, p := range e.pols {
		if c.refs[p]++; c.refs[p] == 1 {
			c.bytes += p.Size() + policyRefBytes
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
func (c *loadCache) remove(e *loadEntry) {
	delete(c.items, e.key)
	c.bytes -= e.cost
	for _, p := range e.pols {
		if c.refs[p]--; c.refs[p] == 0 {
			delete(c.refs, p)
			c.bytes -= p.Size() + policyRefBytes
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

// clear drops every entry.
func (c *loadCache) clear() {
	c.mu.Lock()
	clear(c.items)
	clear(c.refs)
	c.bytes, c.hand = 0, nil
	c.mu.Unlock()
}

// stats returns the number of entries and their cost in bytes.
func (c *loadCache) stats() (n, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items), c.bytes
}

// footprint estimates the heap v retains beside the compiled policies it
// references, which it returns (distinct) for the cache to count once each.
// It walks v by reflection, so that it follows changes to the cached types;
// pointers seen twice are counted once, and time.Location (shared, global)
// not at all.
func footprint(v any) (int, []*policy.Policy) {
	w := walker{seen: map[unsafe.Pointer]bool{}}
	rv := reflect.ValueOf(v)
	if rv.IsValid() && rv.Kind() != reflect.Pointer {
		w.n += obj(int(rv.Type().Size())) // boxed in the interface
	}
	w.walk(rv)
	return w.n, w.pols
}

var (
	policyPtr   = reflect.TypeFor[*policy.Policy]()
	locationPtr = reflect.TypeFor[*time.Location]()
)

type walker struct {
	n    int
	pols []*policy.Policy
	seen map[unsafe.Pointer]bool
}

// walk counts the memory v refers to (not v's own inline bytes, which its
// container counts).
func (w *walker) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Type() == locationPtr {
			return
		}
		p := v.UnsafePointer()
		if w.seen[p] {
			return
		}
		w.seen[p] = true
		if v.Type() == policyPtr {
			w.pols = append(w.pols, (*policy.Policy)(p))
			return
		}
		w.n += obj(int(v.Type().Elem().Size()))
		w.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() != reflect.Pointer {
			w.n += obj(int(e.Type().Size()))
		}
		w.walk(e)
	case reflect.Struct:
		for i := range v.NumField() {
			w.walk(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			w.walk(v.Index(i))
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		w.n += obj(v.Cap() * int(v.Type().Elem().Size()))
		for i := range v.Len() {
			w.walk(v.Index(i))
		}
	case reflect.String:
		w.n += obj(v.Len())
	case reflect.Map:
		if v.IsNil() {
			return
		}
		kv := int(v.Type().Key().Size() + v.Type().Elem().Size())
		w.n += obj(v.Len() * (kv + 1) * 8 / 7)
		for it := v.MapRange(); it.Next(); {
			w.walk(it.Key())
			w.walk(it.Value())
		}
	}
}

// obj is the estimated heap cost of one object of n bytes (as
// policy.Size counts them): rounded up to a word, plus an eighth for Go's
// size classes and a word.
func obj(n int) int {
	if n == 0 {
		return 0
	}
	n = (n + wordSize - 1) &^ (wordSize - 1)
	return n + n/8 + wordSize
}

// CacheStats returns the number of entries in the authorizer's cache and
// their estimated size in bytes (with the compiled policies they hold),
// which stays within Config.CacheBytes.
func (a *Authorizer) CacheStats() (entries, bytes int) { return a.cache.stats() }

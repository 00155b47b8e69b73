package policy

import (
	"crypto/sha256"
	"sync"
	"unsafe"
)

// DefaultCacheBytes is the size of a policy cache for a server: 64 MiB of
// compiled policies, thousands of typical ones (a compiled policy retains
// about ten times its document's length, and up to a hundred times for long
// lists of short entries; see Policy.Size).
const DefaultCacheBytes = 64 << 20

// Cache compiles policies once, keyed by (kind, sha256(doc)). It is safe for
// concurrent use. It holds compiled policies of at most maxBytes in all, by
// their estimated size (Policy.Size, plus the entry's own cost, plus each
// shape its policies share once: Policy.Shape), evicting the
// least recently used; a policy larger than maxBytes on its own is compiled
// but not kept. Validation failures are not cached.
//
// Documents that only one request uses (the simulator's inputs) should not
// go through a long-lived cache: Parse them.
type Cache struct {
	mu    sync.Mutex
	max   int // bytes
	bytes int // sum of the entries' costs
	items map[cacheKey]*cacheItem
	head  cacheItem // sentinel of the LRU list; head.next is the most recent
	refs  map[*shape]int
}

// shapeRefBytes is what counting a shape costs: its slot in Cache.refs.
const shapeRefBytes = (2*wordSize + 1) * 8 / 7

type cacheKey struct {
	kind Kind
	sum  [sha256.Size]byte
}

type cacheItem struct {
	key        cacheKey
	p          *Policy
	cost       int
	prev, next *cacheItem
}

// cacheEntryBytes is what an entry costs beside its policy: the item, and
// its map slot (key, pointer, control byte) at the map's load factor.
const cacheEntryBytes = int(unsafe.Sizeof(cacheItem{})) + objOverhead + (int(unsafe.Sizeof(cacheKey{}))+wordSize+1)*8/7

// NewCache returns a cache holding compiled policies of at most maxBytes.
func NewCache(maxBytes int) *Cache {
	c := &Cache{max: max(maxBytes, 0), items: make(map[cacheKey]*cacheItem), refs: make(map[*shape]int)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// Compile returns the compiled policy for doc, parsing it only when it is not
// cached. It returns the same errors as Parse.
func (c *Cache) Compile(kind Kind, doc string) (*Policy, error) {
	k := cacheKey{kind: kind, sum: sha256.Sum256([]byte(doc))}
	c.mu.Lock()
	if it, ok := c.items[k]; ok {
		c.unlink(it)
		c.pushFront(it)
		c.mu.Unlock()
		return it.p, nil
	}
	c.mu.Unlock()
	p, err := Parse(kind, doc)
	if err != nil {
		return nil, err
	}
	cost := p.Size() + cacheEntryBytes
	if cost+p.shape.Size()+shapeRefBytes > c.max {
		return p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok { // compiled concurrently
		return it.p, nil
	}
	it := &cacheItem{key: k, p: p, cost: cost}
	c.items[k] = it
	c.pushFront(it)
	c.bytes += cost
	if c.refs[p.shape]++; c.refs[p.shape] == 1 {
		c.bytes += p.shape.Size() + shapeRefBytes
	}
	for c.bytes > c.max {
		last := c.head.prev
		c.unlink(last)
		delete(c.items, last.key)
		c.bytes -= last.cost
		if sh := last.p.shape; c.refs[sh] == 1 {
			delete(c.refs, sh)
			c.bytes -= sh.Size() + shapeRefBytes
		} else {
			c.refs[sh]--
		}
	}
	return p, nil
}

// Len returns the number of cached policies.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes returns the estimated size of the cached policies with their
// entries; it never exceeds the cache's maxBytes.
func (c *Cache) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Cache) unlink(it *cacheItem) {
	it.prev.next, it.next.prev = it.next, it.prev
}

func (c *Cache) pushFront(it *cacheItem) {
	it.prev, it.next = &c.head, c.head.next
	c.head.next.prev = it
	c.head.next = it
}

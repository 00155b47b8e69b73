package policy

import (
	"crypto/sha256"
	"sync"
)

// Cache compiles policies once, keyed by (kind, sha256(doc)). It is safe for
// concurrent use and holds at most max policies, evicting the least recently
// used. Validation failures are not cached.
type Cache struct {
	mu    sync.Mutex
	max   int
	items map[cacheKey]*cacheItem
	head  cacheItem // sentinel of the LRU list; head.next is the most recent
}

type cacheKey struct {
	kind Kind
	sum  [sha256.Size]byte
}

type cacheItem struct {
	key        cacheKey
	p          *Policy
	prev, next *cacheItem
}

// NewCache returns a cache holding at most max compiled policies (at least 1).
func NewCache(max int) *Cache {
	if max < 1 {
		max = 1
	}
	c := &Cache{max: max, items: make(map[cacheKey]*cacheItem)}
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok { // compiled concurrently
		return it.p, nil
	}
	it := &cacheItem{key: k, p: p}
	c.items[k] = it
	c.pushFront(it)
	for len(c.items) > c.max {
		last := c.head.prev
		c.unlink(last)
		delete(c.items, last.key)
	}
	return p, nil
}

// Len returns the number of cached policies.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *Cache) unlink(it *cacheItem) {
	it.prev.next, it.next.prev = it.next, it.prev
}

func (c *Cache) pushFront(it *cacheItem) {
	it.prev, it.next = &c.head, c.head.next
	c.head.next.prev = it
	c.head.next = it
}

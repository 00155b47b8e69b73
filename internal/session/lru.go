package session

import "sync"

// lruKey is a key that picks its own shard (a method, not a func field, so
// keys passed by pointer stay on the caller's stack).
type lruKey interface {
	comparable
	shard() byte
}

// lru is a bounded, sharded least-recently-used map. Values are immutable
// once stored; only the recency links change.
type lru[K lruKey, V any] struct {
	shards [cacheShards]lruShard[K, V]
}

const cacheShards = 16

type lruEntry[K lruKey, V any] struct {
	key        K
	val        V
	prev, next *lruEntry[K, V]
}

type lruShard[K lruKey, V any] struct {
	mu   sync.Mutex
	m    map[K]*lruEntry[K, V]
	head lruEntry[K, V] // sentinel: head.next is the most recently used
	max  int
}

// newLRU returns an lru of about size entries, or nil (no caching) for
// size <= 0.
func newLRU[K lruKey, V any](size int) *lru[K, V] {
	if size <= 0 {
		return nil
	}
	per := (size + cacheShards - 1) / cacheShards
	c := &lru[K, V]{}
	for i := range c.shards {
		s := &c.shards[i]
		s.m = make(map[K]*lruEntry[K, V])
		s.head.next, s.head.prev = &s.head, &s.head
		s.max = per
	}
	return c
}

func (c *lru[K, V]) shard(k *K) *lruShard[K, V] { return &c.shards[(*k).shard()%cacheShards] }

// get returns the value of k (the zero value if absent) and marks it used.
func (c *lru[K, V]) get(k *K) V {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[*k]
	if e == nil {
		var zero V
		return zero
	}
	s.unlink(e)
	s.pushFront(e)
	return e.val
}

// put stores v under k, evicting the least recently used entries of the shard.
func (c *lru[K, V]) put(k *K, v V) {
	e := &lruEntry[K, V]{key: *k, val: v}
	s := c.shard(k)
	s.mu.Lock()
	if old := s.m[*k]; old != nil {
		s.unlink(old)
	}
	s.m[*k] = e
	s.pushFront(e)
	for len(s.m) > s.max {
		last := s.head.prev
		s.unlink(last)
		delete(s.m, last.key)
	}
	s.mu.Unlock()
}

// remove drops k.
func (c *lru[K, V]) remove(k *K) {
	s := c.shard(k)
	s.mu.Lock()
	if e := s.m[*k]; e != nil {
		s.unlink(e)
		delete(s.m, *k)
	}
	s.mu.Unlock()
}

// len counts the entries.
func (c *lru[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (s *lruShard[K, V]) unlink(e *lruEntry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (s *lruShard[K, V]) pushFront(e *lruEntry[K, V]) {
	e.prev = &s.head
	e.next = s.head.next
	s.head.next.prev = e
	s.head.next = e
}

package session

import (
	"sync"
	"unsafe"
)

// lruKey is a key that picks its own shard (a method, not a func field, so
// keys passed by pointer stay on the caller's stack).
type lruKey interface {
	comparable
	shard() byte
}

// lru is a bounded, sharded least-recently-used map. Values are immutable
// once stored; only the recency links change. It is bounded in bytes: each
// shard holds entries of at most 1/cacheShards of the bound, by their cost
// (the size function's estimate of the value plus lruEntryBytes for the
// entry with its key and map slot), computed once when they are stored.
type lru[K lruKey, V any] struct {
	shards [cacheShards]lruShard[K, V]
	size   func(V) int
}

const cacheShards = 16

type lruEntry[K lruKey, V any] struct {
	key        K
	val        V
	cost       int
	prev, next *lruEntry[K, V]
}

type lruShard[K lruKey, V any] struct {
	mu    sync.Mutex
	m     map[K]*lruEntry[K, V]
	head  lruEntry[K, V] // sentinel: head.next is the most recently used
	max   int            // bytes
	bytes int            // the entries' cost
}

// wordSize is the size of a pointer.
const wordSize = int(unsafe.Sizeof(uintptr(0)))

// entryBytes is what an entry of an lru[K, V] costs beside its value's own
// memory: the entry, and its map slot (key, pointer, control byte) at the
// map's load factor.
func (c *lru[K, V]) entryBytes() int {
	var e lruEntry[K, V]
	return obj(int(unsafe.Sizeof(e))) + (int(unsafe.Sizeof(e.key))+wordSize+1)*8/7
}

// obj is the estimated heap cost of one object of n bytes: rounded up to a
// word, plus an eighth for Go's size classes and a word.
func obj(n int) int {
	if n == 0 {
		return 0
	}
	n = (n + wordSize - 1) &^ (wordSize - 1)
	return n + n/8 + wordSize
}

// newLRU returns an lru of at most maxBytes, by size's estimate of each
// value's memory, or nil (no caching) for maxBytes <= 0.
func newLRU[K lruKey, V any](maxBytes int, size func(V) int) *lru[K, V] {
	if maxBytes <= 0 {
		return nil
	}
	per := maxBytes / cacheShards
	c := &lru[K, V]{size: size}
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

// put stores v under k, evicting the least recently used entries of the
// shard past its bound. A value that does not fit in an empty shard is not
// stored.
func (c *lru[K, V]) put(k *K, v V) {
	e := &lruEntry[K, V]{key: *k, val: v, cost: c.size(v) + c.entryBytes()}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[*k]; old != nil {
		s.unlink(old)
		delete(s.m, *k)
		s.bytes -= old.cost
	}
	if e.cost > s.max {
		return
	}
	s.m[*k] = e
	s.pushFront(e)
	s.bytes += e.cost
	for s.bytes > s.max {
		last := s.head.prev
		s.unlink(last)
		delete(s.m, last.key)
		s.bytes -= last.cost
	}
}

// remove drops k.
func (c *lru[K, V]) remove(k *K) {
	s := c.shard(k)
	s.mu.Lock()
	if e := s.m[*k]; e != nil {
		s.unlink(e)
		delete(s.m, *k)
		s.bytes -= e.cost
	}
	s.mu.Unlock()
}

// stats counts the entries and their cost in bytes.
func (c *lru[K, V]) stats() (n, bytes int) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		bytes += s.bytes
		s.mu.Unlock()
	}
	return n, bytes
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

// CacheStats returns the number of verified tokens the Manager remembers
// and their estimated size in bytes, which stays within Config.CacheBytes.
func (m *Manager) CacheStats() (entries, bytes int) {
	if m.cache == nil {
		return 0, 0
	}
	return m.cache.stats()
}

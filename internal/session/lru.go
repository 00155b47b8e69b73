package session

import (
	"unsafe"

	boundedcache "github.com/opensts/opensts/internal/cache"
)

// lruKey is a fixed-size key of plain bytes (a hash, a key id and a
// root): its memory is its identity.
type lruKey interface{ comparable }

// lru is the session package's view of the one bounded cache type,
// internal/cache.Cache (CLOCK eviction, bounded in bytes by size's estimate of each
// value plus the cache's bookkeeping): keyed by the bytes of K, so a lookup
// costs no allocation. Values are immutable once stored.
type lru[K lruKey, V any] struct{ c *boundedcache.Cache[V] }

// keyBytes is k's memory. K is an array or a struct of byte arrays, which
// have no padding (TestLRUKeysHaveNoPadding checks the ones in use).
func keyBytes[K lruKey](k *K) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k))
}

// wordSize is the size of a pointer.
const wordSize = int(unsafe.Sizeof(uintptr(0)))

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
	return &lru[K, V]{c: boundedcache.New(boundedcache.Config[V]{MaxBytes: maxBytes, Cost: func(v V) (int, []boundedcache.Shared) { return size(v), nil }})}
}

// get returns the value of k (the zero value if absent).
func (c *lru[K, V]) get(k *K) V {
	v, _ := c.c.Get(keyBytes(k))
	return v
}

// put stores v under k, evicting past the bound.
func (c *lru[K, V]) put(k *K, v V) { c.c.Put(string(keyBytes(k)), v) }

// remove drops k.
func (c *lru[K, V]) remove(k *K) { c.c.Delete(string(keyBytes(k))) }

// stats counts the entries and their cost in bytes.
func (c *lru[K, V]) stats() (n, bytes int) {
	n, bytes, _ = c.c.Stats()
	return n, bytes
}

// CacheStats returns the number of verified tokens the Manager remembers
// and their estimated size in bytes, which stays within Config.CacheBytes.
func (m *Manager) CacheStats() (entries, bytes int) {
	if m.cache == nil {
		return 0, 0
	}
	return m.cache.stats()
}

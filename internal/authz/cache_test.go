package authz

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// distinctPolicy compiles an identity policy of about n resource entries,
// different for every i.
func distinctPolicy(t *testing.T, i, n int) *policy.Policy {
	t.Helper()
	var res []string
	for j := range n {
		res = append(res, fmt.Sprintf(`"arn:aws:s3:::bucket-%d/key-%d"`, i, j))
	}
	p, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[`+strings.Join(res, ",")+`]}}`)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// principal is a loaded principal as the authorizer caches it.
func principal(i int, pols ...*policy.Policy) *principalPolicies {
	pp := newPrincipalPolicies([]store.Tag{{Key: "team", Value: fmt.Sprint("t", i)}})
	for j, p := range pols {
		pp.identity = append(pp.identity, policy.Named{ID: fmt.Sprintf("user/u%d/p%d", i, j), Policy: p})
	}
	return pp
}

// TestLoadCacheBound drives the authorizer's cache far past its byte bound
// with distinct principals and checks that its accounting never exceeds the
// bound and that the heap it keeps stays within it.
func TestLoadCacheBound(t *testing.T) {
	const bound = 2 << 20
	c := newLoadCache(bound)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 3000 { // about 20 KiB each: 30 times the bound
		key := cacheKey(nil, "policies/user", acct, fmt.Sprint("user", i))
		c.put(key, 1, principal(i, distinctPolicy(t, i, 40)))
		if _, b := c.stats(); b > bound {
			t.Fatalf("after %d principals: %d bytes cached, bound %d", i+1, b, bound)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n, b := c.stats()
	if n < 10 || b < bound/2 {
		t.Errorf("cache holds %d entries, %d bytes: not used up to its bound", n, b)
	}
	if v, ok := c.get(cacheKey(nil, "policies/user", acct, "user2999"), 1); !ok || v.(*principalPolicies).tags[0].Value != "t2999" {
		t.Error("the most recent entry is gone")
	}
	if _, ok := c.get(cacheKey(nil, "policies/user", acct, "user0"), 1); ok {
		t.Error("the oldest entry is still there")
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > bound+bound/4 {
		t.Errorf("heap grew by %d bytes with a cache of %d", grown, bound)
	}
	t.Logf("%d entries, %d bytes estimated; heap grew by %d", n, b, grown)

	c.clear()
	if n, b := c.stats(); n != 0 || b != 0 || len(c.refs) != 0 {
		t.Errorf("after clear: %d entries, %d bytes, %d policies", n, b, len(c.refs))
	}
}

// TestLoadCacheSharedPolicies checks that a policy many entries share is
// counted once, and uncounted when the last entry holding it goes.
func TestLoadCacheSharedPolicies(t *testing.T) {
	t.Parallel()
	c := newLoadCache(1 << 20)
	shared := distinctPolicy(t, 0, 200)
	for i := range 100 {
		c.put(cacheKey(nil, "policies/user", acct, fmt.Sprint("u", i)), 1, principal(i, shared))
	}
	_, b := c.stats()
	if own, _ := footprint(principal(0, shared)); b > shared.Size()+policyRefBytes+100*(own+loadEntryBytes+64) {
		t.Errorf("100 entries sharing a policy of %d bytes cost %d", shared.Size(), b)
	}
	if c.refs[shared] != 100 {
		t.Errorf("policy referenced %d times, want 100", c.refs[shared])
	}
	for i := range 100 {
		c.put(cacheKey(nil, "policies/user", acct, fmt.Sprint("u", i)), 2, principal(i))
	}
	if _, ok := c.refs[shared]; ok {
		t.Error("a policy no entry holds is still counted")
	}
	// A value larger than the whole cache is not kept.
	var big []*policy.Policy
	for i := range 10 {
		big = append(big, distinctPolicy(t, i+1, 200))
	}
	c.put([]byte("big"), 2, principal(0, big...))
	if _, ok := c.get([]byte("big"), 2); ok {
		t.Error("a value larger than the cache was stored")
	}
}

// TestLoadCacheClock checks that entries read since the CLOCK hand last
// passed survive an eviction round that removes unread ones, and that a
// stale generation misses.
func TestLoadCacheClock(t *testing.T) {
	t.Parallel()
	own, _ := footprint(principal(0))
	per := own + loadEntryBytes + len(cacheKey(nil, "policies/user", acct, "u00"))
	c := newLoadCache(10 * per)
	key := func(i int) []byte { return cacheKey(nil, "policies/user", acct, fmt.Sprintf("u%02d", i)) }
	for i := range 10 {
		c.put(key(i), 1, principal(i))
	}
	if n, _ := c.stats(); n != 10 {
		t.Fatalf("%d entries, want 10", n)
	}
	c.get(key(0), 1)
	c.put(key(10), 1, principal(10))
	if _, ok := c.get(key(0), 1); !ok {
		t.Error("a recently read entry was evicted")
	}
	if _, ok := c.get(key(1), 1); ok {
		t.Error("the least recently used unread entry was kept")
	}
	if _, ok := c.get(key(10), 2); ok {
		t.Error("an entry of another generation was returned")
	}
}

// TestLoadHitAllocatesNothing checks the hot path: a cached principal
// costs no allocation.
func TestLoadHitAllocatesNothing(t *testing.T) {
	a, _ := newAuthorizer(t)
	v := principal(0)
	var kb [128]byte
	key := cacheKey(kb[:0], "policies/user", acct, "alice")
	if _, err := a.load(key, func() (any, error) { return v, nil }); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var kb [128]byte
		got, err := a.load(cacheKey(kb[:0], "policies/user", acct, "alice"), func() (any, error) { return nil, nil })
		if err != nil || got != any(v) {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %.0f times", allocs)
	}
}

package session

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// bigSession is a session with a session policy and tags, about 3 KiB of
// strings, different for every i.
func bigSession(f *fixture, i int) Session {
	s := fullSession(f.clock.Now())
	s.SessionName = fmt.Sprint("s", i)
	s.Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::` + strings.Repeat("b", 2000) + fmt.Sprint(i) + `"}]}`
	s.Tags = nil
	for j := range 10 {
		s.Tags = append(s.Tags, Tag{Key: fmt.Sprint("key", j), Value: strings.Repeat("v", 50)})
	}
	return s
}

// TestTokenCacheBytesBound verifies ten times as many distinct large
// sessions as the verified-token cache's byte bound holds, and checks that
// its accounting never exceeds the bound, that the heap it keeps stays
// within it, and that the estimate of an entry is not below what it keeps.
// (Not parallel: it measures the heap.)
func TestTokenCacheBytesBound(t *testing.T) {
	const bound = 1 << 20
	f := newFixture(t, func(c *Config) { c.CacheBytes = bound })
	var creds []Credentials
	for i := range 3000 {
		creds = append(creds, mustMint(t, f.m, bigSession(f, i)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, c := range creds {
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
		if _, b := f.m.cache.stats(); b > bound {
			t.Fatalf("after %d tokens: %d bytes cached, bound %d", i+1, b, bound)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n, b := f.m.cache.stats()
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d sessions cached, %d bytes estimated; heap grew by %d", n, b, grown)
	if n < 50 || b < bound/2 {
		t.Errorf("cache holds %d sessions, %d bytes: not used up to its bound", n, b)
	}
	if grown > bound+bound/4 {
		t.Errorf("heap grew by %d bytes with a cache of %d", grown, bound)
	}
	if perEntry := float64(grown) / float64(n); float64(b)/float64(n) < 0.95*perEntry {
		t.Errorf("estimate %d bytes for %d entries, below the %.0f bytes each keeps", b, n, perEntry)
	}
	// The most recent token is still cached.
	last := creds[len(creds)-1]
	h := tokenHashOf(last.SessionToken)
	if f.m.cache.get(&h) == nil {
		t.Error("the most recently verified token is not cached")
	}
}

func tokenHashOf(token string) tokenHash { return sha256.Sum256([]byte(token)) }

// TestLRUKeysHaveNoPadding: cache keys are the keys' memory, so a key type
// must be made of bytes only.
func TestLRUKeysHaveNoPadding(t *testing.T) {
	if unsafe.Sizeof(rootID{}) != unsafe.Sizeof(rootID{}.kid)+unsafe.Sizeof(rootID{}.root) {
		t.Error("rootID has padding")
	}
	if unsafe.Sizeof(tokenHash{}) != 32 {
		t.Error("tokenHash is not 32 bytes")
	}
}

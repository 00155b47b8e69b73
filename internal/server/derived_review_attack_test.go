package server

import (
	"context"
	"crypto/sha256"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// An entry read before its key's invalidation never writes a record after
// it, however Derived and forget interleave.
func TestAttackDerivedAfterForget(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	for i := range 200 {
		id, _ := newUserKey(t, s, "racer"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		e, err := s.keys.get(ctx, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: id})
		}()
		go func() {
			defer wg.Done()
			var k [sha256.Size]byte
			e.Derived(time.Now().UTC().Format("20060102"), "us-east-1", "sts", &k)
		}()
		wg.Wait()
		// forget ran before Derived (refused by the gen) or after it (the
		// record dropped): either way, no record.
		if _, ok := s.keys.cache.TierRecord([]byte(id)); ok {
			t.Fatalf("key %d: record survives its invalidation", i)
		}
	}
}

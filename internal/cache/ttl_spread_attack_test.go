package cache

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestAttackSpreadNeverPastTTL: with a spread, no value is served at or
// past its TTL from the first tier, the window or the second tier, and
// every value is served until TTL less the (capped) spread; a spread
// larger than half the TTL is cut to half, a negative one is none, and a
// TTL of zero ignores the spread (values never expire).
func TestAttackSpreadNeverPastTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl, spread, minLife time.Duration
	}{
		{time.Minute, 15 * time.Second, 45 * time.Second},
		{time.Minute, time.Hour, 30 * time.Second}, // capped at half
		{time.Minute, -time.Hour, time.Minute},     // negative: none
		{time.Minute, time.Minute / 2, 30 * time.Second},
		{3 * time.Nanosecond, time.Hour, 2 * time.Nanosecond},
		{time.Nanosecond, time.Hour, time.Nanosecond},
	} {
		name := fmt.Sprintf("ttl %v spread %v", tc.ttl, tc.spread)
		start := time.Unix(1_000_000, 0)
		now := start
		c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20, TTL: tc.ttl, TTLSpread: tc.spread, Now: func() time.Time { return now }})
		const n = 300
		for i := range n {
			k := strconv.Itoa(i)
			switch i % 3 {
			case 0:
				c.Put(k, tiered{s: "p"})
			case 1:
				_, _ = c.Load([]byte(k), func() (tiered, error) { return tiered{s: "l"}, nil })
			case 2:
				_, _ = c.LoadTiered([]byte(k), decodeTiered, func() (tiered, []byte, error) { return tiered{s: "t"}, []byte("t"), nil })
			}
		}
		served := func() int {
			k := 0
			for i := range n {
				if _, ok := c.Get([]byte(strconv.Itoa(i))); ok {
					k++
				}
			}
			return k
		}
		now = start.Add(tc.minLife - time.Nanosecond)
		if k := served(); k != n {
			t.Errorf("%s: %d of %d served before TTL less the spread", name, k, n)
		}
		now = start.Add(tc.ttl)
		if k := served(); k != 0 {
			t.Errorf("%s: %d of %d served at the TTL", name, k, n)
		}
		// The second tier's records: none decoded at or past the TTL.
		c.DeleteFunc(func(string, tiered) bool { return true })
		fills := 0
		for i := 2; i < n; i += 3 {
			_, _ = c.LoadTiered([]byte(strconv.Itoa(i)), decodeTiered, func() (tiered, []byte, error) {
				fills++
				return tiered{s: "again"}, []byte("again"), nil
			})
		}
		if fills != n/3 {
			t.Errorf("%s: %d of %d records past the TTL were decoded, not filled", name, n/3-fills, n/3)
		}
	}
	// No TTL: the spread does nothing, values never expire.
	now := time.Unix(1_000_000, 0)
	c := New(Config[tiered]{MaxBytes: 1 << 20, TTLSpread: time.Hour, Now: func() time.Time { return now }})
	c.Put("k", tiered{s: "v"})
	now = now.Add(1000 * time.Hour)
	if _, ok := c.Get([]byte("k")); !ok {
		t.Error("without a TTL a value expired")
	}
}

// TestAttackSpreadTierAgrees: a value decoded from the second tier
// expires when the first tier's value it was filled with did (the
// record's expiry, spread included), not a new TTL (or spread) from the
// decode: dropping the first tier does not lengthen a value's life.
func TestAttackSpreadTierAgrees(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	now := start
	c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20, TTL: time.Minute, TTLSpread: 30 * time.Second, Now: func() time.Time { return now }})
	for i := range 100 {
		k := []byte(strconv.Itoa(i))
		_, _ = c.LoadTiered(k, decodeTiered, func() (tiered, []byte, error) { return tiered{s: "v"}, []byte("v"), nil })
		rec, ok := c.TierRecord(k)
		if !ok || len(rec) < 8 {
			t.Fatal("no record")
		}
		exp := int64(binary.LittleEndian.Uint64(rec))
		if life := time.Duration(exp); life > time.Minute || life < 30*time.Second {
			t.Fatalf("record's life %v", life)
		}
		// Just before the record's expiry, from the second tier: served;
		// at it: filled.
		c.DeleteFunc(func(string, tiered) bool { return true })
		now = start.Add(time.Duration(exp) - time.Nanosecond)
		filled := false
		_, _ = c.LoadTiered(k, decodeTiered, func() (tiered, []byte, error) { filled = true; return tiered{s: "w"}, []byte("w"), nil })
		if filled {
			t.Fatalf("%d: filled before the record's expiry", i)
		}
		now = start.Add(time.Duration(exp))
		if _, ok := c.Get(k); ok {
			t.Fatalf("%d: the decoded value outlived its record", i)
		}
		now = start
		c.Delete(string(k))
	}
}

// TestAttackHugeSpread: the largest TTL and spread do not overflow
// into an expiry in the past, or 0 (never).
func TestAttackHugeSpread(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := New(Config[tiered]{MaxBytes: 1 << 20, TTL: time.Duration(1<<63 - 1), TTLSpread: time.Duration(1<<63 - 1), Now: func() time.Time { return now }})
	for i := range 50 {
		c.Put(strconv.Itoa(i), tiered{s: "v"})
	}
	now = now.Add(49 * 365 * 24 * time.Hour)
	for i := range 50 {
		if _, ok := c.Get([]byte(strconv.Itoa(i))); !ok {
			t.Fatal("a value with a 100-year TTL (half of it spread) expired within 49 years")
		}
	}
}

// TestAttackLoadTieredMissedGen: a value LoadTieredMissed reads while
// an invalidation runs is not stored, in either tier; a first-tier value
// the caller refused is replaced only by a value read after it.
func TestAttackLoadTieredMissedGen(t *testing.T) {
	c := New(Config[tiered]{MaxBytes: 1 << 20, CompactBytes: 1 << 20})
	c.Put("k", tiered{s: "old"})
	v, err := c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		c.Delete("k") // the feed drops it while it is read
		return tiered{s: "stale"}, []byte("stale"), nil
	})
	if err != nil || v.s != "stale" {
		t.Fatalf("%+v %v", v, err)
	}
	if got, ok := c.Get([]byte("k")); ok {
		t.Fatalf("first tier holds %+v read during an invalidation", got)
	}
	if _, ok := c.TierRecord([]byte("k")); ok {
		t.Fatal("second tier holds a record read during an invalidation")
	}
	// An invalidation of another key, too (the generation is the cache's).
	c.Put("k", tiered{s: "old"})
	_, _ = c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		c.DeleteFunc(func(key string, _ tiered) bool { return key == "other" })
		return tiered{s: "stale"}, []byte("stale"), nil
	})
	if got, _ := c.Get([]byte("k")); got.s == "stale" {
		t.Fatal("a value read during another invalidation was stored")
	}
	// A fill that fails leaves nothing new.
	_, err = c.LoadTieredMissed([]byte("k"), decodeTiered, func() (tiered, []byte, error) {
		return tiered{}, nil, fmt.Errorf("store down")
	})
	if err == nil {
		t.Fatal("no error")
	}
}

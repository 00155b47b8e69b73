package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeyRecordDayAhead: a key's record written in the last hour of a UTC
// day keeps its secret (sealed), so that the key's first request of the
// next day derives that day's signing key without reading the store, and
// the record written then leaves the secret out again. A record written
// earlier in the day has no secret, and the next day's first request
// reads the store (from which the key is deleted behind the feed's back
// here: a store read is seen in the answer).
func TestKeyRecordDayAhead(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), // in the last hour
		time.Date(2026, 12, 7, 22, 30, 0, 0, time.UTC), // before it
	} {
		last := dayAhead(at)
		s, clock := daServer(t, at, nil)
		s.keys.ttl = 3 * time.Hour // the records last past midnight either way
		id, secret := newUserKey(t, s, "dayahead")
		serve := func() int { return daServe(t, s, "sts", id, secret, clock.Now()) }
		if code := serve(); code != 200 {
			t.Fatalf("%s: %d", at, code)
		}
		r, _ := decodeRecord(mustRecord(t, s, id))
		if got := len(r.sealed) > 0; got != last || !strings.HasPrefix(string(r.scope), "20261207/") {
			t.Fatalf("written at %s: record keeps the secret %v, want %v; scope %q", at.Format(time.TimeOnly), got, last, r.scope)
		}
		// The store has the key no more; the feed does not say so.
		s.store.SetChangeHook(nil)
		if err := s.store.DeleteAccessKey(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		dropFirstTier(s)
		clock.Set(time.Date(2026, 12, 8, 0, 0, 5, 0, time.UTC))
		want := 403 // read from the store
		if last {
			want = 200 // derived from the record
		}
		if code := serve(); code != want {
			t.Fatalf("written at %s: the next day's first request got %d, want %d", at.Format(time.TimeOnly), code, want)
		}
		if last {
			r, _ := decodeRecord(mustRecord(t, s, id))
			if len(r.sealed) > 0 || !strings.HasPrefix(string(r.scope), "20261208/") {
				t.Fatalf("the next day's record keeps the secret %v, scope %q", len(r.sealed) > 0, r.scope)
			}
		}
	}
}

// TestKeyRecordSecretNotOpening: a record whose sealed secret does not
// open (the tier's file changed under it) sends the secret's read to the
// store instead of failing the request.
func TestKeyRecordSecretNotOpening(t *testing.T) {
	s, clock := daServer(t, time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), nil)
	s.keys.ttl = 3 * time.Hour // the record lasts past midnight
	id, secret := newUserKey(t, s, "unopened")
	serve := func() int { return daServe(t, s, "sts", id, secret, clock.Now()) }
	if code := serve(); code != 200 {
		t.Fatal(code)
	}
	r, _ := decodeRecord(mustRecord(t, s, id))
	if len(r.sealed) == 0 {
		t.Fatal("the day's last hour wrote no secret")
	}
	bad := bytes.Clone(r.sealed)
	bad[len(bad)-1] ^= 1
	if !s.keys.cache.ReplaceTiered([]byte(id), s.keys.cache.Gen(), r.row.encode(bad, string(r.scope), r.sealedKey)) {
		t.Fatal("record not replaced")
	}
	dropFirstTier(s)
	clock.Set(time.Date(2026, 12, 8, 0, 0, 5, 0, time.UTC))
	if code := serve(); code != 200 {
		t.Fatalf("the next day's first request, its record's secret not opening: %d, want 200 (the store's)", code)
	}
}

package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/sigv4"
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
		var mu sync.Mutex
		now := at
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
		cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
		s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.keys.ttl = 3 * time.Hour // the records last past midnight either way
		id, secret := newUserKey(t, s, "dayahead")
		serve := func() int {
			t.Helper()
			body := []byte(url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}.Encode())
			req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			if err := sigv4.Sign(req, body, id, secret, "", "us-east-1", "sts", clock()); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			return rec.Code
		}
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
		s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
		set(time.Date(2026, 12, 8, 0, 0, 5, 0, time.UTC))
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

// TestDayAhead: the last hour of a UTC day, whatever the clock's zone.
func TestDayAhead(t *testing.T) {
	east := time.FixedZone("UTC+5", 5*3600)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 12, 7, 22, 59, 59, 0, time.UTC), false},
		{time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 12, 7, 23, 59, 59, 999999999, time.UTC), true},
		{time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 8, 4, 30, 0, 0, east), true},   // 23:30 UTC
		{time.Date(2026, 12, 7, 23, 30, 0, 0, east), false}, // 18:30 UTC
	} {
		if got := dayAhead(c.at); got != c.want {
			t.Errorf("dayAhead(%s) = %v, want %v", c.at, got, c.want)
		}
	}
}

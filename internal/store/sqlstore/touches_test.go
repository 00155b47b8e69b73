package sqlstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/store"
)

// A key or role used again within store.UseWindow, from the same service
// and region, is written once; another service or region, or a use past the
// window, is written again.
func TestTouchesWindow(t *testing.T) {
	var mu sync.Mutex
	var writes []map[string]Touch
	tt := NewTouches(time.Hour, func(_ context.Context, b map[string]Touch) error {
		mu.Lock()
		writes = append(writes, b)
		mu.Unlock()
		return nil
	})
	t.Cleanup(func() { _ = tt.Stop() })
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	flush := func() map[string]Touch {
		t.Helper()
		mu.Lock()
		writes = nil
		mu.Unlock()
		if err := tt.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(writes) == 0 {
			return nil
		}
		return writes[0]
	}
	tt.Record("AKIA1", Touch{At: t0, Service: "sts", Region: "us-east-1"})
	tt.RecordRole("AROA1", Touch{At: t0, Region: "us-east-1"})
	if b := flush(); len(b) != 2 {
		t.Fatalf("first uses: wrote %v", b)
	}
	tt.Record("AKIA1", Touch{At: t0.Add(time.Minute), Service: "sts", Region: "us-east-1"})
	tt.RecordRole("AROA1", Touch{At: t0.Add(time.Minute), Region: "us-east-1"})
	if b := flush(); len(b) != 0 {
		t.Fatalf("uses within the window: wrote %v", b)
	}
	tt.Record("AKIA1", Touch{At: t0.Add(2 * time.Minute), Service: "iam", Region: "us-east-1"})
	tt.RecordRole("AROA1", Touch{At: t0.Add(2 * time.Minute), Region: "eu-west-1"})
	if b := flush(); len(b) != 2 || b["AKIA1"].Service != "iam" || b[RolePrefix+"AROA1"].Region != "eu-west-1" {
		t.Fatalf("uses from another service or region: wrote %v", b)
	}
	past := t0.Add(store.UseWindow + time.Second)
	tt.Record("AKIA1", Touch{At: past, Service: "sts", Region: "us-east-1"})
	tt.RecordRole("AROA1", Touch{At: past, Region: "us-east-1"})
	if b := flush(); len(b) != 2 || !b["AKIA1"].At.Equal(past) || !b[RolePrefix+"AROA1"].At.Equal(past) {
		t.Fatalf("uses past the window: wrote %v", b)
	}
}

// SizeBy sizes the table of recent uses by the population it is given, and
// a population that cannot be read leaves it as it is.
func TestTouchesSizeBy(t *testing.T) {
	tt := NewTouches(time.Hour, func(context.Context, map[string]Touch) error { return nil })
	t.Cleanup(func() { _ = tt.Stop() })
	if got := tt.recent.Slots(); got != recentSlots {
		t.Fatalf("table of %d slots, want %d", got, recentSlots)
	}
	tt.SizeBy(t.Context(), func(context.Context) (int64, error) { return 0, errors.New("database is gone") })
	if got := tt.recent.Slots(); got != recentSlots {
		t.Fatalf("after a failed count: table of %d slots, want %d", got, recentSlots)
	}
	tt.SizeBy(t.Context(), func(context.Context) (int64, error) { return 2_000_000, nil })
	if got := tt.recent.Slots(); got != 1<<21 {
		t.Fatalf("for 2,000,000 principals: table of %d slots, want %d", got, 1<<21)
	}
	tt.SizeBy(t.Context(), func(context.Context) (int64, error) { return 1 << 40, nil })
	if got := tt.recent.Slots(); got != cache.MaxRecentSlots {
		t.Fatalf("for 2^40 principals: table of %d slots, want the bound %d", got, cache.MaxRecentSlots)
	}
}

// A pending use keeps a copy of its key id, not the string it was given:
// that is a piece of the request's Authorization header, and a flush that
// falls behind would keep every such header alive.
func TestTouchesCopyKeyIDs(t *testing.T) {
	tt := NewTouches(time.Hour, func(context.Context, map[string]Touch) error { return nil })
	t.Cleanup(func() { _ = tt.Stop() })
	header := "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001/20261207/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00"
	id := header[len("AWS4-HMAC-SHA256 Credential=") : len("AWS4-HMAC-SHA256 Credential=")+20]
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{t0, t0.Add(time.Hour)} { // the second replaces the first
		if !tt.Record(id, Touch{At: at, Service: "sts", Region: "us-east-1"}) {
			t.Fatal("Record refused the use")
		}
		tt.mu.RLock()
		keys := slices.Collect(maps.Keys(tt.pending))
		tt.mu.RUnlock()
		if len(keys) != 1 || keys[0] != id {
			t.Fatalf("pending keys %q, want %q", keys, id)
		}
		if unsafe.StringData(keys[0]) == unsafe.StringData(id) {
			t.Fatalf("use %d: the pending key is the request's own string, which keeps its header alive", i)
		}
	}
}

package session

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store/sqlite"
)

// TestRetiredKeysArePruned: with a real store (which can delete signing
// keys), a key is deleted once the last token it could have signed expired
// (VerifyUntil) plus a day, and not before.
func TestRetiredKeysArePruned(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := newClock()
	ctx := context.Background()
	m, err := NewManager(ctx, Config{Keys: st, Sealer: testSealer(t), Now: clk.Now, Rand: detRand(3), Propagation: -1,
		RotateEvery: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	first := m.Keys()[0].ID
	// verifyUntil reads the first key's VerifyUntil from the store (a
	// rotation shortens it to the new SignUntil's), false once it is gone.
	verifyUntil := func() (time.Time, bool) {
		recs, err := st.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.ID == first {
				return r.VerifyUntil, true
			}
		}
		return time.Time{}, false
	}
	last, _ := verifyUntil()
	for range 24 * 10 {
		clk.Advance(time.Hour)
		m.tick(ctx)
		vu, ok := verifyUntil()
		if !ok {
			if !clk.Now().After(last.Add(pruneAfter)) {
				t.Fatalf("key %s pruned at %v, before %v", first, clk.Now(), last.Add(pruneAfter))
			}
			if len(m.Keys()) == 0 {
				t.Fatal("pruning took the live keys too")
			}
			return
		}
		last = vu
	}
	t.Fatalf("key %s still stored at %v, past %v", first, clk.Now(), last.Add(pruneAfter))
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// BenchmarkRecordingWrites is IAM creation from 8 clients at once: each op
// a CreateUser, a write that records a change and so holds the change
// feed's counter row from the statement that takes its Seq to its commit
// (sqlstore.RecordChanges). The writes of all clients run one after the
// other for that long; ns/op is the time a write holds it, and its
// inverse the writes a second of the whole deployment.
func BenchmarkRecordingWrites(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, sharedtest.PostgresSchema(b, sharedtest.PostgresDSN(b), "recbench"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next atomic.Int64
	at := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			u := store.User{Account: "111111111111", ID: fmt.Sprintf("AIDABENCH%011d", i), Name: fmt.Sprintf("u%d", i), Path: "/", CreatedAt: at}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestLargeWrites: a write with more changes than one INSERT takes is
// recorded whole under one Seq and one time by RecordChanges on
// PostgreSQL (the pipelined path, ChangeStatements with the COMMIT, is
// TestAttackLargeWriteWithCommit's).
func TestLargeWrites(t *testing.T) {
	s, _ := attackStore(t, "largewrites")
	ctx := t.Context()
	const perWrite, writes = 1201, 2 // > 2*maxInsertRows
	for w := range writes {
		changes := make([]store.Change, perWrite)
		for i := range changes {
			changes[i] = store.Change{Kind: store.ChangeUser, Account: "111111111111", Key: fmt.Sprintf("AIDA%d-%d", w, i), Name: fmt.Sprintf("n%d", i)}
		}
		err := s.write(ctx, func(t *tx) error {
			seq, err := sqlstore.RecordChanges(ctx, t, dialect{}, changes)
			if err == nil && seq != int64(w+1) {
				err = fmt.Errorf("seq %d, want %d", seq, w+1)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for w := range writes {
		cs, err := s.Changes(ctx, int64(w), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != perWrite {
			t.Fatalf("write %d: %d changes, want %d", w+1, len(cs), perWrite)
		}
		for i, c := range cs {
			if c.Seq != int64(w+1) || c.Kind != store.ChangeUser || c.Account != "111111111111" || c.Key != fmt.Sprintf("AIDA%d-%d", w, i) ||
				c.Name != fmt.Sprintf("n%d", i) || !c.At.Equal(cs[0].At) || c.At.IsZero() {
				t.Fatalf("write %d: change %d is %+v (the first %+v)", w+1, i, c, cs[0])
			}
		}
	}
}

// TestRecordingWriteCutShort: a write whose changes go with its COMMIT
// (RecordWithCommit) and whose context ends while it waits for the feed's
// counter row, which another transaction holds, is not committed: its
// user is not stored, no Seq is taken, and the store writes and records
// as before once the row is free. The hook runs for the writes that
// committed only.
func TestRecordingWriteCutShort(t *testing.T) {
	s, dsn := attackStore(t, "cutshort")
	ctx := t.Context()
	var hooks atomic.Int64
	s.SetChangeHook(func() { hooks.Add(1) })
	at := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	user := func(n int) store.User {
		return store.User{Account: "111111111111", ID: fmt.Sprintf("AIDACUT%013d", n), Name: fmt.Sprintf("cut%d", n), Path: "/", CreatedAt: at}
	}
	if err := s.CreateUser(ctx, user(1)); err != nil {
		t.Fatal(err)
	}
	before, err := s.LastChange(ctx)
	if err != nil || before == 0 || hooks.Load() != 1 {
		t.Fatalf("after one write: last change %d (%v), %d hooks", before, err, hooks.Load())
	}

	holder := connect(t, dsn)
	if _, err := holder.Exec(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `UPDATE change_seq SET value = value WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = s.CreateUser(short, user(2))
	cancel()
	if err == nil {
		t.Fatal("CreateUser succeeded while the counter row was held and its context ended")
	}
	if _, err := holder.Exec(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "111111111111", "cut2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the cut-short write's user: %v, want not found", err)
	}
	if last, err := s.LastChange(ctx); err != nil || last != before {
		t.Fatalf("last change %d (%v) after the cut-short write, want %d", last, err, before)
	}
	for n := 3; n < 13; n++ { // more writes than the pool has connections
		if err := s.CreateUser(ctx, user(n)); err != nil {
			t.Fatalf("write %d after the cut-short one: %v", n, err)
		}
	}
	cs, err := s.Changes(ctx, before, 100)
	if err != nil || len(cs) != 10 || cs[0].Seq != before+1 || cs[9].Seq != before+10 || cs[0].Name != "cut3" {
		t.Fatalf("changes after the cut-short write: %+v, %v", cs, err)
	}
	if hooks.Load() != 11 {
		t.Fatalf("%d hooks, want 11 (the writes that committed)", hooks.Load())
	}
}

package postgres

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// deadlockBatch runs write (a batch of upserts or updates over keys, in key order)
// while another transaction holds the batch's last key and then asks for
// its first: a deadlock that PostgreSQL resolves by failing the batch's
// transaction (each waiter looks for one deadlock_timeout after it began
// to wait, and the batch began first), which the store retries. It
// returns write's error, and whether the batch was the one PostgreSQL
// failed: on a loaded machine the batch's one look for a deadlock can come
// before the other transaction asked for the first key, and the other
// transaction's look then finds it and fails that one instead (no retry to
// test: the caller tries again).
func deadlockBatch(t *testing.T, dsn, table, column, first, last string, write func() error) (error, bool) {
	t.Helper()
	ctx := t.Context()
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op once rolled back below
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+table+` WHERE `+column+` = $1 FOR UPDATE`, last); err != nil {
		t.Fatal(err)
	}
	// Watched from a connection of its own: a statistics view read in a
	// transaction shows what it showed at the transaction's first read.
	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	done := make(chan error, 1)
	go func() { done <- write() }()
	// Wait until the batch waits for the last key, its first statements
	// written (and their rows locked).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
			AND (query LIKE 'INSERT INTO `+table+`%' OR query LIKE 'UPDATE `+table+` %')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the batch ended (%v) before it waited for the held key", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the held key")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Now the other transaction asks for the first key, which the batch
	// holds: the batch finds the deadlock a deadlock_timeout after it began
	// to wait, and fails.
	locked := make(chan error, 1)
	go func() {
		_, err := tx.Exec(ctx, `SELECT 1 FROM `+table+` WHERE `+column+` = $1 FOR UPDATE`, first)
		locked <- err
	}()
	if err := <-locked; err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "40P01" {
			_ = tx.Rollback(ctx)
			return <-done, false // the other transaction was the victim
		}
		t.Fatalf("the other transaction: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	return <-done, true
}

// untilBatchFails runs attempt (which resets the rows and calls
// deadlockBatch) until the batch is the deadlock's victim, at most five
// times.
func untilBatchFails(t *testing.T, attempt func() (error, bool)) error {
	t.Helper()
	for range 5 {
		if err, victim := attempt(); victim || err != nil {
			return err
		}
	}
	t.Fatal("in five attempts PostgreSQL never failed the batch rather than the other transaction")
	return nil
}

// A batch of more than one statement whose transaction fails on a deadlock
// and is retried writes every row on the retry: the retry used to find the
// rows consumed by the first attempt, write nothing and report success.
func TestBatchWritesSurviveADeadlock(t *testing.T) {
	ctx := t.Context()
	dsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "retry")
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	const n = 201 // two statements: 200 and 1

	t.Run("service access", func(t *testing.T) {
		use := func(i int, at time.Time) store.ServiceAccess {
			return store.ServiceAccess{PrincipalID: fmt.Sprintf("AIDARETRY%04d", i), Service: "iam", Action: "GetUser", Account: "111111111111", At: at, Region: "us-east-1"}
		}
		var ids []string
		for i := range n {
			ids = append(ids, use(i, t0).PrincipalID)
		}
		// Each attempt writes later times than the one before (the latest
		// use wins), so that a retry that wrote nothing shows.
		var want time.Time
		k := 0
		if err := untilBatchFails(t, func() (error, bool) {
			before, after := t0.Add(time.Duration(2*k)*time.Hour), t0.Add(time.Duration(2*k+1)*time.Hour)
			k++
			var old, now []store.ServiceAccess
			for i := range n {
				old, now = append(old, use(i, before)), append(now, use(i, after))
			}
			if err := s.RecordServiceAccess(ctx, old); err != nil {
				t.Fatal(err)
			}
			want = after
			return deadlockBatch(t, dsn, "service_access", "principal_id", ids[0], ids[n-1], func() error { return s.RecordServiceAccess(ctx, now) })
		}); err != nil {
			t.Fatalf("RecordServiceAccess: %v", err)
		}
		got, err := s.ListServiceAccess(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d uses, want %d", len(got), n)
		}
		for _, g := range got {
			if !g.At.Equal(want) {
				t.Errorf("%s at %v after RecordServiceAccess succeeded, want %v", g.PrincipalID, g.At, want)
			}
		}
	})

	t.Run("baselines", func(t *testing.T) {
		old, now := map[string][]byte{}, map[string][]byte{}
		var keys []string
		for i := range n {
			k := fmt.Sprintf("role:retry%04d", i)
			keys = append(keys, k)
			old[k], now[k] = []byte("old"), []byte("new")
		}
		if err := untilBatchFails(t, func() (error, bool) {
			if err := s.PutBaselines(ctx, old, t0); err != nil {
				t.Fatal(err)
			}
			return deadlockBatch(t, dsn, "detect_baselines", "subject", keys[0], keys[n-1], func() error { return s.PutBaselines(ctx, now, t0.Add(time.Hour)) })
		}); err != nil {
			t.Fatalf("PutBaselines: %v", err)
		}
		got, err := s.GetBaselines(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if string(got[k]) != "new" {
				t.Errorf("%s holds %q after PutBaselines succeeded, want \"new\"", k, got[k])
			}
		}
	})
	t.Run("last uses", func(t *testing.T) {
		// The batch is of more than one statement for keys and for roles.
		const n = maxTouchBatch + 1
		seedKeysAndRoles(t, s, "RETRY", n)
		key := func(i int) string { return fmt.Sprintf("AKIARETRY%011d", i+1) }
		role := func(i int) string { return fmt.Sprintf("AROARETRY%011d", i+1) }
		batch := func(at time.Time) map[string]sqlstore.Touch {
			b := map[string]sqlstore.Touch{"AKIANOSUCHKEY0000000": {At: at, Service: "sts", Region: "us-east-1"}}
			for i := range n {
				b[key(i)] = sqlstore.Touch{At: at, Service: "sts", Region: "eu-west-1"}
				b[sqlstore.RolePrefix+role(i)] = sqlstore.Touch{At: at, Region: "eu-west-1"}
			}
			return b
		}
		var want time.Time
		k := 0
		if err := untilBatchFails(t, func() (error, bool) {
			before, after := t0.Add(time.Duration(2*k)*time.Hour), t0.Add(time.Duration(2*k+1)*time.Hour)
			k++
			if err := s.writeTouches(ctx, batch(before)); err != nil {
				t.Fatal(err)
			}
			want = after
			return deadlockBatch(t, dsn, "access_keys", "id", key(0), key(n-1), func() error { return s.writeTouches(ctx, batch(after)) })
		}); err != nil {
			t.Fatalf("writeTouches: %v", err)
		}
		// An older use written after a newer one changes nothing.
		if err := s.writeTouches(ctx, batch(want.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		var keys, roles int
		if err := (queryer{pool: s.pool}).QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM access_keys WHERE id LIKE 'AKIARETRY%' AND last_used_at = ? AND last_used_service = 'sts' AND last_used_region = 'eu-west-1'),
			(SELECT count(*) FROM roles WHERE id LIKE 'AROARETRY%' AND last_used_at = ? AND last_used_region = 'eu-west-1')`, want, want).Scan(&keys, &roles); err != nil {
			t.Fatal(err)
		}
		if keys != n || roles != n {
			t.Fatalf("%d keys and %d roles of %d each last used at %v", keys, roles, n, want)
		}
	})
}

package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
	"github.com/opensts/opensts/internal/store/storetest"
)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "opensts.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	var paths sync.Map // store.Store -> path
	storetest.Run(t, func(t *testing.T) store.Store {
		s, path := openTemp(t)
		paths.Store(s, path)
		return s
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		path, _ := paths.Load(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(path.(string))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		return s2
	}))
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "opensts.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Write something so that the -wal and -shm files exist.
	if err := s.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		dir:           0o700 | os.ModeDir,
		path:          0o600,
		path + "-wal": 0o600,
		path + "-shm": 0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestPragmas(t *testing.T) {
	s, _ := openTemp(t)
	for _, db := range []*sql.DB{s.wdb, s.rdb} {
		var mode string
		var fk, sync, busy int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != 1 || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d", mode, fk, sync, busy)
		}
	}
	// The read pool cannot write.
	if _, err := s.rdb.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	s, path := openTemp(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDA1", Name: "alice", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var n, max int
		if err := s.rdb.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		entries, _ := migrations.ReadDir("migrations")
		if n != len(entries) || max != len(entries) {
			t.Fatalf("schema_migrations has %d rows up to %d, want %d", n, max, len(entries))
		}
		if _, err := s.GetUser(ctx, "111111111111", "ALICE"); err != nil {
			t.Fatalf("data lost on reopen: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.wdb.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

// TestTwoStoresOneFile is two processes (the server and a CLI command) writing
// the same file: busy_timeout and BEGIN IMMEDIATE keep SQLITE_BUSY away.
func TestTwoStoresOneFile(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for j := range 50 {
				u := store.User{Account: "111111111111", ID: fmt.Sprintf("AIDA%d-%d", i, j), Name: fmt.Sprintf("u%d-%d", i, j), Path: "/"}
				if err := s.CreateUser(ctx, u); err != nil {
					errs <- err
				}
				if _, err := s.ListUsers(ctx, "111111111111", store.ListOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ga, _ := a.Generation(ctx)
	gb, _ := b.Generation(ctx)
	if ga != gb || ga != 200 {
		t.Errorf("generations %d and %d, want 200 on both", ga, gb)
	}
}

// TestTouchFlush: coalesced uses reach the database within the interval.
func TestTouchFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opensts.db")
	s, err := open(path, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIA1", Account: "111111111111", UserID: "111111111111", Status: "Active"}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := s.TouchAccessKey(ctx, "AKIA1", when, "sts", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	other, err := Open(path) // sees only what is in the file
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		k, err := other.GetAccessKey(ctx, "AKIA1")
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt.Equal(when) && k.LastUsedService == "sts" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("use not written: %+v", k)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAccessKey(ctx, "AKIA1", when, "sts", "us-east-1"); err == nil {
		t.Error("touch after close succeeded")
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "db file.sqlite")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutSetting(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func benchStore(b *testing.B) *Store {
	s, _ := openTemp(b)
	ctx := b.Context()
	for i := range 1000 {
		u := fmt.Sprintf("user%d", i)
		if err := s.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDA" + u, Name: u, Path: "/"}); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateAccessKey(ctx, store.AccessKey{ID: fmt.Sprintf("AKIA%016d", i), Account: "111111111111", UserName: u, Secret: make([]byte, 48), Status: "Active"}); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateRole(ctx, store.Role{Account: "111111111111", ID: "AROA" + u, Name: "role" + u, Path: "/", TrustPolicy: `{"Version":"2012-10-17","Statement":[]}`, MaxSessionDuration: 3600}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGetAccessKey(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.GetAccessKey(ctx, fmt.Sprintf("AKIA%016d", i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetAccessKeyParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetAccessKey(ctx, fmt.Sprintf("AKIA%016d", i%1000)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkGetRole(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.GetRole(ctx, "111111111111", fmt.Sprintf("roleuser%d", i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGeneration(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := s.Generation(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTouchAccessKey compares the coalescing default with one UPDATE
// transaction per call.
func BenchmarkTouchAccessKey(b *testing.B) {
	for _, direct := range []bool{false, true} {
		b.Run(map[bool]string{false: "coalesced", true: "direct"}[direct], func(b *testing.B) {
			s := benchStore(b)
			s.touches.Direct = direct
			ctx := b.Context()
			now := time.Now()
			i := 0
			for b.Loop() {
				if err := s.TouchAccessKey(ctx, fmt.Sprintf("AKIA%016d", i%1000), now.Add(time.Duration(i)), "sts", "us-east-1"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestUpgradeKeepsGeneration: a database written before the change feed
// (migration 1 only) upgrades in place; its generation becomes the feed's
// counter, so Seqs continue above it and the older ones read as pruned.
func TestUpgradeKeepsGeneration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "opensts.db")
	old, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(ctx, old, ms[:1]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (account, id, name, path, boundary, tags) VALUES ('111111111111', 'AIDA1', 'alice', '/', '', '[]')`,
		`UPDATE generation SET value = 7`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(ctx, "111111111111", "alice"); err != nil {
		t.Fatalf("data lost in the upgrade: %v", err)
	}
	if n, err := s.LastChange(ctx); err != nil || n != 7 {
		t.Fatalf("LastChange = %d, %v; want the old generation 7", n, err)
	}
	if g, err := s.Generation(ctx); err != nil || g != 7 {
		t.Fatalf("Generation = %d, %v; want 7", g, err)
	}
	if cs, err := s.Changes(ctx, 7, 10); err != nil || len(cs) != 0 {
		t.Fatalf("Changes(7) = %v, %v; want none", cs, err)
	}
	if _, err := s.Changes(ctx, 0, 10); !errors.Is(err, store.ErrChangesPruned) {
		t.Fatalf("Changes(0) before the feed: got %v, want ErrChangesPruned", err)
	}
	if err := s.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDA2", Name: "bob", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Changes(ctx, 7, 10)
	if err != nil || len(cs) != 1 || cs[0].Seq != 8 || cs[0].Key != "AIDA2" {
		t.Fatalf("Changes(7) after a write = %+v, %v; want bob's change with Seq 8", cs, err)
	}
}

// TestLargeWrites: a write with more changes than one INSERT takes is
// recorded whole, comes back whole whatever the limit, and pruning deletes
// it across several batches.
func TestLargeWrites(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	const perWrite, writes = 1200, 3 // > maxInsertRows and > pruneBatch
	for w := range writes {
		changes := make([]store.Change, perWrite)
		for i := range changes {
			changes[i] = store.Change{Kind: store.ChangeUser, Account: "111111111111", Key: fmt.Sprintf("AIDA%d-%d", w, i)}
		}
		err := s.write(ctx, func(tx *sql.Tx) error {
			seq, err := sqlstore.RecordChanges(ctx, sqlTx{tx}, dialect{}, changes)
			if err == nil && seq != int64(w+1) {
				err = fmt.Errorf("seq %d, want %d", seq, w+1)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		after   int64
		limit   int
		wantSeq int64 // every change returned has this Seq
	}{
		{0, 10, 1},            // first write larger than limit: whole
		{1, perWrite + 10, 2}, // the next write does not fit whole
		{2, 1, 3},
	} {
		cs, err := s.Changes(ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != perWrite {
			t.Fatalf("after %d limit %d: %d changes, want %d", tc.after, tc.limit, len(cs), perWrite)
		}
		for i, c := range cs {
			if c.Seq != tc.wantSeq || c.Key != fmt.Sprintf("AIDA%d-%d", tc.wantSeq-1, i) {
				t.Fatalf("after %d limit %d: change %d is %+v", tc.after, tc.limit, i, c)
			}
		}
	}
	n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour))
	if err != nil || n != perWrite*writes {
		t.Fatalf("PruneChanges = %d, %v; want %d", n, err, perWrite*writes)
	}
	if cs, err := s.Changes(ctx, writes, 10); err != nil || len(cs) != 0 {
		t.Fatalf("Changes(%d) = %v, %v; want none", writes, cs, err)
	}
}

// TestUpgradeMovesFailedCreateAccountRequests: migration 0011 moves the
// failed CreateAccount requests kept in settings (org.car.<id>, the JSON of
// their status) to their table.
func TestUpgradeMovesFailedCreateAccountRequests(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "opensts.db")
	old, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(ctx, old, ms[:10]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO settings (key, value) VALUES ('org.car.car-abcdefghijklmnop', '{"Id":"car-abcdefghijklmnop","AccountName":"dev","State":"FAILED","RequestedTimestamp":1767225600,"CompletedTimestamp":1767225600,"FailureReason":"EMAIL_ALREADY_EXISTS"}')`,
		`INSERT INTO settings (key, value) VALUES ('org.id', 'o-abcdefghij')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.GetOrgAccountFailure(ctx, "car-abcdefghijklmnop")
	if err != nil {
		t.Fatal(err)
	}
	want := store.OrgAccountFailure{ID: "car-abcdefghijklmnop", AccountName: "dev", Reason: "EMAIL_ALREADY_EXISTS", RequestedAt: time.Unix(1767225600, 0).UTC()}
	if f.ID != want.ID || f.AccountName != want.AccountName || f.Reason != want.Reason || !f.RequestedAt.Equal(want.RequestedAt) {
		t.Fatalf("moved request %+v, want %+v", f, want)
	}
	if _, err := s.GetSetting(ctx, "org.car.car-abcdefghijklmnop"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old setting: %v", err)
	}
	if v, err := s.GetSetting(ctx, "org.id"); err != nil || v != "o-abcdefghij" {
		t.Fatalf("other settings: %q, %v", v, err)
	}
}

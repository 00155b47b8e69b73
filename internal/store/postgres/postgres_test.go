package postgres

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
	"github.com/opensts/opensts/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	dsn := sharedtest.PostgresDSN(t)
	dsns := map[store.Store]string{}
	var mu = make(chan struct{}, 1)
	storetest.Run(t, func(t *testing.T) store.Store {
		sdsn := sharedtest.PostgresSchema(t, dsn, "storetest")
		s, err := Open(t.Context(), sdsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		mu <- struct{}{}
		dsns[s] = sdsn
		<-mu
		return s
	}, storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
		mu <- struct{}{}
		sdsn := dsns[s]
		<-mu
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(t.Context(), sdsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		return s2
	}))
}

func TestMigrationsIdempotent(t *testing.T) {
	sdsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest")
	for range 3 {
		s, err := Open(t.Context(), sdsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.reads.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		entries, _ := migrations.ReadDir("migrations")
		if n != len(entries) {
			t.Fatalf("%d migrations recorded, want %d", n, len(entries))
		}
		s.Close()
	}
}

// upgradeFrom returns a fresh schema migrated to its first n migrations
// and then written by stmts: a database of an older version, for Open to
// upgrade.
func upgradeFrom(t *testing.T, n int, stmts ...string) string {
	t.Helper()
	ctx := t.Context()
	sdsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest")
	cfg, err := pgx.ParseConfig(sdsn)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{pool: newPool(cfg, 1)}
	defer old.pool.close()
	if err := old.applyMigrations(ctx, ms[:n]); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := (queryer{pool: old.pool}).ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return sdsn
}

// TestUpgradeKeepsGeneration: a database written before the change feed
// (migration 1 only) upgrades in place; its generation becomes the feed's
// counter, so Seqs continue above it and the older ones read as pruned.
func TestUpgradeKeepsGeneration(t *testing.T) {
	ctx := t.Context()
	sdsn := upgradeFrom(t, 1,
		`INSERT INTO users (account, id, name, path, boundary, tags) VALUES ('111111111111', 'AIDA1', 'alice', '/', '', '[]')`,
		`UPDATE generation SET value = 7`,
	)

	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(ctx, "111111111111", "ALICE"); err != nil {
		t.Fatalf("data lost in the upgrade: %v", err)
	}
	if n, err := s.LastChange(ctx); err != nil || n != 7 {
		t.Fatalf("LastChange = %d, %v; want the old generation 7", n, err)
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

// TestChangesVisibleInOrder: several nodes (stores on one database) write
// concurrently, each transaction sleeping a random few milliseconds between
// taking its Seq and committing, while another node tails the feed. The
// tailer must never see a Seq before a smaller one: with Seqs from a plain
// sequence (nextval at any point of the transaction) it would, since
// transactions commit in a different order than they took their numbers.
func TestChangesVisibleInOrder(t *testing.T) {
	ctx := t.Context()
	sdsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest")
	const nodes, writersPerNode, writes = 3, 3, 40
	var stores []*Store
	for range nodes + 1 {
		s, err := Open(ctx, sdsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	tailer := stores[nodes]

	var wg sync.WaitGroup
	errc := make(chan error, nodes*writersPerNode)
	for n := range nodes {
		for w := range writersPerNode {
			wg.Go(func() {
				for i := range writes {
					key := fmt.Sprintf("n%d-w%d-%d", n, w, i)
					var err error
					if i%4 == 0 { // a write through the API
						err = stores[n].PutSetting(ctx, key, "v")
					} else { // a slow commit
						err = stores[n].write(ctx, func(t *tx) error {
							_, err := sqlstore.RecordChanges(ctx, t, dialect{}, []store.Change{{Kind: store.ChangeSetting, Key: key}})
							if err != nil {
								return err
							}
							_, err = t.ExecContext(ctx, `SELECT pg_sleep(random() * 0.004)`)
							return err
						})
					}
					if err != nil {
						errc <- fmt.Errorf("%s: %w", key, err)
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]bool{}
	after, polls := int64(0), 0
	for finished := false; ; polls++ {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := tailer.Changes(ctx, after, 10)
		if err != nil {
			t.Fatalf("poll %d: changes after %d: %v", polls, after, err)
		}
		for _, c := range cs {
			if c.Seq != after+1 {
				t.Fatalf("poll %d: after %d got Seq %d", polls, after, c.Seq)
			}
			after = c.Seq
			if seen[c.Key] {
				t.Fatalf("change %s seen twice", c.Key)
			}
			seen[c.Key] = true
		}
		if finished && len(cs) == 0 {
			break
		}
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if want := nodes * writersPerNode * writes; len(seen) != want || after != int64(want) {
		t.Fatalf("tailer saw %d changes up to Seq %d, want %d", len(seen), after, want)
	}
	t.Logf("%d polls", polls)
}

// TestUpgradeMovesFailedCreateAccountRequests: migration 0012 moves the
// failed CreateAccount requests kept in settings (org.car.<id>, the JSON of
// their status) to their table.
func TestUpgradeMovesFailedCreateAccountRequests(t *testing.T) {
	ctx := t.Context()
	sdsn := upgradeFrom(t, 11,
		`INSERT INTO settings (key, value) VALUES ('org.car.car-abcdefghijklmnop', '{"Id":"car-abcdefghijklmnop","AccountName":"dev","State":"FAILED","RequestedTimestamp":1767225600,"CompletedTimestamp":1767225600,"FailureReason":"EMAIL_ALREADY_EXISTS"}')`,
		`INSERT INTO settings (key, value) VALUES ('org.id', 'o-abcdefghij')`,
	)
	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.GetOrgAccountFailure(ctx, "car-abcdefghijklmnop")
	if err != nil {
		t.Fatal(err)
	}
	if f.AccountName != "dev" || f.Reason != "EMAIL_ALREADY_EXISTS" || !f.RequestedAt.Equal(time.Unix(1767225600, 0)) {
		t.Fatalf("moved request %+v", f)
	}
	if _, err := s.GetSetting(ctx, "org.car.car-abcdefghijklmnop"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old setting: %v", err)
	}
	if v, err := s.GetSetting(ctx, "org.id"); err != nil || v != "o-abcdefghij" {
		t.Fatalf("other settings: %q, %v", v, err)
	}
}

// The upgrade that makes an event id unique in its account keeps the first
// of the copies a database sink stored before it, and only those.
func TestUpgradeKeepsOneCopyOfAnAuditEvent(t *testing.T) {
	ctx := t.Context()
	insert := func(node, account, id string) string {
		return `INSERT INTO audit_events (node, event_time, account, event_id, event_name, event_source, username, access_key_id,
			read_only, resource_types, resource_names, record) VALUES ('` + node + `', now(), '` + account + `', '` + id + `', 'E', 'iam.amazonaws.com', '', '',
			false, '{}', '{}', '{}')`
	}
	sdsn := upgradeFrom(t, 18,
		insert("a", "111111111111", "e1"), insert("b", "111111111111", "e1"), insert("c", "111111111111", "e1"), // three copies
		insert("a", "222222222222", "e1"), // the same id in another account
		insert("a", "111111111111", "e2"),
	)
	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn := connect(t, sdsn)
	rows, err := conn.Query(ctx, `SELECT node, account, event_id FROM audit_events ORDER BY account, event_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var node, account, id string
		if err := rows.Scan(&node, &account, &id); err != nil {
			t.Fatal(err)
		}
		got = append(got, node+"/"+account+"/"+id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"a/111111111111/e1", "a/111111111111/e2", "a/222222222222/e1"}
	if !slices.Equal(got, want) {
		t.Fatalf("events after the upgrade %v, want %v", got, want)
	}
}

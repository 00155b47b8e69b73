package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/storetest"
)

// testDSN returns OPENSTS_TEST_POSTGRES_DSN. In CI (CI=true) a missing
// database fails the run instead of skipping it.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OPENSTS_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OPENSTS_TEST_POSTGRES_DSN is not set; CI must test the postgres backend")
		}
		t.Skip("OPENSTS_TEST_POSTGRES_DSN is not set")
	}
	return dsn
}

// schemaDSN creates an empty schema for one test and returns a DSN whose
// search_path is that schema; the schema is dropped when t ends.
func schemaDSN(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	dsns := map[store.Store]string{}
	var mu = make(chan struct{}, 1)
	storetest.Run(t, func(t *testing.T) store.Store {
		sdsn := schemaDSN(t, dsn)
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
	sdsn := schemaDSN(t, testDSN(t))
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

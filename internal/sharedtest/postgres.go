package sharedtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresDSN returns the test database's DSN (OPENSTS_TEST_POSTGRES_DSN,
// which `make test` sets up). In CI (CI=true) a missing database fails
// the test; elsewhere the test is skipped.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("OPENSTS_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OPENSTS_TEST_POSTGRES_DSN is not set; CI must test the postgres backend")
		}
		t.Skip("OPENSTS_TEST_POSTGRES_DSN is not set (make test sets it up)")
	}
	return dsn
}

// PostgresSchema creates an empty schema named prefix_<random> in the
// database of dsn, drops it when t ends, and returns a DSN whose
// search_path is that schema (a URL's query parameter, or a keyword
// DSN's search_path).
func PostgresSchema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
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

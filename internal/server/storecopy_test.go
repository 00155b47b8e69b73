package server

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAttackStoreLocationPassword: `opensts store copy` prints the source
// and target, and names them in its errors; a PostgreSQL URL may carry
// its password in the userinfo or in the query (password=, as libpq and
// pgx read it), and neither may be shown.
func TestAttackStoreLocationPassword(t *testing.T) {
	for _, u := range []string{
		"postgres://opensts:s3cretPW@db.example:5432/opensts?sslmode=disable",
		"postgres://opensts@db.example/opensts?sslmode=disable&password=s3cretPW",
		"postgresql://opensts@db.example/opensts?Password=s3cretPW",
		"postgres://opensts@db.example/opensts?password=s3cretPW#frag",
		"postgres://opensts@db.example/opensts?sslpassword=s3cretPW",
	} {
		l, err := ParseStoreLocation(u)
		if err != nil {
			t.Fatal(err)
		}
		if s := l.String(); strings.Contains(s, "s3cretPW") || !strings.Contains(s, "db.example") {
			t.Errorf("String() = %q", s)
		}
	}
	// An error naming a location that cannot be reached.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range []string{
		"postgres://opensts@127.0.0.1:1/opensts?connect_timeout=5&password=s3cretPW",
		"postgres://opensts@127.0.0.1:1/opensts?sslmode=bogus&password=s3cretPW", // pgx's parse error
	} {
		from, _ := ParseStoreLocation(u)
		_, err := CopyStore(ctx, from, StoreLocation{DataDir: t.TempDir()})
		if err == nil || strings.Contains(err.Error(), "s3cretPW") {
			t.Errorf("CopyStore from %s: %v", from, err)
		}
	}
}

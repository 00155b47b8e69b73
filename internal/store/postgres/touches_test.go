package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// BenchmarkWriteTouches is a flush of a second's uses across many keys and
// roles (AssumeRole across 100,000 roles, a distinct key and role a
// request, at 1,200 requests a second: internal/tools/scale's first pass).
func BenchmarkWriteTouches(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, sharedtest.PostgresSchema(b, sharedtest.PostgresDSN(b), "touchbench"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1200
	seedKeysAndRoles(b, s, "BENCH", n)
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for i := 0; b.Loop(); i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		batch := make(map[string]sqlstore.Touch, 2*n)
		for j := range n {
			batch[fmt.Sprintf("AKIABENCH%011d", j+1)] = sqlstore.Touch{At: at, Service: "sts", Region: "us-east-1"}
			batch[sqlstore.RolePrefix+fmt.Sprintf("AROABENCH%011d", j+1)] = sqlstore.Touch{At: at, Region: "us-east-1"}
		}
		if err := s.writeTouches(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// seedKeysAndRoles writes n root access keys (no user) and n roles straight
// into s, their ids "AKIA"+tag and "AROA"+tag then the numbers 1 to n
// zero-padded to 11 digits.
func seedKeysAndRoles(tb testing.TB, s *Store, tag string, n int) {
	tb.Helper()
	for _, q := range []string{
		`INSERT INTO access_keys (id, account, user_id, status) SELECT 'AKIA` + tag + `' || lpad(i::text, 11, '0'), '111111111111', '111111111111', 'Active' FROM generate_series(1, ?) AS i`,
		`INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration, boundary, tags, last_used_region)
			SELECT '111111111111', 'AROA` + tag + `' || lpad(i::text, 11, '0'), lower('` + tag + `') || i, '/', '{}', '', 3600, '', '{}', '' FROM generate_series(1, ?) AS i`,
	} {
		if _, err := (queryer{pool: s.pool}).ExecContext(tb.Context(), q, n); err != nil {
			tb.Fatal(err)
		}
	}
}

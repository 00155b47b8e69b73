package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// recorder is a sqlstore.DB that records the reads it runs.
type recorder struct {
	sqlstore.DB
	mu      sync.Mutex
	queries []query
}

type query struct {
	sql  string
	args []any
}

func (r *recorder) QueryContext(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r.mu.Lock()
	r.queries = append(r.queries, query{q, args})
	r.mu.Unlock()
	return r.DB.QueryContext(ctx, q, args...)
}

// TestListPagePlans checks that a list page is served by an index on a
// table large enough (and analyzed) for the planner to prefer one: no
// sequential scan, no sort, an index scan that stops at the LIMIT; and that
// a rare path prefix is a range of the path index.
func TestListPagePlans(t *testing.T) {
	sdsn := schemaDSN(t, testDSN(t))
	ctx := t.Context()
	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const account = "111111111111"
	var roles []store.Role
	for i := range 20000 {
		path := "/"
		if i%1000 == 0 {
			path = "/rare/"
		}
		roles = append(roles, store.Role{Account: account, ID: fmt.Sprintf("AROAPLAN%08d", i), Name: fmt.Sprintf("Role-%05d", i),
			Path: path, TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: time.Now()})
	}
	if err := s.CreateRoles(ctx, roles); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ANALYZE roles`); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{DB: db{s}}
	q := sqlstore.New(rec, dialect{}, s.touches)
	for _, c := range []struct {
		opt  store.ListOptions
		want string // in the plan
	}{
		{store.ListOptions{After: "role-10000", Limit: 101}, "Index Scan using roles_list"},
		{store.ListOptions{Limit: 1001}, "Index Scan using roles_list"},
		{store.ListOptions{PathPrefix: "/rare/", After: "role-01000", Limit: 101}, "roles_path"},
	} {
		rec.queries = nil
		if _, err := q.ListRoles(ctx, account, c.opt); err != nil {
			t.Fatal(err)
		}
		if len(rec.queries) != 1 {
			t.Fatalf("%+v: %d queries, want 1", c.opt, len(rec.queries))
		}
		plan := explain(t, conn, rec.queries[0])
		t.Logf("%+v:\n%s", c.opt, plan)
		if !strings.Contains(plan, c.want) {
			t.Errorf("%+v: plan has no %q:\n%s", c.opt, c.want, plan)
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("%+v: plan scans the table:\n%s", c.opt, plan)
		}
		if c.opt.PathPrefix == "" && strings.Contains(plan, "Sort") {
			t.Errorf("%+v: plan sorts:\n%s", c.opt, plan)
		}
	}
}

// explain returns the EXPLAIN of q, with its ? placeholders numbered as the
// pool's connections number them.
func explain(t *testing.T, conn *pgx.Conn, q query) string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "EXPLAIN "+rebind(q.sql), q.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

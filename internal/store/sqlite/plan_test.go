package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestListPagePlans checks that a list page is served by an index: SQLite
// neither scans the table nor sorts it (no "USE TEMP B-TREE FOR ORDER BY"),
// and a path prefix is a range of the path index, not a scan (it sorts the
// rows under the prefix that come after the position).
func TestListPagePlans(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	var roles []store.Role
	for i := range 3000 {
		path := "/"
		if i%10 == 0 {
			path = "/tenth/"
		}
		roles = append(roles, store.Role{Account: "111111111111", ID: fmt.Sprintf("AROAPLAN%08d", i), Name: fmt.Sprintf("role-%05d", i),
			Path: path, TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: time.Now()})
	}
	if err := s.CreateRoles(ctx, roles); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{DB: db{s}}
	q := sqlstore.New(rec, dialect{}, s.touches)
	page := store.ListOptions{After: "role-01500", Limit: 101}
	prefix := store.ListOptions{PathPrefix: "/tenth/", After: "role-01500", Limit: 101}
	for _, c := range []struct {
		name string
		list func(opt store.ListOptions) error
	}{
		{"users", func(opt store.ListOptions) error { _, err := q.ListUsers(ctx, "111111111111", opt); return err }},
		{"groups", func(opt store.ListOptions) error { _, err := q.ListGroups(ctx, "111111111111", opt); return err }},
		{"roles", func(opt store.ListOptions) error { _, err := q.ListRoles(ctx, "111111111111", opt); return err }},
		{"managed policies", func(opt store.ListOptions) error {
			_, err := q.ListManagedPolicies(ctx, "111111111111", opt)
			return err
		}},
	} {
		for _, opt := range []store.ListOptions{page, prefix} {
			rec.queries = nil
			if err := c.list(opt); err != nil {
				t.Fatal(err)
			}
			if len(rec.queries) != 1 {
				t.Fatalf("%s: %d queries, want 1", c.name, len(rec.queries))
			}
			plan := explain(t, s, rec.queries[0])
			t.Logf("%s %+v:\n%s", c.name, opt, plan)
			if strings.Contains(plan, "SCAN ") {
				t.Errorf("%s %+v scans a table:\n%s", c.name, opt, plan)
			}
			if opt.PathPrefix == "" && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s %+v sorts:\n%s", c.name, opt, plan)
			}
			if !strings.Contains(plan, "USING INDEX") && !strings.Contains(plan, "USING COVERING INDEX") {
				t.Errorf("%s %+v uses no index:\n%s", c.name, opt, plan)
			}
			if opt.PathPrefix != "" && !strings.Contains(plan, "_path (account=? AND path>? AND path<?)") {
				t.Errorf("%s %+v is not a range of the path index:\n%s", c.name, opt, plan)
			}
		}
	}
}

// explain returns the EXPLAIN QUERY PLAN of q, one step a line.
func explain(t *testing.T, s *Store, q query) string {
	t.Helper()
	rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

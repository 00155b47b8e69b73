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

// Read records the queries of fn's transaction too.
func (r *recorder) Read(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return r.DB.Read(ctx, func(tx sqlstore.Tx) error { return fn(recordingTx{tx, r}) })
}

type recordingTx struct {
	sqlstore.Tx
	r *recorder
}

func (t recordingTx) QueryContext(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	t.r.mu.Lock()
	t.r.queries = append(t.r.queries, query{q, args})
	t.r.mu.Unlock()
	return t.Tx.QueryContext(ctx, q, args...)
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
	for i := range 300 {
		path := "/"
		if i%10 == 0 {
			path = "/tenth/"
		}
		if err := s.CreateInstanceProfile(ctx, store.InstanceProfile{Account: "111111111111", ID: fmt.Sprintf("AIPAPLAN%08d", i),
			Name: fmt.Sprintf("role-%05d", i*10), Path: path, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
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
		{"instance profiles", func(opt store.ListOptions) error {
			_, err := q.ListInstanceProfiles(ctx, "111111111111", opt)
			return err
		}},
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

// TestKeyedListPlans checks, as TestListPagePlans does, the lists that page
// by a key kept outside the listed table or by another column: a policy's
// entities (attached, as boundary), a group's members, MFA devices,
// Organizations accounts, policies and a policy's targets.
func TestKeyedListPlans(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	const account = "111111111111"
	const boundary = "arn:aws:iam::111111111111:policy/B"
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
		INSERT INTO users (account, id, name, path, boundary, tags)
			SELECT '` + account + `', 'AIDAPLAN' || i, printf('user-%05d', i), '/', CASE WHEN i % 2 = 0 THEN '` + boundary + `' ELSE '' END, '[]' FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
		INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration, boundary, tags, last_used_region)
			SELECT '` + account + `', 'AROAPLAN' || i, printf('role-%05d', i), '/', '{}', '', 3600, CASE WHEN i % 2 = 0 THEN '` + boundary + `' ELSE '' END, '[]', '' FROM n`,
		`INSERT INTO managed_policies (account, id, name, path, arn, description, default_version_id, tags)
			VALUES ('aws', 'ANPAPLAN', 'P', '/', 'arn:aws:iam::aws:policy/P', '', 'v1', '[]')`,
		`INSERT INTO attachments (user_pk, policy_pk, account, owner_key) SELECT pk, (SELECT pk FROM managed_policies), account, lower(name) FROM users WHERE pk % 3 = 0`,
		`INSERT INTO attachments (role_pk, policy_pk, account, owner_key) SELECT pk, (SELECT pk FROM managed_policies), account, lower(name) FROM roles WHERE pk % 3 = 0`,
		`INSERT INTO groups (account, id, name, path) VALUES ('` + account + `', 'AGPAPLAN', 'team', '/')`,
		`INSERT INTO group_members (group_pk, user_pk, user_key) SELECT (SELECT pk FROM groups), pk, lower(name) FROM users`,
		`INSERT INTO mfa_devices (serial, account, name, path, user_pk, enabled_at, tags, last_counter)
			SELECT 'arn:aws:iam::` + account + `:mfa/' || name, account, name, '/', CASE WHEN pk % 3 = 0 THEN pk END,
				CASE WHEN pk % 3 = 0 THEN '2026-01-01T00:00:00.000000000Z' END, '[]', 0 FROM users`,
		`INSERT INTO accounts (id, name, email) SELECT printf('%012d', pk), name, name || '@example.com' FROM users`,
		`INSERT INTO org_policies (id, name, description, type, content, aws_managed) SELECT 'p-' || id, name, '', 'SERVICE_CONTROL_POLICY', '{}', 0 FROM users`,
		`INSERT INTO org_attachments (policy_id, target_id) SELECT 'p-AIDAPLAN0', id FROM accounts`,
		`INSERT INTO org_attachments (policy_id, target_id) SELECT 'p-AIDAPLAN1', id FROM accounts`,
		`ANALYZE`,
	} {
		if _, err := s.wdb.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rec := &recorder{DB: db{s}}
	q := sqlstore.New(rec, dialect{}, s.touches)
	opt := store.ListOptions{After: "user-01500", Limit: 101}
	for _, c := range []struct {
		name string
		list func() error
	}{
		{"users attached", func() error {
			_, err := q.ListPolicyEntities(ctx, account, "arn:aws:iam::aws:policy/P", store.KindUser, store.UseAttached, opt)
			return err
		}},
		{"roles attached", func() error {
			_, err := q.ListPolicyEntities(ctx, account, "arn:aws:iam::aws:policy/P", store.KindRole, store.UseAttached, store.ListOptions{After: "role-01500", Limit: 101})
			return err
		}},
		{"users with boundary", func() error {
			_, err := q.ListPolicyEntities(ctx, account, boundary, store.KindUser, store.UseBoundary, opt)
			return err
		}},
		{"roles with boundary", func() error {
			_, err := q.ListPolicyEntities(ctx, account, boundary, store.KindRole, store.UseBoundary, opt)
			return err
		}},
		{"group members", func() error { _, err := q.ListGroupMembers(ctx, account, "team", opt); return err }},
		{"mfa devices", func() error { _, err := q.ListMFADevices(ctx, account, store.MFAAny, opt); return err }},
		{"assigned mfa devices", func() error { _, err := q.ListMFADevices(ctx, account, store.MFAAssigned, opt); return err }},
		{"unassigned mfa devices", func() error { _, err := q.ListMFADevices(ctx, account, store.MFAUnassigned, opt); return err }},
		{"root mfa devices", func() error { _, err := q.ListUserMFADevices(ctx, account, ""); return err }},
		{"accounts", func() error {
			_, err := q.ListAccounts(ctx, store.ListOptions{After: "000000001500", Limit: 21})
			return err
		}},
		{"org policies", func() error { _, err := q.ListOrgPolicies(ctx, "SERVICE_CONTROL_POLICY", opt); return err }},
		{"org targets", func() error {
			_, err := q.ListOrgTargets(ctx, "p-AIDAPLAN0", store.ListOptions{After: "000000001500", Limit: 21})
			return err
		}},
	} {
		rec.queries = nil
		if err := c.list(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(rec.queries) == 0 {
			t.Fatalf("%s: no query recorded", c.name)
		}
		for _, qu := range rec.queries {
			plan := explain(t, s, qu)
			t.Logf("%s:\n%s", c.name, plan)
			for _, bad := range []string{"SCAN ", "TEMP B-TREE"} {
				if strings.Contains(plan, bad) {
					t.Errorf("%s: plan has %q:\n%s", c.name, bad, plan)
				}
			}
		}
	}
}

package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/sharedtest"
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

// TestListPagePlans checks that a list page is served by an index on a
// table large enough (and analyzed) for the planner to prefer one: no
// sequential scan, no sort, an index scan that stops at the LIMIT; and that
// a rare path prefix is a range of the path index.
func TestListPagePlans(t *testing.T) {
	sdsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest")
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

	// Instance profiles page the same way, their role found by its key.
	if _, err := conn.Exec(ctx, `INSERT INTO instance_profiles (account, id, name, path, created_at, tags, role_pk)
		SELECT $1, 'AIPAPLAN' || lpad(i::text, 8, '0'), 'Profile-' || lpad(i::text, 5, '0'),
			CASE WHEN i % 1000 = 0 THEN '/rare/' ELSE '/' END, now(), '[]',
			CASE WHEN i % 2 = 0 THEN (SELECT pk FROM roles WHERE id = 'AROAPLAN' || lpad(i::text, 8, '0')) END
		FROM generate_series(0, 19999) AS i`, account); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE instance_profiles`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  store.ListOptions
		want string
	}{
		{store.ListOptions{After: "profile-10000", Limit: 101}, "Index Scan using instance_profiles_list"},
		{store.ListOptions{PathPrefix: "/rare/", After: "profile-01000", Limit: 101}, "instance_profiles_path"},
	} {
		rec.queries = nil
		if _, err := q.ListInstanceProfiles(ctx, account, c.opt); err != nil {
			t.Fatal(err)
		}
		plan := explain(t, conn, rec.queries[0])
		t.Logf("instance profiles %+v:\n%s", c.opt, plan)
		if !strings.Contains(plan, c.want) {
			t.Errorf("instance profiles %+v: plan has no %q:\n%s", c.opt, c.want, plan)
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("instance profiles %+v: plan scans a table:\n%s", c.opt, plan)
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

// TestKeyedListPlans checks, as TestListPagePlans does, the lists that page
// by a key kept outside the listed table or by another column: a policy's
// entities (attached, as boundary), a group's members, MFA devices,
// Organizations accounts, policies and a policy's targets.
func TestKeyedListPlans(t *testing.T) {
	sdsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest")
	ctx := t.Context()
	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := pgx.Connect(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const account = "111111111111"
	const boundary = "arn:aws:iam::111111111111:policy/B"
	for _, q := range []string{
		`INSERT INTO users (account, id, name, path, boundary, tags)
			SELECT '` + account + `', 'AIDAPLAN' || i, format('user-%s', lpad(i::text, 5, '0')), '/', CASE WHEN i % 2 = 0 THEN '` + boundary + `' ELSE '' END, '[]'
			FROM generate_series(0, 19999) i`,
		`INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration, boundary, tags, last_used_region)
			SELECT '` + account + `', 'AROAPLAN' || i, format('role-%s', lpad(i::text, 5, '0')), '/', '{}', '', 3600, CASE WHEN i % 2 = 0 THEN '` + boundary + `' ELSE '' END, '[]', ''
			FROM generate_series(0, 19999) i`,
		`INSERT INTO managed_policies (account, id, name, path, arn, description, default_version_id, tags)
			VALUES ('aws', 'ANPAPLAN', 'P', '/', 'arn:aws:iam::aws:policy/P', '', 'v1', '[]')`,
		`INSERT INTO managed_policies (account, id, name, path, arn, description, default_version_id, tags)
			SELECT 'aws', 'ANPAPLAN' || i, 'P' || i, '/', 'arn:aws:iam::aws:policy/P' || i, '', 'v1', '[]' FROM generate_series(0, 1999) i`,
		`INSERT INTO attachments (user_pk, policy_pk, account, owner_key) SELECT pk, (SELECT pk FROM managed_policies WHERE id = 'ANPAPLAN'), account, lower(name) FROM users WHERE pk % 3 = 0`,
		`INSERT INTO attachments (role_pk, policy_pk, account, owner_key) SELECT pk, (SELECT pk FROM managed_policies WHERE id = 'ANPAPLAN'), account, lower(name) FROM roles WHERE pk % 3 = 0`,
		`INSERT INTO groups (account, id, name, path) VALUES ('` + account + `', 'AGPAPLAN', 'team', '/')`,
		`INSERT INTO group_members (group_pk, user_pk, user_key) SELECT (SELECT pk FROM groups), pk, lower(name) FROM users`,
		`INSERT INTO mfa_devices (serial, account, name, path, user_pk, enabled_at, tags, last_counter)
			SELECT 'arn:aws:iam::` + account + `:mfa/' || name, account, name, '/', CASE WHEN pk % 3 = 0 THEN pk END,
				CASE WHEN pk % 3 = 0 THEN now() END, '[]', 0 FROM users`,
		`INSERT INTO accounts (id, name, email) SELECT lpad(pk::text, 12, '0'), name, name || '@example.com' FROM users`,
		`INSERT INTO org_policies (id, name, description, type, content, aws_managed) SELECT 'p-' || id, name, '', 'SERVICE_CONTROL_POLICY', '{}', false FROM users`,
		`INSERT INTO org_attachments (policy_id, target_id) SELECT 'p-AIDAPLAN0', id FROM accounts`,
		`INSERT INTO org_attachments (policy_id, target_id) SELECT 'p-AIDAPLAN1', id FROM accounts`,
		// This schema's tables only: a bare ANALYZE walks the whole
		// database, where other packages' tests drop their schemas
		// meanwhile ("relation with OID ... does not exist").
		`DO $$DECLARE t text; BEGIN
			FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
				EXECUTE format('ANALYZE %I', t);
			END LOOP;
		END$$`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rec := &recorder{DB: db{s}}
	q := sqlstore.New(rec, dialect{}, s.touches)
	opt := store.ListOptions{After: "user-10000", Limit: 101}
	for _, c := range []struct {
		name string
		list func() error
	}{
		{"users attached", func() error {
			_, err := q.ListPolicyEntities(ctx, account, "arn:aws:iam::aws:policy/P", store.KindUser, store.UseAttached, opt)
			return err
		}},
		{"roles attached", func() error {
			_, err := q.ListPolicyEntities(ctx, account, "arn:aws:iam::aws:policy/P", store.KindRole, store.UseAttached, store.ListOptions{After: "role-10000", Limit: 101})
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
		{"accounts", func() error {
			_, err := q.ListAccounts(ctx, store.ListOptions{After: "000000010000", Limit: 21})
			return err
		}},
		{"org policies", func() error { _, err := q.ListOrgPolicies(ctx, "SERVICE_CONTROL_POLICY", opt); return err }},
		{"org targets", func() error {
			_, err := q.ListOrgTargets(ctx, "p-AIDAPLAN0", store.ListOptions{After: "000000010000", Limit: 21})
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
			plan := explain(t, conn, qu)
			t.Logf("%s:\n%s", c.name, plan)
			for _, bad := range []string{"Seq Scan", "Sort"} {
				if strings.Contains(plan, bad) {
					t.Errorf("%s: plan has %q:\n%s", c.name, bad, plan)
				}
			}
		}
	}
}

package postgres

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// TestCopyToSQLite copies a PostgreSQL store into a new SQLite one, with
// organizational units whose rows the table returns child first (a renamed
// parent moves to the end of the heap): the copy does not depend on the
// order of rows.
func TestCopyToSQLite(t *testing.T) {
	ctx := t.Context()
	src, err := Open(ctx, sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(src.CreateOrgUnit(ctx, store.OrgUnit{ID: "ou-aaaa-parent00", Name: "parent", CreatedAt: now}))
	// More children than one INSERT of the copy takes, so that the parent,
	// renamed last, comes in a later one.
	for i := range 250 {
		must(src.CreateOrgUnit(ctx, store.OrgUnit{ID: fmt.Sprintf("ou-aaaa-child%03d", i), Name: fmt.Sprintf("child%d", i), ParentID: "ou-aaaa-parent00", CreatedAt: now}))
	}
	must(src.RenameOrgUnit(ctx, "ou-aaaa-parent00", "renamed"))
	must(src.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDAALICE", Name: "alice", Path: "/", CreatedAt: now, Tags: []store.Tag{{Key: "k", Value: "v"}}}))
	must(src.CreateRole(ctx, store.Role{Account: "111111111111", ID: "AROAAPP", Name: "app", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}))

	dst, err := sqlite.Open(filepath.Join(t.TempDir(), "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := sqlstore.Copy(ctx, dst.Store, src.Store)
	must(err)
	if rep.Rows["org_units"] != 251 || rep.Rows["users"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	child, err := dst.GetOrgUnit(ctx, "ou-aaaa-child007")
	must(err)
	if child.ParentID != "ou-aaaa-parent00" {
		t.Fatalf("copied child %+v", child)
	}
	u, err := dst.GetUser(ctx, "111111111111", "alice")
	must(err)
	if len(u.Tags) != 1 || u.Tags[0].Value != "v" || !u.CreatedAt.Equal(now) {
		t.Fatalf("copied user %+v", u)
	}
	// And back into an empty PostgreSQL schema: identity keys continue
	// after the copied ones.
	back, err := Open(ctx, sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "storetest"))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	_, err = sqlstore.Copy(ctx, back.Store, dst.Store)
	must(err)
	must(back.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDABOB", Name: "bob", Path: "/", CreatedAt: now}))
	if _, err := back.GetRole(ctx, "111111111111", "APP"); err != nil {
		t.Fatal(err)
	}
}

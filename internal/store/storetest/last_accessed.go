package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

func testLastAccessed(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateRole(ctx, role(acct1, "AROALASTACCESS", "Accessed")))
	g := gen(t, s)
	use := func(id, svc, action string, d time.Duration, region string) store.ServiceAccess {
		return store.ServiceAccess{PrincipalID: id, Account: acct1, Service: svc, Action: action, At: at(d), Region: region}
	}
	ok(t, s.RecordServiceAccess(ctx, []store.ServiceAccess{
		use("AROALASTACCESS", "iam", "ListUsers", 3*time.Minute, "eu-west-1"),
		use("AROALASTACCESS", "sts", "GetCallerIdentity", time.Minute, "us-east-1"),
		use("AIDAOTHER", "iam", "ListUsers", time.Minute, "us-east-1"),
	}))
	// An older use changes nothing; a newer one moves the time and region.
	ok(t, s.RecordServiceAccess(ctx, []store.ServiceAccess{
		use("AROALASTACCESS", "iam", "ListUsers", 2*time.Minute, "us-west-2"),
		use("AROALASTACCESS", "sts", "GetCallerIdentity", 4*time.Minute, "ap-south-1"),
	}))
	ok(t, s.RecordServiceAccess(ctx, nil))
	// One key more than once in a batch: the latest use wins, in whatever
	// order the batch holds them (one statement may not update a row
	// twice on PostgreSQL).
	ok(t, s.RecordServiceAccess(ctx, []store.ServiceAccess{
		use("AIDATWICE", "iam", "GetUser", 5*time.Minute, "eu-west-2"),
		use("AIDATWICE", "iam", "GetUser", 7*time.Minute, "eu-west-3"),
		use("AIDATWICE", "iam", "GetUser", 6*time.Minute, "eu-north-1"),
	}))
	twice, err := s.ListServiceAccess(ctx, []string{"AIDATWICE"})
	ok(t, err)
	if len(twice) != 1 || twice[0].Region != "eu-west-3" || !twice[0].At.Equal(at(7*time.Minute).Truncate(time.Millisecond)) {
		t.Fatalf("one key three times in a batch: %+v, want the use at 7 minutes in eu-west-3", twice)
	}
	got, err := s.ListServiceAccess(ctx, []string{"AROALASTACCESS", "AIDANONE"})
	ok(t, err)
	sort.Slice(got, func(i, j int) bool { return got[i].Service < got[j].Service })
	want := []store.ServiceAccess{
		use("AROALASTACCESS", "iam", "ListUsers", 3*time.Minute, "eu-west-1"),
		use("AROALASTACCESS", "sts", "GetCallerIdentity", 4*time.Minute, "ap-south-1"),
	}
	for i := range want { // kept in UTC, to the millisecond
		want[i].At = want[i].At.UTC().Truncate(time.Millisecond)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("ListServiceAccess (-want +got):\n%s", d)
	}
	if g2 := gen(t, s); g != g2 {
		t.Fatalf("generation %d -> %d on RecordServiceAccess", g, g2)
	}
	// More principals than one query's batch.
	var ids []string
	var many []store.ServiceAccess
	for i := range 450 {
		id := fmt.Sprintf("AIDAMANY%04d", i)
		ids = append(ids, id)
		many = append(many, use(id, "iam", "GetUser", time.Duration(i)*time.Second, "us-east-1"))
	}
	ok(t, s.RecordServiceAccess(ctx, many))
	got, err = s.ListServiceAccess(ctx, ids)
	ok(t, err)
	if len(got) != 450 {
		t.Fatalf("ListServiceAccess of 450 principals: %d uses", len(got))
	}
	// Deleting the role deletes its uses.
	ok(t, s.DeleteRole(ctx, acct1, "Accessed"))
	got, err = s.ListServiceAccess(ctx, []string{"AROALASTACCESS"})
	ok(t, err)
	if len(got) != 0 {
		t.Fatalf("uses of a deleted role: %v", got)
	}

	r := store.AccessReport{Account: acct1, ID: "a5b2c3d4-0000-4000-8000-000000000001", CreatedAt: t0, Data: []byte(`{"k":1}`)}
	ok(t, s.PutAccessReport(ctx, r))
	isErr(t, s.PutAccessReport(ctx, r), store.ErrAlreadyExists, "a report id taken")
	gotR, err := s.GetAccessReport(ctx, acct1, r.ID)
	ok(t, err)
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	if d := cmp.Diff(r, gotR); d != "" {
		t.Fatalf("GetAccessReport (-want +got):\n%s", d)
	}
	_, err = s.GetAccessReport(ctx, acct2, r.ID)
	isErr(t, err, store.ErrNotFound, "another account's report")
	ok(t, s.PutAccessReport(ctx, store.AccessReport{Account: acct1, ID: "later", CreatedAt: at(time.Hour), Data: []byte(`{}`)}))
	n, err := s.PruneAccessReports(ctx, at(time.Minute))
	ok(t, err)
	if n != 1 {
		t.Fatalf("pruned %d reports, want 1", n)
	}
	_, err = s.GetAccessReport(ctx, acct1, r.ID)
	isErr(t, err, store.ErrNotFound, "a pruned report")
	_, err = s.GetAccessReport(ctx, acct1, "later")
	ok(t, err)
}

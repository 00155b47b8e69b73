package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testRevocations(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	// Entries keep milliseconds.
	at := func(d time.Duration) time.Time { return at(d).Truncate(time.Millisecond) }
	r1 := store.Revocation{ID: "rev-1", Account: acct1, Kind: "principal", Target: "arn:aws:iam::" + acct1 + ":user/alice",
		OriginKeys: []string{"AKIAONE", "AKIATWO"}, IssuedBefore: at(time.Minute).UTC(), CreatedAt: at(time.Minute).UTC(),
		ExpiresAt: at(36 * time.Hour).UTC(), CreatedBy: "arn:aws:iam::" + acct1 + ":root", Reason: "leaked"}
	r2 := store.Revocation{ID: "rev-2", Account: acct2, Kind: "session", Target: "ASIAXYZ", IssuedBefore: at(2 * time.Minute).UTC(),
		CreatedAt: at(2 * time.Minute).UTC(), ExpiresAt: at(time.Hour).UTC(), CreatedBy: "arn:aws:iam::" + acct2 + ":root"}
	r3 := store.Revocation{ID: "rev-3", Account: acct1, Kind: "role", Target: "arn:aws:iam::" + acct1 + ":role/app", RoleID: "AROAAPP",
		IssuedBefore: at(-time.Hour).UTC(), CreatedAt: at(3 * time.Minute).UTC(), ExpiresAt: at(10 * time.Minute).UTC(), CreatedBy: "x"}
	for _, r := range []store.Revocation{r1, r2, r3} {
		ok(t, s.CreateRevocation(ctx, r))
	}
	isErr(t, s.CreateRevocation(ctx, r1), store.ErrAlreadyExists, "same id")
	all, err := s.ListRevocations(ctx, "", at(5*time.Minute))
	ok(t, err)
	if len(all) != 3 || !reflect.DeepEqual(all[0], r1) || !reflect.DeepEqual(all[1], r2) || !reflect.DeepEqual(all[2], r3) {
		t.Errorf("list %+v", all)
	}
	mine, err := s.ListRevocations(ctx, acct1, at(11*time.Minute)) // r3 expired
	ok(t, err)
	if len(mine) != 1 || mine[0].ID != "rev-1" {
		t.Errorf("list acct1 %+v", mine)
	}
	isErr(t, s.DeleteRevocation(ctx, acct1, "rev-2"), store.ErrNotFound, "another account's entry")
	ok(t, s.DeleteRevocation(ctx, acct2, "rev-2"))
	n, err := s.PruneRevocations(ctx, at(11*time.Minute))
	ok(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want 1", n)
	}
	all, err = s.ListRevocations(ctx, "", t0)
	ok(t, err)
	if len(all) != 1 || all[0].ID != "rev-1" {
		t.Errorf("after prune %+v", all)
	}
	// Writes are in the change feed (other nodes reload the set from it).
	changes, err := s.Changes(ctx, 0, 1000)
	ok(t, err)
	kinds := 0
	for _, c := range changes {
		if c.Kind == store.ChangeRevocation {
			kinds++
		}
	}
	if kinds != 4 { // three creates, one delete
		t.Errorf("%d revocation changes, want 4", kinds)
	}
}

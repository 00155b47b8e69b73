package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

func TestCreateBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTemp(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const acct = "123456789012"
	b := sqlstore.Bulk{
		Users:      []store.User{{Account: acct, ID: "AIDAAAAAAAAAAAAAAAAA", Name: "u1", Path: "/", CreatedAt: at}},
		AccessKeys: []store.AccessKey{{ID: "AKIAAAAAAAAAAAAAAAAA", Account: acct, UserName: "u1", UserID: "AIDAAAAAAAAAAAAAAAAA", Secret: []byte{1}, Status: "Active", CreatedAt: at}},
		Roles:      []store.Role{{Account: acct, ID: "AROAAAAAAAAAAAAAAAAA", Name: "r1", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: at}},
	}
	before, err := s.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBulk(ctx, b); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUserByID(ctx, "AIDAAAAAAAAAAAAAAAAA")
	if err != nil || u.Name != "u1" {
		t.Fatalf("GetUserByID = %+v, %v", u, err)
	}
	k, err := s.GetAccessKey(ctx, "AKIAAAAAAAAAAAAAAAAA")
	if err != nil || k.UserName != "u1" || k.UserID != u.ID {
		t.Fatalf("GetAccessKey = %+v, %v", k, err)
	}
	r, err := s.GetRole(ctx, acct, "r1")
	if err != nil || r.ID != "AROAAAAAAAAAAAAAAAAA" {
		t.Fatalf("GetRole = %+v, %v", r, err)
	}
	changes, err := s.Changes(ctx, before, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Change
	for _, ch := range changes {
		if ch.Seq != before+1 {
			t.Errorf("change %+v: want one Seq %d", ch, before+1)
		}
		got = append(got, store.Change{Kind: ch.Kind, Account: ch.Account, Key: ch.Key, Name: ch.Name})
	}
	want := []store.Change{
		{Kind: store.ChangeUser, Account: acct, Key: "AIDAAAAAAAAAAAAAAAAA", Name: "u1"},
		{Kind: store.ChangeAccessKey, Account: acct, Key: "AKIAAAAAAAAAAAAAAAAA", Name: "u1"},
		{Kind: store.ChangeRole, Account: acct, Key: "AROAAAAAAAAAAAAAAAAA", Name: "r1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}

	// A key of an unknown user fails the whole batch.
	bad := sqlstore.Bulk{
		Users:      []store.User{{Account: acct, ID: "AIDABBBBBBBBBBBBBBBB", Name: "u2", Path: "/"}},
		AccessKeys: []store.AccessKey{{ID: "AKIABBBBBBBBBBBBBBBB", Account: acct, UserName: "nobody", UserID: "AIDACCCCCCCCCCCCCCCC", Status: "Active"}},
	}
	if err := s.CreateBulk(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateBulk with an unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.GetUserByID(ctx, "AIDABBBBBBBBBBBBBBBB"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user of a failed batch: %v, want ErrNotFound", err)
	}
	if err := s.CreateBulk(ctx, b); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("CreateBulk again: %v, want ErrAlreadyExists", err)
	}
}

package revoke

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// One account cannot grow the set (which every node reloads whole on each
// change) without bound: past MaxEntriesPerAccount active entries its
// RevokeSessions gets LimitExceededException, while other accounts still
// revoke, and the account can again once it deletes one.
func TestRevokeSessionsPerAccountLimit(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, a := range []string{"111111111111", "222222222222"} {
		if err := st.CreateAccount(ctx, store.Account{ID: a, Name: a, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	az := authz.New(authz.Config{Store: st, Policies: policy.NewCache(1 << 20), Now: func() time.Time { return now }})
	s := &Service{Store: st, Authz: az, Now: func() time.Time { return now }}
	root := func(a string) *authz.Caller {
		return &authz.Caller{Account: a, Type: policy.Root, ARN: authz.RootARN(a), UserID: a}
	}
	key := func(i int) *RevokeSessionsInput {
		id := []byte("ASIAAAAAAAAAAAAAAAAA")
		for j := len(id) - 1; i > 0; j, i = j-1, i/32 {
			id[j] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[i%32]
		}
		return &RevokeSessionsInput{AccessKeyID: string(id)}
	}
	var first string
	for i := range MaxEntriesPerAccount {
		out, err := s.RevokeSessions(ctx, root("111111111111"), key(i))
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if i == 0 {
			first = out.Revocation.ID
		}
	}
	_, err = s.RevokeSessions(ctx, root("111111111111"), key(MaxEntriesPerAccount))
	if e, ok := apierr.As(err); !ok || e.Code != apierr.LimitExceededException {
		t.Fatalf("entry %d: %v, want LimitExceededException", MaxEntriesPerAccount, err)
	}
	if _, err := s.RevokeSessions(ctx, root("222222222222"), key(0)); err != nil {
		t.Fatalf("another account: %v", err)
	}
	if _, err := s.DeleteRevocation(ctx, root("111111111111"), &DeleteRevocationInput{ID: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeSessions(ctx, root("111111111111"), &RevokeSessionsInput{AccountID: "111111111111"}); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

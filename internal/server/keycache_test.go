package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// newTestServer returns a server on a fresh data directory, logging to log.
func newTestServer(t testing.TB, log io.Writer) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(log, nil)), Stderr: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestKeyCacheBound fills the long-term key cache with ten times as many
// keys as its bound holds and checks that its accounting stays within the
// bound, that recent keys are still served from it, and that every key
// still authenticates.
func TestKeyCacheBound(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	root := &authz.Caller{Account: benchAccount, Type: policy.Root, ARN: authz.RootARN(benchAccount), UserID: benchAccount}
	var ids []string
	for i := range 200 {
		name := fmt.Sprint("user", i)
		if _, err := s.iam.CreateUser(ctx, root, &iam.CreateUserInput{UserName: name}); err != nil {
			t.Fatal(err)
		}
		out, err := s.iam.CreateAccessKey(ctx, root, &iam.CreateAccessKeyInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.AccessKey.AccessKeyID)
	}
	kc := s.keys
	now := time.Now()
	e, err := kc.get(ctx, ids[0], now)
	if err != nil {
		t.Fatal(err)
	}
	if e.size() < len(ids[0])+len(e.auth.Caller.ARN)+int(unsafe.Sizeof(keyEntry{})) {
		t.Fatalf("entry size %d is below what it holds", e.size())
	}
	// A cache with room for about 40 of the 200.
	kc.cache = cache.New(cache.Config[*keyEntry]{MaxBytes: 40 * (e.size() + 200), Cost: func(e *keyEntry) (int, []cache.Shared) { return e.size(), nil }})
	for i, id := range ids {
		e, err := kc.get(ctx, id, now)
		if err != nil || e.auth.Caller.AccessKeyID != id {
			t.Fatalf("key %d: %v", i, err)
		}
		if n, b, max := kc.cache.Stats(); b > max {
			t.Fatalf("after %d keys: %d entries, %d bytes, bound %d", i+1, n, b, max)
		}
	}
	n, _, _ := kc.cache.Stats()
	if n < 25 || n > 45 {
		t.Errorf("cache holds %d keys", n)
	}
	// A key read again soon after its first miss is cached (a key read
	// once while the cache is full may not be: cache.Cache resists scans).
	last := ids[len(ids)-1]
	if _, err := kc.get(ctx, last, now); err != nil {
		t.Fatal(err)
	}
	if _, ok := kc.cache.Get([]byte(last)); !ok {
		t.Error("a key read twice in a row was not cached")
	}
}

// TestKeyCacheFollowsTheFeed: deactivating a key or renaming its user
// reaches the key cache through the change feed, before the IAM call
// returns, with no invalidation in the handler.
func TestKeyCacheFollowsTheFeed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, _ := newUserKey(t, s, "kim")
	now := time.Now()
	k, err := s.keys.Key(ctx, id, now)
	if err != nil || !k.Active || k.Caller.ARN != authz.UserARN(benchAccount, "/", "kim") {
		t.Fatalf("%+v %v", k, err)
	}
	if _, err := s.iam.UpdateUser(ctx, testRoot, &iam.UpdateUserInput{UserName: "kim", NewUserName: "kimberly"}); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.keys.Key(ctx, id, now); k.Caller.ARN != authz.UserARN(benchAccount, "/", "kimberly") {
		t.Errorf("after a rename the key still authenticates as %s", k.Caller.ARN)
	}
	if _, err := s.iam.UpdateAccessKey(ctx, testRoot, &iam.UpdateAccessKeyInput{UserName: "kimberly", AccessKeyID: id, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.keys.Key(ctx, id, now); k.Active {
		t.Error("a deactivated key is still active in the cache")
	}
}

// TestKeyCacheTTL: an entry past its TTL is read from the store again, even
// when no change reached the cache (the second line behind the feed).
func TestKeyCacheTTL(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, _ := newUserKey(t, s, "ttl")
	now := time.Now()
	if k, err := s.keys.Key(ctx, id, now); err != nil || !k.Active {
		t.Fatalf("%+v %v", k, err)
	}
	// A change the feed does not see (another node's, before the next poll).
	s.store.SetChangeHook(nil)
	stored, err := s.store.GetAccessKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stored.Status = "Inactive"
	if err := s.store.UpdateAccessKey(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.keys.Key(ctx, id, now); !k.Active {
		t.Fatal("within the TTL the cached key should still be served")
	}
	if k, _ := s.keys.Key(ctx, id, now.Add(s.keys.ttl)); k.Active {
		t.Error("past the TTL the key was not read again")
	}
}

// TestKeyCacheSecondTier: a key evicted from the first tier is served from
// the second (its row, the secret sealed) without a store read; a change
// to the key reaches the second tier; a change to its user (a rename) is
// seen because the second tier keeps the key's row, not the user's name.
func TestKeyCacheSecondTier(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, secret := newUserKey(t, s, "tiered")
	now := time.Now()
	// The record is written with the signing key of the key's first
	// request, not when the key is read.
	if _, err := s.keys.Key(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.keys.cache.TierStats(); n != 0 {
		t.Fatalf("second tier holds %d keys before a request", n)
	}
	if code := attackServe(t, s, "sts", id, secret); code != 200 {
		t.Fatal(code)
	}
	first, err := s.keys.Key(ctx, id, now)
	if err != nil || !first.Active || first.Secret != nil || openedSecret(t, first) != secret {
		t.Fatalf("%+v %v", first, err)
	}
	evict := func() { s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true }) }
	if n, _, _ := s.keys.cache.TierStats(); n != 1 {
		t.Fatalf("second tier holds %d keys", n)
	}

	// Changed behind the feed's back: what comes back is the second tier's.
	s.store.SetChangeHook(nil)
	stored, err := s.store.GetAccessKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stored.Status = "Inactive"
	if err := s.store.UpdateAccessKey(ctx, stored); err != nil {
		t.Fatal(err)
	}
	evict()
	k, err := s.keys.Key(ctx, id, now)
	if err != nil || !k.Active || k == first || openedSecret(t, k) != secret || k.Caller.ARN != first.Caller.ARN {
		t.Fatalf("from the second tier: %+v %v", k, err)
	}
	// The feed's change drops it from both tiers.
	s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Account: benchAccount, Key: id})
	evict()
	if k, err := s.keys.Key(ctx, id, now); err != nil || k.Active {
		t.Fatalf("after the key's change: %+v %v", k, err)
	}

	// A rename: the user's change drops the key's first-tier entry, and
	// the second tier's row is completed with the user's new name.
	u, err := s.store.GetUser(ctx, benchAccount, "tiered")
	if err != nil {
		t.Fatal(err)
	}
	u.Name = "renamed"
	if err := s.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ch := store.Change{Kind: store.ChangeUser, Account: benchAccount, Key: u.ID, Name: "renamed"}
	s.authz.Forget(ch)
	s.keys.forget(ch)
	if k, err := s.keys.Key(ctx, id, now); err != nil || k.Caller.ARN != "arn:aws:iam::"+benchAccount+":user/renamed" || k.Caller.UserName != "renamed" {
		t.Fatalf("after the rename: %+v %v", k, err)
	}
	// Past the TTL the row is read again, from either tier.
	if _, err := s.keys.Key(ctx, id, now.Add(s.keys.ttl)); err != nil {
		t.Fatal(err)
	}
}

// newUserKey creates user name (as root) and an access key for it, and
// returns the key's id and secret.
func newUserKey(t testing.TB, s *Server, name string) (id, secret string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.iam.CreateUser(ctx, testRoot, &iam.CreateUserInput{UserName: name}); err != nil {
		t.Fatal(err)
	}
	out, err := s.iam.CreateAccessKey(ctx, testRoot, &iam.CreateAccessKeyInput{UserName: name})
	if err != nil {
		t.Fatal(err)
	}
	return out.AccessKey.AccessKeyID, out.AccessKey.SecretAccessKey
}

// testRoot is the bench account's root as an IAM caller.
var testRoot = &authz.Caller{Account: benchAccount, Type: policy.Root, ARN: authz.RootARN(benchAccount), UserID: benchAccount}

// openedSecret is the secret a cached key opens.
func openedSecret(t *testing.T, k *authn.Key) string {
	t.Helper()
	if k.Signing == nil {
		t.Fatal("the cached key has no signing keys")
	}
	b, err := k.Signing.Secret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

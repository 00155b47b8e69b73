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

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
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
	kc.maxBytes = 20 * e.cost // room for about 20 of the 200
	for i, id := range ids {
		e, err := kc.get(ctx, id, now)
		if err != nil || e.key.ID != id {
			t.Fatalf("key %d: %v", i, err)
		}
		if e.cost < len(id)+len(e.caller.ARN)+len(e.secret)+int(unsafe.Sizeof(keyEntry{})) {
			t.Fatalf("entry cost %d is below what it holds", e.cost)
		}
		kc.mu.RLock()
		n, b := len(kc.entries), kc.bytes
		sum := 0
		for _, e := range kc.entries {
			sum += e.cost
		}
		kc.mu.RUnlock()
		if b > kc.maxBytes || b != sum {
			t.Fatalf("after %d keys: %d entries, %d bytes accounted (%d summed), bound %d", i+1, n, b, sum, kc.maxBytes)
		}
	}
	kc.mu.RLock()
	_, recent := kc.entries[ids[len(ids)-1]]
	n := len(kc.entries)
	kc.mu.RUnlock()
	if !recent || n < 10 {
		t.Errorf("cache holds %d keys (the latest: %v)", n, recent)
	}
}

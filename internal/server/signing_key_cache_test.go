package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
)

// TestKeyCacheSigningKey: a long-term key's entry holds the signing key of
// the scope a request verified with, and its second-tier record holds it
// sealed (neither it nor the secret in the clear), so that the key read
// again from there checks a request of that scope with it; a request of
// another scope derives its own; a bad signature still fails with the
// held key; and a key an invalidation dropped is not written back.
func TestKeyCacheSigningKey(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	h := s.Handler()
	id, secret := newUserKey(t, s, "signer")
	get := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	listUsers := url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}
	serve := func(service string, tamper bool) int {
		t.Helper()
		form := get
		if service == "iam" {
			form = listUsers
		}
		req, _ := signedRequest(t, service, id, secret, form)
		if tamper {
			auth := req.Header.Get("Authorization")
			last := auth[len(auth)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			req.Header.Set("Authorization", auth[:len(auth)-1]+string(flip))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 403 && strings.Contains(rec.Body.String(), "<Code>AccessDenied</Code>") {
			return 200 // authenticated; the user may not list users
		}
		return rec.Code
	}
	date := time.Now().UTC().Format("20060102")
	want := sigv4.SigningKey([]byte(secret), date, "us-east-1", "sts")
	entry := func() *keyEntry {
		t.Helper()
		e, err := s.keys.get(ctx, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	evict := func() { s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true }) }

	if code := serve("sts", false); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	if k, ok := entry().SigningKey(date, "us-east-1", "sts"); !ok || *k != want {
		t.Fatalf("the entry holds %x, %v; want the scope's signing key", k, ok)
	}
	rec, ok := s.keys.cache.TierRecord([]byte(id))
	if !ok {
		t.Fatal("no record in the second tier")
	}
	if bytes.Contains(rec, want[:]) || bytes.Contains(rec, []byte(secret)) {
		t.Fatal("the second tier's record holds the signing key or the secret in the clear")
	}
	if !bytes.Contains(rec, []byte(date+"/us-east-1/sts")) {
		t.Fatalf("the record names no scope: %q", rec)
	}

	// Read again from the second tier: the signing key comes with it.
	evict()
	e := entry()
	if k, ok := e.SigningKey(date, "us-east-1", "sts"); !ok || *k != want {
		t.Fatal("the key read from the second tier holds no signing key")
	}
	if code := serve("sts", true); code != 403 {
		t.Fatalf("a tampered signature checked with the held key: %d", code)
	}
	if code := serve("sts", false); code != 200 {
		t.Fatalf("with the held key: %d", code)
	}

	// Another scope: derived from the secret, then held beside the first;
	// the record keeps the day's first (it is written again at most once a
	// day, however requests alternate).
	before, _ := s.keys.cache.TierRecord([]byte(id))
	if code := serve("iam", false); code != 200 {
		t.Fatalf("another service: %d", code)
	}
	iamKey := sigv4.SigningKey([]byte(secret), date, "us-east-1", "iam")
	e = entry()
	if k, ok := e.SigningKey(date, "us-east-1", "iam"); !ok || *k != iamKey {
		t.Fatal("the entry does not hold the other scope's key")
	}
	if k, ok := e.SigningKey(date, "us-east-1", "sts"); !ok || *k != want {
		t.Fatal("the entry let go of the first scope's key")
	}
	for range 3 {
		if serve("sts", false) != 200 || serve("iam", false) != 200 {
			t.Fatal("alternating scopes")
		}
	}
	if after, _ := s.keys.cache.TierRecord([]byte(id)); !bytes.Equal(before, after) {
		t.Fatal("the record was written again the same day")
	}
	// A third scope: the entry holds two, the last two.
	s3Key := sigv4.SigningKey([]byte(secret), date, "us-east-1", "s3")
	e = entry()
	e.Derived(date, "us-east-1", "s3", &s3Key)
	if _, ok := e.SigningKey(date, "us-east-1", "s3"); !ok {
		t.Fatal("the third scope's key is not held")
	}
	held := 0
	for sk := e.scoped.Load(); sk != nil; sk = sk.prev {
		held++
	}
	if held != 2 {
		t.Fatalf("the entry holds %d signing keys, want 2", held)
	}
	evict()
	if _, ok := entry().SigningKey(date, "us-east-1", "sts"); !ok {
		t.Fatal("the second tier does not hold the day's first key")
	}

	// Without the record, the secret is the store's; without the key in
	// the store either, the key is unknown.
	e = entry()
	s.keys.cache.Delete(id)
	if got := openedSecret(t, &e.auth); got != secret {
		t.Fatal("the secret opened from the store is another")
	}
	if err := s.store.DeleteAccessKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Secret(ctx); !errors.Is(err, authn.ErrUnknownKey) {
		t.Fatalf("the secret of a deleted key: %v", err)
	}
	id, secret = newUserKey(t, s, "signer2")
	if code := serve("sts", false); code != 200 {
		t.Fatalf("another key's first request: %d", code)
	}

	// A stale entry derives after the feed dropped its key: the record
	// stays gone.
	stale := entry()
	s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Account: benchAccount, Key: id})
	stale.Derived(date, "us-east-1", "sts", &want)
	if _, ok := s.keys.cache.TierRecord([]byte(id)); ok {
		t.Fatal("a dropped key's record was written back")
	}
}

// TestSigningKeySealBinding: a sealed signing key opens only for its key
// id and scope, and neither a sealed secret nor a sealed signing key opens
// as the other.
func TestSigningKeySealBinding(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, io.Discard)
	id, _ := newUserKey(t, s, "binder")
	other, _ := newUserKey(t, s, "other")
	key := sha256.Sum256([]byte("k"))
	scope := []byte(time.Now().UTC().Format("20060102") + "/us-east-1/sts")
	sealed, err := s.iam.SealSigningKey(id, scope, key[:])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.iam.OpenSigningKey(id, scope, sealed); err != nil || !bytes.Equal(got, key[:]) {
		t.Fatalf("open: %x %v", got, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"another key's": func() ([]byte, error) { return s.iam.OpenSigningKey(other, scope, sealed) },
		"another scope's": func() ([]byte, error) {
			return s.iam.OpenSigningKey(id, bytes.Replace(scope, []byte("sts"), []byte("iam"), 1), sealed)
		},
		"as a secret":       func() ([]byte, error) { return s.iam.OpenSecret(id, sealed) },
		"a secret as a key": func() ([]byte, error) { return s.iam.OpenSigningKey(id, nil, mustSealed(t, s, id)) },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s opened", name)
		}
	}
}

// mustSealed returns access key id's sealed secret, as stored.
func mustSealed(t *testing.T, s *Server, id string) []byte {
	t.Helper()
	k, err := s.store.GetAccessKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

package server

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unique"
	"unsafe"

	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// keyCache holds long-term access keys with their opened secrets and the
// caller they authenticate, so that a request costs no store read. It is a
// cache.Cache bounded in bytes (keyEntry.size); the change feed drops a key
// when it changes, and every key of a user when the user does (a rename
// changes the caller's ARN), so a deactivated key stops working at once on
// the node that deactivated it and within the feed's freshness bound on
// every other. The TTL is a second line: a key is re-read at least this
// often whatever the feed says.
type keyCache struct {
	iam   *iam.Service
	users userSource
	ttl   time.Duration
	cache *cache.Cache[*keyEntry]
}

// userSource finds a user's name and path by unique id (authz.Authorizer,
// whose cached entry of the user the request's decision reads next).
type userSource interface {
	User(ctx context.Context, account, id string) (name, path string, err error)
}

// keyTTL is how long a key is used from memory without reading it again
// whatever the change feed says. The feed is what makes changes apply (at
// once on the node that made them, within its freshness bound elsewhere,
// and a node that falls behind it clears every cache); the TTL is only a
// second line behind it. Fifteen minutes: a key is re-read whenever it is
// used a TTL after it was read, so a TTL shorter than the time a deployment
// takes to use each of its keys once makes every such use a store read
// (at 5 s, and at 1 minute, most uses of 100,000 keys at 3,000 requests a
// second were).
const keyTTL = 15 * time.Minute

// keyCacheBytes bounds the long-term key cache's first tier: 2 MiB, some
// 3,800 keys (about 540 bytes each by their estimate, 450 of live heap,
// with their cache entry; see caches.go for the choice).
const keyCacheBytes = 2 << 20

// keyEntry is immutable once cached. It keeps what authentication needs,
// not the stored key record; auth.Caller.UserID is the owner's unique id
// (the account id for root keys), which the change feed names.
type keyEntry struct {
	expires int64     // Unix nanoseconds
	auth    authn.Key // the opened secret and the caller the key authenticates
}

func newKeyCache(svc *iam.Service, users userSource, tierDir string) *keyCache {
	return &keyCache{iam: svc, users: users, ttl: keyTTL,
		cache: cache.New(cache.Config[*keyEntry]{MaxBytes: keyCacheBytes, CompactBytes: KeyCompactBytes,
			CompactDir: tierDir, CompactFileBytes: KeyCompactFileBytes,
			Cost: func(e *keyEntry) (int, []cache.Shared) { return e.size(), nil }})}
}

// size estimates what e retains: the entry, and its strings and byte slices
// (strings e holds twice are counted twice), each rounded up to a word with
// a word of allocator overhead.
func (e *keyEntry) size() int {
	obj := func(n int) int {
		if n == 0 {
			return 0
		}
		return (n+7)&^7 + 8
	}
	c := &e.auth.Caller
	n := obj(int(unsafe.Sizeof(*e)))
	// c.UserName is the tail of c.ARN; c.Account is interned but counted.
	for _, s := range []string{c.Account, c.ARN, c.UserID, c.AccessKeyID, c.SourceIP, c.UserAgent, c.Region} {
		n += obj(len(s))
	}
	return n + obj(cap(e.auth.Secret))
}

// forget drops what a change makes stale.
func (kc *keyCache) forget(ch store.Change) {
	switch ch.Kind {
	case store.ChangeAccessKey:
		kc.cache.Delete(ch.Key)
	case store.ChangeUser:
		kc.cache.DeleteFunc(func(_ string, e *keyEntry) bool { return e.auth.Caller.UserID == ch.Key })
	}
}

// get returns the key, its secret and the caller template; store.ErrNotFound
// for unknown ids.
func (kc *keyCache) get(ctx context.Context, id string, now time.Time) (*keyEntry, error) {
	var kb [128]byte
	key := append(kb[:0], id...)
	if e, ok := kc.cache.Get(key); ok {
		if now.UnixNano() < e.expires {
			return e, nil
		}
		kc.cache.Delete(id) // past its TTL: read it again
	}
	// Load, not Get+Put: a key read while the feed drops it is not cached.
	decode := func(b []byte) (*keyEntry, bool) { return kc.decode(ctx, b, now) }
	return kc.cache.LoadTiered(key, decode, func() (*keyEntry, []byte, error) {
		k, secret, err := kc.iam.LookupAccessKey(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		row := keyRow{expires: now.Add(kc.ttl).UnixNano(), account: k.Account, id: k.ID, userID: k.UserID,
			root: k.UserName == "", active: k.Status == "Active"}
		e, err := kc.entry(ctx, row, secret)
		if err != nil {
			return nil, nil, err
		}
		// The second tier keeps the secret sealed, as stored.
		return e, cache.Enc(make([]byte, 0, 160)).Int(row.expires).String(row.account).String(row.id).String(row.userID).
			Bool(row.root).Bool(row.active).String(string(k.Secret)), nil
	})
}

// keyRow is what a key's entry is built from: the stored key, and when it
// is to be read again.
type keyRow struct {
	expires             int64 // Unix nanoseconds
	account, id, userID string
	root, active        bool
}

// entry builds a key's entry, with its owner's name and path as the
// authorizer has them now (a user's change drops the entries of its keys,
// not their rows in the second tier).
func (kc *keyCache) entry(ctx context.Context, row keyRow, secret []byte) (*keyEntry, error) {
	e := &keyEntry{expires: row.expires}
	c := &e.auth.Caller
	c.Account, c.AccessKeyID = unique.Make(row.account).Value(), row.id
	if row.root {
		c.Type, c.ARN, c.UserID = policy.Root, arn.Root(row.account), c.Account
	} else {
		name, path, err := kc.users.User(ctx, row.account, row.userID)
		if err != nil {
			return nil, err
		}
		c.Type, c.ARN, c.UserID = policy.User, arn.User(row.account, path, name), row.userID
		// The name is the tail of the ARN: one string, not two.
		c.UserName = c.ARN[len(c.ARN)-len(name):]
	}
	e.auth.Active, e.auth.Secret = row.active, secret
	return e, nil
}

// decode builds a key's entry from its row in the second tier, unless the
// row is past its TTL or its owner cannot be read (then it is filled from
// the store, which says why).
func (kc *keyCache) decode(ctx context.Context, b []byte, now time.Time) (*keyEntry, bool) {
	d := cache.NewDec(b)
	row := keyRow{expires: d.Int(), account: d.Interned(), id: d.String(), userID: d.String(), root: d.Bool(), active: d.Bool()}
	sealed := d.Bytes() // b's, which OpenSecret does not keep
	if !d.OK() || now.UnixNano() >= row.expires {
		return nil, false
	}
	secret, err := kc.iam.OpenSecret(row.id, sealed)
	if err != nil {
		return nil, false
	}
	e, err := kc.entry(ctx, row, secret)
	return e, err == nil
}

// Key implements authn.KeySource.
func (kc *keyCache) Key(ctx context.Context, id string, now time.Time) (*authn.Key, error) {
	e, err := kc.get(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("access key %s: %w", id, authn.ErrUnknownKey)
	}
	if err != nil {
		return nil, err
	}
	return &e.auth, nil
}

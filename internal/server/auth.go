package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// keyCache holds long-term access keys with their opened secrets and the
// caller they authenticate, so that a request costs no store read. Entries
// are stamped with the authorizer's generation: any IAM write (a key
// deactivated, a user renamed) drops them, and a short TTL bounds staleness
// of writes made through other nodes. Only keys that exist are cached, and
// the entries' estimated size (keyEntry.size) is bounded by maxBytes: past
// it, expired and stale entries go, then others at random (map order) down
// to seven eighths of the bound, so the sweep's cost is spread over the
// insertions that fill the last eighth and a hit stays a read-locked map
// lookup.
type keyCache struct {
	iam      *iam.Service
	users    store.Users
	authz    *authz.Authorizer
	ttl      time.Duration
	maxBytes int

	mu      sync.RWMutex
	entries map[string]*keyEntry // entries are immutable once stored
	bytes   int                  // sum of the entries' size
}

// keyCacheBytes bounds the long-term key cache: 16 MiB, some twenty
// thousand keys.
const keyCacheBytes = 16 << 20

type keyEntry struct {
	gen     int64
	expires time.Time
	key     store.AccessKey
	secret  []byte
	caller  authz.Caller
	auth    authn.Key // what authentication needs, built from the above
	cost    int       // size, under its access key id
}

func newKeyCache(svc *iam.Service, users store.Users, a *authz.Authorizer) *keyCache {
	return &keyCache{iam: svc, users: users, authz: a, ttl: 5 * time.Second, maxBytes: keyCacheBytes, entries: map[string]*keyEntry{}}
}

// size estimates what e retains in the cache under id: the entry, its map
// slot, and its strings and byte slices (strings e holds twice are counted
// twice).
func (e *keyEntry) size(id string) int {
	const word = int(unsafe.Sizeof(uintptr(0)))
	n := int(unsafe.Sizeof(*e)) + 2*word + (int(unsafe.Sizeof(""))+word+1)*8/7 + len(id)
	k, c := &e.key, &e.caller
	for _, s := range []string{k.ID, k.Account, k.UserName, k.UserID, k.Status, k.LastUsedService, k.LastUsedRegion,
		c.Account, c.ARN, c.UserID, c.UserName, c.AccessKeyID, c.SourceIP, c.UserAgent, c.Region} {
		n += len(s)
	}
	return n + cap(k.Secret) + cap(e.secret)
}

// store adds e under id and shrinks the cache past its bound; the caller
// holds the write lock.
func (kc *keyCache) store(id string, e *keyEntry, now time.Time) {
	if old := kc.entries[id]; old != nil {
		kc.bytes -= old.cost
	}
	kc.entries[id] = e
	kc.bytes += e.cost
	if kc.bytes <= kc.maxBytes {
		return
	}
	for k, old := range kc.entries {
		if k != id && (old.gen != e.gen || !now.Before(old.expires)) {
			delete(kc.entries, k)
			kc.bytes -= old.cost
		}
	}
	for k, old := range kc.entries {
		if kc.bytes <= kc.maxBytes/8*7 {
			break
		}
		if k != id {
			delete(kc.entries, k)
			kc.bytes -= old.cost
		}
	}
}

// get returns the key, its secret and the caller template; store.ErrNotFound
// for unknown ids.
func (kc *keyCache) get(ctx context.Context, id string, now time.Time) (*keyEntry, error) {
	gen := kc.authz.Generation()
	kc.mu.RLock()
	e, ok := kc.entries[id]
	kc.mu.RUnlock()
	if ok && e.gen == gen && now.Before(e.expires) {
		return e, nil
	}
	k, secret, err := kc.iam.LookupAccessKey(ctx, id)
	if err != nil {
		return nil, err
	}
	e = &keyEntry{gen: gen, expires: now.Add(kc.ttl), key: k, secret: secret}
	c := &e.caller
	c.Account, c.AccessKeyID = k.Account, k.ID
	if k.UserName == "" {
		c.Type, c.ARN, c.UserID = policy.Root, authz.RootARN(k.Account), k.Account
	} else {
		u, err := kc.users.GetUserByID(ctx, k.UserID)
		if err != nil {
			return nil, err
		}
		c.Type, c.ARN, c.UserID, c.UserName = policy.User, authz.UserARN(u.Account, u.Path, u.Name), u.ID, u.Name
	}
	e.auth = authn.Key{Active: k.Status == "Active", Secret: secret, Caller: e.caller}
	e.cost = e.size(id)
	kc.mu.Lock()
	kc.store(id, e, now)
	kc.mu.Unlock()
	return e, nil
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

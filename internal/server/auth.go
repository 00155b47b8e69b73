package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
// of writes made through other nodes.
type keyCache struct {
	iam   *iam.Service
	users store.Users
	authz *authz.Authorizer
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[string]*keyEntry // entries are immutable once stored
}

type keyEntry struct {
	gen     int64
	expires time.Time
	key     store.AccessKey
	secret  []byte
	caller  authz.Caller
	auth    authn.Key // what authentication needs, built from the above
}

func newKeyCache(svc *iam.Service, users store.Users, a *authz.Authorizer) *keyCache {
	return &keyCache{iam: svc, users: users, authz: a, ttl: 5 * time.Second, entries: map[string]*keyEntry{}}
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
	kc.mu.Lock()
	if len(kc.entries) > 100000 {
		clear(kc.entries)
	}
	kc.entries[id] = e
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

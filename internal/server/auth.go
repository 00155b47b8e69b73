package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
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
	now   func() time.Time // the server's clock (Derived's: see dayAhead)
	cache *cache.Cache[*keyEntry]
	// scope is the credential scope of the signing key held last: the
	// strings of the next one that is the same are these (most requests
	// are of one day, region and service), not new ones.
	scope atomic.Pointer[scopeNames]
}

// scopeNames is a credential scope's date, region and service, and the
// date's day (the zero time when it is not one).
type scopeNames struct {
	date, region, service string
	day                   time.Time
}

// names returns a scope's strings, from the one held last when the same.
// Its arguments may be another's memory (a record's, a header's), which
// the strings returned never are.
func (kc *keyCache) names(date, region, service []byte) *scopeNames {
	if n := kc.scope.Load(); n != nil && n.date == string(date) && n.region == string(region) && n.service == string(service) {
		return n
	}
	n := &scopeNames{date: string(date), region: unique.Make(string(region)).Value(), service: unique.Make(string(service)).Value()}
	n.day, _ = time.Parse("20060102", n.date)
	kc.scope.Store(n)
	return n
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
// second line behind it. Fifteen minutes (less up to a quarter, see
// lifetime): a key is re-read whenever it is used a TTL after it was
// read, so a TTL shorter than the time a deployment takes to use each of
// its keys once makes every such use a store read (at 5 s, and at 1
// minute, most uses of 100,000 keys at 3,000 requests a second were).
const keyTTL = 15 * time.Minute

// keyCacheBytes bounds the long-term key cache's first tier: 640 KiB, some
// 970 keys (about 670 bytes each by their estimate, two signing keys and
// their cache entry included; see caches.go for the choice).
const keyCacheBytes = 5 << 17

// keyEntry is immutable once cached but for the signing key it holds. It
// keeps what authentication needs, not the stored key record;
// auth.Caller.UserID is the owner's unique id (the account id for root
// keys), which the change feed names. The secret stays sealed (auth.Secret
// is nil): a request is checked with the signing key of its scope the
// entry holds, and the secret is opened only to derive another, which the
// entry then holds, and its record in the second tier too, sealed as the
// secret is, so that a key read again from there is not derived again
// (some 1.5 µs a request across 100,000 keys, where the record is read for
// most).
type keyEntry struct {
	expires int64     // Unix nanoseconds
	auth    authn.Key // the caller the key authenticates; Signing is the entry
	kc      *keyCache
	gen     uint64 // the cache's generation before the entry was read
	scoped  atomic.Pointer[scopedKey]
	sealed  []byte // the secret, sealed, of an entry filled from the store
}

// scopedKey is a signing key and its credential scope, and the one held
// before it (whose prev is nil): an entry holds the keys of the two scopes
// its requests verified with last (a client of both STS and IAM, say).
type scopedKey struct {
	scope *scopeNames // shared with the other keys of the scope
	key   [sha256.Size]byte
	prev  *scopedKey
}

// scopedKeyBytes is what an entry's two scopedKeys cost (their scopes'
// names are shared).
var scopedKeyBytes = 2 * (int(unsafe.Sizeof(scopedKey{})) + 8)

func newKeyCache(svc *iam.Service, users userSource, now func() time.Time, tierDir string, maxBytes int) *keyCache {
	return &keyCache{iam: svc, users: users, ttl: keyTTL, now: now,
		cache: cache.New(cache.Config[*keyEntry]{MaxBytes: maxBytes, CompactBytes: KeyCompactBytes,
			CompactDir: tierDir, CompactFileBytes: KeyCompactFileBytes, CompactMapBytes: KeyMapBytes,
			Cost: func(e *keyEntry) (int, []cache.Shared) { return e.size(), nil }})}
}

// size estimates what e retains: the entry, and its strings and byte slices
// (strings e holds twice are counted twice), each rounded up to a word with
// a word of allocator overhead, and the two signing keys it may come to
// hold.
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
	n += obj(len(e.sealed))
	return n + scopedKeyBytes
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

// get returns the key and the caller template; store.ErrNotFound for
// unknown ids.
func (kc *keyCache) get(ctx context.Context, id string, now time.Time) (*keyEntry, error) {
	var kb [128]byte
	key := append(kb[:0], id...)
	if e, ok := kc.cache.Get(key); ok && now.UnixNano() < e.expires {
		return e, nil
	}
	// Missed, or past its TTL: read again, and the entry read replaces the
	// one past its TTL. Not Delete: a TTL is no change, and Delete's new
	// generation would refuse every load in flight, of every key, and
	// Derived's records (with 100,000 keys read every few seconds, each
	// expiring once in every TTL). Load, not Get+Put: a key read while the
	// feed drops it is not cached.
	gen := kc.cache.Gen()
	decode := func(b []byte) (*keyEntry, bool) { return kc.decode(ctx, b, now, gen) }
	return kc.cache.LoadTieredMissed(key, decode, func() (*keyEntry, []byte, error) {
		k, secret, err := kc.iam.LookupAccessKey(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		clear(secret) // opened when a request needs it; k.Secret is sealed
		row := keyRow{expires: now.Add(kc.lifetime()).UnixNano(), account: unique.Make(k.Account).Value(), id: k.ID, userID: k.UserID,
			root: k.UserName == "", active: k.Status == "Active"}
		e, err := kc.entry(ctx, row, gen)
		if err != nil {
			return nil, nil, err
		}
		// The entry keeps the secret sealed, as stored, for the signing
		// key its first request derives; the second tier gets the key's
		// record only then (Derived), with that key and without the
		// secret: one record a key, not one at the fill and another at
		// its first request.
		e.sealed = k.Secret
		return e, nil, nil
	})
}

// lifetime is how long a key read now is used before it is read again:
// the TTL less up to a quarter of it, at random, so that keys first read
// together (at a start, by a sweep over every principal) are read again
// spread over minutes rather than in one wave of store reads.
func (kc *keyCache) lifetime() time.Duration {
	return kc.ttl - rand.N(kc.ttl/4+1)
}

// keyRow is what a key's entry is built from: the stored key, and when it
// is to be read again.
type keyRow struct {
	expires             int64 // Unix nanoseconds
	account, id, userID string
	root, active        bool
}

// encode is the key's record in the second tier: the row, the sealed
// secret (none: nil; Derived writes none, a record with the signing key
// not needing it, but in the last hour of the day: see dayAhead), and the
// scope and sealed signing key last derived (none: "" and nil).
func (row *keyRow) encode(sealed []byte, scope string, sealedKey []byte) []byte {
	return cache.Enc(make([]byte, 0, 192)).Int(row.expires).String(row.account).String(row.id).String(row.userID).
		Bool(row.root).Bool(row.active).Bytes(sealed).String(scope).Bytes(sealedKey)
}

// entry builds a key's entry, with its owner's name and path as the
// authorizer has them now (a user's change drops the entries of its keys,
// not their rows in the second tier). The row's account is interned
// already: unique.Make from the store, cache.Dec.Interned from the tier
// (unique.Make again cost 0.5 µs a request across 100,000 keys).
func (kc *keyCache) entry(ctx context.Context, row keyRow, gen uint64) (*keyEntry, error) {
	e := &keyEntry{expires: row.expires, kc: kc, gen: gen}
	c := &e.auth.Caller
	c.Account, c.AccessKeyID = row.account, row.id
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
	e.auth.Active, e.auth.Signing = row.active, e
	return e, nil
}

// decode builds a key's entry from its row in the second tier, unless the
// row is past its TTL, it has no signing key to use and no secret that
// opens (then it is filled from the store, which holds the secret), or its
// owner cannot be read (the store says why). A signing key in the row is
// opened when it may still sign a request (its day is within one of now's).
func (kc *keyCache) decode(ctx context.Context, b []byte, now time.Time, gen uint64) (*keyEntry, bool) {
	r, ok := decodeRecord(b) // b's slices, which neither the openings nor the entry keep
	if !ok || now.UnixNano() >= r.row.expires {
		return nil, false
	}
	var sk *scopedKey
	if len(r.scope) > 0 {
		sk = kc.openScoped(r.row.id, r.scope, r.sealedKey, now)
	}
	if sk == nil {
		if len(r.sealed) == 0 {
			return nil, false
		}
		secret, err := kc.iam.OpenSecret(r.row.id, r.sealed)
		if err != nil {
			return nil, false
		}
		clear(secret)
	}
	e, err := kc.entry(ctx, r.row, gen)
	if err != nil {
		return nil, false
	}
	if sk != nil {
		e.scoped.Store(sk)
	}
	return e, true
}

// openScoped opens a signing key of a row, unless its scope's day is more
// than a day from now's (no request it could check is in the skew allowed)
// or it does not open.
func (kc *keyCache) openScoped(id string, scope, sealed []byte, now time.Time) *scopedKey {
	date, rest, ok := bytes.Cut(scope, []byte("/"))
	region, service, ok2 := bytes.Cut(rest, []byte("/"))
	if !ok || !ok2 || len(date) != 8 {
		return nil
	}
	names := kc.names(date, region, service)
	if day := names.day; day.IsZero() || now.Sub(day) > 48*time.Hour || day.Sub(now) > 24*time.Hour {
		return nil
	}
	key, err := kc.iam.OpenSigningKey(id, scope, sealed)
	if err != nil || len(key) != sha256.Size {
		return nil
	}
	sk := &scopedKey{scope: names}
	copy(sk.key[:], key)
	clear(key)
	return sk
}

// SigningKey implements authn.SigningKeys.
func (e *keyEntry) SigningKey(date, region, service string) (*[sha256.Size]byte, bool) {
	for sk := e.scoped.Load(); sk != nil; sk = sk.prev {
		if sk.scope.date == date && sk.scope.region == region && sk.scope.service == service {
			return &sk.key, true
		}
	}
	return nil, false
}

// Secret implements authn.SigningKeys: the sealed secret the entry was
// filled with, or its record's in the second tier, or the stored key's
// (an error wrapping authn.ErrUnknownKey when the store has not it).
func (e *keyEntry) Secret(ctx context.Context) ([]byte, error) {
	id := e.auth.Caller.AccessKeyID
	if e.sealed != nil {
		return e.kc.iam.OpenSecret(id, e.sealed)
	}
	if r, ok := e.tierRecord(); ok && len(r.sealed) > 0 {
		if secret, err := e.kc.iam.OpenSecret(id, r.sealed); err == nil {
			return secret, nil
		} // a record that does not open: the store's is read
	}
	_, secret, err := e.kc.iam.LookupAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("access key %s: %w", id, authn.ErrUnknownKey)
	}
	return secret, err
}

// Derived implements authn.SigningKeys: the entry holds the key from now
// on, and the key's record in the second tier holds it sealed when there
// is no record, or it is older than the entry (read again past the TTL),
// or it holds no key of that day or later (so a record is written again
// at most once a day and once a TTL, however a key's requests alternate
// between scopes), unless an invalidation ran since the entry was read. A
// record written in the day's last hour keeps the secret too (dayAhead).
func (e *keyEntry) Derived(date, region, service string, key *[sha256.Size]byte) {
	if _, ok := e.SigningKey(date, region, service); ok {
		return
	}
	kc := e.kc
	sk := &scopedKey{scope: kc.names([]byte(date), []byte(region), []byte(service)), key: *key}
	if last := e.scoped.Load(); last != nil {
		sk.prev = &scopedKey{scope: last.scope, key: last.key}
	}
	e.scoped.Store(sk) // a concurrent Derived's key may be lost: derived again when needed
	if kc.cache.Gen() != e.gen {
		return
	}
	r, recorded := e.tierRecord()
	if recorded && r.row.expires >= e.expires {
		if held, _, _ := bytes.Cut(r.scope, []byte("/")); len(held) == len(date) && string(held) >= date {
			return // the record's key is of this day (another scope's) or a later one
		}
	}
	// (A record older than the entry, past the TTL the entry was read
	// again at, is replaced whatever key it holds: left, it would send
	// every read of the key from the second tier to the store.)
	row := e.row()
	scope := date + "/" + region + "/" + service
	sealedKey, err := kc.iam.SealSigningKey(row.id, []byte(scope), key[:])
	if err != nil {
		return
	}
	var sealed []byte
	if dayAhead(kc.now()) {
		// The entry's, read from the store; an entry read from the
		// second tier has none, and its record may.
		if sealed = e.sealed; sealed == nil && recorded {
			sealed = r.sealed
		}
	}
	kc.cache.ReplaceTiered([]byte(row.id), e.gen, row.encode(sealed, scope, sealedKey))
}

// dayAheadOf is how long before the end of a UTC day a key's record keeps
// its secret (sealed, as the store has it) beside the day's signing key.
const dayAheadOf = time.Hour

// dayAhead reports whether a record written at now keeps the secret: in
// the last dayAheadOf of the UTC day. A signing key is of one day, and the
// next day's is derived from the secret, which a record with a signing key
// does not otherwise keep: each key's first request of the day read it
// from the store, all of them in the first seconds after midnight (across
// 100,000 keys, 100,000 store reads in the time each is used once). A key
// in use is read again from the store every TTL (some 15 minutes), and the
// records of those reads in the day's last hour keep the secret: its first
// request of the next day derives that day's key from its record, and the
// record written then leaves the secret out again.
func dayAhead(now time.Time) bool {
	now = now.UTC()
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Sub(now) <= dayAheadOf
}

// row is what e was built from.
func (e *keyEntry) row() keyRow {
	c := &e.auth.Caller
	row := keyRow{expires: e.expires, account: c.Account, id: c.AccessKeyID, root: c.Type == policy.Root, active: e.auth.Active}
	if !row.root {
		row.userID = c.UserID
	}
	return row
}

// tierRecord is the key's record in the second tier, when it has one.
func (e *keyEntry) tierRecord() (record, bool) {
	id := e.auth.Caller.AccessKeyID
	rec, ok := e.kc.cache.TierRecord([]byte(id))
	if !ok {
		return record{}, false
	}
	r, ok := decodeRecord(rec)
	return r, ok && r.row.id == id
}

// record is a key's record in the second tier, decoded: its byte slices
// are the record's.
type record struct {
	row              keyRow
	sealed           []byte // the secret
	scope, sealedKey []byte // the signing key last derived; none: empty
}

// decodeRecord decodes what keyRow.encode encoded.
func decodeRecord(b []byte) (record, bool) {
	d := cache.NewDec(b)
	r := record{row: keyRow{expires: d.Int(), account: d.Interned(), id: d.String(), userID: d.String(), root: d.Bool(), active: d.Bool()}}
	r.sealed, r.scope, r.sealedKey = d.Bytes(), d.Bytes(), d.Bytes()
	return r, d.OK()
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

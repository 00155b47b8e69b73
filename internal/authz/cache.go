package authz

import (
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// DefaultCacheTTL is how long the authorizer uses what it loaded without
// reading it again. The change feed is what makes changes apply (Forget);
// the TTL is a second line behind it, as the key cache's is
// (server.keyTTL), so that a value kept stale by a change the feed did not
// bring, or by a read the store served from before a change, is used for
// at most this long: a narrowed trust policy or a removed permission is
// not honoured for ever. Fifteen minutes: short enough to bound such an
// error, long enough that a deployment's whole working set is read again
// rarely (at 100,000 roles and users in use, some 250 reads a second).
// Each value's is shortened by up to a quarter, at random (the cache's
// TTLSpread), so that what was read together (at a start, by a sweep)
// is read again over minutes, not in one wave.
const DefaultCacheTTL = 15 * time.Minute

// DefaultCacheBytes bounds the authorizer's cache of loaded principals,
// roles, managed policies and SCPs: 64 MiB, by the estimate of loadCache.
const DefaultCacheBytes = 64 << 20

// The Authorizer's cache is a cache.Cache bounded by bytes: an entry costs
// its key, its value's structs, slices and strings (walked by reflection when
// it is stored, see footprint) and the cache's bookkeeping; the compiled
// policies values hold are shared values, counted once each however many
// entries share them (a managed policy attached to a thousand users is one
// policy), at policy.Size.

// footprintShared is footprint as cache.Config.Cost wants it: the compiled
// policies, and the shapes they share with others (policy.Policy.Shape), are
// shared values.
func footprintShared(v any) (int, []cache.Shared) {
	if r, ok := v.(*Role); ok && r.Trust != nil {
		// A role's trust policy is its own (Role parses it): counted with
		// the role, its shape shared.
		return roleFootprint(r) + r.Trust.Size(), []cache.Shared{r.Trust.Shape()}
	}
	if pp, ok := v.(*principalPolicies); ok && pp.principalExtra == noPolicies {
		// Most principals of a large account: a name and a path.
		return obj(int(unsafe.Sizeof(*pp))) + obj(len(pp.name)) + obj(len(pp.path)), nil
	}
	n, pols := footprint(v)
	if len(pols) == 0 {
		return n, nil
	}
	shared := make([]cache.Shared, 0, 2*len(pols))
	for _, p := range pols {
		shared = append(shared, p)
		if sh := p.Shape(); !slices.Contains(shared, cache.Shared(sh)) {
			shared = append(shared, sh)
		}
	}
	return n, shared
}

const wordSize = int(unsafe.Sizeof(uintptr(0)))

// footprint estimates the heap v retains beside the compiled policies it
// references, which it returns (distinct) for the cache to count once each.
// It walks v by reflection, so that it follows changes to the cached types;
// pointers seen twice are counted once, and time.Location and noPolicies
// (shared, global) not at all.
func footprint(v any) (int, []*policy.Policy) {
	w := walker{seen: map[unsafe.Pointer]bool{}}
	rv := reflect.ValueOf(v)
	if rv.IsValid() && rv.Kind() != reflect.Pointer {
		w.n += obj(int(rv.Type().Size())) // boxed in the interface
	}
	w.walk(rv)
	return w.n, w.pols
}

// roleFootprint is footprint of a role, less its trust policy, without
// reflection: a role is stored once for each role record the second tier
// decodes, and the walk was a tenth of that. TestRoleFootprint checks that
// it agrees with footprint for every field.
func roleFootprint(r *Role) int {
	n := obj(int(unsafe.Sizeof(*r)))
	for _, s := range [...]string{r.Account, r.ID, r.Name, r.Path, r.TrustPolicy, r.Description, r.PermissionsBoundary,
		r.LastUsedRegion, r.ARN, r.TrustID} {
		n += obj(len(s))
	}
	if r.Tags != nil {
		n += obj(cap(r.Tags) * int(unsafe.Sizeof(store.Tag{})))
		for _, t := range r.Tags {
			n += obj(len(t.Key)) + obj(len(t.Value))
		}
	}
	return n
}

var (
	policyPtr   = reflect.TypeFor[*policy.Policy]()
	locationPtr = reflect.TypeFor[*time.Location]()
)

type walker struct {
	n    int
	pols []*policy.Policy
	seen map[unsafe.Pointer]bool
}

// walk counts the memory v refers to (not v's own inline bytes, which its
// container counts).
func (w *walker) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Type() == locationPtr {
			return
		}
		p := v.UnsafePointer()
		if w.seen[p] || p == unsafe.Pointer(noPolicies) {
			return // counted, or shared by all (and not the cache's)
		}
		w.seen[p] = true
		if v.Type() == policyPtr {
			w.pols = append(w.pols, (*policy.Policy)(p))
			return
		}
		w.n += obj(int(v.Type().Elem().Size()))
		w.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() != reflect.Pointer {
			w.n += obj(int(e.Type().Size()))
		}
		w.walk(e)
	case reflect.Struct:
		for i := range v.NumField() {
			w.walk(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			w.walk(v.Index(i))
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		w.n += obj(v.Cap() * int(v.Type().Elem().Size()))
		for i := range v.Len() {
			w.walk(v.Index(i))
		}
	case reflect.String:
		w.n += obj(v.Len())
	case reflect.Map:
		if v.IsNil() {
			return
		}
		kv := int(v.Type().Key().Size() + v.Type().Elem().Size())
		w.n += obj(v.Len() * (kv + 1) * 8 / 7)
		for it := v.MapRange(); it.Next(); {
			w.walk(it.Key())
			w.walk(it.Value())
		}
	}
}

// obj is the estimated heap cost of one object of n bytes (as
// policy.Size counts them): rounded up to a word, plus an eighth for Go's
// size classes and a word.
func obj(n int) int {
	if n == 0 {
		return 0
	}
	n = (n + wordSize - 1) &^ (wordSize - 1)
	return n + n/8 + wordSize
}

// CacheStats returns the number of entries in the authorizer's cache,
// their estimated size in bytes (with the compiled policies they hold),
// and the bound that stays within, Config.CacheBytes.
func (a *Authorizer) CacheStats() (entries, bytes, max int) { return a.cache.Stats() }

// MappedBytes is about what the cache's second tier's mapping of its file
// may hold resident (cache.Cache.MappedBytes).
func (a *Authorizer) MappedBytes() int64 { return a.cache.MappedBytes() }

// TierStats reports the cache's second tier: its records, their bytes, and
// the bytes of its segments allocated so far.
func (a *Authorizer) TierStats() (entries, bytes, allocated int) { return a.cache.TierStats() }

// Evict drops every entry of the first tier and keeps the second, as if
// each had been evicted for want of room (benchmarks, tests).
func (a *Authorizer) Evict() { a.cache.DeleteFunc(func(string, any) bool { return true }) }

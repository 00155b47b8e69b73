package authz

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// distinctPolicy compiles an identity policy of about n resource entries,
// different for every i.
func distinctPolicy(t *testing.T, i, n int) *policy.Policy {
	t.Helper()
	var res []string
	for j := range n {
		res = append(res, fmt.Sprintf(`"arn:aws:s3:::bucket-%d/key-%d"`, i, j))
	}
	p, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[`+strings.Join(res, ",")+`]}}`)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// principal is a loaded principal as the authorizer caches it.
func principal(i int, pols ...*policy.Policy) *principalPolicies {
	var src ownerSources
	for j, p := range pols {
		src.inline = append(src.inline, policy.Named{ID: fmt.Sprintf("user/u%d/p%d", i, j), Policy: p})
	}
	return newPrincipalPolicies(fmt.Sprint("u", i), "/", "", []store.Tag{{Key: "team", Value: fmt.Sprint("t", i)}}, src)
}

// TestLoadCacheBound drives the authorizer's cache far past its byte bound
// with distinct principals and checks that its accounting never exceeds the
// bound and that the heap it keeps stays within it.
func TestLoadCacheBound(t *testing.T) {
	const bound = 2 << 20
	c := cache.New(cache.Config[any]{MaxBytes: bound, Cost: footprintShared})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 3000 { // about 20 KiB each: 30 times the bound
		key := cacheKey(nil, "policies/user", acct, fmt.Sprint("user", i))
		c.Put(string(key), principal(i, distinctPolicy(t, i, 40)))
		if _, b, _ := c.Stats(); b > bound {
			t.Fatalf("after %d principals: %d bytes cached, bound %d", i+1, b, bound)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n, b, _ := c.Stats()
	if n < 10 || b < bound/2 {
		t.Errorf("cache holds %d entries, %d bytes: not used up to its bound", n, b)
	}
	if v, ok := c.Get(cacheKey(nil, "policies/user", acct, "user2999")); !ok || v.(*principalPolicies).tags[0].Value != "t2999" {
		t.Error("the most recent entry is gone")
	}
	if _, ok := c.Get(cacheKey(nil, "policies/user", acct, "user0")); ok {
		t.Error("the oldest entry is still there")
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > bound+bound/4 {
		t.Errorf("heap grew by %d bytes with a cache of %d", grown, bound)
	}
	t.Logf("%d entries, %d bytes estimated; heap grew by %d", n, b, grown)

	c.Clear()
	if n, b, _ := c.Stats(); n != 0 || b != 0 {
		t.Errorf("after clear: %d entries, %d bytes", n, b)
	}
}

// TestLoadCacheSharedPolicies checks that a compiled policy many principals
// share is counted once.
func TestLoadCacheSharedPolicies(t *testing.T) {
	t.Parallel()
	c := cache.New(cache.Config[any]{MaxBytes: 1 << 20, Cost: footprintShared})
	shared := distinctPolicy(t, 0, 200)
	for i := range 100 {
		c.Put(string(cacheKey(nil, "policies/user", acct, fmt.Sprint("u", i))), principal(i, shared))
	}
	_, b, _ := c.Stats()
	size := shared.Size() + shared.Shape().Size()
	if own, _ := footprint(principal(0, shared)); b > size+100*(own+400) {
		t.Errorf("100 entries sharing a policy of %d bytes cost %d", size, b)
	}
}

// TestForgetDropsWhatChanged: each kind of change drops the entries it makes
// stale and leaves the others.
func TestForgetDropsWhatChanged(t *testing.T) {
	a, _ := newAuthorizer(t)
	keys := map[string]string{
		"alice":  string(cacheKey(nil, "policies/user", acct, "AIDAALICE")),
		"bob":    string(cacheKey(nil, "policies/user", acct, "AIDABOB")),
		"other":  string(cacheKey(nil, "policies/user", "210987654321", "AIDAOTHER")),
		"role":   string(cacheKey(nil, "policies/role", acct, "AROAAPP")),
		"byname": string(cacheKey(nil, "role", acct, "App")),
		"policy": string(cacheKey(nil, "p", "", "arn:aws:iam::"+acct+":policy/P")),
		"group":  string(cacheKey(nil, "group", acct, "AGPADEV")),
		"scp":    "scp\x00" + acct,
		"rcp":    "rcp\x00" + acct,
	}
	fill := func() {
		for _, k := range keys {
			a.cache.Put(k, principal(0))
		}
	}
	tests := []struct {
		change store.Change
		gone   []string
	}{
		{store.Change{Kind: store.ChangeUser, Account: acct, Key: "AIDAALICE", Name: "alice"}, []string{"alice"}},
		{store.Change{Kind: store.ChangeGroup, Account: acct, Key: "AGPADEV", Name: "dev"}, []string{"group"}},
		{store.Change{Kind: store.ChangeRole, Account: acct, Key: "AROAAPP", Name: "APP"}, []string{"role", "byname"}},
		{store.Change{Kind: store.ChangePolicy, Account: acct, Key: "arn:aws:iam::" + acct + ":policy/p"}, []string{"policy"}},
		{store.Change{Kind: store.ChangeOrg, Key: "p-1234"}, []string{"scp", "rcp"}},
		{store.Change{Kind: store.ChangeSetting, Key: OrgPolicyTypesSetting}, []string{"scp", "rcp"}},
		{store.Change{Kind: store.ChangeAccessKey, Account: acct, Key: "AKIA"}, nil},
	}
	for _, tt := range tests {
		fill()
		a.Forget(tt.change)
		gone := map[string]bool{}
		for _, g := range tt.gone {
			gone[g] = true
		}
		for name, k := range keys {
			if _, ok := a.cache.Get([]byte(k)); ok == gone[name] {
				t.Errorf("%s %s: entry %s present=%v", tt.change.Kind, tt.change.Key, name, ok)
			}
		}
	}
}

// TestLoadHitAllocatesNothing checks the hot path: a cached principal
// costs no allocation.
func TestLoadHitAllocatesNothing(t *testing.T) {
	a, _ := newAuthorizer(t)
	v := principal(0)
	var kb [128]byte
	key := cacheKey(kb[:0], "policies/user", acct, "alice")
	if _, err := a.load(key, func() (any, error) { return v, nil }); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var kb [128]byte
		got, err := a.load(cacheKey(kb[:0], "policies/user", acct, "alice"), func() (any, error) { return nil, nil })
		if err != nil || got != any(v) {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %.0f times", allocs)
	}
}

// TestRoleFootprint checks that roleFootprint counts what footprint's walk
// does, with every string field of a role set (so that a field added to
// Role or store.Role and not to roleFootprint fails here).
func TestRoleFootprint(t *testing.T) {
	trust, err := policy.Parse(policy.Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AIDAFOOTPRINT0000001"},"Action":"sts:AssumeRole"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tags := range [][]store.Tag{nil, {{Key: "team", Value: "payments"}, {Key: "k", Value: ""}}} {
		r := &Role{Trust: trust}
		rv := reflect.ValueOf(r).Elem()
		var fill func(v reflect.Value)
		fill = func(v reflect.Value) {
			for i := range v.NumField() {
				switch f := v.Field(i); f.Kind() {
				case reflect.String:
					f.SetString(strings.Repeat("x", 3+5*i))
				case reflect.Struct:
					if f.Type() != reflect.TypeFor[time.Time]() {
						fill(f)
					}
				}
			}
		}
		fill(rv)
		r.Tags = tags
		r.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
		want, pols := footprint(r)
		if len(pols) != 1 || pols[0] != trust {
			t.Fatalf("footprint found policies %v, want the trust policy", pols)
		}
		if got := roleFootprint(r); got != want {
			t.Errorf("tags %v: roleFootprint %d, footprint %d", tags, got, want)
		}
		if n, shared := footprintShared(r); n != want+trust.Size() || len(shared) != 1 || shared[0] != trust.Shape() {
			t.Errorf("footprintShared: %d %v, want %d and the trust policy's shape", n, shared, want+trust.Size())
		}
	}
}

// TestBarePrincipalFootprint checks footprintShared's count of a user or
// role without policies, boundary or tags against footprint's walk.
func TestBarePrincipalFootprint(t *testing.T) {
	if n := reflect.TypeFor[principalPolicies]().NumField(); n != 4 {
		t.Fatalf("principalPolicies has %d fields: count the new ones in footprintShared's fast path, then update this test", n)
	}
	for _, pp := range []*principalPolicies{newPrincipalPolicies("u0000001", "/team/", "", nil, ownerSources{}), gonePrincipal()} {
		want, pols := footprint(pp)
		if got, shared := footprintShared(pp); got != want || len(pols) != 0 || shared != nil {
			t.Errorf("%+v: footprintShared %d %v, footprint %d %v", pp, got, shared, want, pols)
		}
	}
}

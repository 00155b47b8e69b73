package authz

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// readCounter counts the store reads that load a user or a role.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (r *readCounter) GetRole(ctx context.Context, account, name string) (store.Role, error) {
	r.reads.Add(1)
	return r.Store.GetRole(ctx, account, name)
}

func (r *readCounter) GetUserByID(ctx context.Context, id string) (store.User, error) {
	r.reads.Add(1)
	return r.Store.GetUserByID(ctx, id)
}

func (r *readCounter) PolicySources(ctx context.Context, account string, kind store.PrincipalKind, owner string) (store.PolicySources, error) {
	r.reads.Add(1)
	return r.Store.(store.PolicySourceReader).PolicySources(ctx, account, kind, owner)
}

// tierStore is a SQLite store with the management account, the same store
// counting its reads, and a check of errors.
func tierStore(t *testing.T) (*sqlite.Store, *readCounter, func(error)) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateAccount(context.Background(), store.Account{ID: acct, Name: "a", Management: true}))
	return db, &readCounter{Store: db}, must
}

// A user and a role evicted from the first tier come back from the second
// without a store read, equal to what the store gave (inline policies,
// attachments, groups, tags, boundary, trust policy); a change to either
// reaches the second tier too, so the next load reads the store again and
// sees it.
func TestSecondTier(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	sl, err := seal.New(make([]byte, 32), nil)
	must(err)
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), Sealer: sl, CompactBytes: 1 << 20,
		Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }})
	next := feedTo(t, a, db)

	parn := "arn:aws:iam::" + acct + ":policy/P"
	must(db.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPAP", Name: "P", Path: "/", ARN: parn, DefaultVersionID: "v1"},
		store.PolicyVersion{PolicyARN: parn, VersionID: "v1", Document: allowDoc("s3:GetObject")}))
	must(db.CreateUser(ctx, store.User{Account: acct, ID: "AIDAALICE", Name: "Alice", Path: "/eng/", CreatedAt: time.Now(),
		PermissionsBoundary: parn, Tags: []store.Tag{{Key: "team", Value: "red"}, {Key: "cost", Value: "42"}}}))
	must(db.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindUser, Owner: "Alice", Name: "own", Document: allowDoc("iam:GetUser")}))
	must(db.AttachPolicy(ctx, store.Attachment{Account: acct, Kind: store.KindUser, Owner: "Alice", PolicyARN: parn}))
	must(db.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPADEV", Name: "dev", Path: "/", CreatedAt: time.Now()}))
	must(db.AddUserToGroup(ctx, acct, "dev", "Alice"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/eng/Alice"},"Action":"sts:AssumeRole"}]}`
	must(db.CreateRole(ctx, store.Role{Account: acct, ID: "AROAAPP", Name: "App", Path: "/svc/", TrustPolicy: trust, Description: "d",
		MaxSessionDuration: 7200, PermissionsBoundary: parn, CreatedAt: time.Now(), Tags: []store.Tag{{Key: "env", Value: "prod"}}}))
	next()

	loadBoth := func() (*principalPolicies, *Role) {
		t.Helper()
		pp, err := a.principalPolicies(ctx, store.KindUser, acct, "AIDAALICE")
		must(err)
		r, err := a.Role(ctx, acct, "App")
		must(err)
		return pp, r
	}
	filledPP, filledRole := loadBoth()
	filled := st.reads.Load()
	if filled == 0 {
		t.Fatal("nothing was read from the store")
	}
	a.Evict()
	pp, r := loadBoth()
	if got := st.reads.Load(); got != filled {
		t.Fatalf("%d store reads after the first tier was evicted, want none", got-filled)
	}
	if pp == filledPP || r == filledRole {
		t.Fatal("the first tier was not evicted")
	}
	// Equal, but for the compiled policies, compared by what they decide.
	samePolicies := func(x, y []policy.Named) {
		t.Helper()
		if len(x) != len(y) {
			t.Fatalf("%d policies, want %d", len(x), len(y))
		}
		for i := range x {
			if x[i].ID != y[i].ID || x[i].Doc != y[i].Doc || x[i].Source != y[i].Source {
				t.Fatalf("policy %d: %+v, want %+v", i, x[i], y[i])
			}
		}
	}
	samePolicies(pp.inline, filledPP.inline)
	if pp.exists != filledPP.exists || pp.name != filledPP.name || pp.path != filledPP.path || pp.boundary != filledPP.boundary ||
		!reflect.DeepEqual(pp.tags, filledPP.tags) || !reflect.DeepEqual(pp.tagKeys, filledPP.tagKeys) ||
		!reflect.DeepEqual(pp.attached, filledPP.attached) || !reflect.DeepEqual(pp.groups, filledPP.groups) {
		t.Fatalf("decoded user\n%+v %+v\nfilled\n%+v %+v", *pp, *pp.principalExtra, *filledPP, *filledPP.principalExtra)
	}
	if !reflect.DeepEqual(r.Role, filledRole.Role) || r.ARN != filledRole.ARN || r.TrustID != filledRole.TrustID {
		t.Fatalf("decoded role\n%+v\nfilled\n%+v", *r, *filledRole)
	}
	alice := &policy.Principal{Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/eng/Alice", Account: acct, ID: "AIDAALICE"}
	bob := &policy.Principal{Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/Bob", Account: acct, ID: "AIDABOB"}
	for _, p := range []*policy.Principal{alice, bob} {
		req := &policy.Request{Principal: *p, Action: "sts:AssumeRole", Resource: r.ARN, Context: &policy.Context{}}
		got := policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: r.TrustID, Policy: r.Trust}}}, req).Effect
		want := policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: filledRole.TrustID, Policy: filledRole.Trust}}}, req).Effect
		if got != want {
			t.Fatalf("trust policy decides %v for %s, filled one %v", got, p.ARN, want)
		}
	}

	// A change to each reaches the second tier.
	stored, err := db.GetRole(ctx, acct, "App")
	must(err)
	stored.TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`
	must(db.UpdateRole(ctx, stored))
	must(db.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindUser, Owner: "Alice", Name: "more", Document: allowDoc("s3:PutObject")}))
	next()
	a.Evict()
	pp, r = loadBoth()
	if st.reads.Load() == filled {
		t.Fatal("changed entries were served from the second tier")
	}
	if len(pp.inline) != 2 {
		t.Fatalf("user has %d inline policies after a second was added", len(pp.inline))
	}
	req := &policy.Request{Principal: *alice, Action: "sts:AssumeRole", Resource: r.ARN, Context: &policy.Context{}}
	if e := policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: r.TrustID, Policy: r.Trust}}}, req).Effect; e != policy.ExplicitDeny {
		t.Fatalf("the changed trust policy decides %v", e)
	}
}

// Roles whose trust documents share a shape (each trusts its own user) are
// kept in the second tier as their difference from the first: they come
// back from it without a store read, each trusting its own user alone, in
// a fraction of their documents' bytes.
func TestSecondTierSharesTrustShapes(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 1 << 20})
	const n = 200
	userARN := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:user/u%03d", acct, i) }
	docBytes := 0
	for i := range n {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN(i) + `"},"Action":"sts:AssumeRole"}]}`
		docBytes += len(doc)
		must(db.CreateRole(ctx, store.Role{Account: acct, ID: fmt.Sprintf("AROA%03d", i), Name: fmt.Sprintf("r%03d", i), Path: "/", TrustPolicy: doc, CreatedAt: time.Now()}))
	}
	for i := range n {
		_, err := a.Role(ctx, acct, fmt.Sprintf("r%03d", i))
		must(err)
	}
	filled := st.reads.Load()
	if _, tierBytes, _ := a.TierStats(); tierBytes >= docBytes*2/3 {
		t.Fatalf("the second tier holds %d bytes for %d roles whose trust documents alone are %d", tierBytes, n, docBytes)
	}
	if a.trust.len() != 1 {
		t.Fatalf("%d trust shapes numbered for one shape", a.trust.len())
	}
	a.Evict()
	for i := range n {
		r, err := a.Role(ctx, acct, fmt.Sprintf("r%03d", i))
		must(err)
		// Rebuilt from its shape and bindings, not parsed: equal to the
		// policy parsed from its document.
		parsed, err := policy.Parse(policy.Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+userARN(i)+`"},"Action":"sts:AssumeRole"}]}`)
		must(err)
		if !reflect.DeepEqual(r.Trust, parsed) {
			t.Fatalf("role %d's trust policy from the second tier\n%+v\nparsed\n%+v", i, *r.Trust, *parsed)
		}
		for _, j := range []int{i, (i + 1) % n} {
			p := policy.Principal{Type: policy.User, ARN: userARN(j), Account: acct, ID: fmt.Sprintf("AIDA%03d", j)}
			req := &policy.Request{Principal: p, Action: "sts:AssumeRole", Resource: r.ARN, Context: &policy.Context{}}
			got := policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: r.TrustID, Policy: r.Trust}}}, req).Effect
			if (got == policy.Allow) != (i == j) {
				t.Fatalf("role %d's trust decides %v for user %d", i, got, j)
			}
		}
	}
	if got := st.reads.Load(); got != filled {
		t.Fatalf("%d store reads after the first tier was evicted, want none", got-filled)
	}
}

// TestCacheTTLBoundsMissedInvalidation: a change the authorizer is never
// told of (a missed Forget, or a load the store served from before the
// change) is used for at most the cache's TTL, whichever tier holds the
// stale role, and a role's trust policy is read again after it.
func TestCacheTTLBoundsMissedInvalidation(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 1 << 20, Now: func() time.Time { return now }})
	doc := func(user string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/` + user + `"},"Action":"sts:AssumeRole"}]}`
	}
	must(db.CreateRole(ctx, store.Role{Account: acct, ID: "AROATTLTEST000000001", Name: "ttl", Path: "/", TrustPolicy: doc("old"), CreatedAt: now}))
	trusts := func(user string) bool {
		t.Helper()
		r, err := a.Role(ctx, acct, "ttl")
		must(err)
		req := &policy.Request{Principal: policy.Principal{Type: policy.User, Account: acct, ARN: "arn:aws:iam::111122223333:user/" + user, ID: "AIDAX"},
			Action: "sts:AssumeRole", Resource: r.ARN, Context: &policy.Context{}}
		return policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: r.TrustID, Policy: r.Trust}}}, req).Effect == policy.Allow
	}
	if !trusts("old") {
		t.Fatal("the role does not trust its user")
	}
	// Narrowed in the store; the authorizer is not told.
	r, err := db.GetRole(ctx, acct, "ttl")
	must(err)
	r.TrustPolicy = doc("new")
	must(db.UpdateRole(ctx, r))
	for _, tier := range []string{"first", "second"} {
		if tier == "second" {
			a.Evict()
		}
		now = now.Add(DefaultCacheTTL / 4)
		if !trusts("old") || a.roleWhere(acct, "ttl") != "first+second" {
			t.Fatalf("%s tier: the cached role was not served within its TTL (in %s)", tier, a.roleWhere(acct, "ttl"))
		}
	}
	a.Evict() // the second tier's record, loaded at the start, expires with it
	now = now.Add(DefaultCacheTTL / 2)
	if trusts("old") || !trusts("new") {
		t.Fatal("past the TTL the stale trust policy is still honoured (from the second tier)")
	}
	// And from the first: its entry, loaded now, expires a TTL from now,
	// less up to a quarter of it (the spread).
	r.TrustPolicy = doc("newer")
	must(db.UpdateRole(ctx, r))
	now = now.Add(DefaultCacheTTL*3/4 - time.Second)
	if !trusts("new") {
		t.Fatal("the role was read again within its TTL")
	}
	now = now.Add(DefaultCacheTTL/4 + time.Second)
	if trusts("new") || !trusts("newer") {
		t.Fatal("past the TTL the stale trust policy is still honoured (from the first tier)")
	}
}

// A role record whose bindings' prefix and suffix lengths overflow when
// added is refused, not a panic (records are the authorizer's own, so
// this takes memory corruption; the decoder still fails closed).
func TestDecodeRoleRecordOverflow(t *testing.T) {
	_, st, must := tierStore(t)
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 1 << 20})
	p, err := policy.Parse(policy.Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u"},"Action":"sts:AssumeRole"}]}`)
	must(err)
	if id, _ := a.trust.number(p); id != 0 {
		t.Fatalf("shape numbered %d", id)
	}
	for _, pn := range [][2]int64{{math.MaxInt64, 1}, {1, math.MaxInt64}, {-1, 0}, {0, -1}, {1 << 40, 1 << 40}} {
		rec := cache.Enc(nil).String(acct).String("AROAX").String("r").String("/").Int(1).Int(pn[0]).Int(pn[1]).Bytes(nil).
			Int(3600).String("").Time(time.Time{}).Int(0)
		if v, ok := a.decodeRoleRecord(rec); ok || v != nil {
			t.Errorf("prefix %d, suffix %d: decoded %v", pn[0], pn[1], v)
		}
	}
}

// A store that answers a role's read with another role's row (the
// symptom a stale entry of TestTrustChangeRacesRoleLoads would also show)
// gets an error, and nothing is cached under the role asked for.
func TestRoleFromAnotherRowRefused(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	for _, n := range []string{"asked", "other"} {
		must(db.CreateRole(ctx, store.Role{Account: acct, ID: "AROAROW" + strings.ToUpper(n), Name: n, Path: "/", CreatedAt: time.Now(),
			TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/` + n + `"},"Action":"sts:AssumeRole"}]}`}))
	}
	wrong := &roleReads{Store: st, read: func(name string, get func() (store.Role, error)) (store.Role, error) {
		return db.GetRole(ctx, acct, "other")
	}}
	a := New(Config{Store: wrong, Policies: policy.NewCache(1 << 20), CompactBytes: 1 << 20})
	if r, err := a.Role(ctx, acct, "asked"); err == nil {
		t.Fatalf("loaded %s for asked", r.Name)
	}
	if where := a.roleWhere(acct, "asked"); where != "none" {
		t.Fatalf("cached in %s", where)
	}
	if r, err := a.Role(ctx, acct, "OTHER"); err != nil || r.Name != "other" {
		t.Fatalf("a role's own row in another case: %v, %v", r, err)
	}
}

// oneStatement is readCounter with the store's PrincipalSources, which a
// principal's load then uses in place of GetUserByID (or GetRoleByID) and
// PolicySources.
type oneStatement struct{ readCounter }

func (r *oneStatement) PrincipalSources(ctx context.Context, kind store.PrincipalKind, id string) (store.PrincipalSources, error) {
	r.reads.Add(1)
	return r.Store.(store.PrincipalSourceReader).PrincipalSources(ctx, kind, id)
}

// A user or role loaded with one statement (PrincipalSources) is the one
// loaded with two reads, for one read; one of another account, or gone, is
// a principal that does not exist.
func TestPrincipalInOneStatement(t *testing.T) {
	db, two, must := tierStore(t)
	one := &oneStatement{readCounter{Store: db}}
	ctx := context.Background()
	parn := "arn:aws:iam::" + acct + ":policy/P"
	must(db.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPAP", Name: "P", Path: "/", ARN: parn, DefaultVersionID: "v1"},
		store.PolicyVersion{PolicyARN: parn, VersionID: "v1", Document: allowDoc("s3:GetObject")}))
	must(db.CreateUser(ctx, store.User{Account: acct, ID: "AIDAALICE", Name: "Alice", Path: "/eng/", PermissionsBoundary: parn,
		Tags: []store.Tag{{Key: "team", Value: "red"}, {Key: "cost", Value: "42"}}}))
	must(db.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindUser, Owner: "Alice", Name: "own", Document: allowDoc("iam:GetUser")}))
	must(db.AttachPolicy(ctx, store.Attachment{Account: acct, Kind: store.KindUser, Owner: "Alice", PolicyARN: parn}))
	must(db.CreateGroup(ctx, store.Group{Account: acct, ID: "AGPADEV", Name: "dev", Path: "/"}))
	must(db.AddUserToGroup(ctx, acct, "dev", "Alice"))
	must(db.CreateRole(ctx, store.Role{Account: acct, ID: "AROAAPP", Name: "App", Path: "/svc/", MaxSessionDuration: 3600, PermissionsBoundary: parn,
		TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`}))
	must(db.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindRole, Owner: "App", Name: "rp", Document: allowDoc("ec2:*")}))
	sl, err := seal.New(make([]byte, 32), nil)
	must(err)
	newA := func(st store.Store) *Authorizer {
		return New(Config{Store: st, Policies: policy.NewCache(1 << 20), Sealer: sl, CompactBytes: 1 << 20})
	}
	viaTwo, viaOne := newA(two), newA(one)
	for _, c := range []struct {
		kind    store.PrincipalKind
		account string
		id      string
		exists  bool
	}{
		{store.KindUser, acct, "AIDAALICE", true},
		{store.KindRole, acct, "AROAAPP", true},
		{store.KindUser, "999988887777", "AIDAALICE", false}, // another account's id
		{store.KindRole, acct, "AIDAALICE", false},           // a user's id asked as a role
		{store.KindUser, acct, "AIDANOBODY", false},
	} {
		before := one.reads.Load()
		got, err := viaOne.principalPolicies(ctx, c.kind, c.account, c.id)
		must(err)
		if n := one.reads.Load() - before; n != 1 {
			t.Errorf("%s %s: %d store reads, want 1", c.kind, c.id, n)
		}
		want, err := viaTwo.principalPolicies(ctx, c.kind, c.account, c.id)
		must(err)
		if got.exists != c.exists || want.exists != c.exists {
			t.Fatalf("%s %s in %s: exists %v (two reads: %v), want %v", c.kind, c.id, c.account, got.exists, want.exists, c.exists)
		}
		if got.name != want.name || got.path != want.path || got.boundary != want.boundary || !reflect.DeepEqual(got.tags, want.tags) ||
			!reflect.DeepEqual(got.tagKeys, want.tagKeys) || !reflect.DeepEqual(got.attached, want.attached) || !reflect.DeepEqual(got.groups, want.groups) ||
			len(got.inline) != len(want.inline) {
			t.Fatalf("%s %s in one statement\n%+v %+v\nin two reads\n%+v %+v", c.kind, c.id, *got, *got.principalExtra, *want, *want.principalExtra)
		}
		for i := range got.inline {
			if got.inline[i].ID != want.inline[i].ID || got.inline[i].Doc != want.inline[i].Doc || got.inline[i].Source != want.inline[i].Source {
				t.Fatalf("%s %s: inline policy %d %+v, two reads %+v", c.kind, c.id, i, got.inline[i], want.inline[i])
			}
		}
	}
}

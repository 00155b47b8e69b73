package authz

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// attackTrustDocs are trust documents chosen to collide in shape with one
// another while deciding differently: NotPrincipal and Deny statements,
// conditions, principals as a string or a list, duplicates, case
// variants, wildcards (NotPrincipal is refused in trust policies), service and federated principals, unique ids,
// account ids and :root ARNs, statements in other positions.
func attackTrustDocs() []string {
	stmt := func(body string) string {
		return `{"Version":"2012-10-17","Statement":[` + body + `]}`
	}
	allow := func(princ string) string {
		return `{"Effect":"Allow","Principal":` + princ + `,"Action":"sts:AssumeRole"}`
	}
	return []string{
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:user/u1"}`)),
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:user/u2"}`)),
		stmt(allow(`{"AWS":["arn:aws:iam::111122223333:user/u1"]}`)),
		stmt(allow(`{"AWS":["arn:aws:iam::111122223333:user/u2","arn:aws:iam::111122223333:user/u2"]}`)),
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:user/U1"}`)),
		stmt(allow(`{"AWS":"111122223333"}`)),
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:root"}`)),
		stmt(allow(`{"AWS":"444455556666"}`)),
		stmt(allow(`{"AWS":"AIDAEXAMPLEUSER00001"}`)),
		stmt(allow(`{"AWS":"AIDAEXAMPLEUSER00002"}`)),
		stmt(allow(`{"AWS":"AROAEXAMPLEROLE00001"}`)),
		stmt(allow(`{"AWS":"*"}`)),
		stmt(allow(`"*"`)),
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:role/r"}`)),
		stmt(allow(`{"Service":"ec2.amazonaws.com"}`)),
		stmt(allow(`{"Federated":"arn:aws:iam::111122223333:saml-provider/p"}`)),
		stmt(allow(`{"AWS":"arn:aws:iam::111122223333:user/u1","Service":"ec2.amazonaws.com"}`)),
		stmt(allow(`{"Service":"ec2.amazonaws.com","AWS":"arn:aws:iam::111122223333:user/u1"}`)),
		// One shape: an Allow for u1 and a Deny of another principal.
		stmt(allow(`{"AWS":"111122223333"}`) + `,{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/u1"},"Action":"sts:AssumeRole"}`),
		stmt(allow(`{"AWS":"111122223333"}`) + `,{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/u2"},"Action":"sts:AssumeRole"}`),
		stmt(allow(`{"AWS":"111122223333"}`) + `,{"Effect":"Deny","Principal":{"AWS":["AIDAEXAMPLEUSER00001","arn:aws:iam::111122223333:user/u2"]},"Action":"sts:AssumeRole"}`),
		stmt(allow(`{"AWS":"111122223333"}`) + `,{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`),
		stmt(allow(`{"AWS":"111122223333"}`) + `,{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}`),
		// Conditions: of the shape, never of the bindings.
		stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u1"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}`),
		stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u1"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x2"}}}`),
		stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u2"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}`),
		stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u2"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/u1"}}}`),
		// Other positions, and a Sid.
		`{ "Version" : "2012-10-17", "Statement" : [ ` + allow(`{"AWS":"arn:aws:iam::111122223333:user/u1"}`) + ` ] }`,
		stmt(`{"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u2"},"Action":"sts:AssumeRole"}`),
		stmt(`{"Sid":"b","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u2"},"Action":"sts:AssumeRole"}`),
	}
}

// attackCallers are the principals every rebuilt trust policy is asked
// about, with and without an external id.
func attackCallers() []*policy.Request {
	ps := []policy.Principal{
		{Type: policy.User, Account: acct, ARN: "arn:aws:iam::111122223333:user/u1", ID: "AIDAEXAMPLEUSER00001"},
		{Type: policy.User, Account: acct, ARN: "arn:aws:iam::111122223333:user/u2", ID: "AIDAEXAMPLEUSER00002"},
		{Type: policy.User, Account: "444455556666", ARN: "arn:aws:iam::444455556666:user/u1", ID: "AIDAEXAMPLEUSER00003"},
		{Type: policy.AssumedRole, Account: acct, ARN: "arn:aws:sts::111122223333:assumed-role/r/s", ID: "AROAEXAMPLEROLE00001:s",
			RoleARN: "arn:aws:iam::111122223333:role/r", RoleID: "AROAEXAMPLEROLE00001"},
		{Type: policy.Service, Service: "ec2.amazonaws.com"},
		{Type: policy.SAMLUser, Federated: "arn:aws:iam::111122223333:saml-provider/p"},
	}
	var out []*policy.Request
	for _, p := range ps {
		for _, ext := range []string{"", "x1", "x2"} {
			ctx := &policy.Context{}
			ctx.Set("aws:PrincipalArn", p.ARN)
			if ext != "" {
				ctx.Set("sts:ExternalId", ext)
			}
			out = append(out, &policy.Request{Principal: p, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/x", Context: ctx})
		}
	}
	return out
}

// TestSecondTierTrustIsParsedTrust: a role's trust policy brought back
// from the second tier (its shape's number and its bindings' difference
// from the shape's first policy) equals, and decides exactly as, the
// policy parsed from its document, for documents that collide in shape
// while deciding differently, in every order of first use.
func TestSecondTierTrustIsParsedTrust(t *testing.T) {
	docs := attackTrustDocs()
	callers := attackCallers()
	for _, reverse := range []bool{false, true} {
		db, st, must := tierStore(t)
		ctx := context.Background()
		a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 1 << 20})
		order := make([]int, len(docs))
		for i := range order {
			order[i] = i
			if reverse {
				order[i] = len(docs) - 1 - i
			}
		}
		for _, i := range order {
			must(db.CreateRole(ctx, store.Role{Account: acct, ID: fmt.Sprintf("AROAATTACK%010d", i), Name: fmt.Sprintf("r%02d", i), Path: "/",
				TrustPolicy: docs[i], CreatedAt: time.Now()}))
			_, err := a.Role(ctx, acct, fmt.Sprintf("r%02d", i))
			must(err)
		}
		a.Evict()
		filled := st.reads.Load()
		for i, doc := range docs {
			r, err := a.Role(ctx, acct, fmt.Sprintf("r%02d", i))
			must(err)
			parsed, err := policy.Parse(policy.Trust, doc)
			must(err)
			if !reflect.DeepEqual(r.Trust, parsed) {
				t.Fatalf("doc %d from the second tier\n%+v\nparsed\n%+v", i, *r.Trust, *parsed)
			}
			for _, req := range callers {
				set := func(p *policy.Policy) *policy.Set {
					return &policy.Set{Resource: []policy.Named{{ID: r.TrustID, Policy: p}}}
				}
				if got, want := policy.Evaluate(set(r.Trust), req).Effect, policy.Evaluate(set(parsed), req).Effect; got != want {
					t.Errorf("doc %d, caller %s: %v from the second tier, %v parsed", i, req.Principal.ARN+req.Principal.Service+req.Principal.Federated, got, want)
				}
			}
		}
		if got := st.reads.Load(); got != filled {
			t.Fatalf("%d store reads: roles not served by the second tier", got-filled)
		}
	}
}

// TestSecondTierPastShapeBound: past trustShapeMax shapes a role is kept
// with its document, and still decides as parsed.
func TestSecondTierPastShapeBound(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 8 << 20})
	const n = trustShapeMax + 40
	doc := func(i int) string {
		// The external id makes each document a shape of its own.
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u%d"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x%d"}}}]}`, i, i)
	}
	for i := range n {
		must(db.CreateRole(ctx, store.Role{Account: acct, ID: fmt.Sprintf("AROABOUND%011d", i), Name: fmt.Sprintf("b%05d", i), Path: "/", TrustPolicy: doc(i), CreatedAt: time.Now()}))
		_, err := a.Role(ctx, acct, fmt.Sprintf("b%05d", i))
		must(err)
	}
	if a.trust.len() != trustShapeMax {
		t.Fatalf("%d shapes numbered, want %d", a.trust.len(), trustShapeMax)
	}
	a.Evict()
	for _, i := range []int{0, 1, trustShapeMax - 1, trustShapeMax, n - 1} {
		r, err := a.Role(ctx, acct, fmt.Sprintf("b%05d", i))
		must(err)
		parsed, err := policy.Parse(policy.Trust, doc(i))
		must(err)
		if !reflect.DeepEqual(r.Trust, parsed) {
			t.Fatalf("role %d from the second tier differs from its parsed trust policy", i)
		}
	}
}

// TestTrustChangeRacesRoleLoads: while roles are loaded in a storm (first
// tier, window and second tier full and evicting), each role's trust
// policy is changed from one user to the next and the change forgotten; a
// load that starts after Forget returned never sees a trust policy older
// than the change, whichever tier serves it.
func TestTrustChangeRacesRoleLoads(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	// Small tiers: roles keep falling out of the first into the window and
	// the second, and out of the second.
	const roles = 300
	doc := func(v int64) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/v%d"},"Action":"sts:AssumeRole"}]}`, v)
	}
	// The authorizer's store reads are checked too: a read that starts
	// after a version was committed and returns an older one is the
	// store's stale read, which the cache would then keep. (It failed a
	// few times in full runs of the suite with a stale entry kept, the
	// store's reads never stale: cache.Delete made the generation new
	// before it dropped the second tier's record, and a load could read
	// the record under the new generation; see
	// cache.TestTierReadDuringDeleteNotKept.)
	committed := make([]atomic.Int64, roles)
	reads := &roleReads{Store: st, read: func(name string, get func() (store.Role, error)) (store.Role, error) {
		k, _ := strconv.Atoi(strings.TrimPrefix(name, "q"))
		before := committed[k%roles].Load()
		r, err := get()
		if err == nil {
			// Another role's row (one later in the writer's pass holds
			// the previous version) would look like a stale read.
			if r.Name != name {
				t.Errorf("the store returned role %s for %s", r.Name, name)
			}
			if v := docVersion(r.TrustPolicy); v < before {
				t.Errorf("role %d: the store read version %d after version %d was committed (a stale read, not the cache)", k, v, before)
			}
		}
		return r, err
	}}
	a := New(Config{Store: reads, Policies: policy.NewCache(1 << 20), CacheBytes: 64 << 10, CompactBytes: 64 << 10})
	ids := make([]string, roles)
	for i := range roles {
		ids[i] = fmt.Sprintf("AROARACE%012d", i)
		must(db.CreateRole(ctx, store.Role{Account: acct, ID: ids[i], Name: fmt.Sprintf("q%03d", i), Path: "/", TrustPolicy: doc(0), CreatedAt: time.Now()}))
	}
	forgotten := make([]atomic.Int64, roles) // the version each role's Forget returned for
	var newest atomic.Int64                  // the newest version written
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*13 + w*7) % roles
				// Twice, as a request reads a role: the second read is
				// served by the window when the first tier turned it away.
				for range 2 {
					before := forgotten[k].Load()
					r, err := a.Role(ctx, acct, fmt.Sprintf("q%03d", k))
					if err != nil {
						t.Error(err)
						stop.Store(true)
						return
					}
					if want := fmt.Sprintf("q%03d", k); r.Name != want {
						t.Errorf("the authorizer returned role %s for %s (in the cache's %s)", r.Name, want, a.roleWhere(acct, want))
					}
					got := trustedVersion(t, r.Trust, newest.Load())
					if got < before {
						// What the store and a second load say now tells
						// a stale cache from a stale store read.
						where := a.roleWhere(acct, fmt.Sprintf("q%03d", k))
						stored, err := db.GetRole(ctx, acct, fmt.Sprintf("q%03d", k))
						again, err2 := a.Role(ctx, acct, fmt.Sprintf("q%03d", k))
						if err == nil && err2 == nil {
							sp, _ := policy.Parse(policy.Trust, stored.TrustPolicy)
							t.Logf("role %d now: stored version %d, loaded again %d; its entry was in the cache's %s", k,
								trustedVersion(t, sp, newest.Load()), trustedVersion(t, again.Trust, newest.Load()), where)
						}
						t.Errorf("role %d: trust of version %d loaded after version %d was committed and forgotten", k, got, before)
						stop.Store(true)
						return
					}
				}
			}
		})
	}
	deadline := time.Now().Add(3 * time.Second)
	for v := int64(1); time.Now().Before(deadline) && !stop.Load(); v++ {
		for k := range roles {
			if k%7 != int(v%7) {
				continue
			}
			r, err := db.GetRole(ctx, acct, fmt.Sprintf("q%03d", k))
			must(err)
			newest.Store(v)
			r.TrustPolicy = doc(v)
			must(db.UpdateRole(ctx, r))
			committed[k].Store(v)
			a.Forget(store.Change{Kind: store.ChangeRole, Account: acct, Key: ids[k], Name: r.Name})
			forgotten[k].Store(v)
		}
		if v%5 == 0 {
			a.Evict()
		}
	}
	stop.Store(true)
	wg.Wait()
}

// roleReads is a store whose GetRole goes through read.
type roleReads struct {
	store.Store
	read func(name string, get func() (store.Role, error)) (store.Role, error)
}

func (r *roleReads) GetRole(ctx context.Context, account, name string) (store.Role, error) {
	return r.read(name, func() (store.Role, error) { return r.Store.GetRole(ctx, account, name) })
}

// docVersion returns the n of the user vn a trust document names.
func docVersion(doc string) int64 {
	i := strings.LastIndex(doc, "user/v")
	if i < 0 {
		return -1
	}
	rest := doc[i+len("user/v"):]
	v, err := strconv.ParseInt(rest[:strings.IndexByte(rest+`"`, '"')], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// trustedVersion returns the n of the user vn the trust policy admits.
func trustedVersion(t *testing.T, p *policy.Policy, newest int64) int64 {
	for v := newest; v >= 0; v-- {
		arn := fmt.Sprintf("arn:aws:iam::111122223333:user/v%d", v)
		req := &policy.Request{Principal: policy.Principal{Type: policy.User, Account: acct, ARN: arn, ID: "AIDAX"},
			Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/q", Context: &policy.Context{}}
		if policy.Evaluate(&policy.Set{Resource: []policy.Named{{ID: "t", Policy: p}}}, req).Effect == policy.Allow {
			return v
		}
	}
	t.Errorf("trust policy admits no user v0..v%d", newest)
	return -1
}

// bigTrust is a trust policy of about 4,000 bytes (the quota is 4,096)
// whose shape is its own (i) and costs some 100 KB compiled: an external
// id condition of a few hundred wildcard values.
func bigTrust(i int) string {
	var vals []string
	for j := 0; ; j++ {
		v := fmt.Sprintf(`"a%d*b%d?c"`, i, j)
		if len(strings.Join(vals, ","))+len(v) > 3800 {
			break
		}
		vals = append(vals, v)
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u1"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:ExternalId":[` + strings.Join(vals, ",") + `]}}}]}`
}

// TestTrustShapesBoundedInBytes: the shapes the authorizer numbers for
// its second tier are kept for its life, outside every cache's bound, so
// they are bounded in bytes as well as in number: whoever may write trust
// policies (CreateRole, or UpdateAssumeRolePolicy of one role over and
// over, each followed by an AssumeRole that loads it) cannot pin 1,024
// large shapes (some 25 MB live at IAM's 2,048-byte quota, 50 MB at the
// 4,096 bytes Parse allows, measured) in every node. A role
// of a shape past the bound is kept with its document, and decides as
// parsed.
func TestTrustShapesBoundedInBytes(t *testing.T) {
	db, st, must := tierStore(t)
	ctx := context.Background()
	a := New(Config{Store: st, Policies: policy.NewCache(1 << 20), CompactBytes: 8 << 20})
	const n = 80
	must(db.CreateRole(ctx, store.Role{Account: acct, ID: "AROABIGSHAPE00000000", Name: "big", Path: "/", TrustPolicy: bigTrust(0), CreatedAt: time.Now()}))
	for i := range n {
		r, err := db.GetRole(ctx, acct, "big")
		must(err)
		r.TrustPolicy = bigTrust(i)
		must(db.UpdateRole(ctx, r))
		a.Forget(store.Change{Kind: store.ChangeRole, Account: acct, Key: r.ID, Name: r.Name})
		_, err = a.Role(ctx, acct, "big")
		must(err)
	}
	total := 0
	for i := range a.trust.len() {
		sh, _ := a.trust.shape(i)
		total += sh.p.Shape().Size()
	}
	if total > trustShapeBytes {
		t.Fatalf("%d trust shapes of %d bytes numbered, over the bound of %d", a.trust.len(), total, trustShapeBytes)
	}
	a.Evict()
	r, err := a.Role(ctx, acct, "big")
	must(err)
	parsed, err := policy.Parse(policy.Trust, bigTrust(n-1))
	must(err)
	if !reflect.DeepEqual(r.Trust, parsed) {
		t.Fatal("a role past the shapes' bound differs from its parsed trust policy")
	}
}

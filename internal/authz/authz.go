package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
	"unique"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// OrgRootSetting is the settings key holding the organization root id (r-xxxx).
const OrgRootSetting = "org.root"

// OrgIDSetting is the settings key holding the organization id
// (o-xxxxxxxxxx), written last when the organization is made.
const OrgIDSetting = "org.id"

// OrgPolicyTypesSetting is the settings key holding the root's enabled
// policy types, comma-separated; absent, SCPs are enabled. SCPs apply only
// while SERVICE_CONTROL_POLICY is among them.
const OrgPolicyTypesSetting = "org.policy-types"

// Config configures an Authorizer.
type Config struct {
	Store    store.Store
	Policies *policy.Cache
	Sealer   *seal.Sealer // encrypts authorization messages
	// Now is the clock of decisions and of the cache's TTL; nil: time.Now
	// for decisions and, for the TTL, the cache's coarse clock (a tick of
	// 250 ms), which costs no clock read per entry checked.
	Now func() time.Time
	// CacheBytes bounds the cache of loaded principals, roles, managed
	// policies and SCPs (0: DefaultCacheBytes).
	CacheBytes int
	// CompactBytes bounds the second tier of that cache, the encoded users
	// and roles it evicted, kept in memory the collector does not scan
	// (0: none).
	CompactBytes int
	// CompactDir and CompactFileBytes put that tier in a scratch file
	// (cache.Config.CompactDir).
	CompactDir       string
	CompactFileBytes int
	// CompactMapBytes reads that file through a mapping while it holds at
	// most that many bytes (cache.Config.CompactMapBytes).
	CompactMapBytes int
	// CacheTTL bounds how long a loaded principal, role, policy or SCP is
	// used without reading it again, whatever the change feed says
	// (0: DefaultCacheTTL; negative: none).
	CacheTTL time.Duration
	// OnDeny, if set, is told of every decision Decide returns that is not
	// an Allow (metrics); it must be fast and must not keep d.
	OnDeny func(d *policy.Decision)
}

// Authorizer decides whether callers may do things. Safe for concurrent use.
type Authorizer struct {
	store    store.Store
	policies *policy.Cache
	msgKey   []byte
	now      func() time.Time
	onDeny   func(d *policy.Decision)
	// cache holds loaded principals, roles, managed policies and SCPs; the
	// change feed drops exactly what changed (Forget).
	cache *cache.Cache[any]
	// trust numbers the trust policy shapes the second tier's roles are
	// encoded against; decodeRole is a.decodeRoleRecord, made once.
	trust      *trustShapes
	decodeRole func([]byte) (any, bool)
}

// trustShapeMax bounds the trust policy shapes the second tier's roles are
// encoded against: the first seen of each, up to this many.
const trustShapeMax = 1024

// trustShapeBytes bounds those shapes' bytes (policy.Policy.Shape's Size):
// they are kept for the Authorizer's life, outside the cache's bound, and a
// trust policy of IAM's 2,048-byte quota can compile to a shape of some
// 24 KB live (50 at the 4,096 bytes policy.Parse allows), so that whoever
// may write trust policies (CreateRole, or one role's
// UpdateAssumeRolePolicy over and over, each loaded by an AssumeRole) would
// otherwise pin some 25 MB (50) in every node. A deployment's usual shapes,
// of a few statements, take a few KB each: 1,024 of them fit.
const trustShapeBytes = 4 << 20

// trustShapes numbers trust policy shapes (policy.Policy.Shape): a role in
// the second tier is its trust policy's shape, by number, and its bindings
// (policy.Policy.AppendBindings), which policy.Rebind makes the compiled
// policy again without the document, a sixth of parsing it (most roles'
// trust policies differ from others' in their principals alone, and a
// deployment has a few shapes). The bindings are kept as their difference
// from those of the shape's first policy: the bytes between the prefix and
// the suffix they share (a user's id, the end of a user's ARN). It keeps
// the first policy of each shape it sees, up to bounds in number and bytes,
// and never drops one, so a number stays valid for the life of the
// Authorizer and the records that use it; a role of a shape past the bounds
// is kept with its document, parsed when decoded.
//
// It is safe for concurrent use.
type trustShapes struct {
	mu     sync.Mutex
	ids    map[any]int
	shapes atomic.Pointer[[]trustShape] // copied on write: read without a lock
	max    int                          // shapes
	bytes  int                          // the shapes' Size, summed
	budget int                          // bound of bytes
}

// trustShape is a shape's first policy and its bindings.
type trustShape struct {
	p    *policy.Policy
	bind []byte
}

func newTrustShapes(max, budget int) *trustShapes {
	return &trustShapes{ids: map[any]int{}, max: max, budget: budget}
}

// number returns p's shape's number, registering p as its policy when the
// shape has none and there is room; -1 when there is none.
func (t *trustShapes) number(p *policy.Policy) (int, trustShape) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.load()
	k := p.Shape()
	if id, ok := t.ids[k]; ok {
		return id, cur[id]
	}
	size := k.Size()
	if len(cur) >= t.max || t.bytes+size > t.budget {
		return -1, trustShape{}
	}
	t.bytes += size
	next := append(cur[:len(cur):len(cur)], trustShape{p: p, bind: p.AppendBindings(nil)})
	t.shapes.Store(&next)
	t.ids[k] = len(next) - 1
	return len(next) - 1, next[len(next)-1]
}

// shape returns the shape numbered id.
func (t *trustShapes) shape(id int) (trustShape, bool) {
	cur := t.load()
	if id < 0 || id >= len(cur) {
		return trustShape{}, false
	}
	return cur[id], true
}

func (t *trustShapes) load() []trustShape {
	if cur := t.shapes.Load(); cur != nil {
		return *cur
	}
	return nil
}

// len returns how many shapes are numbered (tests).
func (t *trustShapes) len() int { return len(t.load()) }

// New returns an Authorizer.
func New(cfg Config) *Authorizer {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	cacheBytes := cfg.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	a := &Authorizer{store: cfg.Store, policies: cfg.Policies, now: now, onDeny: cfg.OnDeny,
		cache: cache.New(cache.Config[any]{MaxBytes: cacheBytes, Cost: footprintShared, CompactBytes: cfg.CompactBytes,
			CompactDir: cfg.CompactDir, CompactFileBytes: cfg.CompactFileBytes, CompactMapBytes: cfg.CompactMapBytes,
			TTL: max(ttl, 0), TTLSpread: max(ttl, 0) / 4, Now: cfg.Now}), // nil: the cache's coarse clock
		trust: newTrustShapes(trustShapeMax, trustShapeBytes)}
	a.decodeRole = a.decodeRoleRecord
	if cfg.Sealer != nil {
		a.msgKey = cfg.Sealer.Derive("opensts authorization message v1")
	}
	return a
}

// Invalidate drops everything cached (a change feed that fell too far
// behind; tests).
func (a *Authorizer) Invalidate() { a.cache.Clear() }

// Forget drops what a change makes stale, and only that: a user's or role's
// own entry by unique id (and a role's by name), a group's entry by name, a
// managed policy's entry, an account's SCPs or all of them. Entries refer
// to groups and managed policies by name, not by content (see
// principalPolicies), so a group's or a policy's change drops that group or
// policy alone; a user's group memberships and a principal's attachments
// are the user's or principal's own change (store.ChangeUser, ChangeRole).
// The server calls it for every change the store's feed reports, its own
// writes included.
func (a *Authorizer) Forget(ch store.Change) {
	var kb [160]byte
	switch ch.Kind {
	case store.ChangeUser:
		a.cache.Delete(string(cacheKey(kb[:0], "policies/user", ch.Account, ch.Key)))
	case store.ChangeGroup:
		// Members name the group by id and name: a renamed, deleted or
		// recreated group is found stale when it is loaded again.
		a.cache.Delete(string(cacheKey(kb[:0], "group", ch.Account, ch.Key)))
	case store.ChangeRole:
		a.cache.Delete(string(cacheKey(kb[:0], "policies/role", ch.Account, ch.Key)))
		if ch.Name != "" {
			a.cache.Delete(string(cacheKey(kb[:0], "role", ch.Account, ch.Name)))
		}
	case store.ChangePolicy:
		a.cache.Delete(string(cacheKey(kb[:0], "p", "", ch.Key)))
	case store.ChangeAccount:
		a.cache.Delete("scp\x00" + ch.Account)
		a.cache.Delete("rcp\x00" + ch.Account)
		a.cache.Delete(principalOrgPrefix + ch.Account)
	case store.ChangeOrg:
		a.cache.DeletePrefix("scp\x00")
		a.cache.DeletePrefix("rcp\x00")
		a.cache.DeletePrefix(principalOrgPrefix)
	case store.ChangeSetting:
		if ch.Key == OrgRootSetting || ch.Key == OrgPolicyTypesSetting {
			a.cache.DeletePrefix("scp\x00")
			a.cache.DeletePrefix("rcp\x00")
		}
		if ch.Key == OrgRootSetting || ch.Key == OrgIDSetting {
			a.cache.DeletePrefix(principalOrgPrefix)
		}
	case store.ChangeOIDCProvider:
		a.cache.Delete(string(oidcKey(kb[:0], ch.Account, ch.Key)))
	}
}

// load returns the value cached under key, or fills, caches and returns it.
// A cached value costs no allocation.
func (a *Authorizer) load(key []byte, fill func() (any, error)) (any, error) {
	return a.cache.Load(key, fill)
}

// cacheKey appends "prefix\x00account\x00lowercase(name)" to b, the cache key
// of a principal's data (IAM names are case-insensitive). Built in a caller's
// buffer, it costs no allocation when the entry is cached.
func cacheKey(b []byte, prefix, account, name string) []byte {
	b = append(b, prefix...)
	b = append(b, 0)
	b = append(b, account...)
	b = append(b, 0)
	for _, r := range name {
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return b
}

// principalPolicies is what a user or role contributes to every decision.
// It holds its own inline policies compiled, and its attached managed
// policies and groups by name: they are cached entries of their own
// (managedEntry, groupPolicies), so that a change to a managed policy or a
// group drops that one entry, never the principals that use it.
type principalPolicies struct {
	// exists is false for a user or role that is gone: its sessions and
	// keys are denied everything (Resolve marks them).
	exists     bool
	name, path string // as stored now
	// The rest, which most principals of a large account do without,
	// behind one pointer: noPolicies when there is none of it.
	*principalExtra
}

// principalExtra is what a principal has beside its name: policies, a
// boundary, tags.
type principalExtra struct {
	inline   []policy.Named
	attached []string   // managed policy ARNs, as stored
	groups   []groupRef // a user's groups
	boundary string     // permissions boundary ARN, "" if none
	tags     []store.Tag
	tagKeys  []string // "aws:PrincipalTag/"+tags[i].Key
}

// noPolicies is the principalExtra of every principal without policies,
// boundary or tags. Read only.
var noPolicies = &principalExtra{}

// groupRef names a group a user is in, as it was when the user was loaded.
type groupRef struct{ id, name string }

// errStaleGroup: a user's group was renamed, deleted or recreated since the
// user was loaded.
var errStaleGroup = errors.New("group changed since its member was loaded")

// groupPolicies is what a group gives its members: its inline policies
// compiled, and its attached managed policies by ARN.
type groupPolicies struct {
	inline   []policy.Named
	attached []string
}

// newPrincipalPolicies returns the entry of an existing principal.
func newPrincipalPolicies(name, path, boundary string, tags []store.Tag, src ownerSources) *principalPolicies {
	pp := &principalPolicies{exists: true, name: name, path: intern(path), principalExtra: noPolicies}
	if boundary == "" && len(tags) == 0 && len(src.inline) == 0 && len(src.attached) == 0 && len(src.groups) == 0 {
		return pp
	}
	x := &principalExtra{boundary: boundary, tags: tags, inline: src.inline, attached: src.attached, groups: src.groups}
	if len(tags) > 0 {
		x.tagKeys = make([]string, len(tags))
		for i, t := range tags {
			x.tagKeys[i] = principalTagPrefix + t.Key
		}
	}
	pp.principalExtra = x
	return pp
}

// gonePrincipal is the entry of a user or role that does not exist.
func gonePrincipal() *principalPolicies { return &principalPolicies{principalExtra: noPolicies} }

// intern returns s, or an equal string already in use: the few distinct
// paths and account ids of many cached entries are kept once.
func intern(s string) string { return unique.Make(s).Value() }

const principalTagPrefix = "aws:PrincipalTag/"

// Key is one extra condition key for a request.
type Key struct {
	Name   string
	Values []string
}

// Request is one authorization question about a caller.
type Request struct {
	Action   string
	Resource string
	// Display is the resource as an AccessDenied message names it to the
	// caller; "" means Resource. Callers set it when Resource holds what
	// the caller may not learn, such as an entity's stored path and
	// spelling: AWS names an IAM user "user NAME", as the caller typed it.
	// The encoded authorization message, which only a principal allowed
	// sts:DecodeAuthorizationMessage can read, keeps Resource.
	Display         string
	ResourceAccount string // "" means the caller's account
	// ResourcePolicy is the resource-based policy (a role's trust policy).
	ResourcePolicy []policy.Named
	Keys           []Key
}

// Decide evaluates r for c.
func (a *Authorizer) Decide(ctx context.Context, c *Caller, r *Request) (policy.Decision, error) {
	if c.Gone {
		// The user or role behind the session is gone: nothing is allowed,
		// whatever a resource policy says of its old name.
		d := policy.Decision{Effect: policy.ImplicitDeny}
		if a.onDeny != nil {
			a.denied(d)
		}
		return d, nil
	}
	if rootTaskOutside(c, r) {
		d := policy.Decision{Effect: policy.ImplicitDeny, DeniedBy: policy.Session}
		if a.onDeny != nil {
			a.denied(d)
		}
		return d, nil
	}
	var set policy.Set
	err := a.fillSet(ctx, c, &set)
	if err != nil {
		return policy.Decision{}, err
	}
	set.Resource = r.ResourcePolicy
	set.ResourceAccount = r.ResourceAccount
	owner := r.ResourceAccount
	if owner == "" {
		owner = c.Account
	}
	if set.RCP, err = a.rcpLevels(ctx, owner); err != nil {
		return policy.Decision{}, err
	}
	pctx := contextPool.Get().(*policy.Context)
	defer putContext(pctx)
	if err := a.FillContext(ctx, c, pctx); err != nil {
		return policy.Decision{}, err
	}
	for _, k := range r.Keys {
		pctx.Set(k.Name, k.Values...)
	}
	req := policy.Request{Principal: c.Principal(), Action: r.Action, Resource: r.Resource, Context: pctx, Now: c.now(a.now)}
	d := policy.Evaluate(&set, &req)
	if d.Effect != policy.Allow && a.onDeny != nil {
		a.denied(d)
	}
	return d, nil
}

// rootTaskOutside reports whether r is an IAM request of an AssumeRoot
// session (the root, scoped by a task policy) on anything but the root user
// itself: a task is for the root user's credentials, and its policy's
// statements (on "*", as IAM refuses the root's ARN in a policy's
// Resource) would otherwise reach every IAM user of the account, whose
// keys, passwords and devices the root may name (an attack review deleted
// and planted IAM users' credentials that way). Actions on no particular
// resource ("*": GetAccountSummary) are left to the task policy, and so
// are other services' (a bucket's or queue's policy).
func rootTaskOutside(c *Caller, r *Request) bool {
	if c.Type != policy.Root || c.Session == nil || len(c.Session.PolicyARNs) == 0 {
		return false
	}
	if len(r.Action) < 4 || !strings.EqualFold(r.Action[:4], "iam:") || r.Resource == "*" {
		return false
	}
	return r.Resource != arn.Root(c.Account)
}

// denied tells OnDeny of d. It takes a copy, so that passing it by
// pointer does not move every decision Decide makes to the heap.
func (a *Authorizer) denied(d policy.Decision) { a.onDeny(&d) }

// contextPool recycles request contexts (a policy.Context is large; a
// Decision keeps no reference to it).
var contextPool = sync.Pool{New: func() any { return new(policy.Context) }}

func putContext(c *policy.Context) {
	if c.Len() > 64 {
		return
	}
	c.Reset()
	contextPool.Put(c)
}

func (c *Caller) now(def func() time.Time) time.Time {
	if !c.Now.IsZero() {
		return c.Now
	}
	return def()
}

// Check authorizes action on resource (in the caller's account) and returns
// nil or an AccessDenied error with AWS's message and an encoded
// authorization message.
func (a *Authorizer) Check(ctx context.Context, c *Caller, action, resource string, keys ...Key) error {
	return a.CheckAs(ctx, c, action, resource, "", keys...)
}

// CheckAs is Check with the resource named display in the AccessDenied
// message (Request.Display), so that the message tells a caller without
// the right no more than it typed: the same whether the resource exists or
// not, whatever its stored path and spelling.
func (a *Authorizer) CheckAs(ctx context.Context, c *Caller, action, resource, display string, keys ...Key) error {
	r := &Request{Action: action, Resource: resource, Display: display, Keys: keys}
	d, err := a.Decide(ctx, c, r)
	if err != nil {
		return err
	}
	if d.Effect == policy.Allow {
		return nil
	}
	return a.Deny(c, r, d)
}

// Deny turns a denial into AccessDenied, naming the resource as r.Display
// when it is set.
func (a *Authorizer) Deny(c *Caller, r *Request, d policy.Decision) *apierr.Error {
	kind := "User"
	resource := r.Resource
	if r.Display != "" {
		resource = r.Display
	}
	msg := fmt.Sprintf("%s: %s is not authorized to perform: %s on resource: %s %s", kind, c.ARN, r.Action, resource, d.Explain(r.Action))
	if enc, err := a.encodeMessage(c, r, d); err == nil {
		msg += ". Encoded authorization failure message: " + enc
	}
	return apierr.New(apierr.AccessDenied, "%s", msg)
}

// FillSet adds the caller's own policies (identity, boundary, session, SCP) to set.
func (a *Authorizer) fillSet(ctx context.Context, c *Caller, set *policy.Set) error {
	if federatedCaller(c) {
		return nil // only the trust policy decides
	}
	scp, err := a.scpLevels(ctx, c.Account)
	if err != nil {
		return err
	}
	set.SCP = scp
	if c.Type == policy.Root {
		// An AssumeRoot session is the root bounded by its task policy.
		return a.addSessionPolicies(ctx, c.Session, set)
	}
	if c.Type == policy.FederatedUser && c.UserName == "" {
		// A federated session of the account root: the root's side allows
		// everything, so the session policies alone decide.
		set.Identity = a.rootIdentity()
		return a.addSessionPolicies(ctx, c.Session, set)
	}
	pp, err := a.callerPolicies(ctx, c)
	if err != nil {
		return err
	}
	if pp == nil {
		return nil
	}
	set.Identity, err = a.identity(ctx, c.Account, pp)
	if errors.Is(err, errStaleGroup) {
		// A group was renamed (which is not its members' change): the
		// user's groups are read again, once.
		a.forgetCaller(c)
		if pp, err = a.callerPolicies(ctx, c); err != nil {
			return err
		}
		set.Identity, err = a.identity(ctx, c.Account, pp)
	}
	if err != nil {
		return err
	}
	if pp.boundary != "" {
		b, err := a.managed(ctx, pp.boundary)
		if err != nil {
			return err
		}
		set.Boundary = []policy.Named{b}
	}
	return a.addSessionPolicies(ctx, c.Session, set)
}

// identity returns a principal's identity policies: its inline ones, its
// attached managed ones, then each group's inline and attached ones. A
// principal with neither attachments nor groups costs no allocation.
func (a *Authorizer) identity(ctx context.Context, account string, pp *principalPolicies) ([]policy.Named, error) {
	if len(pp.attached) == 0 && len(pp.groups) == 0 {
		return pp.inline, nil
	}
	out := append(make([]policy.Named, 0, len(pp.inline)+len(pp.attached)+2*len(pp.groups)), pp.inline...)
	out, err := a.appendManaged(ctx, out, pp.attached)
	if err != nil {
		return nil, err
	}
	for _, g := range pp.groups {
		gp, err := a.groupPolicies(ctx, account, g)
		if err != nil {
			return nil, err
		}
		out = append(out, gp.inline...)
		if out, err = a.appendManaged(ctx, out, gp.attached); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (a *Authorizer) appendManaged(ctx context.Context, out []policy.Named, arns []string) ([]policy.Named, error) {
	for _, arn := range arns {
		p, err := a.managed(ctx, arn)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// groupPolicies loads (cached, by the group's id) a group's policies;
// errStaleGroup when g no longer names the group it named when its member
// was loaded.
func (a *Authorizer) groupPolicies(ctx context.Context, account string, g groupRef) (*groupPolicies, error) {
	var kb [128]byte
	v, err := a.load(cacheKey(kb[:0], "group", account, g.id), func() (any, error) {
		stored, err := a.store.GetGroup(ctx, account, g.name)
		if errors.Is(err, store.ErrNotFound) || err == nil && stored.ID != g.id {
			return nil, errStaleGroup
		}
		if err != nil {
			return nil, fmt.Errorf("load group %s: %w", g.name, err)
		}
		gp := &groupPolicies{}
		src, err := a.sources(ctx, account, store.KindGroup, stored.Name)
		if err != nil {
			return nil, err
		}
		gp.inline, gp.attached = src.inline, src.attached
		return gp, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*groupPolicies), nil
}

func (a *Authorizer) addSessionPolicies(ctx context.Context, s *session.Session, set *policy.Set) error {
	if s == nil {
		return nil
	}
	if s.Policy != "" || len(s.PolicyARNs) > 0 {
		sp, err := a.sessionPolicies(ctx, s)
		if err != nil {
			return err
		}
		set.Session = sp
	}
	set.SessionRequired = s.Type == session.FederatedUser
	return nil
}

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func (a *Authorizer) rootIdentity() []policy.Named {
	p, err := a.policies.Compile(policy.Identity, allowAll)
	if err != nil {
		panic("authz: allow-all policy does not compile: " + err.Error())
	}
	return []policy.Named{{ID: "account-root", Policy: p, Source: policy.Source{Type: policy.SourceRoot}, Doc: allowAll}}
}

// PolicySet returns the caller's own policies as a policy.Set (for the simulator).
func (a *Authorizer) PolicySet(ctx context.Context, c *Caller) (policy.Set, error) {
	var set policy.Set
	err := a.fillSet(ctx, c, &set)
	return set, err
}

// Resolve brings a session caller's identity up to date with the store.
// A session names its user or role by unique id; the name and ARN it was
// issued with may have changed since (a user renamed, and another created
// with the old name). Resolve sets the caller's user name, and for a
// GetSessionToken session of a user its ARN, to the user's current ones, so
// that "self" (an omitted UserName), aws:username and aws:PrincipalArn mean
// the session's own user; and it marks a caller whose user or role no
// longer exists Gone, which every decision denies. Long-term keys are
// resolved when they are loaded (by unique id) and need nothing here.
func (a *Authorizer) Resolve(ctx context.Context, c *Caller) error {
	s := c.Session
	if s == nil || c.Type == policy.Root {
		return nil
	}
	if c.Type == policy.FederatedUser && c.UserName == "" {
		return nil // the account root's federated session
	}
	pp, err := a.callerPolicies(ctx, c)
	if err != nil || pp == nil {
		return err
	}
	if !pp.exists {
		c.Gone = true
		return nil
	}
	if c.UserName != "" {
		c.UserName = pp.name
		if c.Type == policy.User {
			c.ARN = arn.User(c.Account, pp.path, pp.name)
		}
	}
	return nil
}

// User returns the stored name and path of the user with unique id in
// account, from the entry decisions about the user use (loaded and cached
// if need be: a long-term key's first request costs one read of its user,
// not two); store.ErrNotFound when there is no such user.
func (a *Authorizer) User(ctx context.Context, account, id string) (name, path string, err error) {
	pp, err := a.principalPolicies(ctx, store.KindUser, account, id)
	if err != nil {
		return "", "", err
	}
	if !pp.exists {
		return "", "", fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	return pp.name, pp.path, nil
}

// forgetCaller drops the cached entry of the caller's user or role.
func (a *Authorizer) forgetCaller(c *Caller) {
	var kb [128]byte
	switch {
	case c.Session != nil && c.Session.Type == session.AssumedRole:
		a.cache.Delete(string(cacheKey(kb[:0], "policies/role", c.Account, c.Session.RoleID)))
	case c.UserName != "":
		id := c.UserID
		if c.Session != nil {
			id = c.Session.UserID
		}
		a.cache.Delete(string(cacheKey(kb[:0], "policies/user", c.Account, id)))
	}
}

// callerPolicies returns what the caller's user or role contributes to a
// decision, or nil for callers that have neither (the root, a root's
// federated session). The user or role is found by its unique id, never by
// name: a session or key of a deleted user or role gets nothing, even after
// another one is created with the same name, and a renamed user keeps its
// sessions.
func (a *Authorizer) callerPolicies(ctx context.Context, c *Caller) (*principalPolicies, error) {
	switch {
	case c.Type == policy.Root:
		return nil, nil
	case RoleSession(c.Session):
		return a.principalPolicies(ctx, store.KindRole, c.Account, c.Session.RoleID)
	case c.UserName != "":
		id := c.UserID
		if c.Session != nil {
			id = c.Session.UserID
		}
		return a.principalPolicies(ctx, store.KindUser, c.Account, id)
	}
	return nil, nil
}

// principalPolicies loads (cached) what a user or role, named by its unique
// id, contributes to every decision: its inline and attached policies, for a
// user its groups' policies, its boundary and tags. A deleted user or role
// keeps no permissions: its sessions and keys are denied everything.
func (a *Authorizer) principalPolicies(ctx context.Context, kind store.PrincipalKind, account, id string) (*principalPolicies, error) {
	if id == "" {
		return gonePrincipal(), nil
	}
	var kb [128]byte
	decode := func(b []byte) (any, bool) { return a.decodePrincipal(kind, b) }
	v, err := a.cache.LoadTiered(cacheKey(kb[:0], "policies/"+string(kind), account, id), decode, func() (any, []byte, error) {
		p, err := a.principalSources(ctx, kind, id)
		if err == nil && p.Account != account {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			return gonePrincipal(), nil, nil // not in the second tier
		}
		if err != nil {
			return nil, nil, fmt.Errorf("load %s %s: %w", kind, id, err)
		}
		src, err := a.ownerSources(kind, p.Name, p.Sources)
		if err != nil {
			return nil, nil, err
		}
		return newPrincipalPolicies(p.Name, p.Path, p.PermissionsBoundary, p.Tags, src),
			encodePrincipal(p.Name, p.Path, p.PermissionsBoundary, p.Tags, p.Sources.Inline, src), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*principalPolicies), nil
}

// principalSources reads a user or role by unique id with its policy
// sources: in one statement when the store can, else its row and then its
// sources by its stored name.
func (a *Authorizer) principalSources(ctx context.Context, kind store.PrincipalKind, id string) (store.PrincipalSources, error) {
	if r, ok := a.store.(store.PrincipalSourceReader); ok {
		return r.PrincipalSources(ctx, kind, id)
	}
	var p store.PrincipalSources
	switch kind {
	case store.KindUser:
		u, err := a.store.GetUserByID(ctx, id)
		if err != nil {
			return p, err
		}
		p = store.PrincipalSources{Account: u.Account, Name: u.Name, Path: u.Path, PermissionsBoundary: u.PermissionsBoundary, Tags: u.Tags}
	default:
		r, err := a.store.GetRoleByID(ctx, id)
		if err != nil {
			return p, err
		}
		p = store.PrincipalSources{Account: r.Account, Name: r.Name, Path: r.Path, PermissionsBoundary: r.PermissionsBoundary, Tags: r.Tags}
	}
	var err error
	p.Sources, err = a.policySources(ctx, p.Account, kind, p.Name)
	return p, err
}

// encodePrincipal is a user or role in the cache's second tier: what
// newPrincipalPolicies keeps, with inline policies as text.
func encodePrincipal(name, path, boundary string, tags []store.Tag, inline []store.InlinePolicy, src ownerSources) []byte {
	e := cache.Enc(make([]byte, 0, 64)).String(name).String(path).String(boundary)
	e = encodeTags(e, tags).Int(int64(len(inline)))
	for _, ip := range inline {
		e = e.String(ip.Name).String(ip.Document)
	}
	e = e.Int(int64(len(src.attached)))
	for _, arn := range src.attached {
		e = e.String(arn)
	}
	e = e.Int(int64(len(src.groups)))
	for _, g := range src.groups {
		e = e.String(g.id).String(g.name)
	}
	return e
}

// decodePrincipal reads what encodePrincipal wrote, compiling inline
// policies through the policy cache.
func (a *Authorizer) decodePrincipal(kind store.PrincipalKind, b []byte) (any, bool) {
	d := cache.NewDec(b)
	name, path, boundary := d.String(), d.Interned(), d.String()
	tags := decodeTags(d)
	var src ownerSources
	inline := make([]store.InlinePolicy, d.Len(1<<16))
	for i := range inline {
		inline[i] = store.InlinePolicy{Name: d.String(), Document: d.String()}
	}
	if n := d.Len(1 << 16); n > 0 {
		src.attached = make([]string, n)
		for i := range src.attached {
			src.attached[i] = d.String()
		}
	}
	if n := d.Len(1 << 16); n > 0 {
		src.groups = make([]groupRef, n)
		for i := range src.groups {
			src.groups[i] = groupRef{id: d.String(), name: d.String()}
		}
	}
	if !d.OK() {
		return nil, false
	}
	for _, ip := range inline {
		if a.addInline(&src, kind, name, ip) != nil {
			return nil, false
		}
	}
	return newPrincipalPolicies(name, path, boundary, tags, src), true
}

func (a *Authorizer) addInline(out *ownerSources, kind store.PrincipalKind, owner string, ip store.InlinePolicy) error {
	p, err := a.policies.Compile(policy.Identity, ip.Document)
	if err != nil {
		return fmt.Errorf("compile inline policy %s of %s %s: %w", ip.Name, kind, owner, err)
	}
	out.inline = append(out.inline, policy.Named{ID: string(kind) + "/" + owner + "/" + ip.Name, Policy: p, Source: inlineSource(kind, owner, ip.Name), Doc: ip.Document})
	return nil
}

// ownerSources is what a user, group or role has of policies.
type ownerSources struct {
	inline   []policy.Named
	attached []string
	groups   []groupRef
}

// sources loads a user's, group's or role's inline policies (compiled), the
// ARNs of its attached managed policies and, for a user, its groups' names.
func (a *Authorizer) sources(ctx context.Context, account string, kind store.PrincipalKind, owner string) (ownerSources, error) {
	src, err := a.policySources(ctx, account, kind, owner)
	if err != nil {
		return ownerSources{}, err
	}
	return a.ownerSources(kind, owner, src)
}

// policySources reads owner's policy sources: in one statement when the
// store can, else with the three list calls.
func (a *Authorizer) policySources(ctx context.Context, account string, kind store.PrincipalKind, owner string) (store.PolicySources, error) {
	var out store.PolicySources
	if r, ok := a.store.(store.PolicySourceReader); ok {
		src, err := r.PolicySources(ctx, account, kind, owner)
		if err != nil {
			return out, fmt.Errorf("load policies of %s %s: %w", kind, owner, err)
		}
		return src, nil
	}
	inline, err := a.store.ListInlinePolicies(ctx, account, kind, owner)
	if err != nil {
		return out, fmt.Errorf("load inline policies of %s %s: %w", kind, owner, err)
	}
	for _, ip := range inline {
		out.Inline = append(out.Inline, store.InlinePolicy{Name: ip.Name, Document: ip.Document})
	}
	atts, err := a.store.ListAttachments(ctx, account, kind, owner)
	if err != nil {
		return out, fmt.Errorf("load attachments of %s %s: %w", kind, owner, err)
	}
	for _, at := range atts {
		out.Attached = append(out.Attached, at.PolicyARN)
	}
	if kind == store.KindUser {
		groups, err := a.store.ListGroupsForUser(ctx, account, owner)
		if err != nil {
			return out, fmt.Errorf("load groups of %s: %w", owner, err)
		}
		for _, g := range groups {
			out.Groups = append(out.Groups, store.Group{Account: account, ID: g.ID, Name: g.Name})
		}
	}
	return out, nil
}

// ownerSources compiles what src holds of owner's policies.
func (a *Authorizer) ownerSources(kind store.PrincipalKind, owner string, src store.PolicySources) (ownerSources, error) {
	var out ownerSources
	for _, ip := range src.Inline {
		if err := a.addInline(&out, kind, owner, ip); err != nil {
			return out, err
		}
	}
	out.attached = src.Attached
	for _, g := range src.Groups {
		out.groups = append(out.groups, groupRef{id: g.ID, name: g.Name})
	}
	return out, nil
}

// managed loads (cached) the default version of a managed policy, compiled
// as policy.Managed: with the managed-policy quota whether it is used as an
// identity policy, a permissions boundary or a session policy (the Set slot
// it goes in decides its role).
func (a *Authorizer) managed(ctx context.Context, arn string) (policy.Named, error) {
	e, err := a.managedEntry(ctx, arn)
	if err != nil {
		return policy.Named{}, err
	}
	return e.Named, nil
}

// managedPolicy is a cached managed policy: its default version compiled,
// named by its stored ARN, and when the policy was created.
type managedPolicy struct {
	policy.Named
	created time.Time
}

func (a *Authorizer) managedEntry(ctx context.Context, arn string) (*managedPolicy, error) {
	var kb [128]byte
	v, err := a.load(cacheKey(kb[:0], "p", "", arn), func() (any, error) {
		mp, err := a.store.GetManagedPolicy(ctx, arn)
		if err != nil {
			return nil, fmt.Errorf("load managed policy %s: %w", arn, err)
		}
		ver, err := a.store.GetPolicyVersion(ctx, arn, mp.DefaultVersionID)
		if err != nil {
			return nil, fmt.Errorf("load managed policy %s %s: %w", arn, mp.DefaultVersionID, err)
		}
		p, err := a.policies.Compile(policy.Managed, ver.Document)
		if err != nil {
			return nil, fmt.Errorf("compile managed policy %s: %w", arn, err)
		}
		src := policy.Source{Type: policy.SourceManaged, Name: mp.Name, ARN: mp.ARN}
		return &managedPolicy{Named: policy.Named{ID: mp.ARN, Policy: p, Source: src, Doc: ver.Document}, created: mp.CreatedAt}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*managedPolicy), nil
}

// ManagedPolicy returns the compiled default version of a managed policy
// (see managed), named (ID) by its stored ARN; store.ErrNotFound when it
// does not exist.
func (a *Authorizer) ManagedPolicy(ctx context.Context, arn string) (policy.Named, error) {
	return a.managed(ctx, arn)
}

func (a *Authorizer) sessionPolicies(ctx context.Context, s *session.Session) ([]policy.Named, error) {
	out := make([]policy.Named, 0, 1+len(s.PolicyARNs))
	if s.Policy != "" {
		p, err := a.policies.Compile(policy.Session, s.Policy)
		if err != nil {
			return nil, fmt.Errorf("compile session policy: %w", err)
		}
		out = append(out, policy.Named{ID: "session-policy", Policy: p, Source: policy.Source{Type: policy.SourceSession}, Doc: s.Policy})
	}
	for _, arn := range s.PolicyARNs {
		p, err := a.managedEntry(ctx, arn)
		if errors.Is(err, store.ErrNotFound) {
			// A deleted session policy grants nothing; the session keeps its
			// other policies, which can only narrow (and with none left, the
			// session is denied everything).
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.created.After(s.IssuedAt) {
			// Not the policy the session was issued with: that one was
			// deleted, and this one took its name later. It grants nothing.
			continue
		}
		out = append(out, p.Named)
	}
	return out, nil
}

// scpLevels returns the SCP levels for an account: nil for the management
// account, a standalone account (not in the organization) or when the
// organization has no SCP attachments at all; one empty level (deny all)
// for a closed account.
func (a *Authorizer) scpLevels(ctx context.Context, account string) ([][]policy.Named, error) {
	return a.orgLevels(ctx, account, scpPolicies)
}

// rcpLevels returns the resource control policy levels of the account that
// owns a resource: nil for the management account's resources (RCPs do not
// apply to them), a standalone or closed account's, or when the root does
// not have RESOURCE_CONTROL_POLICY enabled or no RCP is attached anywhere.
func (a *Authorizer) rcpLevels(ctx context.Context, account string) ([][]policy.Named, error) {
	return a.orgLevels(ctx, account, rcpPolicies)
}

// orgPolicyKind is what distinguishes SCPs and RCPs in orgLevels.
type orgPolicyKind struct {
	cachePrefix string // of the cache key: prefix + account
	orgType     string // Organizations' policy type
	kind        policy.Kind
	source      policy.SourceType
	// enabledByDefault: an organization without the policy types setting
	// (made by an older version) has this type enabled.
	enabledByDefault bool
	// closedDenies: a closed account gets one empty level (deny all),
	// and an unknown one is an error (SCPs); otherwise both get none.
	closedDenies bool
}

var (
	scpPolicies = &orgPolicyKind{cachePrefix: "scp\x00", orgType: "SERVICE_CONTROL_POLICY", kind: policy.SCP, source: policy.SourceSCP,
		enabledByDefault: true, closedDenies: true}
	rcpPolicies = &orgPolicyKind{cachePrefix: "rcp\x00", orgType: "RESOURCE_CONTROL_POLICY", kind: policy.RCP, source: policy.SourceRCP}
)

// orgLevels returns the levels of an account's organization policies of
// kind k: one level per target from the root down (the root, each OU
// above the account, top first, the account), each with the policies of
// that type attached to it.
func (a *Authorizer) orgLevels(ctx context.Context, account string, k *orgPolicyKind) ([][]policy.Named, error) {
	var kb [32]byte
	v, err := a.load(append(append(kb[:0], k.cachePrefix...), account...), func() (any, error) {
		acct, err := a.store.GetAccount(ctx, account)
		if errors.Is(err, store.ErrNotFound) && !k.closedDenies {
			// A resource of an account OpenSTS does not know: not in the
			// organization, no RCP applies (a principal's account, whose
			// SCPs are asked for, always exists).
			return [][]policy.Named(nil), nil
		}
		if err != nil {
			return nil, fmt.Errorf("load account %s: %w", account, err)
		}
		switch {
		case acct.Management:
			return [][]policy.Named(nil), nil
		case !acct.ClosedAt.IsZero():
			if !k.closedDenies {
				return [][]policy.Named(nil), nil
			}
			// A closed account can do nothing, in the organization or
			// removed from it: one level that allows nothing denies every
			// request, its root user's too.
			return [][]policy.Named{{}}, nil
		case acct.Standalone:
			return [][]policy.Named(nil), nil
		}
		atts, err := a.store.ListOrgAttachments(ctx)
		if err != nil {
			return nil, fmt.Errorf("load organization policy attachments: %w", err)
		}
		if len(atts) == 0 {
			return [][]policy.Named(nil), nil
		}
		switch types, err := a.store.GetSetting(ctx, OrgPolicyTypesSetting); {
		case errors.Is(err, store.ErrNotFound):
			if !k.enabledByDefault {
				return [][]policy.Named(nil), nil
			}
		case err != nil:
			return nil, fmt.Errorf("load org policy types: %w", err)
		case !slices.Contains(strings.Split(types, ","), k.orgType):
			return [][]policy.Named(nil), nil // the type is disabled
		}
		root, err := a.store.GetSetting(ctx, OrgRootSetting)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		path, err := a.orgPath(ctx, account)
		if err != nil {
			return nil, err
		}
		levelOf := make(map[string]int, len(path)+2)
		levelOf[root] = 0
		for i, ou := range path {
			levelOf[ou] = i + 1
		}
		levelOf[account] = len(path) + 1
		levels := make([][]policy.Named, len(path)+2)
		n := 0                                 // attachments of the type anywhere in the organization
		loaded := map[string]store.OrgPolicy{} // each policy read once
		for _, at := range atts {
			op, seen := loaded[at.PolicyID]
			if !seen {
				if op, err = a.store.GetOrgPolicy(ctx, at.PolicyID); err != nil {
					return nil, fmt.Errorf("load organization policy %s: %w", at.PolicyID, err)
				}
				loaded[at.PolicyID] = op
			}
			if op.Type != k.orgType {
				continue // another type: not this guardrail
			}
			n++
			lvl, ok := levelOf[at.TargetID]
			if !ok {
				continue
			}
			p, err := a.policies.Compile(k.kind, op.Content)
			if err != nil {
				return nil, fmt.Errorf("compile %s %s: %w", k.kind, at.PolicyID, err)
			}
			levels[lvl] = append(levels[lvl], policy.Named{ID: op.ID, Policy: p, Source: policy.Source{Type: k.source, Name: op.Name}, Doc: op.Content})
		}
		if n == 0 {
			return [][]policy.Named(nil), nil
		}
		return levels, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([][]policy.Named), nil
}

// RCPLevels returns the resource control policies that bound requests to
// the resources of account, one slice per level (see policy.Set.RCP); nil
// when none apply.
func (a *Authorizer) RCPLevels(ctx context.Context, account string) ([][]policy.Named, error) {
	return a.rcpLevels(ctx, account)
}

// maxOrgDepth bounds the walk up an account's OUs (Organizations allows
// five levels below the root); a longer chain is a corrupt store.
const maxOrgDepth = 5

// orgPath returns the OUs above an account, top first (none for an account
// in the root).
func (a *Authorizer) orgPath(ctx context.Context, account string) ([]string, error) {
	parent, err := a.store.OrgAccountParent(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("load parent of account %s: %w", account, err)
	}
	var path []string
	for parent != "" {
		if len(path) == maxOrgDepth {
			return nil, fmt.Errorf("account %s: organizational units nested deeper than %d", account, maxOrgDepth)
		}
		path = append(path, parent)
		u, err := a.store.GetOrgUnit(ctx, parent)
		if err != nil {
			return nil, fmt.Errorf("load organizational unit %s: %w", parent, err)
		}
		parent = u.ParentID
	}
	slices.Reverse(path)
	return path, nil
}

// principalOrgPrefix prefixes the cache key of an account's place in the
// organization (principalOrg).
const principalOrgPrefix = "porg\x00"

// orgPlace is an account's place in the organization: aws:PrincipalOrgID
// and aws:PrincipalOrgPaths for its principals ("" for an account outside
// it).
type orgPlace struct{ id, path string }

// principalOrg returns where account is in the organization: the
// organization's id and the account's path ("o-.../r-.../ou-.../", the
// OUs above it top first), or the zero orgPlace for an account that is in
// none (no organization, a standalone account, one OpenSTS does not know).
func (a *Authorizer) principalOrg(ctx context.Context, account string) (orgPlace, error) {
	var kb [48]byte
	v, err := a.load(append(append(kb[:0], principalOrgPrefix...), account...), func() (any, error) {
		id, err := a.store.GetSetting(ctx, OrgIDSetting)
		if errors.Is(err, store.ErrNotFound) {
			return orgPlace{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("load organization id: %w", err)
		}
		acct, err := a.store.GetAccount(ctx, account)
		if errors.Is(err, store.ErrNotFound) {
			return orgPlace{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("load account %s: %w", account, err)
		}
		if acct.Standalone {
			return orgPlace{}, nil
		}
		root, err := a.store.GetSetting(ctx, OrgRootSetting)
		if err != nil {
			return nil, fmt.Errorf("load organization root: %w", err)
		}
		ous, err := a.orgPath(ctx, account)
		if err != nil {
			return nil, err
		}
		path := id + "/" + root + "/"
		for _, ou := range ous {
			path += ou + "/"
		}
		return orgPlace{id: id, path: path}, nil
	})
	if err != nil {
		return orgPlace{}, err
	}
	return v.(orgPlace), nil
}

// FillContext sets the global condition keys that describe the caller and the
// request environment.
func (a *Authorizer) FillContext(ctx context.Context, c *Caller, pc *policy.Context) error {
	now := c.now(a.now)
	pc.Set("aws:PrincipalArn", c.PrincipalARN())
	pc.Set("aws:PrincipalAccount", c.Account)
	pc.Set("aws:PrincipalType", principalTypeName(c.Type))
	pc.Set("aws:userid", c.UserID)
	ts := timeStrings(now)
	pc.Set("aws:CurrentTime", ts.rfc3339)
	pc.Set("aws:EpochTime", ts.epoch)
	pc.Set("aws:SecureTransport", boolString(c.SecureTransport))
	pc.Set("aws:ViaAWSService", "false")
	if c.SourceIP != "" {
		pc.Set("aws:SourceIp", c.SourceIP)
	}
	if c.UserAgent != "" {
		pc.Set("aws:UserAgent", c.UserAgent)
	}
	if c.Region != "" {
		pc.Set("aws:RequestedRegion", c.Region)
	}
	if c.Type == policy.User {
		pc.Set("aws:username", c.UserName)
	}
	// The principal's organization, for policies that draw a perimeter
	// around it: unset for an account in none, as in AWS (a Deny on
	// StringNotEquals aws:PrincipalOrgID then denies it; a ForAnyValue
	// test of aws:PrincipalOrgPaths matches nothing).
	place, err := a.principalOrg(ctx, c.Account)
	if err != nil {
		return err
	}
	if place.id != "" {
		pc.Set("aws:PrincipalOrgID", place.id)
		pc.Set("aws:PrincipalOrgPaths", place.path)
	}
	pp, err := a.callerPolicies(ctx, c)
	if err != nil {
		return err
	}
	if pp != nil {
		for i, t := range pp.tags {
			pc.Set(pp.tagKeys[i], t.Value)
		}
	}
	if s := c.Session; s != nil {
		// Session tags override the principal's IAM tags (keys compare
		// case-insensitively, which Context.Set already does).
		for _, t := range s.Tags {
			pc.Set(principalTagPrefix+t.Key, t.Value)
		}
		pc.Set("aws:TokenIssueTime", s.IssuedAt.UTC().Format(time.RFC3339))
		pc.Set("aws:MultiFactorAuthPresent", boolString(s.MFA))
		if s.MFA {
			pc.Set("aws:MultiFactorAuthAge", strconv.FormatInt(int64(now.Sub(s.MFAAuthTime).Seconds()), 10))
		}
		if s.SourceIdentity != "" {
			pc.Set("aws:SourceIdentity", s.SourceIdentity)
		}
		if s.FederatedProvider != "" {
			pc.Set("aws:FederatedProvider", s.FederatedProvider)
		}
	}
	return nil
}

// timeStrs are aws:CurrentTime and aws:EpochTime for one second.
type timeStrs struct {
	sec            int64
	rfc3339, epoch string
}

var lastTime atomic.Pointer[timeStrs]

// timeStrings formats t for aws:CurrentTime (RFC 3339 in UTC, whole
// seconds) and aws:EpochTime, once per second.
func timeStrings(t time.Time) *timeStrs {
	sec := t.Unix()
	if ts := lastTime.Load(); ts != nil && ts.sec == sec {
		return ts
	}
	ts := &timeStrs{sec: sec, rfc3339: t.UTC().Format(time.RFC3339), epoch: epoch(t)}
	lastTime.Store(ts)
	return ts
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// roleWhere reports which part of the cache holds the role's entry (see
// cache.Cache.Where; tests).
func (a *Authorizer) roleWhere(account, name string) string {
	var kb [128]byte
	return a.cache.Where(cacheKey(kb[:0], "role", account, name))
}

// Role is a role with its compiled trust policy. Its TrustPolicy,
// Description and last-use fields are empty: IAM's actions read the stored
// role.
type Role struct {
	store.Role
	Trust *policy.Policy
	// ARN is the role's ARN; TrustID names its trust policy in decisions.
	ARN, TrustID string
}

// Role returns a role (cached) with its compiled trust policy;
// store.ErrNotFound when it does not exist.
func (a *Authorizer) Role(ctx context.Context, account, name string) (*Role, error) {
	var kb [128]byte
	v, err := a.cache.LoadTiered(cacheKey(kb[:0], "role", account, name), a.decodeRole, func() (any, []byte, error) {
		r, err := a.store.GetRole(ctx, account, name)
		if err != nil {
			return nil, nil, fmt.Errorf("load role %s: %w", name, err)
		}
		if r.Account != account || !strings.EqualFold(r.Name, name) {
			// Never cached under another role's key, whatever the store
			// returned (fail closed).
			return nil, nil, fmt.Errorf("load role %s: the store returned role %s of %s", name, r.Name, r.Account)
		}
		doc := r.TrustPolicy
		role, err := newRole(r)
		if err != nil {
			return nil, nil, err
		}
		return role, a.encodeRole(r, doc, role.Trust), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Role), nil
}

// newRole is the cached form of a stored role.
func newRole(r store.Role) (*Role, error) {
	// Parsed, not through the policy cache: the role's entry is what keeps
	// its trust policy, which shares its shape (all but the principals)
	// with the trust policies of other roles (see policy.Policy), so a role
	// costs the cache a few hundred bytes.
	t, err := policy.Parse(policy.Trust, r.TrustPolicy)
	if err != nil {
		return nil, fmt.Errorf("compile trust policy of %s: %w", r.Name, err)
	}
	return compiledRole(r, t), nil
}

// compiledRole is the cached form of a stored role whose trust policy is t.
func compiledRole(r store.Role, t *policy.Policy) *Role {
	// The cached role keeps what decisions and AssumeRole use: its trust
	// document is kept compiled, not as text, and its description and last
	// use are dropped.
	r.TrustPolicy, r.Description, r.LastUsedRegion, r.LastUsedAt = "", "", "", time.Time{}
	r.Account, r.Path = intern(r.Account), intern(r.Path)
	trustID := arn.RoleWithSuffix(r.Account, r.Path, r.Name, "#trust")
	arn := trustID[:len(trustID)-len("#trust")]
	// One string holds the ARN, the trust policy's id and the name.
	r.Name = arn[len(arn)-len(r.Name):]
	return &Role{Role: r, Trust: t, ARN: arn, TrustID: trustID}
}

// encodeRole is a stored role in the cache's second tier: what newRole
// keeps, with its trust policy t (compiled from doc) as its shape's number
// and its bindings, or as doc when its shape has no number.
func (a *Authorizer) encodeRole(r store.Role, doc string, t *policy.Policy) []byte {
	e := cache.Enc(make([]byte, 0, 96)).String(r.Account).String(r.ID).String(r.Name).String(r.Path)
	if id, sh := a.trust.number(t); id >= 0 {
		var buf [256]byte
		b := t.AppendBindings(buf[:0])
		p := 0
		for p < len(b) && p < len(sh.bind) && b[p] == sh.bind[p] {
			p++
		}
		n := 0
		for n < len(b)-p && n < len(sh.bind)-p && b[len(b)-1-n] == sh.bind[len(sh.bind)-1-n] {
			n++
		}
		e = e.Int(int64(id) + 1).Int(int64(p)).Int(int64(n)).Bytes(b[p : len(b)-n])
	} else {
		e = e.Int(0).String(doc)
	}
	e = e.Int(int64(r.MaxSessionDuration)).String(r.PermissionsBoundary).Time(r.CreatedAt)
	return encodeTags(e, r.Tags)
}

// decodeRoleRecord reads what encodeRole wrote.
func (a *Authorizer) decodeRoleRecord(b []byte) (any, bool) {
	d := cache.NewDec(b)
	r := store.Role{Account: d.Interned(), ID: d.String(), Name: d.String(), Path: d.Interned()}
	var (
		p, n int64
		mid  []byte
	)
	id := d.Int()
	if id == 0 {
		r.TrustPolicy = d.String()
	} else {
		p, n, mid = d.Int(), d.Int(), d.Bytes()
	}
	r.MaxSessionDuration, r.PermissionsBoundary, r.CreatedAt = int(d.Int()), d.String(), d.Time()
	r.Tags = decodeTags(d)
	if !d.OK() {
		return nil, false
	}
	if id == 0 {
		role, err := newRole(r)
		return role, err == nil
	}
	sh, ok := a.trust.shape(int(id - 1))
	if !ok || p < 0 || n < 0 || p > int64(len(sh.bind)) || n > int64(len(sh.bind))-p {
		return nil, false
	}
	var buf [256]byte
	bind := append(append(append(buf[:0], sh.bind[:p]...), mid...), sh.bind[int64(len(sh.bind))-n:]...)
	t, ok := policy.Rebind(sh.p, bind)
	if !ok {
		return nil, false
	}
	return compiledRole(r, t), true
}

func encodeTags(e cache.Enc, tags []store.Tag) cache.Enc {
	e = e.Int(int64(len(tags)))
	for _, t := range tags {
		e = e.String(t.Key).String(t.Value)
	}
	return e
}

func decodeTags(d *cache.Dec) []store.Tag {
	n := d.Len(1000)
	if n == 0 {
		return nil
	}
	tags := make([]store.Tag, n)
	for i := range tags {
		tags[i] = store.Tag{Key: d.String(), Value: d.String()}
	}
	return tags
}

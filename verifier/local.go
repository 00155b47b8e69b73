package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authorize"
	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// Local decides from verification data fetched from OpenSTS and cached
// (see the package documentation).
const Local Mode = "local"

// Defaults of local mode.
const (
	// DefaultFreshness bounds the age of what local mode decides from:
	// the revocation set, and each principal's signing key, session and
	// policies.
	DefaultFreshness = 30 * time.Second
	// DefaultCacheBytes bounds the memory of local mode's cache of
	// principals and compiled policies.
	DefaultCacheBytes = 64 << 20
	// negativeFreshness bounds how long a refusal of credentials (an
	// unknown key, an invalid or expired token) is remembered, so that a
	// key created a moment later is not refused for long.
	negativeFreshness = 5 * time.Second
	// fetchTimeout bounds a background refresh.
	fetchTimeout = 10 * time.Second
)

// Wire names of local mode's calls.
const (
	opVerificationData = "GetVerificationData"
	opRevocations      = "GetRevocations"
)

// source is where local mode gets its data: OpenSTS's API (apiSource), or
// in the package's own tests of the SigV4 suites, keys derived there.
type source interface {
	verificationData(ctx context.Context, in *authorize.GetVerificationDataInput) (*authorize.GetVerificationDataOutput, error)
	revocations(ctx context.Context, version string) (*authorize.GetRevocationsOutput, error)
}

// apiSource calls OpenSTS.
type apiSource struct{ v *Verifier }

func (s apiSource) verificationData(ctx context.Context, in *authorize.GetVerificationDataInput) (*authorize.GetVerificationDataOutput, error) {
	out := new(authorize.GetVerificationDataOutput)
	if err := s.v.post(ctx, opVerificationData, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s apiSource) revocations(ctx context.Context, version string) (*authorize.GetRevocationsOutput, error) {
	out := new(authorize.GetRevocationsOutput)
	if err := s.v.post(ctx, opRevocations, &authorize.GetRevocationsInput{Version: version}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// local is local mode's state. Safe for concurrent use.
type local struct {
	cfg       *Config
	src       source
	sigv4     *sigv4.Verifier
	policies  *policy.Cache
	freshness time.Duration
	// since measures the age of cached data on the monotonic clock,
	// whatever Config.Now says (tests move that one).
	since func(time.Time) time.Duration

	revs       session.Revocations
	rev        atomic.Pointer[revState]
	revMu      sync.Mutex // serializes fetches of the set
	revRefresh atomic.Bool

	entries *cache.Cache[*entry]
	flight  flights
}

// revState is what a fetch of the revocation set told.
type revState struct {
	version string
	fetched time.Time
	account string // the verifier's own account: the default resource account
	authn   *authn.Authenticator
	// rcp is the resource control policies of account's resources (nil:
	// none apply). A question about another account's resource goes to
	// Authorize (errOtherAccount), which knows that account's.
	rcp [][]policy.Named
}

// entry is what local mode knows of one access key (with its token, for
// one SigV4 scope). Immutable once stored, but for refreshing.
type entry struct {
	fetched    time.Time
	refreshing atomic.Bool
	refusal    *AuthenticationError // the credentials were refused
	key        [sha256.Size]byte
	hasKey     bool
	principal  Principal
	match      policy.Principal
	sess       *session.Session // nil for long-term keys
	static     policy.Context   // condition keys of the principal; read only
	set        policy.Set
	gone       bool
	// other: the credentials are another account's; Authorize decides
	// about them (errOtherAccount).
	other bool
	size  int
}

// errOtherAccount sends a decision to the authorize API: the credentials
// are another account's, whose data the server does not hand out, or the
// resource is, whose resource control policies it does not either.
var errOtherAccount = errors.New("verifier: another account's credentials")

func newLocal(v *Verifier) *local {
	l := &local{cfg: &v.cfg, src: apiSource{v}, sigv4: sigv4.NewVerifier(v.cfg.Now), policies: policy.NewCache(v.cfg.CacheBytes / 4),
		freshness: v.cfg.Freshness, since: time.Since}
	l.entries = cache.New(cache.Config[*entry]{MaxBytes: v.cfg.CacheBytes * 3 / 4, Cost: func(e *entry) (int, []cache.Shared) {
		var shared []cache.Shared
		for _, n := range e.set.All() {
			if n.Policy != nil {
				shared = append(shared, n.Policy)
			}
		}
		return e.size, shared
	}})
	return l
}

// authorize is Authorize in local mode.
func (l *local) authorize(ctx context.Context, r *http.Request, payloadHash string, in *authorize.AuthorizeInput) (*Decision, error) {
	now := l.cfg.Now()
	if err := in.ValidateQuestion(); err != nil {
		return nil, apiError(err)
	}
	rs, err := l.revocations(ctx)
	if err != nil {
		return nil, err
	}
	if in.ResourceAccount != "" && in.ResourceAccount != rs.account {
		return nil, errOtherAccount
	}
	rp, err := in.CompileResourcePolicy(l.policies)
	if err != nil {
		return nil, apiError(err)
	}
	sr := requests.Get().(*sigv4.Request)
	defer requests.Put(sr)
	if err := l.sigv4.ParseHashInto(sr, r, payloadHash, now); err != nil {
		return l.unauthenticated(err, r, in)
	}
	if err := in.CheckService(sr); err != nil {
		return l.unauthenticated(err, r, in)
	}
	var region string
	if in.Request.Region != "" {
		if sr.Region != in.Request.Region {
			scope := sr.Region
			if len(scope) > 64 {
				scope = scope[:64] + "..."
			}
			return l.unauthenticated(apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'. ", scope), r, in)
		}
		region = sr.Region
	} else if region, err = rs.authn.RequestRegion(sr); err != nil {
		return l.unauthenticated(err, r, in)
	} else if sr.StreamingPayload {
		region = sr.Region // as the server's AuthenticateStreaming
	}
	temporary := strings.HasPrefix(sr.AccessKeyID, "ASIA")
	if (temporary || sr.SecurityToken != "") && (!temporary || sr.SecurityToken == "") {
		return l.unauthenticated(authn.ErrInvalidToken, r, in)
	}
	e, err := l.entry(ctx, sr, now)
	if err != nil {
		return nil, err
	}
	if e.refusal != nil {
		return fromOutput(authorize.Unauthenticated(refusal(e.refusal)), nil, ""), nil
	}
	if e.other {
		return nil, errOtherAccount
	}
	if e.sess != nil && !now.Before(e.sess.Expires) {
		return l.unauthenticated(authn.ErrExpiredToken, r, in)
	}
	if err := l.sigv4.VerifyKey(sr, &e.key); err != nil {
		return l.unauthenticated(err, r, in)
	}
	if e.sess != nil && l.revs.Revoked(e.sess, now) {
		return l.unauthenticated(authn.ErrInvalidToken, r, in)
	}
	l.refreshAhead(e, sr)
	env := environment{sourceIP: l.cfg.SourceIP(r), userAgent: r.UserAgent(), secure: r.TLS != nil, region: region}
	d := l.decide(e, &env, in, rp, rs, authorize.BySigV4, now)
	if sr.StreamingPayload && d.Allowed() {
		// The chunk signatures' key: the scope's, which local mode holds.
		d.SigningKey = hex.EncodeToString(e.key[:])
	}
	return d, nil
}

// authorizeToken is AuthorizeSessionToken in local mode.
func (l *local) authorizeToken(ctx context.Context, in *authorize.AuthorizeInput) (*Decision, error) {
	now := l.cfg.Now()
	if err := in.Validate(); err != nil {
		return nil, apiError(err)
	}
	rs, err := l.revocations(ctx)
	if err != nil {
		return nil, err
	}
	if in.ResourceAccount != "" && in.ResourceAccount != rs.account {
		return nil, errOtherAccount
	}
	rp, err := in.CompileResourcePolicy(l.policies)
	if err != nil {
		return nil, apiError(err)
	}
	p := in.Principal
	if !strings.HasPrefix(p.AccessKeyID, "ASIA") {
		return fromOutput(authorize.Unauthenticated(l.failure(authn.ErrInvalidToken, in)), nil, ""), nil
	}
	e, err := l.entry(ctx, &sigv4.Request{AccessKeyID: p.AccessKeyID, SecurityToken: p.SessionToken}, now)
	if err != nil {
		return nil, err
	}
	switch {
	case e.refusal != nil:
		return fromOutput(authorize.Unauthenticated(refusal(e.refusal)), nil, ""), nil
	case e.other:
		return nil, errOtherAccount
	case !now.Before(e.sess.Expires):
		return fromOutput(authorize.Unauthenticated(l.failure(authn.ErrExpiredToken, in)), nil, ""), nil
	case l.revs.Revoked(e.sess, now):
		return fromOutput(authorize.Unauthenticated(l.failure(authn.ErrInvalidToken, in)), nil, ""), nil
	}
	env := environment{sourceIP: p.SourceIP, userAgent: p.UserAgent, secure: p.SecureTransport, region: p.Region}
	if env.region == "" {
		env.region = authn.GlobalRegion
	}
	return l.decide(e, &env, in, rp, rs, authorize.BySessionToken, now), nil
}

// environment is what a decision takes from the request.
type environment struct {
	sourceIP, userAgent, region string
	secure                      bool
}

var contextPool = sync.Pool{New: func() any { return new(policy.Context) }}

// requests holds parsed requests, whose buffers a session token outgrows:
// nothing keeps one past the decision (a refresh copies what it needs).
var requests = sync.Pool{New: func() any { return new(sigv4.Request) }}

// decide evaluates in for the principal of e as internal/authz decides
// for the server: the principal's policies and condition keys, the
// request's keys, then in's.
func (l *local) decide(e *entry, env *environment, in *authorize.AuthorizeInput, rp []policy.Named, rs *revState, method string, now time.Time) *Decision {
	if e.gone {
		return fromOutput(authorize.Explain(in.Action, policy.Decision{Effect: policy.ImplicitDeny}), &e.principal, method)
	}
	// The resource is the verifier's own account's (authorize sends the
	// others' to the server): its RCPs are rs's.
	resourceAccount := rs.account
	set := e.set
	set.Resource, set.ResourceAccount, set.RCP = rp, resourceAccount, rs.rcp
	pc := contextPool.Get().(*policy.Context)
	defer func() {
		if pc.Len() <= 64 {
			contextPool.Put(pc) // the next CopyFrom overwrites it whole
		}
	}()
	pc.CopyFrom(&e.static)
	ts := timeStrings(now)
	pc.Set("aws:CurrentTime", ts.rfc3339)
	pc.Set("aws:EpochTime", ts.epoch)
	pc.Set("aws:SecureTransport", strconv.FormatBool(env.secure))
	pc.Set("aws:ViaAWSService", "false")
	if env.sourceIP != "" {
		pc.Set("aws:SourceIp", env.sourceIP)
	}
	if env.userAgent != "" {
		pc.Set("aws:UserAgent", env.userAgent)
	}
	if env.region != "" {
		pc.Set("aws:RequestedRegion", env.region)
	}
	if s := e.sess; s != nil && s.MFA {
		pc.Set("aws:MultiFactorAuthAge", strconv.FormatInt(int64(now.Sub(s.MFAAuthTime).Seconds()), 10))
	}
	for k, vs := range in.Context {
		pc.Set(k, vs...)
	}
	pc.Set("opensts:AuthenticationMethod", method)
	pc.Set("aws:ResourceAccount", resourceAccount)
	d := policy.Evaluate(&set, &policy.Request{Principal: e.match, Action: in.Action, Resource: in.Resource, Context: pc, Now: now})
	var out authorize.AuthorizeOutput
	authorize.ExplainInto(&out, in.Action, d)
	return fromOutput(&out, &e.principal, method)
}

// timeStrs are aws:CurrentTime and aws:EpochTime of one second.
type timeStrs struct {
	sec            int64
	rfc3339, epoch string
}

var lastTime atomic.Pointer[timeStrs]

func timeStrings(t time.Time) *timeStrs {
	sec := t.Unix()
	if ts := lastTime.Load(); ts != nil && ts.sec == sec {
		return ts
	}
	ts := &timeStrs{sec: sec, rfc3339: t.UTC().Format(time.RFC3339), epoch: strconv.FormatInt(sec, 10)}
	lastTime.Store(ts)
	return ts
}

// unauthenticated answers a request that did not authenticate, as the
// server answers it (its message scrubbed of the request's secrets).
func (l *local) unauthenticated(err error, r *http.Request, in *authorize.AuthorizeInput) (*Decision, error) {
	cp := *in
	cp.Request = &authorize.Request{URL: requestURL(r), Headers: requestHeaders(r)}
	ae, ok := authorize.AuthenticationFailure(err, &cp)
	if !ok {
		return nil, fmt.Errorf("verifier: authenticate: %w", err)
	}
	return fromOutput(authorize.Unauthenticated(ae), nil, ""), nil
}

func (l *local) failure(err error, in *authorize.AuthorizeInput) *authorize.AuthenticationError {
	ae, _ := authorize.AuthenticationFailure(err, in)
	return ae
}

func refusal(ae *AuthenticationError) *authorize.AuthenticationError {
	return &authorize.AuthenticationError{Code: ae.Code, Message: ae.Message, HTTPStatusCode: ae.HTTPStatusCode}
}

// apiError is a refusal of the input, as the authorize API answers it.
func apiError(err error) error {
	if e, ok := apierr.As(err); ok {
		return &APIError{StatusCode: e.Code.Status, Code: e.Code.Name, Message: e.Message}
	}
	return fmt.Errorf("verifier: %w", err)
}

// revocations returns the revocation state, fetching the set when it is
// older than the freshness bound (waiting) or than half of it (in the
// background, deciding meanwhile with the current one).
func (l *local) revocations(ctx context.Context) (*revState, error) {
	rs := l.rev.Load()
	if rs != nil {
		age := l.since(rs.fetched)
		if age < l.freshness/2 {
			return rs, nil
		}
		if age < l.freshness {
			if l.revRefresh.CompareAndSwap(false, true) {
				go func() {
					defer l.revRefresh.Store(false)
					ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
					defer cancel()
					_, _ = l.fetchRevocations(ctx, rs)
				}()
			}
			return rs, nil
		}
	}
	return l.fetchRevocations(ctx, rs)
}

// fetchRevocations fetches the set unless another fetch replaced old
// meanwhile.
func (l *local) fetchRevocations(ctx context.Context, old *revState) (*revState, error) {
	l.revMu.Lock()
	defer l.revMu.Unlock()
	if rs := l.rev.Load(); rs != old && rs != nil && l.since(rs.fetched) < l.freshness/2 {
		return rs, nil
	}
	started := time.Now()
	version := ""
	if old != nil {
		version = old.version
	}
	out, err := l.src.revocations(ctx, version)
	if err != nil {
		return nil, err
	}
	rcp, err := l.compileLevels(out.ResourceControlPolicies)
	if err != nil {
		return nil, fmt.Errorf("verifier: resource control policies: %w", err)
	}
	if out.Modified {
		l.revs.Replace(authorize.SessionRevocations(out.Entries))
	}
	rs := &revState{version: out.Version, fetched: started, account: out.CallerAccount,
		authn: authn.New(authn.Config{Region: out.Region}), rcp: rcp}
	l.rev.Store(rs)
	return rs, nil
}

// entryKey is the cache key of an access key (with its token) and a SigV4
// scope. The token itself is in the key, not a digest of it: a lookup
// then costs the map's hash of it, not a SHA-256 (the key lives in this
// process's memory only, as the token does in every request).
func entryKey(b []byte, sr *sigv4.Request) []byte {
	for _, s := range [...]string{sr.AccessKeyID, sr.SecurityToken, sr.Date, sr.Region, sr.Service} {
		b = binary.AppendUvarint(b, uint64(len(s))) // each part length-prefixed: no two keys spell alike
		b = append(b, s...)
	}
	return b
}

// entry returns what is known of sr's credentials in sr's scope, fetching
// it when it is missing or older than the freshness bound. An error means
// no decision (OpenSTS unreachable, or refusing the verifier).
func (l *local) entry(ctx context.Context, sr *sigv4.Request, now time.Time) (*entry, error) {
	var kb [1024]byte
	key := entryKey(kb[:0], sr)
	fresh := func(e *entry) bool {
		limit := l.freshness
		if e.refusal != nil {
			limit = min(limit, negativeFreshness)
		}
		return l.since(e.fetched) < limit
	}
	if e, ok := l.entries.Get(key); ok && fresh(e) {
		return e, nil
	}
	// Requests share a fetch only when they share its proof: the answer
	// to one request's string to sign and signature (a refusal of a
	// forged one) says nothing of another's, and a forger who knows only
	// the access key id must not have the key holder's own requests
	// answered with it.
	flight := string(key)
	if sr.Date != "" {
		flight += "\x00" + sr.Signature() + "\x00" + sr.StringToSign()
	}
	return l.flight.do(flight, func() (*entry, error) {
		if e, ok := l.entries.Get(key); ok && fresh(e) {
			return e, nil // fetched by a flight that just ended
		}
		e, err := l.fetch(ctx, sr)
		if err != nil {
			return nil, err
		}
		if e.refusal == nil || e.refusal.Code != "SignatureDoesNotMatch" {
			// A signature that does not match says nothing of the
			// credentials: the next request may be signed right.
			l.entries.Put(string(key), e)
		}
		return e, nil
	})
}

// refreshAhead refetches e in the background once it is three quarters of
// the freshness bound old, with the proof of the request just verified, so
// that a key in steady use never waits for a fetch.
func (l *local) refreshAhead(e *entry, sr *sigv4.Request) {
	if l.since(e.fetched) < l.freshness*3/4 || !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	proof := &sigv4.Request{AccessKeyID: sr.AccessKeyID, SecurityToken: sr.SecurityToken, Date: sr.Date, Region: sr.Region, Service: sr.Service}
	sts, sig := sr.StringToSign(), sr.Signature()
	var kb [1024]byte
	key := string(entryKey(kb[:0], sr))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		ne, err := l.fetchProof(ctx, proof, sts, sig)
		if err != nil {
			e.refreshing.Store(false) // the next request tries again; at the bound it waits
			return
		}
		l.entries.Put(key, ne)
	}()
}

func (l *local) fetch(ctx context.Context, sr *sigv4.Request) (*entry, error) {
	if sr.Date == "" {
		return l.fetchProof(ctx, sr, "", "")
	}
	return l.fetchProof(ctx, sr, sr.StringToSign(), sr.Signature())
}

// fetchProof fetches and builds the entry of sr's credentials, proving
// them with a request's string to sign and signature (none for a session
// token used without a signature).
func (l *local) fetchProof(ctx context.Context, sr *sigv4.Request, sts, sig string) (*entry, error) {
	started := time.Now()
	out, err := l.src.verificationData(ctx, &authorize.GetVerificationDataInput{AccessKeyID: sr.AccessKeyID, SessionToken: sr.SecurityToken,
		StringToSign: sts, Signature: sig})
	if err != nil {
		return nil, err
	}
	e := &entry{fetched: started, size: 512}
	if ae := out.AuthenticationError; ae != nil {
		e.refusal = &AuthenticationError{Code: ae.Code, Message: ae.Message, HTTPStatusCode: ae.HTTPStatusCode}
		return e, nil
	}
	if out.OtherAccount {
		e.other = true
		return e, nil
	}
	if err := l.build(e, out, sr, sts != ""); err != nil {
		return nil, fmt.Errorf("verifier: verification data: %w", err)
	}
	return e, nil
}

var errData = errors.New("incomplete or inconsistent answer")

// build fills e from a GetVerificationData answer, refusing one that does
// not fit what was asked.
func (l *local) build(e *entry, out *authorize.GetVerificationDataOutput, sr *sigv4.Request, wantKey bool) error {
	if out.Principal == nil || out.Match == nil || out.Principal.AccessKeyID != sr.AccessKeyID {
		return errData
	}
	if wantKey {
		k, err := hex.DecodeString(out.SigningKey)
		if err != nil || len(k) != sha256.Size || out.Scope != sr.Scope() {
			return errData
		}
		copy(e.key[:], k)
		e.hasKey = true
	}
	p := out.Principal
	e.principal = Principal{Type: p.Type, ARN: p.ARN, PrincipalARN: p.PrincipalARN, AccountID: p.AccountID, UserID: p.UserID, AccessKeyID: p.AccessKeyID,
		UserName: p.UserName, RoleARN: p.RoleARN, SessionName: p.SessionName, SourceIdentity: p.SourceIdentity, MFAAuthenticated: p.MFAAuthenticated,
		SessionIssuedAt: p.SessionIssuedAt, SessionExpiration: p.SessionExpiration}
	t, ok := authorize.ParsePrincipalType(out.Match.Type)
	if !ok {
		return errData
	}
	m := out.Match
	e.match = policy.Principal{Type: t, Account: m.Account, ARN: m.ARN, ID: m.ID, RoleARN: m.RoleARN, RoleID: m.RoleID, Federated: m.Federated}
	if s := out.Session; s != nil {
		if s.AccessKeyID != sr.AccessKeyID || len(s.ChainKeys) != len(s.ChainARNs) || s.ChainIssued != nil && len(s.ChainIssued) != len(s.ChainKeys) {
			return errData
		}
		e.sess = &session.Session{AccessKeyID: s.AccessKeyID, Account: s.Account, ARN: s.ARN, RoleID: s.RoleID, SourceAccessKeyID: s.SourceAccessKeyID,
			IssuedAt: s.IssuedAt, Expires: s.Expires, MFA: s.MFA, MFAAuthTime: s.MFAAuthTime, ChainKeys: s.ChainKeys, ChainARNs: s.ChainARNs,
			ChainIssued: s.ChainIssued}
	} else if sr.SecurityToken != "" {
		return errData
	}
	if out.Gone {
		e.gone = true
		return nil
	}
	if out.Policies == nil {
		return errData
	}
	for k, v := range out.Context {
		e.static.Set(k, v)
		e.size += len(k) + len(v) + 80
	}
	compile := func(docs []authorize.PolicyDocument) ([]policy.Named, error) {
		for _, d := range docs {
			e.size += len(d.ID) + 64
		}
		return l.compileDocs(docs)
	}
	ps := out.Policies
	var err error
	if e.set.Identity, err = compile(ps.Identity); err != nil {
		return err
	}
	if e.set.Boundary, err = compile(ps.Boundary); err != nil {
		return err
	}
	if e.set.Session, err = compile(ps.Session); err != nil {
		return err
	}
	e.set.SessionRequired = ps.SessionRequired
	if ps.SCP != nil {
		e.set.SCP = make([][]policy.Named, len(ps.SCP))
		for i, level := range ps.SCP {
			if e.set.SCP[i], err = compile(level); err != nil {
				return err
			}
		}
	}
	return nil
}

// compileDocs compiles policy documents as the server sent them (nil
// stays nil: none were sent).
func (l *local) compileDocs(docs []authorize.PolicyDocument) ([]policy.Named, error) {
	if docs == nil {
		return nil, nil
	}
	list := make([]policy.Named, len(docs))
	for i, d := range docs {
		kind, ok := policy.ParseKind(d.Kind)
		if !ok {
			return nil, errData
		}
		p, err := l.policies.Compile(kind, d.Document)
		if err != nil {
			return nil, fmt.Errorf("compile policy %s: %w", d.ID, err)
		}
		list[i] = policy.Named{ID: d.ID, Policy: p}
	}
	return list, nil
}

// compileLevels compiles organization policy levels as the server sent
// them (nil stays nil: none apply).
func (l *local) compileLevels(levels [][]authorize.PolicyDocument) ([][]policy.Named, error) {
	if levels == nil {
		return nil, nil
	}
	out := make([][]policy.Named, len(levels))
	for i, level := range levels {
		list, err := l.compileDocs(level)
		if err != nil {
			return nil, err
		}
		out[i] = list
	}
	return out, nil
}

// flights lets one fetch per key run at a time; the others wait for its
// result.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	e    *entry
	err  error
}

func (f *flights) do(key string, fn func() (*entry, error)) (*entry, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	if c, ok := f.m[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.e, c.err
	}
	c := &flight{done: make(chan struct{})}
	f.m[key] = c
	f.mu.Unlock()
	c.e, c.err = fn()
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(c.done)
	return c.e, c.err
}

// Statement and authorize.Statement have the same fields (the
// conversion compiles only while they do), so a slice of one is a slice
// of the other.
var _ = Statement(authorize.Statement{})

// statements reuses ss, which the caller no longer holds, as []Statement.
func statements(ss []authorize.Statement) []Statement {
	return unsafe.Slice((*Statement)(unsafe.SliceData(ss)), len(ss))
}

// fromOutput converts an answer of the authorize API's shape, with p (its
// AuthenticatedBy set to method) as the principal.
func fromOutput(o *authorize.AuthorizeOutput, p *Principal, method string) *Decision {
	if p == nil {
		return decision(new(Decision), o)
	}
	// One allocation for the decision and its principal.
	both := new(struct {
		d Decision
		p Principal
	})
	both.p = *p
	both.p.AuthenticatedBy = method
	both.d.Principal = &both.p
	return decision(&both.d, o)
}

// decision fills d from o and returns it.
func decision(d *Decision, o *authorize.AuthorizeOutput) *Decision {
	d.Decision, d.Reason, d.DeniedBy, d.Explanation = o.Decision, o.Reason, o.DeniedBy, o.Explanation
	d.MatchedStatements, d.MissingContextValues = statements(o.MatchedStatements), o.MissingContextValues
	d.PolicyDecisions, d.CrossAccount = o.PolicyDecisions, o.CrossAccount
	if ae := o.AuthenticationError; ae != nil {
		d.AuthenticationError = &AuthenticationError{Code: ae.Code, Message: ae.Message, HTTPStatusCode: ae.HTTPStatusCode}
	}
	return d
}

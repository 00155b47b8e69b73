// Package detect runs detection rules and behavioural anomaly baselines over
// the stream of audit events and raises alerts, each with a response
// (alert only, revoke a session or a principal, quarantine or deactivate a
// key) that a Responder carries out through the same authorized, audited
// paths an operator uses.
//
// It reads events, never requests: the server turns each audit record into
// an Event (the same stream the trail records) and hands it to Observe,
// which never blocks a request. One goroutine (Run) evaluates the rules;
// Process evaluates one event synchronously (tests, benchmarks). State is
// bounded: counting windows, cool-downs and baselines are kept for at most
// MaxSubjects subjects each, the least recently seen dropped first.
package detect

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/cache"
)

// Event is one audit event as the rules read it.
type Event struct {
	Time         time.Time
	ID           string // eventID
	Name         string // eventName
	Source       string // eventSource
	ErrorCode    string
	ErrorMessage string
	Account      string // recipientAccountId
	// The caller (userIdentity): Type is Root, IAMUser, AssumedRole,
	// FederatedUser, WebIdentityUser, SAMLUser or Unknown.
	Type        string
	ARN         string
	PrincipalID string // the caller's unique id (aws:userid)
	AccessKeyID string
	UserName    string // an IAM user's name
	IssuerARN   string // a role session's role
	SourceIP    string
	UserAgent   string
	// Params are the request parameters the rules read.
	Params Params
	// Minted is the access key id an STS call issued ("" otherwise).
	Minted string
	// AssumedRoleARN is the session ARN an AssumeRole call answered with
	// (assumedRoleUser.arn), "" when the call failed: it names the role as
	// IAM spells it, where the request's RoleArn may spell it in another
	// case, or with any path.
	AssumedRoleARN string
	// Relayed marks an event a resource server reported through the
	// authorize API: it chose the action and resource asked about, and
	// may replay a client's signed request as often as it likes, so that
	// a response is never carried out on the event's principal.
	Relayed bool
	// RealCredential marks a failed authentication of a credential that
	// exists (authn.RealCredential): not one the request made up.
	RealCredential bool
}

// Params are the request parameters the rules read, by their JSON names.
type Params struct {
	RoleArn, RoleName, UserName, GroupName, PolicyArn, PolicyName string
	PolicyDocument, AssumeRolePolicyDocument, SetAsDefault        string
	LDAPUsername                                                  string
}

// ParamNames are the JSON names of Params' fields, in order.
var ParamNames = []string{"roleArn", "roleName", "userName", "groupName", "policyArn", "policyName",
	"policyDocument", "assumeRolePolicyDocument", "setAsDefault", "ldapUsername"}

// Set sets the parameter with JSON name name (one of ParamNames).
func (p *Params) Set(name, v string) {
	if f := p.field(name); f != nil {
		*f = v
	}
}

func (p *Params) field(name string) *string {
	switch name {
	case "roleArn":
		return &p.RoleArn
	case "roleName":
		return &p.RoleName
	case "userName":
		return &p.UserName
	case "groupName":
		return &p.GroupName
	case "policyArn":
		return &p.PolicyArn
	case "policyName":
		return &p.PolicyName
	case "policyDocument":
		return &p.PolicyDocument
	case "assumeRolePolicyDocument":
		return &p.AssumeRolePolicyDocument
	case "setAsDefault":
		return &p.SetAsDefault
	case "ldapUsername":
		return &p.LDAPUsername
	}
	return nil
}

func (e *Event) param(name string) string {
	if f := e.Params.field(name); f != nil {
		return *f
	}
	return ""
}

// Alert is one rule firing.
type Alert struct {
	Rule     string
	Severity string
	Summary  string
	Time     time.Time
	Account  string
	// The subject: the principal, its access key and where it came from.
	PrincipalARN string
	AccessKeyID  string
	SourceIP     string
	// EventIDs are the events that fired the rule (at most 20, newest
	// last).
	EventIDs []string
	// Detail says what was seen, in a sentence.
	Detail string
	// Response and Mode are the rule's; Outcome is what the response did
	// ("" for alert, "observed" in observe mode, else "done" or the error).
	Response Response
	Mode     Mode
	Outcome  string

	// unattributed says why the response is not carried out: the rule
	// counted what several principals share (a source address, a role's
	// sessions, a name the request gave), and the principal named is only
	// the one whose event came last.
	unattributed string
}

// Responder carries out an alert's response (a.Response: revoke the
// session or the principal, quarantine or deactivate the key) through the
// revocation set and IAM, as an operator would. It is idempotent.
type Responder interface {
	Respond(ctx context.Context, a *Alert) error
}

// Directory answers the questions the escalation rule asks of IAM. Any
// method may be nil-safe; errors count as "no".
type Directory interface {
	// InGroup reports whether the user is a member of the group.
	InGroup(ctx context.Context, account, user, group string) bool
	// CanAssume reports whether the principal may assume the role (its
	// trust policy allows it).
	CanAssume(ctx context.Context, principalARN, principalID, account, role string) bool
	// GrantsAll reports whether the managed policy allows every action on
	// every resource.
	GrantsAll(ctx context.Context, policyARN string) bool
	// AttachedToPrincipal reports whether the managed policy is attached to
	// the principal (directly, or through a group or its role).
	AttachedToPrincipal(ctx context.Context, principalARN, policyARN string) bool
}

// Shared is state shared by the nodes of a deployment (the store): alert
// claims, so that a cluster raises one alert per incident, and baselines,
// so that they outlive restarts and each node learns what the others saw.
type Shared interface {
	// Claim reports whether this node may raise the alert key (no other
	// claim lasts past now); the claim lasts until until.
	Claim(ctx context.Context, key string, until, now time.Time) (bool, error)
	GetBaselines(ctx context.Context, subjects []string) (map[string][]byte, error)
	// MergeBaselines writes what merge makes of the baselines of subjects
	// the shared state holds, atomically against other writers of them
	// (store.DetectState.MergeBaselines).
	MergeBaselines(ctx context.Context, subjects []string, now time.Time, merge func(stored map[string][]byte) (map[string][]byte, error)) error
}

// Options configures an Engine.
type Options struct {
	Config    Config
	Now       func() time.Time
	Emit      func(Alert) // every alert, in order; must not block long
	Responder Responder
	Directory Directory
	// Queue bounds the events waiting for Run (default 4,096); a full
	// queue drops events and counts them.
	Queue int
	// MaxSubjects bounds each state table (default 20,000: a subject's
	// baseline is some 330 bytes of live heap, and one evicted is read
	// back from the shared state when it is seen again).
	MaxSubjects int
	// Baselines bounds the subjects whose baselines are held decoded, in
	// the Go heap (default MaxSubjects). With TierBytes, those it drops
	// are kept encoded and decoded again when seen: a smaller bound trades
	// that decoding for live heap, which the collector scans on every
	// cycle. The sessions remembered (which have no tier) and the evicted
	// baselines waiting for a flush stay bounded by MaxSubjects.
	Baselines int
	// Shared, if set, de-duplicates alerts across nodes and keeps the
	// baselines (read when a subject is first seen, merged and written
	// back every FlushEvery, default 10 s).
	Shared Shared
	// TierBytes, with Shared, keeps the baselines the table drops, as the
	// shared state has them, encoded in that many bytes outside the Go
	// heap (the strings of their sets by number: some 53 bytes a subject
	// of the scale benchmark's, digest and header included), so that a
	// subject seen again is read from memory instead of the shared state
	// (internal/cache.Tier). Zero: none.
	TierBytes int
	// TierDir and TierFileBytes put that tier in a scratch file in TierDir
	// of TierFileBytes (cache.NewTierIn).
	TierDir       string
	TierFileBytes int
	// Population, if set, counts the deployment's principals and roles
	// (the store's Population); with Shared, the table that judges most
	// events without their baselines (see fastTable) is sized by it when
	// Run starts and every minute, up to MaxFastSlots. FastSlots is its
	// size before that (default 4,096 slots, 128 KiB; at most MaxFastSlots).
	Population func(context.Context) (int64, error)
	FastSlots  int
	FlushEvery time.Duration
	// Log receives failures of the shared state (default: none).
	Log func(msg string, err error)
}

// Engine evaluates the rules.
type Engine struct {
	opt   Options
	rules map[string]*rule

	// The queue: events wait in fixed-size chunks (at most opt.Queue
	// events) until Run takes them all; wake tells Run that the queue went
	// from empty to not. Chunks Run is done with are kept for reuse (at
	// most maxFreeChunks), so that a request's Observe copies its event
	// into memory already there: no allocation, and no copy of the queue
	// as it grows.
	qmu    sync.Mutex
	queue  []*chunk
	queued int
	spare  []*chunk // the list Run handed back, reused for queue
	free   []*chunk
	wake   chan struct{}
	// flushDue asks Run to flush before FlushEvery: the baselines evicted
	// unwritten fill a table's worth.
	flushDue chan struct{}

	dropped, processed, alerts, flushes atomic.Uint64

	mu sync.Mutex // guards the state below (Process may run beside Run in tests)
	// counts holds the windows of authenticated events, ucounts those of
	// the others, whose keys the requests choose: a flood of those cannot
	// push the windows of a real principal out.
	counts, ucounts *table[*window]
	cooldowns       *table[time.Time]
	base            *baselines
}

// New returns an Engine.
func New(opt Options) (*Engine, error) {
	rules, err := opt.Config.rules()
	if err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Emit == nil {
		opt.Emit = func(Alert) {}
	}
	if opt.Queue <= 0 {
		opt.Queue = 1 << 12
	}
	if opt.MaxSubjects <= 0 {
		opt.MaxSubjects = 20_000
	}
	if opt.Baselines <= 0 {
		opt.Baselines = opt.MaxSubjects
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 10 * time.Second
	}
	if opt.Log == nil {
		opt.Log = func(string, error) {}
	}
	warmup := time.Duration(opt.Config.Warmup)
	if warmup == 0 {
		warmup = 7 * 24 * time.Hour
	}
	e := &Engine{opt: opt, rules: rules, wake: make(chan struct{}, 1), flushDue: make(chan struct{}, 1),
		counts: newTable[*window](opt.MaxSubjects), ucounts: newTable[*window](opt.MaxSubjects), cooldowns: newTable[time.Time](opt.MaxSubjects),
		base: newBaselines(opt.Baselines, opt.MaxSubjects, warmup)}
	if opt.Shared != nil {
		if opt.TierBytes > 0 {
			e.base.tier = cache.NewTierIn(opt.TierBytes, opt.TierDir, opt.TierFileBytes)
		}
		e.base.load = e.loadBaseline
		if opt.FastSlots <= 0 {
			opt.FastSlots = 1 << 12
		}
		opt.FastSlots = min(opt.FastSlots, MaxFastSlots)
		e.base.fast = newFastTable(opt.FastSlots)
		e.base.full = func() {
			select {
			case e.flushDue <- struct{}{}:
			default:
			}
		}
	}
	return e, nil
}

// batchDelay is the least time between two batches Run takes from the
// queue: at a high request rate the engine wakes a few hundred times a
// second for batches of events rather than once an event, and an alert
// waits at most this much longer.
const batchDelay = 2 * time.Millisecond

// chunkEvents is the number of events in a chunk (an event is some 400
// bytes, so a chunk is some 54 KiB).
const chunkEvents = 128

// maxFreeChunks bounds the chunks kept for reuse: what batchDelay and a
// batch's evaluation let gather at the highest rates one node serves (some
// 100,000 requests a second), so that in steady state no request
// allocates. A burst past it allocates chunks that are let go after use.
const maxFreeChunks = 8

// chunk is a run of queued events.
type chunk struct {
	n  int
	ev [chunkEvents]Event
}

// Observe queues an event; it never blocks. Only the first event of a
// batch wakes Run.
func (e *Engine) Observe(ev Event) {
	e.qmu.Lock()
	if e.queued >= e.opt.Queue {
		e.qmu.Unlock()
		e.dropped.Add(1)
		return
	}
	var c *chunk
	if n := len(e.queue); n > 0 && e.queue[n-1].n < chunkEvents {
		c = e.queue[n-1]
	} else {
		if n := len(e.free); n > 0 {
			c, e.free = e.free[n-1], e.free[:n-1]
		} else {
			c = new(chunk)
		}
		e.queue = append(e.queue, c)
	}
	c.ev[c.n] = ev
	c.n++
	e.queued++
	first := e.queued == 1
	e.qmu.Unlock()
	if first {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// take returns what was queued, emptying the queue; the caller hands the
// chunks back with done.
func (e *Engine) take() []*chunk {
	e.qmu.Lock()
	batch := e.queue
	e.queue, e.spare, e.queued = e.spare[:0], nil, 0
	e.qmu.Unlock()
	return batch
}

// done clears a processed batch's events (their strings are not kept
// alive) and keeps its chunks, up to maxFreeChunks, for reuse.
func (e *Engine) done(batch []*chunk) {
	for _, c := range batch {
		clear(c.ev[:c.n])
		c.n = 0
	}
	e.qmu.Lock()
	for i, c := range batch {
		if len(e.free) < maxFreeChunks {
			e.free = append(e.free, c)
		}
		batch[i] = nil
	}
	e.spare = batch[:0]
	e.qmu.Unlock()
}

// Stats are the engine's counters.
func (e *Engine) Stats() (processed, dropped, alerts uint64) {
	return e.processed.Load(), e.dropped.Load(), e.alerts.Load()
}

// Run evaluates queued events until ctx ends, and writes the baselines
// back to the shared state every FlushEvery (and when it ends).
func (e *Engine) Run(ctx context.Context) {
	tick := time.NewTicker(e.opt.FlushEvery)
	defer tick.Stop()
	e.sizeFast(ctx)
	size := time.NewTicker(populationEvery)
	defer size.Stop()
	for {
		select {
		case <-size.C:
			e.sizeFast(ctx)
		case <-ctx.Done():
			// What was queued before the end is evaluated, and learned
			// from, before the last flush: a server stopped right after
			// a call keeps what that call taught its baselines.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for e.runBatch(fctx) > 0 && fctx.Err() == nil {
			}
			e.Flush(fctx)
			cancel()
			return
		case <-tick.C:
			e.Flush(ctx)
		case <-e.flushDue:
			e.Flush(ctx)
		case <-e.wake:
			if e.runBatch(ctx) > 0 {
				// Let the next batch gather; an event queued meanwhile
				// has signalled wake, so it is not missed.
				select {
				case <-ctx.Done():
				case <-time.After(batchDelay):
				}
			}
		}
	}
}

// populationEvery is how often Run sizes the fast table by the
// deployment's population.
const populationEvery = time.Minute

// sizeFast grows the fast table to a slot and a half for each principal
// and role the store counts (a role is two subjects once its sessions
// call: the role assumed and the principal calling), at most MaxFastSlots,
// unless they are more than MaxFastSlots.
func (e *Engine) sizeFast(ctx context.Context) {
	if e.opt.Population == nil || e.base.fast == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	n, err := e.opt.Population(pctx)
	cancel()
	if err != nil {
		e.opt.Log("detect: count the population", err)
		return
	}
	if n > MaxFastSlots {
		return // see MaxFastSlots
	}
	e.mu.Lock()
	e.base.fast = e.base.fast.grow(min(int(n)*3/2, MaxFastSlots), e.opt.Now().Unix())
	e.mu.Unlock()
}

// runBatch evaluates what is queued and returns how many events it took.
func (e *Engine) runBatch(ctx context.Context) int {
	batch := e.take()
	e.prefetch(ctx, batch)
	n := 0
	for _, ev := range events(batch) {
		e.Process(ctx, *ev)
		n++
	}
	e.done(batch)
	return n
}

// Process evaluates one event now.
func (e *Engine) Process(ctx context.Context, ev Event) {
	e.processed.Add(1)
	if ev.Time.IsZero() {
		ev.Time = e.opt.Now()
	}
	var fired []Alert
	e.mu.Lock()
	e.evaluate(ctx, &ev, &fired)
	e.mu.Unlock()
	for i := range fired {
		e.respond(ctx, &fired[i])
		e.alerts.Add(1)
		e.opt.Emit(fired[i])
	}
}

func (e *Engine) evaluate(ctx context.Context, ev *Event, fired *[]Alert) {
	failed := ev.ErrorCode != ""
	subject := ev.ARN
	if subject == "" {
		subject = ev.AccessKeyID
	} else if ev.AccessKeyID != "" && (ev.Type == "AssumedRole" || ev.Type == "FederatedUser") {
		// A session's ARN ends in a name its caller chose: another
		// session may take the same one. Its own key tells them apart.
		subject += "|" + ev.AccessKeyID
	}
	// Bursts, by principal and by source address.
	if failed && strings.HasPrefix(ev.ErrorCode, "AccessDenied") {
		e.count(ev, "access-denied-burst", "principal:"+subject, fired)
		e.count(ev, "access-denied-burst", "source:"+ev.SourceIP, fired)
	}
	if failed && strings.HasPrefix(ev.Name, "AssumeRole") {
		e.count(ev, "assume-role-failures", "principal:"+subject, fired)
		e.count(ev, "assume-role-failures", "source:"+ev.SourceIP, fired)
	}
	// An MFA code refused: AccessDenied with STS's message, which begins
	// so (a message that quotes the request may hold the words anywhere).
	if failed && ev.ErrorCode == "AccessDenied" && strings.HasPrefix(ev.ErrorMessage, "MultiFactorAuthentication failed") {
		e.count(ev, "mfa-failures", "principal:"+subject, fired)
		e.count(ev, "mfa-failures", "source:"+ev.SourceIP, fired)
	}
	if failed && ev.Name == "AssumeRoleWithLDAPIdentity" {
		// The user name is whatever the request says: bounded per source,
		// as invalid-credentials' key ids are.
		if u := ev.param("ldapUsername"); u != "" {
			e.countClaimed(ev, "ldap-bind-failures", "user:"+strings.ToLower(u), fired)
		}
		e.count(ev, "ldap-bind-failures", "source:"+ev.SourceIP, fired)
	}
	// Bad credentials.
	// (The AWS JSON services' codes too: Organizations and CloudTrail
	// answer them. ExpiredTokenException is also an expired web identity
	// token's, of no access key.)
	switch ev.ErrorCode {
	case "ExpiredToken", "ExpiredTokenException":
		if ev.AccessKeyID != "" {
			e.countClaimed(ev, "expired-credentials", "key:"+ev.AccessKeyID, fired)
		}
	case "InvalidClientTokenId", "InvalidAccessKeyId", "UnrecognizedClientException":
		e.countClaimed(ev, "invalid-credentials", "key:"+ev.AccessKeyID+"|"+ev.SourceIP, fired)
	case "SignatureDoesNotMatch", "InvalidSignatureException":
		e.countClaimed(ev, "signature-mismatch", "key:"+ev.AccessKeyID, fired)
	}
	// Root.
	if ev.Type == "Root" && ev.AccessKeyID != "" && !failed {
		e.count(ev, "root-key-use", "key:"+ev.AccessKeyID, fired)
		if ev.Name == "CreateAccessKey" && ev.param("userName") == "" {
			e.fire(ev, "root-access-key-created", "account:"+ev.Account, "root created an access key for itself", fired)
		}
	}
	if !failed {
		e.escalation(ctx, ev, fired)
		e.trust(ev, fired)
		e.anomalies(ev, fired)
	}
}

// count adds the event to the rule's window for key and fires the rule
// when the window holds its threshold. Only a window of the event's own
// principal (a "principal:" or "key:" key) names who filled it: the
// response to any other (a source address, a user name as typed) is not
// carried out on the principal whose event came last.
func (e *Engine) count(ev *Event, name, key string, fired *[]Alert) {
	r := e.rules[name]
	if !r.enabled {
		return
	}
	k := name + "|" + key
	t := e.windows(ev)
	w, ok := t.get(k)
	if !ok {
		w = &window{}
		t.put(k, w)
	}
	if w.add(ev.Time, ev.ID, r.threshold, r.window) {
		detail := r.summary
		if r.threshold > 1 {
			detail = r.summary + " (" + itoa(r.threshold) + " within " + r.window.String() + ", " + key + ")"
		}
		var unattributed string
		if !strings.HasPrefix(key, "principal:") && !strings.HasPrefix(key, "key:") {
			unattributed = "not carried out: the rule counted " + key[:strings.IndexByte(key, ':')] + ", not one principal"
		}
		if e.fireWith(ev, r, k, detail, w.ids(), unattributed, fired) {
			w.reset()
		}
	}
}

// countClaimed is count for a key an unauthenticated request claims (a
// key id, a user name: anyone may make up as many as they like), bounded
// to maxSourceAlerts alerts per source a cool-down, or each made-up one
// would raise its own alert (and claim write, audit record, webhook post).
//
// A credential that exists (RealCredential: a key whose signature failed, a
// session that expired or was revoked) is counted without the bound: a
// source that spent its alerts on made-up ids must not silence the ones
// about a real key it then guesses the secret of, or a stolen token.
func (e *Engine) countClaimed(ev *Event, name, key string, fired *[]Alert) {
	if ev.Account != "" || ev.RealCredential {
		e.count(ev, name, key, fired)
		return
	}
	src := name + "|alerts-from:" + sourceNetwork(ev.SourceIP)
	if e.sourceQuiet(src, name, ev.Time) {
		return
	}
	n := len(*fired)
	e.count(ev, name, key, fired)
	if len(*fired) > n {
		e.sourceFired(src, ev)
	}
}

// windows is the table of ev's counting windows.
func (e *Engine) windows(ev *Event) *table[*window] {
	if ev.Account == "" {
		return e.ucounts
	}
	return e.counts
}

// fire raises a one-event rule for key.
func (e *Engine) fire(ev *Event, name, key, detail string, fired *[]Alert) {
	r := e.rules[name]
	if !r.enabled {
		return
	}
	e.fireWith(ev, r, name+"|"+key, detail, []string{ev.ID}, "", fired)
}

// fireWith raises r's alert unless the rule is cooling down for key;
// unattributed, if set, says why its response is not carried out.
func (e *Engine) fireWith(ev *Event, r *rule, key, detail string, ids []string, unattributed string, fired *[]Alert) bool {
	if until, ok := e.cooldowns.get(key); ok && ev.Time.Before(until) {
		return false
	}
	if ev.Relayed && unattributed == "" {
		unattributed = "not carried out: a resource server reported the events, and chose what it asked about"
	}
	until := ev.Time.Add(r.cooldown)
	e.cooldowns.put(key, until)
	if sh := e.opt.Shared; sh != nil {
		// One alert per incident across the nodes. A failing store lets
		// the alert through: a duplicate is better than silence.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, err := sh.Claim(ctx, ev.Account+"|"+key, until, ev.Time)
		cancel()
		if err != nil {
			e.opt.Log("detect: claim alert", err)
		} else if !ok {
			return false
		}
	}
	*fired = append(*fired, Alert{Rule: r.name, Severity: r.severity, Summary: r.summary, Time: ev.Time, Account: ev.Account,
		PrincipalARN: ev.ARN, AccessKeyID: ev.AccessKeyID, SourceIP: ev.SourceIP, EventIDs: ids, Detail: detail,
		Response: r.response, Mode: r.mode, unattributed: unattributed})
	return true
}

// respond carries out the alert's response.
func (e *Engine) respond(ctx context.Context, a *Alert) {
	if a.Response == AlertOnly || a.Response == "" {
		return
	}
	if a.unattributed != "" {
		a.Outcome = a.unattributed
		return
	}
	if a.Mode == Observe {
		a.Outcome = "observed"
		return
	}
	if e.opt.Responder == nil {
		a.Outcome = "no responder"
		return
	}
	err := e.opt.Responder.Respond(ctx, a)
	a.Outcome = "done"
	if err != nil {
		a.Outcome = err.Error()
	}
}

// maxSourceAlerts bounds the alerts one source raises, within the rule's
// cool-down, for a rule whose subject the request names unauthenticated
// (invalid-credentials: any made-up access key id): past it the source is
// quiet until its oldest alert leaves the cool-down.
const maxSourceAlerts = 10

// sourceQuiet reports whether key (a rule and source) already raised
// maxSourceAlerts alerts within the cool-down of rule.
func (e *Engine) sourceQuiet(key, rule string, t time.Time) bool {
	w, ok := e.ucounts.get(key)
	return ok && w.n == maxSourceAlerts && t.Sub(w.times[w.next]) < e.rules[rule].cooldown
}

// sourceFired records an alert raised for key.
func (e *Engine) sourceFired(key string, ev *Event) {
	w, ok := e.ucounts.get(key)
	if !ok {
		w = &window{}
		e.ucounts.put(key, w)
	}
	w.add(ev.Time, ev.ID, maxSourceAlerts, 0)
}

// sourceNetwork is the source an address stands for: itself (IPv4), or
// its /48 (IPv6, where one host holds many addresses).
func sourceNetwork(addr string) string {
	if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
		return network(addr)
	}
	return addr
}

// window holds the times of the last threshold events for one key.
type window struct {
	times []time.Time
	evIDs []string
	next  int
	n     int
}

// add records an event and reports whether threshold events fell within d.
func (w *window) add(t time.Time, id string, threshold int, d time.Duration) bool {
	if len(w.times) != threshold {
		w.times, w.evIDs, w.next, w.n = make([]time.Time, threshold), make([]string, threshold), 0, 0
	}
	w.times[w.next], w.evIDs[w.next] = t, id
	w.next = (w.next + 1) % threshold
	if w.n < threshold {
		w.n++
	}
	if w.n < threshold {
		return false
	}
	oldest := w.times[w.next] // the ring is full: next is the oldest
	return d == 0 || t.Sub(oldest) <= d
}

// ids are the window's event ids, oldest first, at most 20.
func (w *window) ids() []string {
	var out []string
	for i := 0; i < w.n; i++ {
		out = append(out, w.evIDs[(w.next+i)%len(w.evIDs)])
	}
	if len(out) > 20 {
		out = out[len(out)-20:]
	}
	return out
}

func (w *window) reset() { w.n, w.next = 0, 0 }

// network is an address's /24 (IPv4) or /48 (IPv6), "" if it is none.
func network(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String() + "/24"
	}
	return ip.Mask(net.CIDRMask(48, 128)).String() + "/48"
}

// agentFamily is the product name a user agent starts with ("aws-cli",
// "Boto3", "aws-sdk-go-v2", "curl"), lower-cased.
func agentFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if i := strings.IndexAny(ua, "/ "); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > 64 {
		ua = ua[:64]
	}
	return strings.ToLower(ua)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// events yields the events of a batch, in order.
func events(batch []*chunk) func(yield func(int, *Event) bool) {
	return func(yield func(int, *Event) bool) {
		i := 0
		for _, c := range batch {
			for j := range c.ev[:c.n] {
				if !yield(i, &c.ev[j]) {
					return
				}
				i++
			}
		}
	}
}

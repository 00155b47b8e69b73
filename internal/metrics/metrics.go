// Package metrics is OpenSTS's Prometheus instrumentation: one registry
// (not the client library's global one) with the Go runtime and process
// collectors, the request and session metrics the server observes at the
// HTTP boundary, and Register for the collectors of other subsystems.
//
// Labels never carry a secret or an unbounded value: services and actions
// are the ones the server routes (anything else is "other"), error codes
// come from the apierr table, and accounts and roles are bounded by a
// LabelSet (the first MaxRoles distinct values, then "other"). Session
// names and access key ids are never labels.
//
// It imports the Prometheus client library only.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label bounds.
const (
	// MaxRoles bounds the distinct (account, role) pairs of
	// opensts_sessions_issued_total; later ones count as "other".
	MaxRoles = 1000
	// Other is the label value of anything past a bound or unknown.
	Other = "other"
)

// latencyBuckets are seconds, from half a millisecond to ten seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is the registry and the server's own metrics. It is safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	sessions *prometheus.CounterVec
	roles    *LabelSet[[2]string] // (account, role) pairs labelled
	denials  *prometheus.CounterVec
	mfaFails *prometheus.CounterVec
	mfaLocks prometheus.Counter

	idpRequests           *prometheus.CounterVec
	idpLatency            *prometheus.HistogramVec
	storeRead, storeWrite prometheus.Observer

	// handles caches each label combination's counter and histogram (the
	// combinations are bounded: routed actions and apierr codes), so a
	// request costs a map read instead of the vectors' label hashing and
	// locking (a typed map: a key boxed for sync.Map would be an
	// allocation a request).
	handlesMu sync.RWMutex
	handles   map[requestLabels]*requestHandles

	// sessionHandles caches the session counter of each (kind, account,
	// role) seen, up to a bound: a session costs a map read, with no label
	// string made.
	sessionMu      sync.RWMutex
	sessionHandles map[sessionLabels]prometheus.Counter
}

type requestLabels struct{ service, action, code string }

type requestHandles struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New returns Metrics with a fresh registry holding the Go runtime and
// process collectors and the request and session metrics.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), roles: NewLabelSet[[2]string](MaxRoles), sessionHandles: map[sessionLabels]prometheus.Counter{},
		handles: map[requestLabels]*requestHandles{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_requests_total",
		Help: "API requests answered, by service, action (\"other\" for an unknown one) and error code (\"none\" on success).",
	}, []string{"service", "action", "error_code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "opensts_request_duration_seconds",
		Help:    "Time from reading an API request to writing its answer, by service and action.",
		Buckets: latencyBuckets,
	}, []string{"service", "action"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_sessions_issued_total",
		Help: "Temporary credentials issued, by account, role and kind (assume_role, web_identity, saml, ldap, session_token, federation_token). At most 1000 distinct (account, role) pairs are labelled; later ones count under account and role \"other\".",
	}, []string{"account", "role", "kind"})
	m.denials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_authz_denials_total",
		Help: "Authorization decisions that denied, by the policy kind that denied or failed to allow (identity, permissions_boundary, session_policy, scp, resource_policy, trust_policy, none) and effect (explicit or implicit deny).",
	}, []string{"policy_kind", "effect"})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.sessions, m.denials)
	m.mfaFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_mfa_failures_total",
		Help: "MFA checks refused, by reason (unknown_device, throttled, invalid_code, replay).",
	}, []string{"reason"})
	m.mfaLocks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opensts_mfa_lockouts_total",
		Help: "MFA device lockouts started after too many wrong codes (on this node).",
	})
	m.reg.MustRegister(m.mfaFails, m.mfaLocks)
	m.idpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_idp_requests_total",
		Help: "Requests to identity providers, by kind (oidc_discovery, oidc_jwks: fetches from an OIDC provider; ldap: a directory sign-in) and outcome (ok, denied: the directory refused the user, error: the provider could not be reached or answered wrongly).",
	}, []string{"kind", "outcome"})
	m.idpLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "opensts_idp_request_duration_seconds",
		Help:    "Time a request to an identity provider took, by kind (oidc_discovery, oidc_jwks, ldap).",
		Buckets: latencyBuckets,
	}, []string{"kind"})
	store := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "opensts_store_duration_seconds",
		Help:    "Time a store operation took, by op (read: one query or read transaction; write: one write transaction, its commit included).",
		Buckets: latencyBuckets,
	}, []string{"op"})
	m.storeRead, m.storeWrite = store.WithLabelValues("read"), store.WithLabelValues("write")
	m.reg.MustRegister(m.idpRequests, m.idpLatency, store)
	return m
}

// IdPRequest counts one request to an identity provider: kind is
// oidc_discovery, oidc_jwks or ldap; outcome is ok, denied (a directory
// refused the user) or error.
func (m *Metrics) IdPRequest(kind, outcome string, took time.Duration) {
	m.idpRequests.WithLabelValues(kind, outcome).Inc()
	m.idpLatency.WithLabelValues(kind).Observe(took.Seconds())
}

// StoreOp observes one store operation: op is read or write.
func (m *Metrics) StoreOp(op string, took time.Duration) {
	if op == "write" {
		m.storeWrite.Observe(took.Seconds())
		return
	}
	m.storeRead.Observe(took.Seconds())
}

// Registry is the registry to serve (promhttp.HandlerFor).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Register adds a subsystem's collector (the revocation set, an audit
// sink). Its metric names must start with opensts_ and its labels follow
// the package's rules.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// MustRegister is Register that panics on a conflict (wiring errors).
func (m *Metrics) MustRegister(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Request counts one answered request. service and action must be bounded
// by the caller (routed names, or Other); code is an apierr code name, or
// "" on success.
func (m *Metrics) Request(service, action, code string, took time.Duration) {
	if code == "" {
		code = "none"
	}
	k := requestLabels{service, action, code}
	m.handlesMu.RLock()
	rh, ok := m.handles[k]
	m.handlesMu.RUnlock()
	if !ok {
		rh = &requestHandles{m.requests.WithLabelValues(service, action, code), m.latency.WithLabelValues(service, action)}
		m.handlesMu.Lock()
		m.handles[k] = rh
		m.handlesMu.Unlock()
	}
	rh.count.Inc()
	rh.latency.Observe(took.Seconds())
}

// SessionIssued counts one issued session of kind for role in account
// (role "" for sessions of no role: session and federation tokens).
func (m *Metrics) SessionIssued(kind, account, role string) {
	k := sessionLabels{kind, account, role}
	m.sessionMu.RLock()
	c, ok := m.sessionHandles[k]
	m.sessionMu.RUnlock()
	if !ok {
		c = m.sessionCounter(k)
	}
	c.Inc()
}

// sessionCounter is the counter of k, admitted to the label set or counted
// as other, remembered for the next session of k.
func (m *Metrics) sessionCounter(k sessionLabels) prometheus.Counter {
	if !m.roles.Admit([2]string{k.account, k.role}) { // no label string made
		// Counted as other, by a handle of the kind's: across more roles
		// than MaxRoles, a session of a role not admitted looks up no
		// label values (which cost a request about a microsecond at
		// 100,000 roles, once the handles were full).
		k = sessionLabels{kind: k.kind, account: Other, role: Other}
		m.sessionMu.RLock()
		c, ok := m.sessionHandles[k]
		m.sessionMu.RUnlock()
		if ok {
			return c
		}
	}
	c := m.sessions.WithLabelValues(k.account, k.role, k.kind)
	m.sessionMu.Lock()
	defer m.sessionMu.Unlock()
	// Keep handles for admitted pairs (at most MaxRoles a kind) and the
	// others' of each kind.
	m.sessionHandles[k] = c
	return c
}

type sessionLabels struct{ kind, account, role string }

// LabelSet admits at most max distinct values (of one label, or a tuple
// of labels as an array, which costs no string to look up); it is safe for
// concurrent use.
type LabelSet[K comparable] struct {
	max  int
	mu   sync.RWMutex
	seen map[K]struct{}
}

// NewLabelSet returns a LabelSet admitting max values.
func NewLabelSet[K comparable](max int) *LabelSet[K] {
	return &LabelSet[K]{max: max, seen: map[K]struct{}{}}
}

// Admit reports whether v may be a label value: it was admitted before, or
// fewer than max values were.
func (s *LabelSet[K]) Admit(v K) bool {
	s.mu.RLock()
	_, ok := s.seen[v]
	n := len(s.seen)
	s.mu.RUnlock()
	if ok {
		return true
	}
	if n >= s.max {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[v]; ok {
		return true
	}
	if len(s.seen) >= s.max {
		return false
	}
	s.seen[v] = struct{}{}
	return true
}

// Denied counts one denying decision; kind and effect must be bounded
// (the server maps policy kinds to a fixed set of names).
func (m *Metrics) Denied(kind, effect string) { m.denials.WithLabelValues(kind, effect).Inc() }

// MFAFailure counts a refused MFA check; reason is one of mfa's fixed reasons.
func (m *Metrics) MFAFailure(reason string) { m.mfaFails.WithLabelValues(reason).Inc() }

// MFALockout counts a lockout started.
func (m *Metrics) MFALockout() { m.mfaLocks.Inc() }

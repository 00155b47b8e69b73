// Package server is the composition root: it turns a config.Config into
// stores, services and an HTTP handler, and owns their lifecycle. It is the
// only place that wires dependencies together.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsjson"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/federation/ldap"
	"github.com/opensts/opensts/internal/federation/oidc"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/issuer"
	"github.com/opensts/opensts/internal/lastaccess"
	"github.com/opensts/opensts/internal/metrics"
	"github.com/opensts/opensts/internal/mfa"
	"github.com/opensts/opensts/internal/org"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/revoke"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/postgres"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/store/sqlstore"
	"github.com/opensts/opensts/internal/sts"
	"github.com/opensts/opensts/internal/throttle"
)

// backend is one store backend: what it needs of the configuration, and
// how to open it.
type backend struct {
	check func(cfg config.Config) error
	open  func(ctx context.Context, cfg config.Config) (store.Store, error)
}

// The LDAP sign-in throttles, counted in the store for every node: ten
// failed binds per user (by the name given and by the directory entry) or a
// hundred per source address in five minutes hold that user or address
// back for five minutes.
var (
	LDAPUserThrottle    = store.ThrottleLimit{Max: 10, Window: 5 * time.Minute, Lockout: 5 * time.Minute}
	LDAPAddressThrottle = store.ThrottleLimit{Max: 100, Window: 5 * time.Minute, Lockout: 5 * time.Minute}
)

// backends are the store backends, by --store name: the one registry every
// path (serve, keys) validates against.
var backends = map[string]backend{
	"sqlite": {
		open: func(_ context.Context, cfg config.Config) (store.Store, error) {
			return sqlite.Open(filepath.Join(cfg.DataDir, "opensts.db"))
		},
	},
	"postgres": {
		check: func(cfg config.Config) error {
			if cfg.DatabaseURL == "" {
				return errors.New("--store postgres needs OPENSTS_DATABASE_URL")
			}
			return nil
		},
		open: func(ctx context.Context, cfg config.Config) (store.Store, error) {
			return postgres.Open(ctx, cfg.DatabaseURL)
		},
	},
}

// validate checks cfg on every path before anything is written: the
// configuration's own rules, then its backend's.
func validate(cfg config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := validateSinks(cfg); err != nil {
		return err
	}
	if cfg.WebIdentityIssuer != "" {
		if err := issuer.ValidURL(cfg.WebIdentityIssuer); err != nil {
			return fmt.Errorf("--web-identity-issuer %q: %w", cfg.WebIdentityIssuer, err)
		}
	}
	b, ok := backends[cfg.Store]
	if !ok {
		names := make([]string, 0, len(backends))
		for n := range backends {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("--store %q: want one of %s", cfg.Store, strings.Join(names, ", "))
	}
	if b.check != nil {
		return b.check(cfg)
	}
	return nil
}

// tokenChainRevoked is sts.Config.Revoked: the revocation set (set up after
// STS, before any request).
func (s *Server) tokenChainRevoked(ss *session.Session, now time.Time) bool {
	return s.revs != nil && s.revs.set.Revoked(ss, now)
}

// Server is a running OpenSTS node.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	now      func() time.Time
	store    store.Store
	sealer   *seal.Sealer
	policies *policy.Cache
	authz    *authz.Authorizer
	sessions *session.Manager
	sigv4    *sigv4.Verifier
	iam      *iam.Service
	sts      *sts.Service
	org      *org.Service
	keys     *keyCache
	issuer   *issuer.Issuer // nil without --web-identity-issuer

	authn    *authn.Authenticator
	pipeline *pipeline.Pipeline
	trail    *audit.Trail   // nil with --audit=false
	detect   *detect.Engine // nil with --detect=false
	revoke   *revoke.Service
	revs     *revocations
	alerts   *prometheus.CounterVec
	sinks    auditSinks
	feed     *feed
	metrics  *metrics.Metrics
	access   *lastaccess.Recorder

	// Bootstrap is what the first start created (or found).
	Bootstrap Bootstrap

	ready  atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
}

// Options are the parts tests inject.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	Rand   io.Reader
	// Observers see every API request once it is answered (audit, metrics,
	// detection); see internal/pipeline.
	Observers []pipeline.Observer
	// Stderr receives the first-start announcement (default: the logger).
	Stderr io.Writer

	// authzCacheBytes and keyCacheBytes replace the first tiers' bounds
	// (AuthzCacheBytes, keyCacheBytes) when set: for tests that measure
	// more entities cached than those hold.
	authzCacheBytes, keyCacheBytes int
}

// New builds a server from cfg: opens the store, loads or creates the master
// key and the keyring, bootstraps an empty data directory, and wires the
// services. It starts background loops (key rotation, cache refresh) that
// stop on Close.
func New(ctx context.Context, cfg config.Config, opt Options) (*Server, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: opt.Logger, now: opt.Now, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	random := opt.Rand
	if random == nil {
		random = rand.Reader
	}
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	mk, err := loadMasterKey(cfg, s.log)
	if err != nil {
		return nil, err
	}
	if s.sealer, err = seal.New(mk, random); err != nil {
		return nil, err
	}
	if s.store, err = backends[cfg.Store].open(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			s.store.Close()
		}
	}()
	s.policies = policy.NewCache(PolicyCacheBytes)
	s.metrics = metrics.New()
	if timed, isSQL := s.store.(interface{ SetLatency(sqlstore.Latency) }); isSQL {
		timed.SetLatency(s.metrics.StoreOp)
	}
	// The authorizer gets the clock only when one is injected (tests):
	// without one it reads the system's for decisions, and its cache's TTL
	// the cache's coarse clock, where time.Now cost a clock read (some
	// 100 ns here) at every entry a request checks.
	s.authz = authz.New(authz.Config{Store: s.store, Policies: s.policies, Sealer: s.sealer, Now: opt.Now, CacheBytes: cmp.Or(opt.authzCacheBytes, AuthzCacheBytes), CompactBytes: AuthzCompactBytes,
		CompactDir: cfg.DataDir, CompactFileBytes: AuthzCompactFileBytes, CompactMapBytes: AuthzMapBytes,
		OnDeny: denied(s.metrics)})
	s.sessions, err = session.NewManager(ctx, session.Config{
		Keys: s.store, Sealer: s.sealer, Now: s.now, Rand: random, RotateEvery: cfg.KeyRotation,
		TokenVersion: cfg.SessionTokenVersion,
	})
	if err != nil {
		if errors.Is(err, seal.ErrOpen) {
			// The store's secrets were sealed under another master key (a
			// node started without the deployment's key, a copied store).
			return nil, fmt.Errorf("the master key does not open the secrets in the store: start every node of a deployment with the master key "+
				"its data was sealed with (OPENSTS_MASTER_KEY or --master-key-file; a generated one is DATA_DIR/master.key): load session keyring: %w", err)
		}
		return nil, fmt.Errorf("load session keyring: %w", err)
	}
	s.sigv4 = sigv4.NewVerifier(s.now)
	// MFA codes: replay protection and throttling in the store, shared by
	// every node.
	mfaChecker := mfa.NewChecker(mfa.CheckerConfig{Devices: s.store, Throttles: s.store, Sealer: s.sealer,
		OnFailure: s.metrics.MFAFailure, OnLockout: s.metrics.MFALockout})
	s.access = lastaccess.New(lastaccess.Config{Writer: s.store, Interval: LastAccessInterval, Population: s.store.Population})
	defer func() {
		if !ok {
			_ = s.access.Close(ctx)
		}
	}()
	s.registerAccessMetrics()
	s.iam = iam.New(iam.Config{Store: s.store, Authz: s.authz, Policies: s.policies, Sealer: s.sealer, Now: s.now, Rand: random,
		FlushUses: s.access.Flush, MFAReset: mfaChecker.Reset})
	webID := oidc.New(oidc.Config{Now: s.now, Timeout: cfg.OIDCTimeout, MinRefresh: cfg.OIDCMinRefresh, VerifiedCacheBytes: cfg.OIDCVerifiedCacheBytes,
		Observe: func(what string, took time.Duration, err error) {
			outcome := "ok"
			if err != nil {
				outcome = "error"
			}
			s.metrics.IdPRequest("oidc_"+what, outcome, took)
		}})
	var tokenIssuer sts.TokenIssuer
	if cfg.WebIdentityIssuer != "" {
		if s.issuer, err = issuer.New(ctx, issuer.Config{Keys: s.store, Sealer: s.sealer, URL: cfg.WebIdentityIssuer, Now: s.now, Rand: random,
			RotateEvery: cfg.KeyRotation, Logger: s.log}); err != nil {
			return nil, fmt.Errorf("load web identity issuer keys: %w", err)
		}
		tokenIssuer = s.issuer
	}
	s.sts = sts.New(sts.Config{Issuer: tokenIssuer, Chains: s.sealer, Revoked: s.tokenChainRevoked, Org: s.store, Keys: s.store, Authz: s.authz, Sessions: s.sessions, Policies: s.policies, Now: s.now, Rand: random, MFA: mfaChecker,
		SAML: sts.SAMLConfig{Store: s.store}, OIDC: s.authz, WebIdentity: webID, RoleUse: s.store, Region: cfg.Region,
		LDAP: sts.LDAPConfig{Store: s.store, Directory: &ldap.Directory{Observe: func(outcome string, took time.Duration) { s.metrics.IdPRequest("ldap", outcome, took) }}, Sealer: s.sealer, DefaultProvider: cfg.LDAPDefaultProvider,
			Users:     throttle.New(s.store, "ldap-user", LDAPUserThrottle),
			Addresses: throttle.New(s.store, "ldap-address", LDAPAddressThrottle)}})
	s.keys = newKeyCache(s.iam, s.authz, s.now, cfg.DataDir, cmp.Or(opt.keyCacheBytes, keyCacheBytes))
	s.metrics.MustRegister(newKeyAges(s), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "opensts_cache_mapped_bytes",
		Help: "About what the caches' tiers read through mappings of their files may hold resident (serve's soft memory limit gives way for it).",
	}, func() float64 { return float64(s.MappedBytes()) }))
	// The one place where changes reach the caches (feed.go).
	s.feed = newFeed(s.store, s.log, s.now, cfg.RefreshInterval, s.metrics.Registry())
	// The revocation set: loaded before the first request, reloaded on
	// every change (revocations.run).
	s.revs = newRevocations(s.store, s.now, s.metrics.Registry())
	s.revoke = &revoke.Service{Store: s.store, Authz: s.authz, Now: s.now, Applied: func(ctx context.Context) {
		if err := s.revs.reload(ctx); err != nil {
			s.log.Error("apply a revocation", "error", err)
			s.revs.signal()
		}
	}}
	s.feed.forget = []func(store.Change){
		// The authorizer first: a key loaded after it forgot a user reads
		// the user again through it (keyCache.users), and one loaded before
		// is not cached once the key cache forgets.
		s.authz.Forget,
		s.keys.forget,
		func(ch store.Change) {
			if ch.Kind == store.ChangeRevocation {
				s.revs.signal()
			}
		},
	}
	// A node that fell behind the feed may have missed revocations too.
	s.feed.reload = []func(){s.authz.Invalidate, s.keys.cache.Clear, s.revs.signal}
	s.feed.keyring = s.sessions.Refresh
	if err := s.feed.start(ctx); err != nil {
		return nil, fmt.Errorf("start change feed: %w", err)
	}
	// Loaded once the feed is positioned: a revocation another node makes
	// in between is then in the set or after the feed's position, never
	// skipped until the minute's reload.
	if err := s.revs.reload(ctx); err != nil {
		return nil, fmt.Errorf("load the revocation set: %w", err)
	}
	s.org = org.New(org.Config{Store: s.store, Authz: s.authz, Policies: s.policies, Now: s.now, Rand: random})
	var recorders []pipeline.Recorder
	jsonAPIs := []*pipeline.API{{Name: "organizations", Protocol: pipeline.JSON, Prefix: awsjson.OrganizationsPrefix, Routes: orgRoutes(s.org), AWSAuthErrors: true}}
	lookup := &audit.Service{Authz: s.authz}
	if cfg.Audit {
		// The trail opens once the account is known (after bootstrap);
		// no request is served before.
		recorders = append(recorders, pipeline.RecorderFunc(func(ctx context.Context, x *pipeline.Exchange) error { return s.trail.Record(ctx, x) }))
		ct := cloudtrailRoutes(lookup)
		jsonAPIs = append(jsonAPIs, &pipeline.API{Name: "cloudtrail", Protocol: pipeline.JSON, Prefix: CloudTrailPrefix, Routes: ct, AWSAuthErrors: true},
			&pipeline.API{Name: "cloudtrail", Protocol: pipeline.JSON, Prefix: CloudTrailShortPrefix, Routes: ct, AWSAuthErrors: true})
	}
	jsonAPIs = append(jsonAPIs, &pipeline.API{Name: revoke.ServiceName, Protocol: pipeline.JSON, Prefix: revoke.Prefix, Routes: revokeRoutes(s.revoke)})
	observers := append(opt.Observers[:len(opt.Observers):len(opt.Observers)], pipeline.ObserverFunc(s.quarantineObserver))
	if cfg.Detect {
		if err := s.startDetect(cfg); err != nil {
			return nil, err
		}
		observers = append(observers, pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) { s.detect.Observe(detectEvent(x)) }))
	}
	s.authn = authn.New(authn.Config{Keys: s.keys, Sessions: s.sessions, SigV4: s.sigv4, Region: cfg.Region, Touch: s.store, Revoked: s.revs.set.Revoked})
	jsonAPIs = append(jsonAPIs, s.authorizeAPI())
	s.pipeline = pipeline.New(pipeline.Config{
		Query: map[string]*pipeline.API{
			"sts": {Name: "sts", Protocol: pipeline.Query, Namespace: awsquery.STSNamespace, Version: awsquery.STSVersion, Routes: stsRoutes(s.sts)},
			"iam": {Name: "iam", Protocol: pipeline.Query, Namespace: awsquery.IAMNamespace, Version: awsquery.IAMVersion, Routes: iamRoutes(s.iam)},
		},
		DefaultQuery: "sts",
		JSON:         jsonAPIs,
		Authn:        s.authn,
		Resolve:      s.authz.Resolve,
		SigV4:        s.sigv4,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Now:          s.now,
		Log:          s.log,
		Recorders:    recorders,
		Observers:    append([]pipeline.Observer{observeMetrics(s.metrics), observeAccess(s.access, cfg.Region)}, observers...),
	})

	stderr := opt.Stderr
	if s.Bootstrap, err = bootstrap(ctx, s, random, stderr); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if cfg.Audit {
		if s.sinks, err = openSinks(ctx, cfg, mk, s.log); err != nil {
			return nil, err
		}
		if s.trail, err = openTrail(cfg, mk, s.Bootstrap.AccountID, s.now, s.log, s.sinks.sink(), s.store); err != nil {
			s.sinks.close()
			return nil, err
		}
		lookup.Trail = s.trail
		if s.sinks.database != nil {
			lookup.Events = s.sinks.database
		}
		s.registerSinkMetrics()
		s.metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "opensts_audit_dropped_events_total",
			Help: "Audit events lost because the writer's queue was full or a write failed (not in strict mode).",
		}, func() float64 { return float64(s.trail.Dropped()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "opensts_audit_backlog_events",
			Help: "Audit events queued for the trail's writer.",
		}, func() float64 { return float64(s.trail.Backlog()) }))
	}

	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	var loops sync.WaitGroup
	loops.Go(func() { s.feed.run(loopCtx) })
	loops.Go(func() { s.sessions.Run(loopCtx, cfg.RefreshInterval) })
	if s.issuer != nil {
		loops.Go(func() { s.issuer.Run(loopCtx, time.Minute) })
	}
	if s.detect != nil {
		loops.Go(func() { s.detect.Run(loopCtx) })
	}
	loops.Go(func() { s.revs.run(loopCtx, func(msg string, err error) { s.log.Warn(msg, "error", err) }) })
	go func() {
		// Close waits for every loop before it closes the store.
		loops.Wait()
		close(s.done)
	}()
	ok = true
	s.ready.Store(true)
	return s, nil
}

// Close stops background work and closes the store.
func (s *Server) Close() error {
	s.ready.Store(false)
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	if s.trail != nil {
		s.trail.Close()
		s.sinks.close()
	}
	if err := s.access.Close(context.Background()); err != nil {
		s.log.Warn("write service last accessed data", "error", err)
	}
	return s.store.Close()
}

// Serve serves HTTP (or HTTPS with --tls-cert/--tls-key) on ln until ctx ends,
// then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// OPTIONS * goes to the pipeline (answered and audited), not to
		// net/http's own answer.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	return serveUntil(ctx, hs, ln, 10*time.Second)
}

// serveUntil serves ln until ctx ends, then shuts hs down gracefully,
// waiting at most grace for requests in flight.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		err := hs.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}

// APIs are the APIs the listener serves, with their routes.
func (s *Server) APIs() []*pipeline.API { return s.pipeline.APIs() }

// Trail is the audit trail, nil when auditing is off.
func (s *Server) Trail() *audit.Trail { return s.trail }

// Metrics is the server's metrics registry: subsystems wired in later (the
// revocation set, audit sinks) add their collectors with Register.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Sessions exposes the keyring manager (for `opensts keys`).
func (s *Server) Sessions() *session.Manager { return s.sessions }

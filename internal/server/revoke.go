package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/revoke"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// QuarantinePolicyARN is the AWS managed deny-all policy whose attachment
// to a user quarantines its keys: the policy denies the user everything,
// and the attachment revokes every session started from the user's keys.
const QuarantinePolicyARN = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"

// revocations keeps the node's copy of the revocation set: reloaded from
// the store when this node changes it (before the change is answered), when
// the change feed shows another node's change (within the feed's interval),
// and every minute (expired entries leave).
type revocations struct {
	set   session.Revocations
	store store.Store
	now   func() time.Time
	due   chan struct{}

	// reloading serializes reloads, from the read of the store to the
	// swap: two running at once (the run loop's and a revoking request's,
	// or two requests') could install the older read last, and a
	// revocation already applied and answered would be lost until the
	// next reload.
	reloading sync.Mutex

	mu     sync.Mutex
	known  map[string]bool // entry ids seen, for the propagation lag
	loaded bool

	entries prometheus.GaugeFunc
	lag     prometheus.Histogram
}

func newRevocations(st store.Store, now func() time.Time, reg *prometheus.Registry) *revocations {
	r := &revocations{store: st, now: now, due: make(chan struct{}, 1), known: map[string]bool{}}
	r.entries = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_revocation_entries",
		Help: "Entries in this node's revocation set."}, func() float64 { return float64(r.set.Len()) })
	r.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "opensts_revocation_propagation_seconds",
		Help:    "Time from a revocation being made (on any node) to this node applying it.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10}})
	reg.MustRegister(r.entries, r.lag)
	return r
}

// reload reads the active entries and swaps the set.
func (r *revocations) reload(ctx context.Context) error {
	r.reloading.Lock()
	defer r.reloading.Unlock()
	now := r.now()
	rs, err := r.store.ListRevocations(ctx, "", now)
	if err != nil {
		return err
	}
	entries := make([]session.Revocation, len(rs))
	r.mu.Lock()
	seen := make(map[string]bool, len(rs))
	for i, x := range rs {
		entries[i] = session.Revocation{ID: x.ID, Account: x.Account, Kind: x.Kind, Target: x.Target, RoleID: x.RoleID,
			OriginKeys: x.OriginKeys, IssuedBefore: x.IssuedBefore, ExpiresAt: x.ExpiresAt}
		if r.loaded && !r.known[x.ID] {
			r.lag.Observe(max(0, now.Sub(x.CreatedAt).Seconds()))
		}
		seen[x.ID] = true
	}
	r.known, r.loaded = seen, true
	r.mu.Unlock()
	r.set.Replace(entries)
	return nil
}

// signal asks run to reload (a change from another node).
func (r *revocations) signal() {
	select {
	case r.due <- struct{}{}:
	default:
	}
}

// run reloads on signals and every minute until ctx ends; it prunes
// entries that expired an hour ago.
func (r *revocations) run(ctx context.Context, log func(string, error)) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.due:
		case <-t.C:
			if _, err := r.store.PruneRevocations(ctx, r.now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
				log("prune revocations", err)
			}
		}
		if err := r.reload(ctx); err != nil && ctx.Err() == nil {
			log("reload revocations", err)
		}
	}
}

func revokeRoutes(s *revoke.Service) map[string]jsonHandler {
	return map[string]jsonHandler{
		"RevokeSessions":   bindJSON(s.RevokeSessions),
		"ListRevocations":  bindJSON(s.ListRevocations),
		"DeleteRevocation": bindJSON(s.DeleteRevocation),
	}
}

// The AttachUserPolicy parameters quarantineObserver reads.
var (
	quarantinePolicyARNAt = pipeline.StringAt("policyArn")
	quarantineUserNameAt  = pipeline.StringAt("userName")
)

// quarantineObserver revokes every session started from a user's keys once
// the quarantine policy is attached to it.
func (s *Server) quarantineObserver(ctx context.Context, x *pipeline.Exchange) {
	if x.Err != nil || x.Action != "AttachUserPolicy" || x.API == nil || x.API.Name != "iam" || x.Caller == nil {
		return
	}
	policyARN := quarantinePolicyARNAt.Of(x.Input)
	if !strings.EqualFold(policyARN, QuarantinePolicyARN) {
		return
	}
	user := quarantineUserNameAt.Of(x.Input)
	if err := s.quarantineUser(context.WithoutCancel(ctx), x.Caller.Account, user, x.Caller.ARN, "AWSCompromisedKeyQuarantine attached"); err != nil {
		s.log.Error("quarantine: revoke the user's sessions", "user", user, "error", err)
	}
}

// quarantineUser revokes every session started from the user's keys.
func (s *Server) quarantineUser(ctx context.Context, account, user, by, reason string) error {
	u, err := s.store.GetUser(ctx, account, user)
	if err != nil {
		return err
	}
	keys, err := s.store.ListAccessKeys(ctx, account, u.Name)
	if err != nil {
		return err
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	_, err = s.revoke.Create(ctx, store.Revocation{Account: account, Kind: session.RevokePrincipal, Target: arn.User(account, u.Path, u.Name),
		OriginKeys: ids, CreatedBy: by, Reason: reason})
	return err
}

// responder carries out detection responses with the revocation set and
// IAM's store, as opensts itself; each is recorded in its alert (an audit
// event) with its outcome.
type responder struct{ s *Server }

const responderName = "opensts-detect"

func (r responder) Respond(ctx context.Context, a *detect.Alert) error {
	s := r.s
	if a.Account == "" && a.Response != detect.AlertOnly {
		// The request was not authenticated: its access key id is only
		// what it claims (a key id is no secret), and acting on it would
		// let anyone deactivate or quarantine anyone's key.
		return errUnauthenticated
	}
	reason := "alert " + a.Rule + ": " + a.Detail
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	temporary := strings.HasPrefix(a.AccessKeyID, "ASIA")
	// A role or federated session's ARN ends in a name its caller chose,
	// which another's session may share: its principal is revoked by its
	// own key (and what it chained into), never by that ARN.
	sessionARN := temporary && strings.HasPrefix(a.PrincipalARN, "arn:aws:sts::")
	switch {
	case a.Response == detect.RevokePrincipal && a.PrincipalARN != "" && !sessionARN:
		kind := session.RevokePrincipal
		target := a.PrincipalARN
		var origins []string
		if pa, err := arn.Parse(target); err == nil && pa.Service == "iam" && strings.HasPrefix(pa.Resource, "user/") {
			name := pa.Resource[strings.LastIndexByte(pa.Resource, '/')+1:]
			if keys, err := s.store.ListAccessKeys(ctx, a.Account, name); err == nil {
				for _, k := range keys {
					origins = append(origins, k.ID)
				}
			}
		}
		_, err := s.revoke.Create(ctx, store.Revocation{Account: a.Account, Kind: kind, Target: target, OriginKeys: origins, CreatedBy: responderName, Reason: reason})
		return err
	case temporary && (a.Response == detect.RevokeSession || a.Response == detect.RevokePrincipal || a.Response == detect.QuarantineKey || a.Response == detect.DeactivateKey):
		_, err := s.revoke.Create(ctx, store.Revocation{Account: a.Account, Kind: session.RevokeSession, Target: a.AccessKeyID, CreatedBy: responderName, Reason: reason})
		return err
	case a.Response == detect.QuarantineKey || a.Response == detect.DeactivateKey:
		k, err := s.store.GetAccessKey(ctx, a.AccessKeyID)
		if err != nil {
			return err
		}
		if a.Response == detect.DeactivateKey {
			if k.Status != "Inactive" {
				k.Status = "Inactive"
				if err := s.store.UpdateAccessKey(ctx, k); err != nil {
					return err
				}
			}
			_, err = s.revoke.Create(ctx, store.Revocation{Account: k.Account, Kind: session.RevokePrincipal, Target: a.PrincipalARN,
				OriginKeys: []string{k.ID}, CreatedBy: responderName, Reason: reason})
			return err
		}
		if k.UserName == "" {
			return errRootQuarantine
		}
		if err := s.store.AttachPolicy(ctx, store.Attachment{Account: k.Account, Kind: store.KindUser, Owner: k.UserName, PolicyARN: QuarantinePolicyARN}); err != nil {
			return err
		}
		return s.quarantineUser(ctx, k.Account, k.UserName, responderName, reason)
	case a.Response == detect.RevokeSession:
		return errNoSession
	}
	return nil
}

type responseError string

func (e responseError) Error() string { return string(e) }

const (
	errRootQuarantine  = responseError("the root's key cannot be quarantined with a policy; deactivate it")
	errNoSession       = responseError("the alert names no session to revoke")
	errUnauthenticated = responseError("the request was not authenticated: its access key id is only a claim, and nothing is done to it")
)

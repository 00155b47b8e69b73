package server

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/metrics"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/sts"
)

// observeMetrics is the pipeline Observer that counts every answered
// request and every issued session. Labels are bounded: the service and
// action only when the pipeline routed them, the error code from the
// apierr table, accounts and roles through metrics.SessionIssued.
func observeMetrics(m *metrics.Metrics) pipeline.Observer {
	return pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) {
		service, action := metrics.Other, metrics.Other
		if x.API != nil {
			service = x.API.Name
			if _, ok := x.API.Routes[x.Action]; ok {
				action = x.Action
			}
		}
		code := ""
		if x.Err != nil {
			code = apierr.InternalFailure.Name
			if e, ok := apierr.As(x.Err); ok {
				code = e.Code.Name
			}
		}
		m.Request(service, action, code, time.Since(x.Time))
		if x.Err == nil && x.Output != nil {
			issued(m, x)
		}
	})
}

// issued counts the session a successful STS call minted, by the account
// and role of its ARN (never the session name).
func issued(m *metrics.Metrics, x *pipeline.Exchange) {
	switch out := x.Output.(type) {
	case *sts.AssumeRoleOutput:
		sessionOf(m, "assume_role", out.AssumedRoleUser)
	case *sts.AssumeRoleWithWebIdentityOutput:
		sessionOf(m, "web_identity", out.AssumedRoleUser)
	case *sts.AssumeRoleWithSAMLOutput:
		sessionOf(m, "saml", out.AssumedRoleUser)
	case *sts.AssumeRoleWithLDAPIdentityOutput:
		sessionOf(m, "ldap", out.AssumedRoleUser)
	case *sts.GetSessionTokenOutput:
		if x.Caller != nil {
			m.SessionIssued("session_token", x.Caller.Account, "")
		}
	case *sts.GetFederationTokenOutput:
		if x.Caller != nil {
			m.SessionIssued("federation_token", x.Caller.Account, "")
		}
	}
}

// sessionOf counts an assumed-role session from its ARN,
// arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION.
func sessionOf(m *metrics.Metrics, kind string, u *sts.AssumedRoleUser) {
	if u == nil {
		return
	}
	rest := u.ARN
	for range 4 { // arn, partition, service, region
		_, after, ok := strings.Cut(rest, ":")
		if !ok {
			return
		}
		rest = after
	}
	account, resource, ok := strings.Cut(rest, ":")
	if !ok {
		return
	}
	role, _, _ := strings.Cut(strings.TrimPrefix(resource, "assumed-role/"), "/")
	m.SessionIssued(kind, account, role)
}

// keyAges exports each loaded signing key's age, by key id (a keyring holds
// a handful; pruned keys leave) and state (signing, verify, revoked).
type keyAges struct {
	s    *Server
	desc *prometheus.Desc
}

func newKeyAges(s *Server) *keyAges {
	return &keyAges{s: s, desc: prometheus.NewDesc("opensts_signing_key_age_seconds",
		"Age of each loaded session signing key, by key id and state (signing: the key that signs now; verify: still verifies; revoked).",
		[]string{"key_id", "state"}, nil)}
}

func (k *keyAges) Describe(ch chan<- *prometheus.Desc) { ch <- k.desc }

func (k *keyAges) Collect(ch chan<- prometheus.Metric) {
	now := k.s.now()
	for _, key := range k.s.sessions.Keys() {
		state := "verify"
		switch {
		case key.Revoked:
			state = "revoked"
		case key.Signing:
			state = "signing"
		}
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.GaugeValue, now.Sub(key.CreatedAt).Seconds(), key.ID, state)
	}
}

// policyKinds names the policy kinds of denials.
var policyKinds = map[policy.Kind]string{
	policy.Identity: "identity", policy.Boundary: "permissions_boundary", policy.Session: "session_policy",
	policy.SCP: "scp", policy.Resource: "resource_policy", policy.Trust: "trust_policy", policy.RCP: "rcp",
}

// denied is authz's OnDeny hook: it counts a denial by the kind that
// denied or failed to allow.
func denied(m *metrics.Metrics) func(d *policy.Decision) {
	return func(d *policy.Decision) {
		kind, ok := policyKinds[d.DeniedBy]
		if !ok {
			kind = "none"
		}
		effect := "implicit"
		if d.Effect == policy.ExplicitDeny {
			effect = "explicit"
		}
		m.Denied(kind, effect)
	}
}

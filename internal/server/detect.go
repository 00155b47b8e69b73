package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// The input parameters detection reads (see detectEvent).
var (
	detectRoleARNAt      = pipeline.StringAt("roleArn")
	detectLDAPUsernameAt = pipeline.StringAt("ldapUsername")
	detectAssumedRoleAt  = pipeline.StringAt("assumedRoleUser", "arn")
	// detectParamAt reads each of detect.ParamNames (setAsDefault is a
	// *bool: BoolAt reads it as "true").
	detectParamAt = func() (at []*pipeline.StringPath) {
		for _, k := range detect.ParamNames {
			at = append(at, pipeline.BoolAt(k))
		}
		return at
	}()
)

// maxClaimedKeyID bounds the access key id an unauthenticated request's
// detection event carries: AWS's longest.
const maxClaimedKeyID = 128

// detectEvent turns an answered request into the event the rules read:
// the same fields its audit record carries.
func detectEvent(x *pipeline.Exchange) detect.Event {
	ev := detect.Event{Time: x.Time, ID: x.EventID, Name: x.Action, SourceIP: x.HTTP.RemoteAddr, UserAgent: x.HTTP.UserAgent()}
	if ev.ID == "" {
		ev.ID = x.RequestID
	}
	if h, _, ok := strings.Cut(ev.SourceIP, ":"); ok && !strings.Contains(h, "[") && strings.Count(ev.SourceIP, ":") == 1 {
		ev.SourceIP = h
	} else if i := strings.LastIndex(ev.SourceIP, "]:"); strings.HasPrefix(ev.SourceIP, "[") && i > 0 {
		ev.SourceIP = ev.SourceIP[1:i]
	}
	routed := false
	if x.API != nil {
		ev.Source = x.API.EventSource()
		_, routed = x.API.Routes[x.Action]
	}
	if !routed {
		// No operation of the API's: the name is only what the request
		// said, and rules that count an operation's failures must not
		// count it ("AssumeRoleX", unsigned, counted as failed AssumeRole
		// calls; found by a review as an attacker).
		ev.Name = ""
	}
	if x.Err != nil {
		if e, ok := apierr.As(x.Err); ok {
			ev.ErrorCode, ev.ErrorMessage = e.Code.Name, e.Message
		} else {
			ev.ErrorCode = "InternalFailure"
		}
		ev.RealCredential = authn.RealCredential(x.Err)
	}
	if c := x.Caller; c != nil {
		ev.Account, ev.ARN, ev.AccessKeyID, ev.PrincipalID = c.Account, c.ARN, c.AccessKeyID, c.UserID
		switch c.Type {
		case policy.Root:
			ev.Type = "Root"
		case policy.User:
			ev.Type, ev.UserName = "IAMUser", c.UserName
		case policy.AssumedRole:
			ev.Type = "AssumedRole"
		case policy.FederatedUser:
			ev.Type = "FederatedUser"
		default:
			ev.Type = "Unknown"
		}
		if s := c.Session; authz.RoleSession(s) {
			ev.IssuerARN = arn.Role(s.Account, s.RolePath, s.RoleName)
		}
	} else {
		ev.Type = "Unknown"
		if x.SigV4 != nil {
			// The id an unauthenticated request claims, of any length: cut
			// to the longest an access key id is (128), as the request's
			// own audit record cuts it; whole, it went into the alert's
			// record and log line (40 KB of the caller's text; attack
			// review).
			ev.AccessKeyID = x.SigV4.AccessKeyID
			if len(ev.AccessKeyID) > maxClaimedKeyID {
				ev.AccessKeyID = strings.ToValidUTF8(ev.AccessKeyID[:maxClaimedKeyID], "")
			}
		}
	}
	if x.Input != nil {
		switch {
		case strings.HasPrefix(x.Action, "AssumeRole"):
			ev.Params.RoleArn = detectRoleARNAt.Of(x.Input)
			if x.Err == nil && x.Output != nil {
				ev.AssumedRoleARN = detectAssumedRoleAt.Of(x.Output)
			}
			if x.Action == "AssumeRoleWithLDAPIdentity" {
				ev.Params.LDAPUsername = detectLDAPUsernameAt.Of(x.Input)
			}
		case ev.Source == "iam.amazonaws.com" && !readOnlyAction(x.Action):
			for i, k := range detect.ParamNames {
				ev.Params.Set(k, detectParamAt[i].Of(x.Input))
			}
		}
	}
	return ev
}

func readOnlyAction(a string) bool {
	return strings.HasPrefix(a, "Get") || strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Simulate")
}

// startDetect builds the detection engine from cfg (the built-in rules,
// or --alert-rules) and its metrics.
func (s *Server) startDetect(cfg config.Config) error {
	rules := detect.Config{}
	if cfg.AlertRules != "" {
		var err error
		if rules, err = detect.LoadConfig(cfg.AlertRules); err != nil {
			return err
		}
	}
	s.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opensts_alerts_total", Help: "Detection alerts raised, by rule.",
	}, []string{"rule"})
	e, err := detect.New(detect.Options{Config: rules, Now: s.now, Directory: detectDirectory{s.store}, Emit: s.emitAlert,
		Shared: detectShared{s.store}, Population: s.store.Population, TierBytes: DetectTierBytes, TierDir: s.cfg.DataDir, TierFileBytes: DetectTierFileBytes, Baselines: DetectBaselines, Responder: responder{s}, Log: func(msg string, err error) { s.log.Warn(msg, "error", err) }})
	if err != nil {
		return err
	}
	s.detect = e
	s.metrics.MustRegister(s.alerts,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "opensts_detect_events_total", Help: "Audit events the detection rules evaluated."},
			func() float64 { p, _, _ := e.Stats(); return float64(p) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "opensts_detect_dropped_events_total", Help: "Events the detection rules never saw (their queue was full)."},
			func() float64 { _, d, _ := e.Stats(); return float64(d) }))
	return nil
}

// emitAlert records an alert: an audit event (eventType OpenSTSAlert), a
// metric and a log line.
func (s *Server) emitAlert(a detect.Alert) {
	s.alerts.WithLabelValues(a.Rule).Inc()
	s.log.Warn("alert", "rule", a.Rule, "severity", a.Severity, "principal", a.PrincipalARN, "accessKeyId", a.AccessKeyID,
		"sourceIp", a.SourceIP, "detail", a.Detail, "response", string(a.Response), "outcome", a.Outcome)
	if s.trail != nil {
		s.trail.RecordAlert(alertRecord(a))
	}
	if w := s.sinks.webhook; w != nil {
		// A body of its own with a Slack-compatible text (the record also
		// reaches the webhook with the trail's batches).
		rec := audit.BuildAlert(audit.BuildConfig{Region: s.cfg.Region, Account: s.Bootstrap.AccountID, NewID: audit.NewUUID}, alertRecord(a))
		if line, err := json.Marshal(rec); err == nil {
			text := "OpenSTS alert [" + a.Severity + "] " + a.Rule + ": " + a.Detail
			if a.PrincipalARN != "" {
				text += " — " + a.PrincipalARN
			}
			if a.SourceIP != "" {
				text += " from " + a.SourceIP
			}
			if a.Outcome != "" {
				text += " (" + string(a.Response) + ": " + a.Outcome + ")"
			}
			w.Alert(text, line)
		}
	}
}

// alertRecord is an alert as the trail records it.
func alertRecord(a detect.Alert) audit.AlertRecord {
	return audit.AlertRecord{Time: a.Time, Rule: a.Rule, Severity: a.Severity, Summary: a.Summary, Detail: a.Detail,
		Account: a.Account, PrincipalARN: a.PrincipalARN, AccessKeyID: a.AccessKeyID, SourceIP: a.SourceIP,
		EventIDs: a.EventIDs, Response: string(a.Response), Mode: string(a.Mode), Outcome: a.Outcome}
}

// detectShared keeps the engine's shared state in the store: alert claims
// under the SHA-256 of their key, and baselines.
type detectShared struct{ store store.Store }

func (d detectShared) Claim(ctx context.Context, key string, until, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	err := d.store.ClaimAlert(ctx, h[:], until, now)
	if store.IsExists(err) {
		return false, nil
	}
	return err == nil, err
}

func (d detectShared) GetBaselines(ctx context.Context, subjects []string) (map[string][]byte, error) {
	return d.store.GetBaselines(ctx, subjects)
}

func (d detectShared) MergeBaselines(ctx context.Context, subjects []string, now time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	return d.store.MergeBaselines(ctx, subjects, now, merge)
}

// Prune deletes the claims that ended (detect.Engine.Flush calls it).
func (d detectShared) Prune(ctx context.Context, now time.Time) error {
	_, err := d.store.PruneAlertClaims(ctx, now)
	return err
}

// detectDirectory answers the escalation rule's questions from the store.
type detectDirectory struct{ store store.Store }

func (d detectDirectory) InGroup(ctx context.Context, account, user, group string) bool {
	gs, err := d.store.ListGroupsForUser(ctx, account, user)
	if err != nil {
		return false
	}
	for _, g := range gs {
		if strings.EqualFold(g.Name, group) {
			return true
		}
	}
	return false
}

// CanAssume is true when the role's trust policy names the principal (by
// ARN or unique id), its account, or everyone.
func (d detectDirectory) CanAssume(ctx context.Context, principalARN, principalID, account, role string) bool {
	r, err := d.store.GetRole(ctx, account, role)
	if err != nil {
		return false
	}
	acct := ""
	if a, err := arn.Parse(principalARN); err == nil {
		acct = a.Account
	}
	doc := r.TrustPolicy
	for _, s := range []string{principalARN, principalID, arn.Root(acct), `"` + acct + `"`, `"*"`} {
		if s != "" && s != `""` && strings.Contains(doc, s) {
			return true
		}
	}
	return false
}

func (d detectDirectory) GrantsAll(ctx context.Context, policyARN string) bool {
	p, err := d.store.GetManagedPolicy(ctx, policyARN)
	if err != nil {
		return false
	}
	v, err := d.store.GetPolicyVersion(ctx, policyARN, p.DefaultVersionID)
	account := "" // an AWS managed policy names no account
	if a, perr := arn.Parse(policyARN); perr == nil && a.Account != "aws" {
		account = a.Account
	}
	return err == nil && detect.GrantsAll(v.Document, account)
}

// AttachedToPrincipal looks at a user's and its groups' attachments, or a
// role session's role's.
func (d detectDirectory) AttachedToPrincipal(ctx context.Context, principalARN, policyARN string) bool {
	a, err := arn.Parse(principalARN)
	if err != nil {
		return false
	}
	var owners []store.Attachment
	kind, rest, _ := strings.Cut(a.Resource, "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	switch kind {
	case "user":
		owners = append(owners, store.Attachment{Kind: store.KindUser, Owner: name})
		if gs, err := d.store.ListGroupsForUser(ctx, a.Account, name); err == nil {
			for _, g := range gs {
				owners = append(owners, store.Attachment{Kind: store.KindGroup, Owner: g.Name})
			}
		}
	case "assumed-role":
		role, _, _ := strings.Cut(rest, "/")
		owners = append(owners, store.Attachment{Kind: store.KindRole, Owner: role})
	default:
		return false
	}
	for _, o := range owners {
		as, err := d.store.ListAttachments(ctx, a.Account, o.Kind, o.Owner)
		if err != nil {
			continue
		}
		for _, at := range as {
			if strings.EqualFold(at.PolicyARN, policyARN) {
				return true
			}
		}
	}
	return false
}

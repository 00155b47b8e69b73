// Package revoke is the revocation API: OpenSTS's own AWS JSON 1.1 service
// (X-Amz-Target OpenSTSRevocation_20261204.ACTION, SigV4 service opensts)
// that puts entries in the revocation set (session.Revocations), lists and
// deletes them. Callers act on their own account only, and need the
// opensts:RevokeSessions, opensts:ListRevocations and
// opensts:DeleteRevocation actions.
package revoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// Prefix is the X-Amz-Target prefix of the API; ServiceName its SigV4
// service name.
const (
	Prefix      = "OpenSTSRevocation_20261204"
	ServiceName = "opensts"
)

// MaxEntriesPerAccount bounds an account's active entries made through the
// API (an entry stays active up to 36 hours; a role, principal or account
// entry covers any number of sessions).
const MaxEntriesPerAccount = 1000

// Store is what the service reads and writes.
type Store interface {
	store.Revocations
	GetUser(ctx context.Context, account, name string) (store.User, error)
	GetRole(ctx context.Context, account, name string) (store.Role, error)
	ListAccessKeys(ctx context.Context, account, user string) ([]store.AccessKey, error)
}

// Service serves the API.
type Service struct {
	Store Store
	Authz *authz.Authorizer
	Now   func() time.Time
	// Applied is called after each change, so the node that made it
	// applies it before it answers (other nodes learn it from the feed).
	Applied func(ctx context.Context)
}

// Revocation is an entry as the API shows it. Times are epoch seconds, as
// AWS JSON protocols write timestamps.
type Revocation struct {
	ID           string  `json:"Id"`
	Kind         string  `json:"Kind"`
	Target       string  `json:"Target"`
	IssuedBefore float64 `json:"IssuedBefore"`
	CreatedAt    float64 `json:"CreatedAt"`
	ExpiresAt    float64 `json:"ExpiresAt"`
	CreatedBy    string  `json:"CreatedBy"`
	Reason       string  `json:"Reason,omitempty"`
}

func show(r store.Revocation) Revocation {
	return Revocation{ID: r.ID, Kind: r.Kind, Target: r.Target, IssuedBefore: epoch(r.IssuedBefore), CreatedAt: epoch(r.CreatedAt),
		ExpiresAt: epoch(r.ExpiresAt), CreatedBy: r.CreatedBy, Reason: r.Reason}
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// RevokeSessionsInput names what to revoke: exactly one of AccessKeyId,
// PrincipalArn, RoleArn and AccountId. IssuedBefore (RoleArn, AccountId)
// defaults to now.
type RevokeSessionsInput struct {
	AccessKeyID  string   `json:"AccessKeyId"`
	PrincipalArn string   `json:"PrincipalArn"`
	RoleArn      string   `json:"RoleArn"`
	AccountID    string   `json:"AccountId"`
	IssuedBefore *float64 `json:"IssuedBefore"`
	Reason       string   `json:"Reason"`
}

// RevokeSessionsOutput is the entry made.
type RevokeSessionsOutput struct {
	Revocation Revocation `json:"Revocation"`
}

// ListRevocationsInput has no parameters.
type ListRevocationsInput struct{}

// ListRevocationsOutput lists the account's active entries, oldest first.
type ListRevocationsOutput struct {
	Revocations []Revocation `json:"Revocations"`
}

// DeleteRevocationInput names an entry.
type DeleteRevocationInput struct {
	ID string `json:"Id"`
}

// DeleteRevocationOutput is empty.
type DeleteRevocationOutput struct{}

var (
	sessionKeyRE = regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	idRE         = regexp.MustCompile(`^rev-[0-9a-f]{16}$`)
)

func invalid(format string, args ...any) error {
	return apierr.New(apierr.ValidationException, format, args...)
}

// authorize checks action on resource for c, answering a denial the AWS
// JSON way (AccessDeniedException).
func (s *Service) authorize(ctx context.Context, c *authz.Caller, action, resource string) error {
	if err := s.Authz.Check(ctx, c, action, resource); err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
			return apierr.New(apierr.JSONAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, resource)
		}
		return apierr.OrInternal(err, "authorize "+action)
	}
	return nil
}

// RevokeSessions adds an entry to the revocation set.
func (s *Service) RevokeSessions(ctx context.Context, c *authz.Caller, in *RevokeSessionsInput) (*RevokeSessionsOutput, error) {
	now := s.Now()
	r := store.Revocation{Account: c.Account, IssuedBefore: now, CreatedAt: now, CreatedBy: c.ARN, Reason: in.Reason}
	given := 0
	for _, v := range []string{in.AccessKeyID, in.PrincipalArn, in.RoleArn, in.AccountID} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return nil, invalid("Exactly one of AccessKeyId, PrincipalArn, RoleArn and AccountId is required.")
	}
	if len(in.Reason) > 1024 {
		return nil, invalid("Reason is longer than 1024 characters.")
	}
	if in.IssuedBefore != nil {
		if in.RoleArn == "" && in.AccountID == "" {
			return nil, invalid("IssuedBefore applies to RoleArn and AccountId only.")
		}
		f := *in.IssuedBefore
		if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > float64(now.Unix()+1) {
			return nil, invalid("IssuedBefore must be a time in the past.")
		}
		r.IssuedBefore = time.UnixMilli(int64(f * 1000)).UTC()
	}
	resource := "*"
	switch {
	case in.AccessKeyID != "":
		if !sessionKeyRE.MatchString(in.AccessKeyID) {
			return nil, invalid("AccessKeyId must be the access key id of temporary credentials (ASIA...); deactivate a long-term key with iam update-access-key, or quarantine it.")
		}
		r.Kind, r.Target = session.RevokeSession, in.AccessKeyID
	case in.AccountID != "":
		if !accountRE.MatchString(in.AccountID) {
			return nil, invalid("AccountId must be 12 digits.")
		}
		if in.AccountID != c.Account {
			return nil, invalid("AccountId must be the caller's account.")
		}
		r.Kind, r.Target = session.RevokeAccount, in.AccountID
	case in.RoleArn != "":
		a, err := arn.Parse(in.RoleArn)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") || len(in.RoleArn) > 2048 {
			return nil, invalid("RoleArn is not a role ARN.")
		}
		if a.Account != c.Account {
			return nil, invalid("RoleArn must name a role of the caller's account.")
		}
		resource = in.RoleArn
		if err := s.authorize(ctx, c, "opensts:RevokeSessions", resource); err != nil {
			return nil, err
		}
		name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
		role, err := s.Store.GetRole(ctx, a.Account, name)
		if store.IsNotFound(err) || err == nil && !strings.EqualFold(arn.Role(role.Account, role.Path, role.Name), in.RoleArn) {
			return nil, apierr.New(apierr.ResourceNotFoundException, "The role %s cannot be found.", in.RoleArn)
		}
		if err != nil {
			return nil, apierr.OrInternal(err, "revoke: get role")
		}
		r.Kind, r.Target, r.RoleID = session.RevokeRole, arn.Role(role.Account, role.Path, role.Name), role.ID
	default:
		target, keys, err := s.principal(ctx, c, in.PrincipalArn)
		if err != nil {
			return nil, err
		}
		resource = in.PrincipalArn
		r.Kind, r.Target, r.OriginKeys = session.RevokePrincipal, target, keys
	}
	if resource == "*" {
		if err := s.authorize(ctx, c, "opensts:RevokeSessions", resource); err != nil {
			return nil, err
		}
	}
	r.ExpiresAt = r.IssuedBefore.Add(session.MaxLifetime)
	if !r.ExpiresAt.After(now) {
		return nil, invalid("IssuedBefore is so long ago that no session issued before it is still valid.")
	}
	// Every node reloads the whole set on each change: one account must
	// not make that cost unbounded for all.
	active, err := s.Store.ListRevocations(ctx, c.Account, now)
	if err != nil {
		return nil, apierr.OrInternal(err, "revoke: count")
	}
	if len(active) >= MaxEntriesPerAccount {
		return nil, apierr.New(apierr.LimitExceededException, "The account has %d active revocations, the most it can have; revoke by role, principal or account instead, or delete entries.", len(active))
	}
	if err := s.create(ctx, &r); err != nil {
		return nil, err
	}
	return &RevokeSessionsOutput{Revocation: show(r)}, nil
}

// Create stores an entry made by OpenSTS itself (a detection response, a
// quarantine) and applies it; r.ID, CreatedAt and ExpiresAt are set here
// when empty.
func (s *Service) Create(ctx context.Context, r store.Revocation) (store.Revocation, error) {
	now := s.Now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.IssuedBefore.IsZero() {
		r.IssuedBefore = now
	}
	if r.ExpiresAt.IsZero() {
		r.ExpiresAt = r.IssuedBefore.Add(session.MaxLifetime)
	}
	err := s.create(ctx, &r)
	return r, err
}

func (s *Service) create(ctx context.Context, r *store.Revocation) error {
	for range 3 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
		r.ID = "rev-" + hex.EncodeToString(b[:])
		err := s.Store.CreateRevocation(ctx, *r)
		if store.IsExists(err) {
			continue
		}
		if err != nil {
			return apierr.OrInternal(err, "revoke: store")
		}
		if s.Applied != nil {
			s.Applied(ctx)
		}
		return nil
	}
	return apierr.Internal(nil)
}

// principal checks a principal ARN of the caller's account and returns the
// entry's target (the stored spelling of a user's ARN) and, for a user or
// the root, the long-term keys its sessions start from.
func (s *Service) principal(ctx context.Context, c *authz.Caller, p string) (string, []string, error) {
	a, err := arn.Parse(p)
	if err != nil || len(p) > 2048 {
		return "", nil, invalid("PrincipalArn is not an ARN.")
	}
	if a.Account != c.Account {
		return "", nil, invalid("PrincipalArn must name a principal of the caller's account.")
	}
	if err := s.authorize(ctx, c, "opensts:RevokeSessions", p); err != nil {
		return "", nil, err
	}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	switch {
	case a.Service == "sts" && (kind == "assumed-role" && strings.Count(rest, "/") == 1 || kind == "federated-user") && rest != "":
		return p, nil, nil
	case a.Service == "iam" && a.Resource == "root":
		keys, err := s.Store.ListAccessKeys(ctx, a.Account, "")
		if err != nil {
			return "", nil, apierr.OrInternal(err, "revoke: list keys")
		}
		return p, keyIDs(keys), nil
	case a.Service == "iam" && kind == "user":
		name := rest[strings.LastIndexByte(rest, '/')+1:]
		u, err := s.Store.GetUser(ctx, a.Account, name)
		if store.IsNotFound(err) || err == nil && !strings.EqualFold(arn.User(u.Account, u.Path, u.Name), p) {
			return "", nil, apierr.New(apierr.ResourceNotFoundException, "The user %s cannot be found.", p)
		}
		if err != nil {
			return "", nil, apierr.OrInternal(err, "revoke: get user")
		}
		keys, err := s.Store.ListAccessKeys(ctx, a.Account, u.Name)
		if err != nil {
			return "", nil, apierr.OrInternal(err, "revoke: list keys")
		}
		return arn.User(u.Account, u.Path, u.Name), keyIDs(keys), nil
	}
	return "", nil, invalid("PrincipalArn must be a user, the root, an assumed-role session or a federated user.")
}

func keyIDs(keys []store.AccessKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

// ListRevocations lists the caller's account's active entries.
func (s *Service) ListRevocations(ctx context.Context, c *authz.Caller, _ *ListRevocationsInput) (*ListRevocationsOutput, error) {
	if err := s.authorize(ctx, c, "opensts:ListRevocations", "*"); err != nil {
		return nil, err
	}
	rs, err := s.Store.ListRevocations(ctx, c.Account, s.Now())
	if err != nil {
		return nil, apierr.OrInternal(err, "revoke: list")
	}
	out := &ListRevocationsOutput{Revocations: []Revocation{}}
	for _, r := range rs {
		out.Revocations = append(out.Revocations, show(r))
	}
	return out, nil
}

// DeleteRevocation deletes one of the caller's account's entries.
func (s *Service) DeleteRevocation(ctx context.Context, c *authz.Caller, in *DeleteRevocationInput) (*DeleteRevocationOutput, error) {
	if !idRE.MatchString(in.ID) {
		return nil, invalid("Id must be a revocation id (rev- and 16 hexadecimal digits).")
	}
	if err := s.authorize(ctx, c, "opensts:DeleteRevocation", "*"); err != nil {
		return nil, err
	}
	err := s.Store.DeleteRevocation(ctx, c.Account, in.ID)
	if store.IsNotFound(err) {
		return nil, apierr.New(apierr.ResourceNotFoundException, "The revocation %s cannot be found.", in.ID)
	}
	if err != nil {
		return nil, apierr.OrInternal(err, "revoke: delete")
	}
	if s.Applied != nil {
		s.Applied(ctx)
	}
	return &DeleteRevocationOutput{}, nil
}

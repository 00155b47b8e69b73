// Package org implements the AWS Organizations subset OpenSTS serves over
// AWS JSON 1.1: the deployment's one organization (made by
// CreateOrganization; a deployment starts standalone), its member accounts
// (CreateAccount, with the OrganizationAccountAccessRole the management
// account assumes), and service control policies with their
// attachments to the root and to accounts. The policy engine applies SCPs
// (internal/authz reads the attachments); this package only keeps them.
//
// One file per action. It imports store, authz, policy and apierr; never
// net/http, the protocol packages or a store backend.
//
// Persistence: the organization id lives in the setting "org.id", the root id
// in authz.OrgRootSetting, policies and attachments in store.Org, accounts in
// store.Accounts. Create-account requests complete at once, so the statuses
// of those that succeeded are derived from the accounts table (request id
// "car-" + the account id); a request that failed (an email already in use)
// is kept by store.OrgMembership. Membership (accounts leaving, joining,
// closing), handshakes, delegated administrators and trusted services are
// in store.OrgMembership too.
package org

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Settings keys.
const (
	// OrgIDSetting holds the organization id (o-xxxxxxxxxx).
	OrgIDSetting = authz.OrgIDSetting
	// featureSetSetting holds the organization's feature set (absent: ALL).
	featureSetSetting = "org.feature-set"
	// fullAccessAttachedSetting records that Bootstrap attached FullAWSAccess
	// to the root and to the accounts that existed then. It is written last,
	// so an interrupted first start attaches again, and a later start never
	// re-attaches a policy an administrator detached.
	fullAccessAttachedSetting = "org.full-aws-access-attached"
)

// The AWS managed policy every root and account starts with.
const (
	FullAWSAccessID      = "p-FullAWSAccess"
	fullAWSAccessName    = "FullAWSAccess"
	fullAWSAccessContent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	fullAWSAccessDesc    = "Allows access to every operation"
)

// The AWS managed resource control policy attached, while RCPs are enabled,
// to the root, every OU and every account, so that nothing is refused for
// want of an Allow at a level.
const (
	RCPFullAWSAccessID      = "p-RCPFullAWSAccess"
	rcpFullAWSAccessName    = "RCPFullAWSAccess"
	rcpFullAWSAccessContent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	rcpFullAWSAccessDesc    = "Allows access to every operation"
)

// AccessRoleName is the role CreateAccount creates in a new account by default.
const AccessRoleName = "OrganizationAccountAccessRole"

const (
	scpType           = "SERVICE_CONTROL_POLICY"
	administratorARN  = "arn:aws:iam::aws:policy/AdministratorAccess"
	maxSCPsPerTarget  = 5
	defaultMaxResults = 20
)

// Store is what Organizations reads and writes: accounts, SCPs and their
// attachments, settings, and the role (with its policy) a new account starts
// with.
type Store interface {
	store.Accounts
	store.Org
	store.OrgUnits
	store.OrgMembership
	store.Settings
	CreateRole(ctx context.Context, r store.Role) error
	AttachPolicy(ctx context.Context, a store.Attachment) error
}

// Authorizer is what Organizations asks of authz.Authorizer.
type Authorizer interface {
	Check(ctx context.Context, c *authz.Caller, action, resource string, keys ...authz.Key) error
	Decide(ctx context.Context, c *authz.Caller, r *authz.Request) (policy.Decision, error)
}

// PolicyCompiler validates SCP documents (policy.Cache).
type PolicyCompiler interface {
	Compile(kind policy.Kind, doc string) (*policy.Policy, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store    Store
	Authz    Authorizer
	Policies PolicyCompiler
	Now      func() time.Time
	Rand     io.Reader
}

// Service implements the Organizations actions. Safe for concurrent use once
// Bootstrap has returned.
type Service struct {
	store    Store
	authz    Authorizer
	policies PolicyCompiler
	now      func() time.Time
	rand     io.Reader

	mu   sync.RWMutex
	mgmt string // management account id, set by Bootstrap

	create1 sync.Mutex // one CreateOrganization at a time
}

// New returns a Service. Call Bootstrap before serving requests.
func New(cfg Config) *Service {
	s := &Service{store: cfg.Store, authz: cfg.Authz, policies: cfg.Policies, now: cfg.Now, rand: cfg.Rand}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s
}

// time returns the current time as Organizations records it: UTC, whole seconds.
func (s *Service) time() time.Time { return s.now().UTC().Truncate(time.Second) }

// org is what most actions need to know about the organization.
type org struct {
	id, root, mgmt string
	featureSet     string   // ALL or CONSOLIDATED_BILLING
	enabled        []string // the root's enabled policy types, sorted
	// delegated is set on the org member returns to a member account's
	// principal, admitted through the resource policy: check then decides
	// each resource by that policy and the principal's own.
	delegated bool
}

// Feature sets of an organization.
const (
	featureAll                 = "ALL"
	featureConsolidatedBilling = "CONSOLIDATED_BILLING"
)

// policyTypes is the root's enabled policy types, by type.
func (o org) policyTypes() []PolicyTypeSummary {
	out := make([]PolicyTypeSummary, 0, len(o.enabled))
	for _, t := range o.enabled {
		out = append(out, PolicyTypeSummary{Type: t, Status: "ENABLED"})
	}
	return out
}

// typeEnabled reports whether the root enables policy type t.
func (o org) typeEnabled(t string) bool { return slices.Contains(o.enabled, t) }

// scpAvailable refuses SCP operations in an organization without all
// features, as AWS does.
func (o org) scpAvailable() error {
	if o.featureSet != featureAll {
		return apierr.New(apierr.PolicyTypeNotAvailableForOrganizationException,
			"You can't use the specified policy type with the feature set currently enabled for this organization.")
	}
	return nil
}

func (o org) arn() string { return "arn:aws:organizations::" + o.mgmt + ":organization/" + o.id }
func (o org) rootARN() string {
	return "arn:aws:organizations::" + o.mgmt + ":root/" + o.id + "/" + o.root
}
func (o org) accountARN(id string) string {
	return "arn:aws:organizations::" + o.mgmt + ":account/" + o.id + "/" + id
}

func (o org) policyARN(p store.OrgPolicy) string {
	typ := strings.ToLower(p.Type)
	if p.AWSManaged {
		return "arn:aws:organizations::aws:policy/" + typ + "/" + p.ID
	}
	return "arn:aws:organizations::" + o.mgmt + ":policy/" + o.id + "/" + typ + "/" + p.ID
}

// errNotInUse is the answer to the management account before
// CreateOrganization.
func errNotInUse() *apierr.Error {
	return apierr.New(apierr.OrganizationsNotInUseException, "Your account is not a member of an organization.")
}

// errDenied is Organizations' answer to every caller it does not serve.
func errDenied() *apierr.Error {
	return apierr.New(apierr.OrgAccessDeniedException, "You don't have permissions to access this resource.")
}

// authorize admits only principals of the management account, and then only
// if their policies allow "organizations:"+action on each resource (built
// from the organization's ids; "*" when none is given).
func (s *Service) authorize(ctx context.Context, c *authz.Caller, action string, resources ...func(org) string) (org, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return org{}, err
	}
	return o, s.check(ctx, c, o, action, resources...)
}

// member admits only principals of the management account. Before the
// organization exists it answers AWSOrganizationsNotInUseException, to a
// caller allowed action only: one who is not learns nothing.
func (s *Service) member(ctx context.Context, c *authz.Caller, action string) (org, error) {
	s.mu.RLock()
	mgmt := s.mgmt
	s.mu.RUnlock()
	if c == nil || mgmt == "" {
		return org{}, errDenied()
	}
	if c.Account != mgmt {
		// A member account's principal, through the resource policy.
		if !delegable(action) {
			return org{}, errDenied()
		}
		o, err := s.load(ctx)
		if err != nil {
			return org{}, errDenied()
		}
		// A member of the organization, with a resource policy to decide
		// by: check decides each resource the action touches by it.
		if ok, err := s.delegatedMember(ctx, c); err != nil || !ok {
			return org{}, cmp.Or(err, error(errDenied()))
		}
		o.delegated = true
		return o, nil
	}
	o, err := s.load(ctx)
	if e, ok := apierr.As(err); ok && e.Code == apierr.OrganizationsNotInUseException {
		if err := s.check(ctx, c, org{mgmt: mgmt}, action); err != nil {
			return org{}, err
		}
	}
	return o, err
}

// check authorizes "organizations:"+action on each resource for a member.
func (s *Service) check(ctx context.Context, c *authz.Caller, o org, action string, resources ...func(org) string) error {
	return s.checkKeys(ctx, c, o, action, nil, resources...)
}

// policyTypeKey is organizations:PolicyType, the type of the policy an
// action creates, changes, reads, attaches or lists.
func policyTypeKey(typ string) []authz.Key {
	return []authz.Key{{Name: "organizations:PolicyType", Values: []string{typ}}}
}

// checkKeys is check with condition keys in the request's context. A
// principal of a member account is decided by its own policies and the
// organization's resource policy together (delegated), for each resource
// and with the keys: a delegation scoped to resources or to a policy type
// (AWS's own examples are) binds as written.
func (s *Service) checkKeys(ctx context.Context, c *authz.Caller, o org, action string, keys []authz.Key, resources ...func(org) string) error {
	arns := []string{"*"}
	if len(resources) > 0 {
		arns = arns[:0]
		for _, r := range resources {
			arns = append(arns, r(o))
		}
	}
	if o.delegated {
		ok, err := s.delegated(ctx, c, o, action, arns, keys)
		if err != nil {
			return err
		}
		if !ok {
			return errDenied()
		}
		return nil
	}
	for _, r := range arns {
		if err := s.authz.Check(ctx, c, "organizations:"+action, r, keys...); err != nil {
			if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
				return errDenied()
			}
			return internal(err, "authorize organizations:"+action)
		}
	}
	return nil
}

// Resources for authorize.
func accountResource(id string) func(org) string {
	return func(o org) string { return o.accountARN(id) }
}

func policyResource(p store.OrgPolicy) func(org) string {
	return func(o org) string { return o.policyARN(p) }
}

// load reads the organization's ids.
func (s *Service) load(ctx context.Context) (org, error) {
	s.mu.RLock()
	mgmt := s.mgmt
	s.mu.RUnlock()
	if mgmt == "" {
		return org{}, apierr.Internal(errors.New("organizations: not bootstrapped"))
	}
	id, err := s.store.GetSetting(ctx, OrgIDSetting)
	if isNotFound(err) {
		return org{}, errNotInUse()
	}
	if err != nil {
		return org{}, internal(err, "load organization id")
	}
	root, err := s.store.GetSetting(ctx, authz.OrgRootSetting)
	if err != nil {
		return org{}, internal(err, "load organization root id")
	}
	fs, err := s.store.GetSetting(ctx, featureSetSetting)
	if isNotFound(err) {
		fs, err = featureAll, nil // organizations made before the setting had all features
	}
	if err != nil {
		return org{}, internal(err, "load organization feature set")
	}
	o := org{id: id, root: root, mgmt: mgmt, featureSet: fs}
	types, err := s.store.GetSetting(ctx, authz.OrgPolicyTypesSetting)
	switch {
	case isNotFound(err):
		// Organizations made before the setting: SCPs with all features.
		if fs == featureAll {
			o.enabled = []string{scpType}
		}
	case err != nil:
		return org{}, internal(err, "load organization policy types")
	case types != "":
		o.enabled = strings.Split(types, ",")
	}
	return o, nil
}

// internal passes API errors through and turns anything else into
// InternalFailure that keeps the cause for the log.
func internal(err error, what string) error { return apierr.OrInternal(err, what) }

var errFiveCollisions = errors.New("five random ids in a row were taken")

var (
	isNotFound = store.IsNotFound
	isExists   = store.IsExists
	isConflict = store.IsConflict
)

func invalidInput(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.OrgInvalidInputException, format, args...)
}

// randomString returns n characters of alphabet; len(alphabet) must divide 256.
func (s *Service) randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", apierr.Internal(fmt.Errorf("random id: %w", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz012345" // 32 characters: no bias
	iamIDChars  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

// newAccountID returns a random 12-digit account id that does not start with 0.
func (s *Service) newAccountID() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", apierr.Internal(fmt.Errorf("new account id: %w", err))
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return strconv.FormatUint(100_000_000_000+n%900_000_000_000, 10), nil
}

// Timestamp is a time that encodes as AWS JSON 1.1 does: epoch seconds, a
// JSON number (the SDKs reject a string).
type Timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if ms := tt.UnixMilli(); ms%1000 != 0 {
		return strconv.AppendFloat(nil, float64(ms)/1000, 'f', 3, 64), nil
	}
	return strconv.AppendInt(nil, tt.Unix(), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	sec := int64(f)
	*t = Timestamp(time.Unix(sec, int64((f-float64(sec))*1e9)).UTC())
	return nil
}

func ts(t time.Time) *Timestamp {
	v := Timestamp(t)
	return &v
}

// slicesSortBy sorts items by key.
func slicesSortBy[T any](items []T, key func(T) string) {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}

// page returns one page of items, which must be sorted by key. token is the
// NextToken of the previous page ("" for the first); the returned token is ""
// on the last page. The page is never nil, so an empty one encodes as [].
func page[T any](items []T, key func(T) string, token string, maxResults *int32) ([]T, string, error) {
	req, err := pageRequest(token, maxResults)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if req.after != "" {
		for start < len(items) && key(items[start]) <= req.after {
			start++
		}
	}
	pg, next := cut(req, items[start:], key)
	return pg, next, nil
}

// storePage is one page of a list the store pages itself: the key after
// which it starts, decoded from the request's NextToken, and its size.
type storePage struct {
	after string
	size  int
}

// pageRequest decodes a list request's NextToken and MaxResults (1-20,
// default 20).
func pageRequest(token string, maxResults *int32) (storePage, error) {
	p := storePage{size: defaultMaxResults}
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > defaultMaxResults {
			return storePage{}, invalidInput("You provided a value for MaxResults that is not valid: it must be between 1 and %d.", defaultMaxResults)
		}
		p.size = int(*maxResults)
	}
	if token != "" {
		after, err := decodeToken(token)
		if err != nil {
			return storePage{}, invalidInput("The specified pagination token isn't valid.")
		}
		p.after = after
	}
	return p, nil
}

// options is the store request for the page: one item more than it holds,
// which tells whether the list goes on.
func (p storePage) options() store.ListOptions {
	return store.ListOptions{After: p.after, Limit: p.size + 1}
}

// cut returns the page p of items (those after p.after, in key order), at
// most p.size, and the NextToken of the rest ("" if none). The page is
// never nil, so an empty one encodes as [].
func cut[T any](p storePage, items []T, key func(T) string) ([]T, string) {
	if items == nil {
		items = []T{}
	}
	if len(items) <= p.size {
		return items, ""
	}
	return items[:p.size], encodeToken(key(items[p.size-1]))
}

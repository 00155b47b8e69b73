// Package iam implements the IAM Query API (version 2010-05-08): users,
// groups, access keys, roles, inline and managed policies, attachments,
// permissions boundaries and tags, one file per group of actions.
//
// Every action is authorized with the caller's own policies (authz) against
// the resource ARN AWS defines for it, and works only inside the caller's
// account. It never imports net/http, the protocol packages or a store
// backend: the server decodes requests into the Input types (their struct
// tags carry the model's constraints) and encodes the Output types.
package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// Store is what IAM reads and writes: accounts, principals, keys, policies
// and MFA devices (a store.Store has it all).
type Store interface {
	store.Accounts
	store.Users
	store.Groups
	store.AccessKeys
	store.Roles
	store.Policies
	store.MFADevices
	store.SAMLProviders
	store.OIDCProviders
	store.LDAPProviders
	store.LastAccessed
	store.InstanceProfiles
	store.LoginProfiles
	store.AccountAliases
	store.UserCredentials
	store.ServerCertificates
	store.IAMTasks
	store.Settings
	store.Org      // organizations access reports: SCPs and their targets
	store.OrgUnits // and the hierarchy
}

// Authorizer is what IAM asks of authz.Authorizer.
type Authorizer interface {
	Check(ctx context.Context, c *authz.Caller, action, resource string, keys ...authz.Key) error
	// CheckAs is Check with display naming the resource in a denial's message.
	CheckAs(ctx context.Context, c *authz.Caller, action, resource, display string, keys ...authz.Key) error
	// Decide evaluates a request without turning a denial into an error,
	// and Deny turns one into AccessDenied (ChangePassword tells an explicit
	// deny from an implicit one).
	Decide(ctx context.Context, c *authz.Caller, r *authz.Request) (policy.Decision, error)
	Deny(c *authz.Caller, r *authz.Request, d policy.Decision) *apierr.Error
	// PolicySet returns the policies that apply to a caller (the simulator).
	PolicySet(ctx context.Context, c *authz.Caller) (policy.Set, error)
	ManagedPolicy(ctx context.Context, arn string) (policy.Named, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store    Store
	Authz    Authorizer
	Policies *policy.Cache
	Sealer   *seal.Sealer // seals long-term secret access keys (aad: access key id)
	Now      func() time.Time
	Rand     io.Reader // unique ids and access keys; nil means crypto/rand
	// FlushUses, if set, writes this node's service last accessed uses
	// not yet written (lastaccess.Recorder.Flush), before a report.
	FlushUses func(ctx context.Context) error
	// MFAReset, if set, forgets a device's failed codes and lockout on
	// every node (mfa.Checker.Reset); EnableMFADevice and ResyncMFADevice
	// call it, so that an administrator's resync lifts a lockout.
	MFAReset func(ctx context.Context, serial string) error
}

// Service implements the IAM actions. It is safe for concurrent use.
type Service struct {
	store    Store
	authz    Authorizer
	policies *policy.Cache
	sealer   *seal.Sealer
	now      func() time.Time
	rand     io.Reader
	hashers  chan struct{} // password hashes in progress (passwordHashers)

	flushUses func(ctx context.Context) error
	mfaReset  func(ctx context.Context, serial string) error
}

// New returns a Service.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Service{store: cfg.Store, authz: cfg.Authz, policies: cfg.Policies, sealer: cfg.Sealer, now: now, rand: r, flushUses: cfg.FlushUses, mfaReset: cfg.MFAReset,
		hashers: make(chan struct{}, passwordHashers)}
}

// Limits AWS applies by default (IAM quotas).
const (
	maxAccessKeysPerUser   = 2
	maxAttachedPolicies    = 10
	maxGroupsPerUser       = 10
	maxTags                = 50
	maxPolicyVersions      = 5
	maxManagedPolicySize   = 6144
	maxTrustPolicySize     = 2048
	maxUserInlineSize      = 2048
	maxGroupInlineSize     = 5120
	maxRoleInlineSize      = 10240
	defaultMaxSessionDur   = 3600
	defaultMaxItems        = 100
	awsManagedPolicyOwner  = "aws"
	permissionsBoundaryKey = "iam:PermissionsBoundary"
)

// time returns the current time as IAM records it: UTC, whole seconds.
func (s *Service) time() time.Time { return s.now().UTC().Truncate(time.Second) }

// check authorizes action on resource for c.
func (s *Service) check(ctx context.Context, c *authz.Caller, action, resource string, keys ...authz.Key) error {
	if err := s.authz.Check(ctx, c, action, resource, keys...); err != nil {
		return internal(err, "authorize "+action)
	}
	return nil
}

// checkAs is check with the resource named display in AccessDenied (see
// authz.Request.Display): an action on a named entity must not tell a
// caller without the right whether it exists, or its path and spelling.
func (s *Service) checkAs(ctx context.Context, c *authz.Caller, action, resource, display string, keys ...authz.Key) error {
	if err := s.authz.CheckAs(ctx, c, action, resource, display, keys...); err != nil {
		return internal(err, "authorize "+action)
	}
	return nil
}

// internal passes API errors through and turns anything else into
// InternalFailure that keeps the cause for the log.
func internal(err error, what string) error { return apierr.OrInternal(err, what) }

// done ends an action whose output is empty: err when it failed, a new T
// otherwise.
func done[T any](err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return new(T), nil
}

var (
	isNotFound = store.IsNotFound
	isExists   = store.IsExists
	isConflict = store.IsConflict
)

// idAlphabet is the alphabet of IAM unique ids after the 4-letter prefix.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix + 17 random characters of [A-Z2-7], as AWS forms
// AIDA/AGPA/AROA/ANPA ids.
func (s *Service) newID(prefix string) (string, error) { return s.randomID(prefix, 17) }

// randomID returns prefix + n random characters of [A-Z2-7].
func (s *Service) randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", apierr.Internal(fmt.Errorf("new %s id: %w", prefix, err))
	}
	for i := range b {
		b[i] = idAlphabet[b[i]%32] // 256 is a multiple of 32: no bias
	}
	return prefix + string(b), nil
}

// ARNs of the entities IAM manages; internal/arn builds them.
var (
	userARN   = arn.User
	groupARN  = arn.Group
	roleARN   = arn.Role
	policyARN = arn.Policy
	mfaARN    = arn.MFA
	rootARN   = arn.Root
)

// entityARN is the ARN of a user, group or role.
func entityARN(account string, kind store.PrincipalKind, path, name string) string {
	return arn.IAM(account, string(kind)+pathOrRoot(path)+name)
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// parsePolicyARN splits arn:aws:iam::ACCOUNT:policy/PATH/NAME, where
// ACCOUNT is 12 digits or "aws", and checks the name and path.
func parsePolicyARN(s string) (account, path, name string, ok bool) {
	r, ok := arn.ParseIAM(s, "policy")
	if !ok || !validName(r.Name, 128) || !validPath(r.Path) {
		return "", "", "", false
	}
	return r.Account, r.Path, r.Name, true
}

func isAccountID(s string) bool { return arn.IsAccountID(s) }

// validName reports whether s matches [\w+=,.@-]+ with at most max characters.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_+=,.@-", r):
		default:
			return false
		}
	}
	return true
}

// validPath reports whether p is "/" or "/.../" of printable ASCII, at most
// 512 characters (pathType).
func validPath(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || len(p) > 512 || p[0] != '/' || p[len(p)-1] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return false
		}
	}
	return true
}

const pathPattern = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`

// checkPath validates an optional path (pathType) beyond what the protocol
// layer already checked, and returns it with the default "/".
func checkPath(p, member string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if !validPath(p) {
		return "", apierr.Validation(fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", p, member, pathPattern))
	}
	return p, nil
}

// checkPathPrefix validates an optional PathPrefix and returns it with the
// default "/".
func checkPathPrefix(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if p[0] != '/' || len(p) > 512 {
		return "", apierr.Validation(fmt.Sprintf(`Value '%s' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`, p))
	}
	return p, nil
}

// policySize is a document's size as IAM counts it against its quotas:
// characters, not counting white space.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// compile validates doc as a policy of kind and returns MalformedPolicyDocument
// with the engine's message when it is invalid.
func (s *Service) compile(kind policy.Kind, doc string) error {
	_, err := s.policies.Compile(kind, doc)
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return apierr.New(apierr.MalformedPolicyDocument, "%s", pe.Message)
	}
	return apierr.Internal(fmt.Errorf("compile policy: %w", err))
}

// encodeDocument URL-encodes a policy document the way IAM returns it: every
// byte outside RFC 3986's unreserved set as %XX (so a space is %20, never +).
// botocore and the SDKs URL-decode it.
func encodeDocument(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// self resolves an omitted UserName to the caller: its own user name, or
// root (isRoot) for the account root. Other credentials must name a user.
func self(c *authz.Caller) (name string, isRoot bool, err error) {
	switch {
	case c.Type == policy.Root:
		return "", true, nil
	case c.Type == policy.User && c.UserName != "":
		return c.UserName, false, nil
	}
	return "", false, apierr.New(apierr.ValidationError, "Must specify userName when calling with non-User credentials")
}

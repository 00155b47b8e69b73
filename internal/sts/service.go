// Package sts implements the AWS STS actions, one file per action. It never
// imports net/http, the protocol packages or a store backend: the server
// decodes requests into the Input types and encodes the Output types.
package sts

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// Config holds the Service's dependencies.
type Config struct {
	Keys     AccessKeys
	Authz    Authorizer
	Sessions Minter
	Policies PolicyCompiler
	Now      func() time.Time
	Rand     io.Reader
	// MFA verifies SerialNumber/TokenCode; nil refuses every MFA code.
	MFA MFAChecker
	// SAML configures AssumeRoleWithSAML; without a Store it is refused.
	SAML SAMLConfig
	// OIDC looks up OIDC providers and WebIdentity verifies their tokens
	// (AssumeRoleWithWebIdentity); nil refuses every web identity token.
	OIDC        OIDCProviders
	WebIdentity WebIdentityVerifier
	// LDAP configures AssumeRoleWithLDAPIdentity; without a Store and a
	// Directory it is refused.
	LDAP LDAPConfig
	// RoleUse, if set, records each successful AssumeRole* as the role's
	// last use (RoleLastUsed) in Region; backends coalesce the writes.
	RoleUse RoleToucher
	Region  string
	// Issuer signs GetWebIdentityToken's tokens; nil answers
	// OutboundWebIdentityFederationDisabledException.
	Issuer TokenIssuer
	// Org answers AssumeRoot's questions about the organization; nil
	// refuses every AssumeRoot.
	Org RootOrg
	// Chains seals the chain GetWebIdentityToken's tokens carry, and
	// Revoked refuses a token of this deployment's issuer whose chain is
	// revoked (see web_identity_chain.go); nil: tokens carry none.
	Chains  ChainSealer
	Revoked RevocationCheck
}

// RoleToucher records a role's last use (store.Store.TouchRole).
type RoleToucher interface {
	TouchRole(ctx context.Context, id string, at time.Time, region string) error
}

// AccessKeys looks up long-term access keys (GetAccessKeyInfo).
type AccessKeys interface {
	GetAccessKey(ctx context.Context, id string) (store.AccessKey, error)
}

// Authorizer is what STS asks of authz.Authorizer: decisions about the
// caller, the roles it may assume and the managed policies it names.
type Authorizer interface {
	Check(ctx context.Context, c *authz.Caller, action, resource string, keys ...authz.Key) error
	Decide(ctx context.Context, c *authz.Caller, r *authz.Request) (policy.Decision, error)
	DecodeMessage(account, encoded string) (string, error)
	// ManagedPolicy returns a managed policy named by its stored ARN;
	// store.ErrNotFound when there is none.
	ManagedPolicy(ctx context.Context, arn string) (policy.Named, error)
	// Role returns a role by name; store.ErrNotFound when there is none.
	Role(ctx context.Context, account, name string) (*authz.Role, error)
}

// Minter issues session credentials (session.Manager).
type Minter interface {
	Mint(s session.Session) (session.Credentials, error)
}

// PolicyCompiler validates and compiles policy documents (policy.Cache).
type PolicyCompiler interface {
	Compile(kind policy.Kind, doc string) (*policy.Policy, error)
}

// Service implements the STS actions.
type Service struct {
	keys     AccessKeys
	authz    Authorizer
	sessions Minter
	policies PolicyCompiler
	now      func() time.Time
	mfa      MFAChecker
	saml     SAMLConfig
	ldap     LDAPConfig
	mdCache  metadataCache
	oidc     OIDCProviders
	webID    WebIdentityVerifier
	roleUse  RoleToucher
	region   string
	issuer   TokenIssuer
	org      RootOrg
	chains   ChainSealer
	revoked  RevocationCheck
	rand     io.Reader
	randMu   sync.Mutex // rand need not be safe for concurrent use
}

// touchRole notes that role id was assumed now. A failure (the store is
// closing) does not fail the request: last use is best effort, as in AWS.
func (s *Service) touchRole(ctx context.Context, id string, now time.Time) {
	if s.roleUse != nil {
		_ = s.roleUse.TouchRole(ctx, id, now, s.region)
	}
}

// New returns a Service.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{keys: cfg.Keys, authz: cfg.Authz, sessions: cfg.Sessions, policies: cfg.Policies, now: now, mfa: cfg.MFA, saml: cfg.SAML,
		oidc: cfg.OIDC, webID: cfg.WebIdentity, ldap: cfg.LDAP, roleUse: cfg.RoleUse, region: cfg.Region,
		issuer: cfg.Issuer, org: cfg.Org, chains: cfg.Chains, revoked: cfg.Revoked, rand: cfg.Rand}
	if s.rand == nil {
		s.rand = defaultRand
	}
	return s
}

// Credentials is the STS Credentials shape.
type Credentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey" sensitive:"true"`
	SessionToken    string    `xml:"SessionToken" sensitive:"true"`
	Expiration      time.Time `xml:"Expiration"`
}

func credentials(c session.Credentials) *Credentials {
	return &Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration.UTC()}
}

// PolicyDescriptor is a managed policy ARN passed as a session policy.
type PolicyDescriptor struct {
	ARN string `query:"arn" min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
}

// Tag is a session tag.
type Tag struct {
	Key   string `required:"true" min:"1" max:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
	Value string `required:"true" min:"0" max:"256" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"`
}

// TagKV implements authz.Tag.
func (t Tag) TagKV() (string, string) { return t.Key, t.Value }

func (s *Service) time() time.Time { return s.now().UTC().Truncate(time.Second) }

// denyAssume is the one answer for a missing role and an untrusted caller, so
// the two cannot be told apart.
func denyAssume(c *authz.Caller, action, roleARN string) *apierr.Error {
	return apierr.New(apierr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, roleARN)
}

// parseRoleARN splits arn:aws:iam::ACCOUNT:role/PATH/NAME.
func parseRoleARN(s string) (account, path, name string, ok bool) {
	r, ok := arn.ParseIAM(s, "role")
	return r.Account, r.Path, r.Name, ok
}

func internal(err error, what string) error { return apierr.OrInternal(err, what) }

var isNotFound = store.IsNotFound

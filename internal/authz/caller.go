// Package authz authorizes API calls: it knows who the caller is (Caller),
// gathers the policies that apply to it from the store (with a cache), builds
// the request context with the global condition keys, and asks the policy
// engine. Denials become AccessDenied errors that carry an encoded
// authorization message, which DecodeAuthorizationMessage turns back into the
// decision and its explanation.
//
// It imports store, policy, session, seal and apierr; never net/http or a
// store backend.
package authz

import (
	"strconv"
	"time"

	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
)

// Caller is an authenticated principal making one request.
type Caller struct {
	Account     string
	Type        policy.PrincipalType // Root, User, AssumedRole or FederatedUser
	ARN         string               // user/root ARN, or the session ARN
	UserID      string               // aws:userid
	UserName    string               // IAM user name for users and their GetSessionToken/GetFederationToken sessions
	AccessKeyID string
	// Session is the verified session for temporary credentials, nil for long-term keys.
	Session *session.Session
	// Federated is the identity provider (its ARN) of an unsigned
	// federation request (Type SAMLUser, WebIdentity or LDAPUser).
	Federated string

	// Gone is set by Authorizer.Resolve for a session whose user or role no
	// longer exists: every decision about it is a denial.
	Gone bool

	SourceIP        string
	UserAgent       string
	SecureTransport bool
	Region          string
	Now             time.Time
}

// Temporary reports whether the caller uses temporary (session) credentials.
func (c *Caller) Temporary() bool { return c.Session != nil }

// IsRoot reports whether the caller is the account root (long-term root keys
// or a GetSessionToken session of the root).
func (c *Caller) IsRoot() bool { return c.Type == policy.Root }

// SessionType returns the session type, or 0 for long-term credentials.
func (c *Caller) SessionType() session.Type {
	if c.Session == nil {
		return 0
	}
	return c.Session.Type
}

// MFA reports whether the caller authenticated with MFA.
func (c *Caller) MFA() bool { return c.Session != nil && c.Session.MFA }

// Principal returns the caller as the policy engine matches it.
func (c *Caller) Principal() policy.Principal {
	p := policy.Principal{Type: c.Type, Account: c.Account, ARN: c.ARN, ID: c.UserID, Federated: c.Federated}
	if s := c.Session; RoleSession(s) {
		p.RoleARN = RoleARN(c.Account, s.RolePath, s.RoleName)
		p.RoleID = s.RoleID
	}
	return p
}

// PrincipalARN is aws:PrincipalArn: the role ARN for role sessions, the
// caller's ARN otherwise.
func (c *Caller) PrincipalARN() string {
	if s := c.Session; RoleSession(s) {
		return RoleARN(c.Account, s.RolePath, s.RoleName)
	}
	return c.ARN
}

// RoleSession reports whether s is a session of a role: AssumeRole,
// AssumeRoleWithSAML, AssumeRoleWithWebIdentity or AssumeRoleWithLDAPIdentity.
func RoleSession(s *session.Session) bool {
	return s != nil && (s.Type == session.AssumedRole || s.Type == session.SAML || s.Type == session.WebIdentity || s.Type == session.LDAP)
}

// RoleARN formats a role ARN (arn.Role).
func RoleARN(account, path, name string) string { return arn.Role(account, path, name) }

// UserARN formats a user ARN (arn.User).
func UserARN(account, path, name string) string { return arn.User(account, path, name) }

// RootARN formats an account root ARN (arn.Root).
func RootARN(account string) string { return arn.Root(account) }

func principalTypeName(t policy.PrincipalType) string {
	switch t {
	case policy.Root:
		return "Account"
	case policy.User:
		return "User"
	case policy.AssumedRole:
		return "AssumedRole"
	case policy.FederatedUser:
		return "FederatedUser"
	case policy.WebIdentity:
		return "WebIdentityUser"
	}
	return "Anonymous"
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Tag is what RequestTagKeys needs of a request's tag.
type Tag interface{ TagKV() (key, value string) }

// RequestTagKeys returns the condition keys of the tags a request passes:
// aws:RequestTag/KEY for each and aws:TagKeys listing them; nothing when
// there are none. IAM's Tag* and Create* actions and STS's session tags share
// it.
func RequestTagKeys[T Tag](tags []T) []Key {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]Key, 0, len(tags)+1)
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		k, v := t.TagKV()
		keys = append(keys, Key{Name: "aws:RequestTag/" + k, Values: []string{v}})
		names = append(names, k)
	}
	return append(keys, Key{Name: "aws:TagKeys", Values: names})
}

package pipeline

import (
	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// credentialRules is every rule about what a kind of temporary credential
// may call, in one table (reference §10.5): per service, per session type,
// the actions it may call (only) or may not call (except), and the error
// for anything else. A service or session type without an entry may call
// anything its policies allow. Long-term credentials have no rules here.
var credentialRules = []struct {
	service string
	types   []session.Type
	only    []string // the actions allowed; nil means all but except
	except  []string // the actions refused when only is nil
	mfa     bool     // the rule applies only without MFA
	deny    func(action string) error
}{
	{service: "sts", types: []session.Type{session.FederatedUser}, only: []string{"GetCallerIdentity"},
		deny: func(a string) error {
			return apierr.New(apierr.AccessDenied, "Cannot call %s with session credentials from GetFederationToken", a)
		}},
	{service: "sts", types: []session.Type{session.SessionToken}, only: []string{"AssumeRole", "GetCallerIdentity"},
		deny: func(a string) error {
			return apierr.New(apierr.AccessDenied, "Cannot call %s with session credentials", a)
		}},
	{service: "sts", types: []session.Type{session.AssumedRole, session.WebIdentity, session.SAML, session.LDAP}, except: []string{"GetSessionToken", "GetFederationToken"},
		deny: func(a string) error {
			return apierr.New(apierr.AccessDenied, "Cannot call %s with session credentials", a)
		}},
	{service: "iam", types: []session.Type{session.FederatedUser},
		deny: func(string) error {
			return apierr.New(apierr.AccessDenied, "Cannot call IAM APIs with session credentials from GetFederationToken")
		}},
	{service: "iam", types: []session.Type{session.SessionToken}, mfa: true,
		deny: func(string) error {
			return apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid")
		}},
	{service: "organizations", types: []session.Type{session.FederatedUser},
		deny: func(string) error {
			return apierr.New(apierr.OrgAccessDeniedException, "You don't have permissions to access this resource.")
		}},
}

// CredentialRule returns the error for a caller whose credential type may
// not call action on service, or nil.
func CredentialRule(service, action string, c *authz.Caller) error {
	t := c.SessionType()
	if t == 0 {
		return nil
	}
	for _, r := range credentialRules {
		if r.service != service || !hasType(r.types, t) {
			continue
		}
		if r.mfa && (c.MFA() || rootTask(c)) {
			continue
		}
		switch {
		case r.only != nil && has(r.only, action):
		case r.only == nil && r.except != nil && !has(r.except, action):
		default:
			return r.deny(action)
		}
	}
	return nil
}

// rootTask reports whether c is an AssumeRoot session: a root session
// scoped by a task policy, which GetSessionToken never sets. Its task
// policy, not MFA, bounds what it may do in IAM.
func rootTask(c *authz.Caller) bool {
	s := c.Session
	return s != nil && s.Type == session.SessionToken && c.IsRoot() && len(s.PolicyARNs) > 0
}

func hasType(ts []session.Type, t session.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package sts

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/ldap"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/throttle"
)

// LDAPStore is what AssumeRoleWithLDAPIdentity reads: the account's LDAP
// providers, and its roles when the request names none.
type LDAPStore interface {
	GetLDAPProvider(ctx context.Context, account, name string) (store.LDAPProvider, error)
	ListLDAPProviders(ctx context.Context, account string) ([]store.LDAPProvider, error)
	ListRoles(ctx context.Context, account string, opt store.ListOptions) ([]store.Role, error)
	GetRole(ctx context.Context, account, name string) (store.Role, error)
}

// LDAPDirectory authenticates a user against a directory (ldap.Directory).
type LDAPDirectory interface {
	Authenticate(ctx context.Context, c ldap.Config, username, password string) (*ldap.Identity, error)
}

// Opener opens sealed secrets (seal.Sealer).
type Opener interface {
	Open(sealed, aad []byte) ([]byte, error)
}

// LDAPConfig configures AssumeRoleWithLDAPIdentity; without a Store and a
// Directory it is refused.
type LDAPConfig struct {
	Store     LDAPStore
	Directory LDAPDirectory
	Sealer    Opener
	// DefaultProvider is the provider (its ARN) of requests that name
	// neither a role nor a provider, as MinIO's clients send them.
	DefaultProvider string
	// Users throttles failed binds per provider and user, under two keys:
	// the name as given (lowercased), checked before the directory is
	// asked, and the directory entry the search found (its DN,
	// lowercased), checked before the user bind — so another spelling of
	// the same user (other case, the UPN) reaches no bind once the entry
	// is held back. Addresses throttles failed binds per source address.
	// Both count in the store, for every node of a deployment. nil
	// throttles nothing.
	Users, Addresses *throttle.Counter
}

// maxLDAPRoleScan bounds the roles read to find the one role that trusts
// an LDAP identity when the request names none.
const maxLDAPRoleScan = 10000

// AssumeRoleWithLDAPIdentityInput is the AssumeRoleWithLDAPIdentity request
// (an OpenSTS extension, and the shape MinIO's clients send: they name no
// role and no provider). The password is never logged, audited or stored.
type AssumeRoleWithLDAPIdentityInput struct {
	LDAPUsername    string             `query:"LDAPUsername" max:"256"`
	LDAPPassword    string             `query:"LDAPPassword" max:"1024" sensitive:"true"`
	RoleArn         string             `min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
	LDAPProviderArn string             `query:"LDAPProviderArn" min:"20" max:"2048"`
	RoleSessionName string             `min:"2" max:"64" pattern:"[\\w+=,.@-]*"`
	PolicyArns      []PolicyDescriptor `max:"10"`
	Policy          string             `min:"1" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	DurationSeconds *int32             `min:"900" max:"43200"`
	// ConfigName (MinIO) names a provider of the account instead of
	// LDAPProviderArn; TokenRevokeType (MinIO) is accepted and ignored.
	ConfigName      string `max:"128"`
	TokenRevokeType string `max:"128"`
}

// AssumeRoleWithLDAPIdentityOutput is the AssumeRoleWithLDAPIdentity result,
// in the shape MinIO's clients parse.
type AssumeRoleWithLDAPIdentityOutput struct {
	Credentials      *Credentials     `xml:"Credentials"`
	AssumedRoleUser  *AssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int             `xml:"PackedPolicySize,omitempty"`
	SubjectFromToken string           `xml:"SubjectFromToken,omitempty"`
	Provider         string           `xml:"Provider"`
}

// errLDAPThrottled ends an authentication whose user entry is held back.
var errLDAPThrottled = errors.New("ldap: throttled after failed binds")

// ldapNameKey and ldapEntryKey are the Users throttle's keys.
func ldapNameKey(providerARN, name string) string {
	return providerARN + "\x00name\x00" + strings.ToLower(name)
}

func ldapEntryKey(providerARN, dn string) string {
	return providerARN + "\x00dn\x00" + strings.ToLower(dn)
}

// ldapThrottles counts sign-ins in the store (shared by every node), the
// way AWS counts sign-in failures: a wrong password or an unknown user
// counts against the name, the directory entry and the source address; a
// success resets the user's count (the name and the entry) but not the
// address's, which it leaves as it was (one valid account must not clear
// the failures a password sprayer made from its address); a sign-in the
// directory could not check (unreachable, TLS failure, timeout) counts
// against nobody: the request fails with a retryable error and no
// lockout. Every attempt is counted before the bind and taken back when it
// turns out not to be a failure, so that binds made at once (a bind takes
// a round trip to the directory) cannot all pass a check that no failure
// has been recorded yet.
type ldapThrottles struct {
	users, addresses *throttle.Counter
	now              time.Time
	taken            []ldapTaken
}

// ldapTaken is one attempt counted by take.
type ldapTaken struct {
	t   *throttle.Counter
	key string
	a   throttle.Taken
}

// held reports whether key is held back by t (nil holds nothing back).
func (l *ldapThrottles) held(ctx context.Context, t *throttle.Counter, key string) (bool, error) {
	if t == nil || key == "" {
		return false, nil
	}
	return t.Locked(ctx, key, l.now)
}

// take counts an attempt of key by t before the bind (nil or an empty key
// counts nothing) and reports whether key is held back.
func (l *ldapThrottles) take(ctx context.Context, t *throttle.Counter, key string) (bool, error) {
	if t == nil || key == "" {
		return false, nil
	}
	if locked, err := t.Locked(ctx, key, l.now); err != nil || locked {
		return locked, err
	}
	a, err := t.Take(ctx, key, l.now)
	if err != nil {
		return false, err
	}
	if a.Held {
		// Locked out since the check: refused unchecked, so no failure
		// either (and not one that keeps the refund of the attempt that
		// started the lockout from lifting it).
		return true, t.Refund(ctx, key, a)
	}
	l.taken = append(l.taken, ldapTaken{t: t, key: key, a: a})
	return false, nil
}

// refund takes back the attempts counted by t (all of them when t is nil):
// they were not failures. It runs when ctx has ended too (a request cut
// off while the directory was asked was no failure either).
func (l *ldapThrottles) refund(ctx context.Context, t *throttle.Counter) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var first error
	for _, k := range l.taken {
		if t != nil && k.t != t {
			continue
		}
		if err := k.t.Refund(ctx, k.key, k.a); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// succeeded records a successful bind: the user's failures are forgotten
// and the address's attempt is taken back.
func (l *ldapThrottles) succeeded(ctx context.Context, nameKey, entryKey string) error {
	if l.users != nil {
		for _, k := range []string{nameKey, entryKey} {
			if k == "" {
				continue
			}
			if err := l.users.Reset(ctx, k); err != nil {
				return err
			}
		}
	}
	if l.addresses != nil {
		return l.refund(ctx, l.addresses)
	}
	return nil
}

// ldapHeld is the answer to a held-back sign-in: AccessDenied as for a
// wrong password, or, when the throttle state cannot be read, an internal
// error (it fails closed).
func ldapHeld(err error) error {
	if err != nil {
		return internal(err, "assume role with ldap identity")
	}
	return ldapDenied(errLDAPThrottled)
}

// ldapDenied is the one answer for every failure of the user's
// credentials; cause (never holding the password) goes to logs and audit.
func ldapDenied(cause error) error {
	return apierr.Wrap(apierr.AccessDenied, cause, "Not authorized to perform sts:AssumeRoleWithLDAPIdentity")
}

// AssumeRoleWithLDAPIdentity returns temporary credentials for a role to a
// directory user who proves their password with a bind, when the role's
// trust policy names the LDAP provider as a Federated principal for
// sts:AssumeRoleWithLDAPIdentity, with the user's claims (ldap:username,
// ldap:dn, ldap:upn, ldap:groups) as condition keys. The request is
// unsigned; c carries only its environment.
func (s *Service) AssumeRoleWithLDAPIdentity(ctx context.Context, c *authz.Caller, in *AssumeRoleWithLDAPIdentityInput) (*AssumeRoleWithLDAPIdentityOutput, error) {
	cfg := s.ldap
	if cfg.Store == nil || cfg.Directory == nil {
		return nil, apierr.New(apierr.InvalidAction, "AssumeRoleWithLDAPIdentity is not enabled")
	}
	if in.LDAPUsername == "" {
		return nil, apierr.Validation("Value null at 'lDAPUsername' failed to satisfy constraint: Member must not be null")
	}
	now := s.now().UTC()
	provider, err := s.ldapProvider(ctx, in)
	if err != nil {
		return nil, err
	}
	sessionPolicy, err := s.sessionPolicy(in.Policy)
	if err != nil {
		return nil, err
	}

	// Throttled before the directory is asked, with the same answer.
	nameKey := ldapNameKey(provider.ARN, in.LDAPUsername)
	var addr string
	if c != nil {
		addr = c.SourceIP
	}
	th := &ldapThrottles{users: cfg.Users, addresses: cfg.Addresses, now: now}
	if held, err := th.held(ctx, cfg.Addresses, addr); err != nil || held {
		return nil, ldapHeld(err)
	}
	if held, err := th.take(ctx, cfg.Users, nameKey); err != nil || held {
		return nil, ldapHeld(err)
	}
	if held, err := th.take(ctx, cfg.Addresses, addr); err != nil || held {
		// Refused unchecked (the address was locked out since its check,
		// or its count failed): the name's attempt is taken back too.
		_ = th.refund(ctx, nil)
		return nil, ldapHeld(err)
	}
	// A name the directory would read as another spelling (" bob", "bob ")
	// or could not take is refused like a wrong password: AccessDenied, as
	// for every other credential failure, so a prober learns nothing of
	// which spellings are refused. It was counted as one.
	if !ldap.ValidUsername(in.LDAPUsername) {
		return nil, ldapDenied(errors.New("ldap: invalid user name"))
	}
	dcfg, err := s.ldapConfig(provider)
	if err != nil {
		_ = th.refund(ctx, nil)
		return nil, err
	}
	// The entry found is throttled whichever spelling found it: counted
	// and checked before the user bind.
	var entryKey string
	var heldErr error
	dcfg.BeforeBind = func(dn string) error {
		entryKey = ldapEntryKey(provider.ARN, dn)
		held, err := th.take(ctx, cfg.Users, entryKey)
		if err != nil {
			heldErr = err
			return errLDAPThrottled
		}
		if held {
			return errLDAPThrottled
		}
		return nil
	}
	id, err := cfg.Directory.Authenticate(ctx, dcfg, in.LDAPUsername, in.LDAPPassword)
	if heldErr != nil {
		_ = th.refund(ctx, nil)
		return nil, ldapHeld(heldErr)
	}
	if err != nil {
		if ldap.IsDenied(err) {
			// Counted already, against the name, the entry and the address.
			return nil, ldapDenied(err)
		}
		// The directory did not check the password: no failure of the
		// user's, so nothing counts towards a lockout. The request fails
		// closed, with an error SDKs retry.
		if rerr := th.refund(ctx, nil); rerr != nil {
			return nil, internal(rerr, "assume role with ldap identity")
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, apierr.Wrap(apierr.IDPCommunicationError, err, "The LDAP directory could not be reached or did not answer in time.")
	}
	if err := th.succeeded(ctx, nameKey, entryKey); err != nil {
		return nil, internal(err, "assume role with ldap identity")
	}

	// The directory's name of the user, not the spelling typed: the
	// default session name and ldap:username are the same whether the
	// user typed alice, ALICE or alice@corp.example.
	sessionName := in.RoleSessionName
	if sessionName == "" {
		sessionName = ldapSessionName(id.Username)
	}
	caller := &authz.Caller{Account: provider.Account, Type: policy.LDAPUser, ARN: provider.ARN, Federated: provider.ARN, Now: now}
	if c != nil {
		caller.SourceIP, caller.UserAgent, caller.SecureTransport, caller.Region = c.SourceIP, c.UserAgent, c.SecureTransport, c.Region
	}
	keys := ldapKeys(id, provider, sessionName)

	var role *authz.Role
	if in.RoleArn != "" {
		_, _, roleName, _ := parseRoleARN(in.RoleArn)
		role, err = s.authz.Role(ctx, provider.Account, roleName)
		if err != nil && !isNotFound(err) {
			return nil, internal(err, "assume role with ldap identity")
		}
		if role == nil || !strings.EqualFold(role.ARN, in.RoleArn) {
			return nil, ldapDenied(errors.New("no such role"))
		}
		ok, err := s.ldapTrusts(ctx, caller, role, keys)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ldapDenied(errors.New("the role's trust policy does not admit the user"))
		}
	} else if role, err = s.ldapOnlyRole(ctx, caller, provider, keys); err != nil {
		return nil, err
	}

	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if int(duration) > role.MaxSessionDuration {
		return nil, apierr.New(apierr.ValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	policyARNs, err := s.sessionPolicyARNs(ctx, role.Account, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	packed, err := packedSize(sessionPolicy, policyARNs, nil)
	if err != nil {
		return nil, err
	}
	issued := s.time()
	sess := session.Session{
		Type:              session.LDAP,
		Account:           role.Account,
		ARN:               arn.AssumedRole(role.Account, role.Name, sessionName),
		PrincipalID:       role.ID + ":" + sessionName,
		RoleName:          role.Name,
		RoleID:            role.ID,
		RolePath:          role.Path,
		SessionName:       sessionName,
		IssuedAt:          issued,
		Expires:           issued.Add(secondsDuration(duration)),
		Policy:            sessionPolicy,
		PolicyARNs:        policyARNs,
		FederatedSubject:  id.DN,
		FederatedProvider: provider.ARN,
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "assume role with ldap identity: mint")
	}
	s.touchRole(ctx, sess.RoleID, sess.IssuedAt)
	out := &AssumeRoleWithLDAPIdentityOutput{
		Credentials:      credentials(creds),
		AssumedRoleUser:  &AssumedRoleUser{AssumedRoleID: sess.PrincipalID, ARN: sess.ARN},
		SubjectFromToken: id.DN,
		Provider:         provider.ARN,
	}
	if sessionPolicy != "" || len(policyARNs) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, nil
}

// ldapProvider finds the provider of a request: LDAPProviderArn; or
// ConfigName, or the one provider of the role's account that the role's
// trust policy names (or the account's only provider); or, for a request
// that names no role, the server's default provider (ConfigName then names
// another provider of its account).
func (s *Service) ldapProvider(ctx context.Context, in *AssumeRoleWithLDAPIdentityInput) (store.LDAPProvider, error) {
	var account, name string
	if in.RoleArn != "" {
		a, _, _, ok := parseRoleARN(in.RoleArn)
		if !ok {
			return store.LDAPProvider{}, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.RoleArn))
		}
		account = a
	}
	switch {
	case in.LDAPProviderArn != "":
		r, ok := arn.ParseIAM(in.LDAPProviderArn, "ldap-provider")
		if !ok || r.Path != "/" || r.Name == "" {
			return store.LDAPProvider{}, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.LDAPProviderArn))
		}
		if account != "" && r.Account != account {
			return store.LDAPProvider{}, apierr.New(apierr.ValidationError, "LDAPProviderArn and RoleArn must be in the same account")
		}
		account, name = r.Account, r.Name
	case account == "":
		if s.ldap.DefaultProvider == "" {
			return store.LDAPProvider{}, apierr.New(apierr.ValidationError,
				"RoleArn or LDAPProviderArn is required: this server has no default LDAP provider")
		}
		r, ok := arn.ParseIAM(s.ldap.DefaultProvider, "ldap-provider")
		if !ok {
			return store.LDAPProvider{}, internal(errors.New("invalid default ldap provider ARN"), "assume role with ldap identity")
		}
		account, name = r.Account, r.Name
		if in.ConfigName != "" {
			name = in.ConfigName
		}
	case in.ConfigName != "":
		name = in.ConfigName
	}
	if name != "" {
		p, err := s.ldap.Store.GetLDAPProvider(ctx, account, name)
		if isNotFound(err) {
			return store.LDAPProvider{}, apierr.New(apierr.InvalidParameterValue, "LDAP provider %s does not exist", name)
		}
		if err != nil {
			return store.LDAPProvider{}, internal(err, "assume role with ldap identity: load provider")
		}
		return p, nil
	}
	list, err := s.ldap.Store.ListLDAPProviders(ctx, account)
	if err != nil {
		return store.LDAPProvider{}, internal(err, "assume role with ldap identity: list providers")
	}
	if len(list) > 1 {
		// The providers the role's trust policy names.
		_, _, roleName, _ := parseRoleARN(in.RoleArn)
		role, err := s.ldap.Store.GetRole(ctx, account, roleName)
		if err != nil && !isNotFound(err) {
			return store.LDAPProvider{}, internal(err, "assume role with ldap identity: load role")
		}
		trust := strings.ToLower(role.TrustPolicy)
		named := list[:0:0]
		for _, p := range list {
			if strings.Contains(trust, strings.ToLower(p.ARN)+`"`) {
				named = append(named, p)
			}
		}
		if len(named) == 1 {
			return named[0], nil
		}
	}
	if len(list) != 1 {
		return store.LDAPProvider{}, apierr.New(apierr.InvalidParameterValue,
			"The account has %d LDAP providers and the role's trust policy names none or several: name one with LDAPProviderArn or ConfigName", len(list))
	}
	return list[0], nil
}

// ldapConfig opens the provider's service password and CA bundle.
func (s *Service) ldapConfig(p store.LDAPProvider) (ldap.Config, error) {
	c := ldap.Config{URL: p.URL, StartTLS: p.StartTLS, AllowInsecure: p.AllowInsecure, BindDN: p.BindDN,
		UserSearchBase: p.UserSearchBase, UserFilter: p.UserFilter, GroupMode: p.GroupMode,
		GroupSearchBase: p.GroupSearchBase, GroupFilter: p.GroupFilter}
	if len(p.SealedBindPassword) > 0 {
		if s.ldap.Sealer == nil {
			return ldap.Config{}, internal(errors.New("no sealer to open the bind password"), "assume role with ldap identity")
		}
		pw, err := s.ldap.Sealer.Open(p.SealedBindPassword, []byte(p.ARN))
		if err != nil {
			return ldap.Config{}, internal(err, "assume role with ldap identity: open bind password")
		}
		c.BindPassword = string(pw)
	}
	if p.CACertificates != "" {
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM([]byte(p.CACertificates)) {
			return ldap.Config{}, internal(errors.New("no certificate in the CA bundle"), "assume role with ldap identity")
		}
	}
	return c, nil
}

// ldapTrusts reports whether role's trust policy admits the LDAP caller.
func (s *Service) ldapTrusts(ctx context.Context, caller *authz.Caller, role *authz.Role, keys []authz.Key) (bool, error) {
	trust := []policy.Named{{ID: role.TrustID, Policy: role.Trust, Source: policy.Source{Type: policy.SourceResource, Owner: role.ARN}}}
	req := &authz.Request{Action: "sts:AssumeRoleWithLDAPIdentity", Resource: role.ARN, ResourceAccount: role.Account, ResourcePolicy: trust, Keys: keys}
	d, err := s.authz.Decide(ctx, caller, req)
	if err != nil {
		return false, internal(err, "assume role with ldap identity: authorize")
	}
	return d.Effect == policy.Allow, nil
}

// ldapOnlyRole finds the one role of the provider's account whose trust
// policy admits the caller (MinIO's request names no role). Only roles
// whose trust policy mentions the provider's ARN are evaluated; at most
// maxLDAPRoleScan roles are read.
func (s *Service) ldapOnlyRole(ctx context.Context, caller *authz.Caller, p store.LDAPProvider, keys []authz.Key) (*authz.Role, error) {
	var found []*authz.Role
	after := ""
	needle := strings.ToLower(p.ARN)
	for scanned := 0; ; {
		page, err := s.ldap.Store.ListRoles(ctx, p.Account, store.ListOptions{After: after, Limit: 500})
		if err != nil {
			return nil, internal(err, "assume role with ldap identity: list roles")
		}
		for _, r := range page {
			if !strings.Contains(strings.ToLower(r.TrustPolicy), needle) {
				continue
			}
			role, err := s.authz.Role(ctx, r.Account, r.Name)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return nil, internal(err, "assume role with ldap identity")
			}
			ok, err := s.ldapTrusts(ctx, caller, role, keys)
			if err != nil {
				return nil, err
			}
			if ok {
				found = append(found, role)
			}
		}
		scanned += len(page)
		if len(page) < 500 {
			break
		}
		if scanned >= maxLDAPRoleScan {
			return nil, apierr.New(apierr.ValidationError, "The account has more than %d roles: name the role with RoleArn", maxLDAPRoleScan)
		}
		after = store.NameKey(page[len(page)-1].Name)
	}
	switch len(found) {
	case 0:
		return nil, ldapDenied(errors.New("no role of the account trusts this LDAP identity; name one with RoleArn"))
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, r := range found {
		names[i] = r.ARN
	}
	return nil, apierr.New(apierr.ValidationError, "%d roles trust this LDAP identity (%s): name one with RoleArn", len(found), strings.Join(names, ", "))
}

// ldapKeys builds the condition keys of an AssumeRoleWithLDAPIdentity
// request: ldap:username is the directory's canonical name of the user
// (sAMAccountName, else uid), never the spelling the user typed.
func ldapKeys(id *ldap.Identity, p store.LDAPProvider, sessionName string) []authz.Key {
	keys := []authz.Key{
		{Name: "ldap:username", Values: []string{id.Username}},
		{Name: "ldap:dn", Values: []string{id.DN}},
		{Name: "aws:FederatedProvider", Values: []string{p.ARN}},
		{Name: "sts:RoleSessionName", Values: []string{sessionName}},
	}
	if id.UPN != "" {
		keys = append(keys, authz.Key{Name: "ldap:upn", Values: []string{id.UPN}})
	}
	if id.SAMAccountName != "" {
		keys = append(keys, authz.Key{Name: "ldap:samaccountname", Values: []string{id.SAMAccountName}})
	}
	if len(id.Groups) > 0 {
		keys = append(keys, authz.Key{Name: "ldap:groups", Values: id.Groups})
	}
	return keys
}

// ldapSessionName makes a session name of a user name: characters outside
// [\w+=,.@-] become '_', at most 64, at least 2.
func ldapSessionName(user string) string {
	b := make([]byte, 0, len(user))
	for i := 0; i < len(user) && len(b) < 64; i++ {
		c := user[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_+=,.@-", c) >= 0:
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	for len(b) < 2 {
		b = append(b, '_')
	}
	return string(b)
}

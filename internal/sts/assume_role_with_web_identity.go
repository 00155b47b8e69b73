package sts

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/oidc"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// OIDCProviders looks up an account's OIDC provider by name (the URL
// without https://); store.ErrNotFound when there is none
// (authz.Authorizer, cached).
type OIDCProviders interface {
	OIDCProvider(ctx context.Context, account, name string) (store.OIDCProvider, error)
}

// WebIdentityVerifier parses tokens and verifies them against a provider
// (oidc.Verifier).
type WebIdentityVerifier interface {
	Parse(raw string) (*oidc.Token, error)
	Verify(ctx context.Context, t *oidc.Token, p oidc.Provider) (*oidc.Claims, error)
}

// AssumeRoleWithWebIdentityInput is the AssumeRoleWithWebIdentity request.
type AssumeRoleWithWebIdentityInput struct {
	RoleArn          string             `required:"true" min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
	RoleSessionName  string             `required:"true" min:"2" max:"64" pattern:"[\\w+=,.@-]*"`
	WebIdentityToken string             `required:"true" min:"4" max:"20000" sensitive:"true"`
	ProviderId       string             `min:"4" max:"2048"`
	Policy           string             `min:"1" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PolicyArns       []PolicyDescriptor `max:"10"`
	DurationSeconds  *int32             `min:"900" max:"43200"`
}

// AssumeRoleWithWebIdentityOutput is the AssumeRoleWithWebIdentity result.
type AssumeRoleWithWebIdentityOutput struct {
	Credentials                 *Credentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string           `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             *AssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize            *int             `xml:"PackedPolicySize,omitempty"`
	Provider                    string           `xml:"Provider"`
	Audience                    string           `xml:"Audience"`
	SourceIdentity              string           `xml:"SourceIdentity,omitempty"`
}

var sourceIdentityPattern = regexp.MustCompile(`^[a-zA-Z_0-9+=,.@-]{2,64}$`)

// AssumeRoleWithWebIdentity returns temporary credentials for a role to the
// holder of an OIDC token from a provider of the role's account whose
// identity the role's trust policy allows (reference §3.3, §11.1). c carries
// only the request's environment: the token is the proof of identity.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, c *authz.Caller, in *AssumeRoleWithWebIdentityInput) (*AssumeRoleWithWebIdentityOutput, error) {
	if in.ProviderId != "" {
		return nil, apierr.New(apierr.InvalidParameterValue, "ProviderId is only for OAuth 2.0 access tokens of www.amazon.com and graph.facebook.com, which OpenSTS does not accept; omit it for OpenID Connect tokens")
	}
	account, _, name, ok := parseRoleARN(in.RoleArn)
	if !ok {
		return nil, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.RoleArn))
	}
	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	sessionPolicy, err := s.sessionPolicy(in.Policy)
	if err != nil {
		return nil, err
	}
	if s.oidc == nil || s.webID == nil {
		return nil, apierr.New(apierr.InvalidIdentityToken, "Web identity federation is not configured")
	}

	// The token: parsed, its provider found in the role's account by the
	// (unverified) issuer, then verified with that provider's keys.
	tok, err := s.webID.Parse(in.WebIdentityToken)
	if err != nil {
		return nil, webIdentityError(err)
	}
	noProvider := apierr.New(apierr.InvalidIdentityToken, "No OpenIDConnect provider found in your account for %s", apierr.Quote(tok.Issuer))
	if !strings.HasPrefix(tok.Issuer, "https://") {
		return nil, noProvider
	}
	prov, err := s.oidc.OIDCProvider(ctx, account, strings.TrimPrefix(tok.Issuer, "https://"))
	if err != nil {
		if isNotFound(err) {
			return nil, noProvider
		}
		return nil, internal(err, "assume role with web identity: provider")
	}
	op := oidc.Provider{URL: "https://" + prov.Name, ClientIDs: prov.ClientIDs, Thumbprints: prov.Thumbprints}
	claims, err := s.webID.Verify(ctx, tok, op)
	if err != nil {
		return nil, webIdentityError(err)
	}
	providerARN := arn.OIDCProvider(account, prov.Name)

	if claims.SourceIdentity != "" && (!sourceIdentityPattern.MatchString(claims.SourceIdentity) || strings.HasPrefix(strings.ToLower(claims.SourceIdentity), "aws:")) {
		return nil, apierr.New(apierr.InvalidIdentityToken, `Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`)
	}
	reqTags := make([]Tag, len(claims.Tags))
	for i, t := range claims.Tags {
		// The limits AssumeRole's Tags parameter has (its decoder checks
		// them there): a token is no way around them.
		if t.Key == "" || len(t.Key) > 128 || !sessionTagPattern.MatchString(t.Key) || len(t.Value) > 256 || !sessionTagPattern.MatchString(t.Value) {
			return nil, apierr.New(apierr.InvalidIdentityToken, "Invalid session tag in the token: a key must be 1-128 and a value 0-256 characters of [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]")
		}
		reqTags[i] = Tag{Key: t.Key, Value: t.Value}
	}
	tags, transitive, err := sessionTags(nil, reqTags, claims.TransitiveTagKeys)
	if err != nil {
		return nil, err
	}

	role, err := s.authz.Role(ctx, account, name)
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "assume role with web identity")
	}
	deny := apierr.New(apierr.AccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if role == nil || !strings.EqualFold(role.ARN, in.RoleArn) {
		return nil, deny
	}

	fc := authz.Caller{Type: policy.WebIdentity, Federated: providerARN, UserID: claims.Subject}
	if c != nil {
		fc.SourceIP, fc.UserAgent, fc.SecureTransport, fc.Region, fc.Now = c.SourceIP, c.UserAgent, c.SecureTransport, c.Region, c.Now
	}
	keys := webIdentityKeys(prov.Name, providerARN, claims, in.RoleSessionName, reqTags, role)
	actions := []string{"sts:AssumeRoleWithWebIdentity"}
	if len(tags) > 0 || len(transitive) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if claims.SourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	trust := []policy.Named{{ID: role.TrustID, Policy: role.Trust, Source: policy.Source{Type: policy.SourceResource, Owner: role.ARN}}}
	for _, action := range actions {
		req := &authz.Request{Action: action, Resource: role.ARN, ResourceAccount: role.Account, ResourcePolicy: trust, Keys: keys}
		d, err := s.authz.Decide(ctx, &fc, req)
		if err != nil {
			return nil, internal(err, "assume role with web identity: authorize")
		}
		if d.Effect != policy.Allow {
			if action != actions[0] {
				return nil, apierr.New(apierr.AccessDenied, "Not authorized to perform %s", action)
			}
			return nil, deny
		}
	}

	if int(duration) > role.MaxSessionDuration {
		return nil, apierr.New(apierr.ValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	policyARNs, err := s.sessionPolicyARNs(ctx, role.Account, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	packed, err := packedSize(sessionPolicy, policyARNs, tags)
	if err != nil {
		return nil, err
	}

	now := s.time()
	sess := session.Session{
		Type:              session.WebIdentity,
		Account:           role.Account,
		ARN:               arn.AssumedRole(role.Account, role.Name, in.RoleSessionName),
		PrincipalID:       role.ID + ":" + in.RoleSessionName,
		RoleName:          role.Name,
		RoleID:            role.ID,
		RolePath:          role.Path,
		SessionName:       in.RoleSessionName,
		IssuedAt:          now,
		Expires:           now.Add(secondsDuration(duration)),
		SourceIdentity:    claims.SourceIdentity,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		Policy:            sessionPolicy,
		PolicyARNs:        policyARNs,
		FederatedSubject:  claims.Subject,
		FederatedProvider: providerARN,
	}
	if err := s.openChain(claims.Strings, s.issuer != nil && claims.Issuer == s.issuer.URL(), &sess, now); err != nil {
		return nil, err
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "assume role with web identity: mint")
	}
	s.touchRole(ctx, sess.RoleID, sess.IssuedAt)
	out := &AssumeRoleWithWebIdentityOutput{
		Credentials:                 credentials(creds),
		SubjectFromWebIdentityToken: claims.Subject,
		AssumedRoleUser:             &AssumedRoleUser{AssumedRoleID: sess.PrincipalID, ARN: sess.ARN},
		Provider:                    claims.Issuer,
		Audience:                    claims.ClientID,
		SourceIdentity:              claims.SourceIdentity,
	}
	if sessionPolicy != "" || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, nil
}

// webIdentityKeys builds the trust policy's condition keys: every string
// claim as PROVIDER:claim, with :aud the matched client id, :oaud the
// token's aud and :amr its amr (reference §9.3); sts:RoleSessionName; the
// token's session tags and source identity; the role's tags.
func webIdentityKeys(name, providerARN string, cl *oidc.Claims, sessionName string, tags []Tag, role *authz.Role) []authz.Key {
	prefix := name + ":"
	claims := make(map[string][]string, len(cl.Strings)+3)
	for k, v := range cl.Strings {
		if k != "" && usableClaimName(k) {
			claims[k] = v
		}
	}
	// Condition keys compare names case-insensitively: claims whose names
	// differ only in case would be one key whose value depends on which
	// is set last, so neither is exposed.
	seen := make(map[string]int, len(claims))
	for k := range claims {
		seen[strings.ToLower(k)]++
	}
	for k := range claims {
		if seen[strings.ToLower(k)] > 1 {
			delete(claims, k)
		}
	}
	claims["sub"] = []string{cl.Subject}
	claims["aud"] = []string{cl.ClientID}
	if len(cl.Audience) > 0 {
		claims["oaud"] = cl.Audience
	}
	if len(cl.AMR) > 0 {
		claims["amr"] = cl.AMR
	}
	keys := make([]authz.Key, 0, len(claims)+len(tags)+len(role.Tags)+4)
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		keys = append(keys, authz.Key{Name: prefix + k, Values: claims[k]})
	}
	keys = append(keys,
		authz.Key{Name: "sts:RoleSessionName", Values: []string{sessionName}},
		authz.Key{Name: "aws:FederatedProvider", Values: []string{providerARN}})
	if cl.SourceIdentity != "" {
		keys = append(keys, authz.Key{Name: "sts:SourceIdentity", Values: []string{cl.SourceIdentity}})
	}
	if len(cl.TransitiveTagKeys) > 0 {
		keys = append(keys, authz.Key{Name: "sts:TransitiveTagKeys", Values: cl.TransitiveTagKeys})
	}
	keys = append(keys, authz.RequestTagKeys(tags)...)
	for _, t := range role.Tags {
		keys = append(keys, authz.Key{Name: "aws:ResourceTag/" + t.Key, Values: []string{t.Value}})
	}
	return keys
}

// usableClaimName reports whether a token claim may become a condition key
// PROVIDER:claim. The keys OpenSTS sets itself (sub, aud, oaud, amr) are
// reserved in any case: a token with a claim "SUB" would otherwise set the
// key of sub (condition key names compare case-insensitively). A name with
// a colon could spell another provider's key (claim "8443:sub" of provider
// "idp" is the sub of provider "idp:8443"), and AWS's own claims
// (https://aws.amazon.com/...) carry tags and source identity, not keys.
func usableClaimName(k string) bool {
	switch strings.ToLower(k) {
	case "sub", "aud", "oaud", "amr":
		return false
	}
	return !strings.Contains(k, ":") // which also leaves out https://aws.amazon.com/...
}

// webIdentityError maps a verification failure to AWS's error code.
func webIdentityError(err error) error {
	var e *oidc.Error
	if !asOIDC(err, &e) {
		return internal(err, "verify web identity token")
	}
	switch e.Kind {
	case oidc.Expired:
		return apierr.New(apierr.ExpiredTokenException, "%s", e.Message)
	case oidc.Rejected:
		return apierr.New(apierr.IDPRejectedClaim, "%s", e.Message)
	case oidc.Communication:
		return apierr.Wrap(apierr.IDPCommunicationError, e, "%s", e.Message)
	}
	return apierr.New(apierr.InvalidIdentityToken, "%s", e.Message)
}

func asOIDC(err error, e **oidc.Error) bool { return errors.As(err, e) }

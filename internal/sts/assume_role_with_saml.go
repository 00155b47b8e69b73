package sts

import (
	"context"
	"crypto/sha1" //nolint:gosec // AWS defines NameQualifier with SHA-1
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/federation/saml"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// SAMLStore is what AssumeRoleWithSAML reads and writes: the account's SAML
// providers and the replay cache shared by every node.
type SAMLStore interface {
	GetSAMLProvider(ctx context.Context, account, name string) (store.SAMLProvider, error)
	RecordSAMLAssertion(ctx context.Context, key []byte, expires, now time.Time) error
}

// SAMLConfig configures AssumeRoleWithSAML.
type SAMLConfig struct {
	Store SAMLStore
	// Audiences and Recipients accepted in assertions; nil means AWS's
	// (saml.DefaultAudiences, saml.DefaultRecipients).
	Audiences  []string
	Recipients []string
	// Skew is the clock skew allowed on assertion times; 0 means
	// saml.DefaultSkew.
	Skew time.Duration
}

// SAML attribute names AWS defines (reference §11.2).
const (
	samlAttrRole              = "https://aws.amazon.com/SAML/Attributes/Role"
	samlAttrRoleSessionName   = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	samlAttrSessionDuration   = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	samlAttrSourceIdentity    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	samlAttrTransitiveTagKeys = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
	samlAttrPrincipalTag      = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	nameIDFormatPrefix        = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
	nameIDUnspecified         = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// AssumeRoleWithSAMLInput is the AssumeRoleWithSAML request. The assertion
// is secret: it is never logged, audited or stored.
type AssumeRoleWithSAMLInput struct {
	RoleArn         string             `required:"true" min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
	PrincipalArn    string             `required:"true" min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
	SAMLAssertion   string             `required:"true" min:"4" max:"100000" sensitive:"true"`
	PolicyArns      []PolicyDescriptor `max:"10"`
	Policy          string             `min:"1" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	DurationSeconds *int32             `min:"900" max:"43200"`
}

// AssumeRoleWithSAMLOutput is the AssumeRoleWithSAML result.
type AssumeRoleWithSAMLOutput struct {
	Credentials      *Credentials     `xml:"Credentials"`
	AssumedRoleUser  *AssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int             `xml:"PackedPolicySize,omitempty"`
	Subject          string           `xml:"Subject"`
	SubjectType      string           `xml:"SubjectType"`
	Issuer           string           `xml:"Issuer"`
	Audience         string           `xml:"Audience"`
	NameQualifier    string           `xml:"NameQualifier"`
	SourceIdentity   string           `xml:"SourceIdentity,omitempty"`
}

var samlNamePattern = regexp.MustCompile(`^[a-zA-Z_0-9+=,.@-]{2,64}$`)

func invalidToken(format string, args ...any) error {
	return apierr.New(apierr.InvalidIdentityToken, format, args...)
}

func denySAML(action string) error {
	return apierr.New(apierr.AccessDenied, "Not authorized to perform %s", action)
}

// AssumeRoleWithSAML returns temporary credentials for a role to the
// subject of a SAML assertion from a provider the role trusts (reference
// §3.2, §11.2). The request is unsigned: c is nil, or the caller of a
// signed request, which is not what is authorized (only its request
// environment is used).
func (s *Service) AssumeRoleWithSAML(ctx context.Context, c *authz.Caller, in *AssumeRoleWithSAMLInput) (*AssumeRoleWithSAMLOutput, error) {
	if s.saml.Store == nil {
		return nil, apierr.New(apierr.InvalidAction, "AssumeRoleWithSAML is not enabled")
	}
	account, _, roleName, ok := parseRoleARN(in.RoleArn)
	if !ok {
		return nil, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.RoleArn))
	}
	pr, ok := arn.ParseIAM(in.PrincipalArn, "saml-provider")
	if !ok || pr.Path != "/" || pr.Name == "" {
		return nil, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.PrincipalArn))
	}
	now := s.now().UTC()
	raw, err := saml.Decode(in.SAMLAssertion)
	if err != nil {
		return nil, samlError(err, now)
	}

	// The provider, in the role's account.
	if pr.Account != account {
		return nil, invalidToken("Specified provider doesn't exist.")
	}
	provider, err := s.saml.Store.GetSAMLProvider(ctx, account, pr.Name)
	if err != nil {
		if isNotFound(err) {
			return nil, invalidToken("Specified provider doesn't exist.")
		}
		return nil, internal(err, "assume role with saml: load provider")
	}
	md, err := s.samlMetadata(provider)
	if err != nil {
		return nil, internal(err, "assume role with saml: provider metadata")
	}
	a, err := saml.Verify(raw, saml.Config{
		EntityID:     md.EntityID,
		Certificates: md.Certificates,
		Audiences:    orDefault(s.saml.Audiences, saml.DefaultAudiences),
		Recipients:   orDefault(s.saml.Recipients, saml.DefaultRecipients),
		Now:          now,
		Skew:         s.saml.Skew,
	})
	if err != nil {
		return nil, samlError(err, now)
	}

	// What the assertion says about the session.
	if !samlRolePair(a.Values(samlAttrRole), in.RoleArn, provider.ARN) {
		return nil, denySAML("sts:AssumeRoleWithSAML")
	}
	sessionName, err := samlSessionName(a)
	if err != nil {
		return nil, err
	}
	if a.Subject == "" {
		return nil, denySAML("sts:AssumeRoleWithSAML")
	}
	sourceIdentity, err := samlSourceIdentity(a)
	if err != nil {
		return nil, err
	}
	tags, transitive, err := samlTags(a)
	if err != nil {
		return nil, err
	}
	sessionPolicy, err := s.sessionPolicy(in.Policy)
	if err != nil {
		return nil, err
	}

	role, err := s.authz.Role(ctx, account, roleName)
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "assume role with saml")
	}
	if role == nil || !strings.EqualFold(role.ARN, in.RoleArn) {
		return nil, denySAML("sts:AssumeRoleWithSAML")
	}

	// The trust policy decides, with the assertion's claims as conditions.
	caller := &authz.Caller{Account: role.Account, Type: policy.SAMLUser, ARN: provider.ARN, Federated: provider.ARN, Now: now}
	if c != nil {
		caller.SourceIP, caller.UserAgent, caller.SecureTransport, caller.Region = c.SourceIP, c.UserAgent, c.SecureTransport, c.Region
	}
	keys := samlKeys(a, provider, sessionName, sourceIdentity, tags, transitive)
	actions := []string{"sts:AssumeRoleWithSAML"}
	if len(tags) > 0 || len(transitive) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	trust := []policy.Named{{ID: role.TrustID, Policy: role.Trust, Source: policy.Source{Type: policy.SourceResource, Owner: role.ARN}}}
	for _, action := range actions {
		req := &authz.Request{Action: action, Resource: role.ARN, ResourceAccount: role.Account, ResourcePolicy: trust, Keys: keys}
		d, err := s.authz.Decide(ctx, caller, req)
		if err != nil {
			return nil, internal(err, "assume role with saml: authorize")
		}
		if d.Effect != policy.Allow {
			return nil, denySAML(action)
		}
	}

	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if int(duration) > role.MaxSessionDuration {
		return nil, apierr.New(apierr.ValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	issued := s.time()
	expires := issued.Add(secondsDuration(duration))
	if v := a.Values(samlAttrSessionDuration); len(v) > 0 {
		// A console setting that can only shorten an API session.
		if n, err := strconv.Atoi(strings.TrimSpace(v[0])); err == nil && n >= 900 && n <= 43200 && issued.Add(time.Duration(n)*time.Second).Before(expires) {
			expires = issued.Add(time.Duration(n) * time.Second)
		}
	}
	if !a.SessionNotOnOrAfter.IsZero() && a.SessionNotOnOrAfter.Before(expires) {
		expires = a.SessionNotOnOrAfter.UTC().Truncate(time.Second)
		if !expires.After(issued) {
			return nil, apierr.New(apierr.ExpiredTokenException, "Token expired: current date/time %d must be before the expiration date/time%d", now.Unix(), a.SessionNotOnOrAfter.Unix())
		}
	}

	policyARNs, err := s.sessionPolicyARNs(ctx, role.Account, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	packed, err := packedSize(sessionPolicy, policyARNs, tags)
	if err != nil {
		return nil, err
	}

	// Accept the assertion once, in every node: its id and issuer are
	// remembered (hashed) until it expires.
	if err := s.saml.Store.RecordSAMLAssertion(ctx, replayKey(a), a.NotOnOrAfter.Add(samlSkew(s.saml.Skew)), now); err != nil {
		if store.IsExists(err) {
			return nil, invalidToken("The SAML assertion has already been used")
		}
		return nil, internal(err, "assume role with saml: replay cache")
	}

	sess := session.Session{
		Type:              session.SAML,
		Account:           role.Account,
		ARN:               arn.AssumedRole(role.Account, role.Name, sessionName),
		PrincipalID:       role.ID + ":" + sessionName,
		RoleName:          role.Name,
		RoleID:            role.ID,
		RolePath:          role.Path,
		SessionName:       sessionName,
		IssuedAt:          issued,
		Expires:           expires,
		SourceIdentity:    sourceIdentity,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		Policy:            sessionPolicy,
		PolicyARNs:        policyARNs,
		FederatedSubject:  a.Subject,
		FederatedProvider: provider.ARN,
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "assume role with saml: mint")
	}
	s.touchRole(ctx, sess.RoleID, sess.IssuedAt)
	out := &AssumeRoleWithSAMLOutput{
		Credentials:     credentials(creds),
		AssumedRoleUser: &AssumedRoleUser{AssumedRoleID: sess.PrincipalID, ARN: sess.ARN},
		Subject:         a.Subject,
		SubjectType:     subjectType(a.SubjectFormat),
		Issuer:          a.Issuer,
		Audience:        a.Recipient,
		NameQualifier:   nameQualifier(a.Issuer, provider.Account, provider.Name),
		SourceIdentity:  sourceIdentity,
	}
	if sessionPolicy != "" || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, nil
}

// samlError maps a verification failure to the answer AWS gives.
func samlError(err error, now time.Time) error {
	var e *saml.Error
	if !errors.As(err, &e) {
		return internal(err, "verify saml response")
	}
	switch e.Kind {
	case saml.Expired:
		return apierr.New(apierr.ExpiredTokenException, "Token expired: current date/time %d must be before the expiration date/time%d", now.Unix(), e.Expiry.Unix())
	case saml.Rejected:
		return apierr.New(apierr.IDPRejectedClaim, "%s", e.Message)
	}
	return invalidToken("%s", e.Message)
}

func orDefault(v, def []string) []string {
	if len(v) == 0 {
		return def
	}
	return v
}

func samlSkew(d time.Duration) time.Duration {
	if d == 0 {
		return saml.DefaultSkew
	}
	return d
}

// replayKey identifies an assertion in the replay cache without storing it.
func replayKey(a *saml.Assertion) []byte {
	h := sha256.New()
	h.Write([]byte("opensts/saml-replay/v1\x00"))
	h.Write([]byte(a.Issuer))
	h.Write([]byte{0})
	h.Write([]byte(a.ID))
	return h.Sum(nil)
}

// samlRolePair reports whether one Role attribute value names the requested
// role and provider ("roleARN,providerARN", in either order).
func samlRolePair(values []string, roleARN, providerARN string) bool {
	for _, v := range values {
		first, second, ok := strings.Cut(v, ",")
		if !ok {
			continue
		}
		first, second = strings.TrimSpace(first), strings.TrimSpace(second)
		if first == roleARN && strings.EqualFold(second, providerARN) || second == roleARN && strings.EqualFold(first, providerARN) {
			return true
		}
	}
	return false
}

func samlSessionName(a *saml.Assertion) (string, error) {
	v := a.Values(samlAttrRoleSessionName)
	if len(v) == 0 || v[0] == "" {
		return "", invalidToken("RoleSessionName is required in AuthnResponse")
	}
	if len(v) > 1 || !samlNamePattern.MatchString(v[0]) {
		return "", invalidToken("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
	}
	return v[0], nil
}

func samlSourceIdentity(a *saml.Assertion) (string, error) {
	v := a.Values(samlAttrSourceIdentity)
	if len(v) == 0 {
		return "", nil
	}
	if len(v) > 1 || !samlNamePattern.MatchString(v[0]) || strings.HasPrefix(strings.ToLower(v[0]), "aws:") {
		return "", invalidToken(`Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`)
	}
	return v[0], nil
}

var sessionTagPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// samlTags reads the PrincipalTag:KEY attributes (one value each) and
// TransitiveTagKeys (a subset of them).
func samlTags(a *saml.Assertion) ([]session.Tag, []string, error) {
	var tags []session.Tag
	seen := map[string]bool{}
	for _, at := range a.Attributes {
		key, ok := strings.CutPrefix(at.Name, samlAttrPrincipalTag)
		if !ok {
			continue
		}
		lk := strings.ToLower(key)
		if key == "" || len(key) > 128 || !sessionTagPattern.MatchString(key) || strings.HasPrefix(lk, "aws:") {
			return nil, nil, invalidToken("Invalid session tag key in AuthnResponse")
		}
		if seen[lk] || len(at.Values) != 1 {
			return nil, nil, invalidToken("Session tag %s must have exactly one value in AuthnResponse", key)
		}
		if len(at.Values[0]) > 256 || !sessionTagPattern.MatchString(at.Values[0]) {
			return nil, nil, invalidToken("Invalid session tag value in AuthnResponse")
		}
		seen[lk] = true
		tags = append(tags, session.Tag{Key: key, Value: at.Values[0]})
	}
	if len(tags) > 50 {
		return nil, nil, apierr.New(apierr.PackedPolicyTooLarge, "Serialized token too large for session")
	}
	transitive := a.Values(samlAttrTransitiveTagKeys)
	for _, k := range transitive {
		if !seen[strings.ToLower(k)] {
			return nil, nil, invalidToken("The specified transitive tag key must be included in the requested tags.")
		}
	}
	return tags, transitive, nil
}

// samlAttributeKeys maps attribute names (OIDs) to the saml: condition keys
// AWS defines for them (reference §9.4).
var samlAttributeKeys = map[string]string{
	"urn:oid:2.5.4.3":                        "cn",
	"urn:oid:2.5.4.42":                       "givenName",
	"urn:oid:2.5.4.4":                        "surname",
	"urn:oid:2.5.4.41":                       "name",
	"urn:oid:2.5.4.45":                       "x500UniqueIdentifier",
	"urn:oid:0.9.2342.19200300.100.1.1":      "uid",
	"urn:oid:0.9.2342.19200300.100.1.3":      "mail",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":       "edupersonaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.2":       "edupersonnickname",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.3":       "edupersonorgdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.4":       "edupersonorgunitdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.5":       "edupersonprimaryaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.6":       "edupersonprincipalname",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.7":       "edupersonentitlement",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.8":       "edupersonprimaryorgunitdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.9":       "edupersonscopedaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.10":      "edupersontargetedid",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.11":      "edupersonassurance",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.2":       "eduorghomepageuri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.3":       "eduorgidentityauthnpolicyuri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.4":       "eduorglegalname",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.5":       "eduorgsuperioruri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.6":       "eduorgwhitepagesuri",
	"urn:oid:1.3.6.1.4.1.1466.115.121.1.15":  "organizationStatus",
	"urn:oid:1.2.840.113556.1.4.98":          "primaryGroupSID",
	"urn:oid:2.16.840.1.113730.3.1.241":      "commonName",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.11.5923": "edupersonassurance",
}

// samlKeyNames are the attribute condition keys, by their lower-case name,
// for attributes named (or friendly-named) by the key itself.
var samlKeyNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range samlAttributeKeys {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// samlKeys builds the condition keys of an AssumeRoleWithSAML request.
func samlKeys(a *saml.Assertion, p store.SAMLProvider, sessionName, sourceIdentity string, tags []session.Tag, transitive []string) []authz.Key {
	keys := []authz.Key{
		{Name: "saml:aud", Values: []string{a.Recipient}},
		{Name: "saml:iss", Values: []string{a.Issuer}},
		{Name: "saml:sub", Values: []string{a.Subject}},
		{Name: "saml:sub_type", Values: []string{subjectType(a.SubjectFormat)}},
		{Name: "saml:namequalifier", Values: []string{nameQualifier(a.Issuer, p.Account, p.Name)}},
		{Name: "saml:doc", Values: []string{p.Account + "/" + p.Name}},
		{Name: "aws:FederatedProvider", Values: []string{p.ARN}},
		{Name: "sts:RoleSessionName", Values: []string{sessionName}},
	}
	attrs := map[string][]string{}
	var order []string
	for _, at := range a.Attributes {
		k, ok := samlAttributeKeys[at.Name]
		if !ok {
			k, ok = samlKeyNames[strings.ToLower(at.Name)]
		}
		if !ok {
			k, ok = samlKeyNames[strings.ToLower(at.FriendlyName)]
		}
		if !ok {
			continue
		}
		if _, have := attrs[k]; !have {
			order = append(order, k)
		}
		attrs[k] = append(attrs[k], at.Values...)
	}
	for _, k := range order {
		keys = append(keys, authz.Key{Name: "saml:" + k, Values: attrs[k]})
	}
	if sourceIdentity != "" {
		keys = append(keys, authz.Key{Name: "sts:SourceIdentity", Values: []string{sourceIdentity}})
	}
	if len(transitive) > 0 {
		keys = append(keys, authz.Key{Name: "sts:TransitiveTagKeys", Values: transitive})
	}
	keys = append(keys, authz.RequestTagKeys(sessionTagKVs(tags))...)
	return keys
}

type sessionTagKV session.Tag

func (t sessionTagKV) TagKV() (string, string) { return t.Key, t.Value }

func sessionTagKVs(tags []session.Tag) []sessionTagKV {
	out := make([]sessionTagKV, len(tags))
	for i, t := range tags {
		out[i] = sessionTagKV(t)
	}
	return out
}

// subjectType is the NameID Format as AWS returns it: the SAML 2.0 prefix
// removed, other formats unchanged.
func subjectType(format string) string {
	if format == "" {
		format = nameIDUnspecified
	}
	return strings.TrimPrefix(format, nameIDFormatPrefix)
}

// nameQualifier is AWS's NameQualifier: Base64(SHA1(Issuer + AccountID +
// "/" + ProviderName)), the API reference's formula.
func nameQualifier(issuer, account, providerName string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + providerName)) //nolint:gosec // AWS defines it so
	return base64.StdEncoding.EncodeToString(sum[:])
}

// metadataCache keeps parsed provider metadata by document hash, so a
// request parses neither the XML nor the certificates again, however large
// the document: an unauthenticated request must not be able to make the
// server parse a provider's metadata. It is bounded by the bytes of what it
// keeps (entity ids and certificates), with CLOCK eviction.
type metadataCache struct {
	once sync.Once
	c    *cache.Cache[*saml.Metadata]
}

// metadataCacheBytes bounds the parsed metadata kept: some two thousand
// providers of one or two certificates.
const metadataCacheBytes = 8 << 20

func (s *Service) samlMetadata(p store.SAMLProvider) (*saml.Metadata, error) {
	s.mdCache.once.Do(func() {
		s.mdCache.c = cache.New(cache.Config[*saml.Metadata]{MaxBytes: metadataCacheBytes, Cost: func(md *saml.Metadata) (int, []cache.Shared) {
			n := 64 + len(md.EntityID)
			for _, c := range md.Certificates {
				n += 3*len(c.Raw) + 512 // the parsed certificate holds its DER and slices of it
			}
			return n, nil
		}})
	})
	key := sha256.Sum256([]byte(p.MetadataDocument))
	return s.mdCache.c.Load(key[:], func() (*saml.Metadata, error) {
		return saml.ParseMetadata([]byte(p.MetadataDocument))
	})
}

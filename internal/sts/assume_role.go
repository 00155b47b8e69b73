package sts

import (
	"context"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
)

// AssumeRoleInput is the AssumeRole request.
type AssumeRoleInput struct {
	RoleArn           string             `required:"true" min:"20" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"`
	RoleSessionName   string             `required:"true" min:"2" max:"64" pattern:"[\\w+=,.@-]*"`
	DurationSeconds   *int32             `min:"900" max:"43200"`
	Policy            string             `min:"1" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PolicyArns        []PolicyDescriptor `max:"10"`
	Tags              []Tag              `max:"50"`
	TransitiveTagKeys []string           `max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
	ExternalId        string             `min:"2" max:"1224" pattern:"[\\w+=,.@:\\/-]*"`
	SerialNumber      string             `min:"9" max:"256" pattern:"[\\w+=/:,.@-]*"`
	TokenCode         string             `min:"6" max:"6" pattern:"[\\d]*" sensitive:"true"`
	SourceIdentity    string             `min:"2" max:"64" pattern:"[\\w+=,.@-]*"`
}

// AssumedRoleUser identifies the new session.
type AssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	ARN           string `xml:"Arn"`
}

// AssumeRoleOutput is the AssumeRole result.
type AssumeRoleOutput struct {
	Credentials      *Credentials     `xml:"Credentials"`
	AssumedRoleUser  *AssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int             `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string           `xml:"SourceIdentity,omitempty"`
}

// maxChainAncestors bounds role chaining (AWS limits only the chained
// session's duration): each hop carries its ancestors in the token, for
// revocation, so the chain must not grow without bound.
const maxChainAncestors = 32

const (
	chainedMaxSeconds = 3600
	// packedLimit is the budget, in bytes, for the session policy (compacted),
	// policy ARNs and session tags that a token carries; PackedPolicySize is
	// the percentage of it a request uses.
	packedLimit = 8192
)

// AssumeRole returns temporary credentials for a role (reference §3.1, §8.4).
func (s *Service) AssumeRole(ctx context.Context, c *authz.Caller, in *AssumeRoleInput) (*AssumeRoleOutput, error) {
	if c.IsRoot() {
		return nil, apierr.New(apierr.AccessDenied, "Roles may not be assumed by root accounts.")
	}
	account, _, name, ok := parseRoleARN(in.RoleArn)
	if !ok {
		return nil, apierr.New(apierr.ValidationError, "%s is invalid", apierr.Quote(in.RoleArn))
	}
	if strings.HasPrefix(strings.ToLower(in.SourceIdentity), "aws:") {
		return nil, apierr.Validation("Value '" + in.SourceIdentity + "' at 'sourceIdentity' failed to satisfy constraint: Member must not start with 'aws:'")
	}
	prev := c.Session
	duration := int32(3600)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if c.Temporary() && duration > chainedMaxSeconds {
		return nil, apierr.New(apierr.ValidationError, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}

	tags, transitive, err := sessionTags(prev, in.Tags, in.TransitiveTagKeys)
	if err != nil {
		return nil, err
	}
	sessionPolicy, err := s.sessionPolicy(in.Policy)
	if err != nil {
		return nil, err
	}

	role, err := s.authz.Role(ctx, account, name)
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "assume role")
	}
	if role == nil || !strings.EqualFold(role.ARN, in.RoleArn) {
		return nil, denyAssume(c, "sts:AssumeRole", in.RoleArn)
	}
	mfa := false
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := s.checkMFA(ctx, c, in.SerialNumber, in.TokenCode); err != nil {
			return nil, err
		}
		mfa = true
	}

	// Authorize sts:AssumeRole and, for the features the request uses, the
	// permission-only actions, each against the trust policy and the
	// caller's own policies.
	keys := assumeRoleKeys(in, role)
	if mfa {
		keys = append(keys, authz.Key{Name: "aws:MultiFactorAuthPresent", Values: []string{"true"}}, authz.Key{Name: "aws:MultiFactorAuthAge", Values: []string{"0"}})
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 || len(in.TransitiveTagKeys) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if in.SourceIdentity != "" || prev != nil && prev.SourceIdentity != "" {
		// A source identity the chain carries is set on the new session
		// too: as in AWS, both the trust policy and the caller's policies
		// must allow it (UG, source identity with role chaining).
		actions = append(actions, "sts:SetSourceIdentity")
		if in.SourceIdentity == "" {
			keys = append(keys, authz.Key{Name: "sts:SourceIdentity", Values: []string{prev.SourceIdentity}})
		}
	}
	trust := []policy.Named{{ID: role.TrustID, Policy: role.Trust, Source: policy.Source{Type: policy.SourceResource, Owner: role.ARN}}}
	for _, action := range actions {
		// The decision is about the stored role, so it is made on its stored
		// ARN: a Deny on role/BreakGlass holds for role/breakglass.
		req := &authz.Request{Action: action, Resource: role.ARN, ResourceAccount: role.Account, ResourcePolicy: trust, Keys: keys}
		d, err := s.authz.Decide(ctx, c, req)
		if err != nil {
			return nil, internal(err, "assume role: authorize")
		}
		if d.Effect != policy.Allow {
			return nil, denyAssume(c, action, in.RoleArn)
		}
	}

	// Only a caller allowed to assume the role learns its MaxSessionDuration
	// (checked before, it told anyone whether the role exists).
	if int(duration) > role.MaxSessionDuration {
		return nil, apierr.New(apierr.ValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	// Managed session policies are looked up only once the caller is known
	// to be allowed, so that nobody learns which policy ARNs exist.
	policyARNs, err := s.sessionPolicyARNs(ctx, role.Account, in.PolicyArns)
	if err != nil {
		return nil, err
	}

	sourceIdentity := in.SourceIdentity
	if prev != nil && prev.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != prev.SourceIdentity {
			return nil, apierr.New(apierr.AccessDenied, "User: %s is not authorized to change the source identity of the session; it was set to %s earlier in the role chain", c.ARN, prev.SourceIdentity)
		}
		sourceIdentity = prev.SourceIdentity
	}

	packed, err := packedSize(sessionPolicy, policyARNs, tags)
	if err != nil {
		return nil, err
	}

	now := s.time()
	sess := session.Session{
		Type:              session.AssumedRole,
		Account:           role.Account,
		ARN:               arn.AssumedRole(role.Account, role.Name, in.RoleSessionName),
		PrincipalID:       role.ID + ":" + in.RoleSessionName,
		RoleName:          role.Name,
		RoleID:            role.ID,
		RolePath:          role.Path,
		SessionName:       in.RoleSessionName,
		IssuedAt:          now,
		Expires:           now.Add(secondsDuration(duration)),
		SourceIdentity:    sourceIdentity,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		Policy:            sessionPolicy,
		PolicyARNs:        policyARNs,
		SourceAccessKeyID: c.AccessKeyID,
	}
	if mfa {
		sess.MFA, sess.MFAAuthTime = true, now
	}
	if prev != nil {
		sess.ChainDepth = prev.ChainDepth + 1
		limit := maxChainAncestors
		if len(prev.ChainKeys) > 0 && !strings.HasPrefix(prev.ChainKeys[0], "ASIA") {
			limit++ // the long-term key that started the chain is no hop
		}
		if len(prev.ChainKeys) < limit {
			sess.ChainKeys = append(append(make([]string, 0, len(prev.ChainKeys)+1), prev.ChainKeys...), prev.AccessKeyID)
			sess.ChainARNs = append(append(make([]string, 0, len(prev.ChainARNs)+1), prev.ChainARNs...), prev.ARN)
			sess.ChainIssued = session.ChainIssuedAfter(prev)
		} else {
			return nil, apierr.New(apierr.AccessDenied, "Role chaining is limited to %d hops.", maxChainAncestors)
		}
		if prev.SourceAccessKeyID != "" {
			sess.SourceAccessKeyID = prev.SourceAccessKeyID
		}
		// MFA proven for a GetSessionToken session carries into the roles
		// assumed with it; a role session's MFA does not carry further (UG).
		if prev.Type == session.SessionToken && prev.MFA && !mfa {
			sess.MFA, sess.MFAAuthTime = true, prev.MFAAuthTime
		}
	} else if c.AccessKeyID != "" {
		// The user (or root) whose long-term key this is starts the chain:
		// revoking the principal reaches the session even once the key
		// is deleted.
		chain := []string{c.AccessKeyID, c.ARN} // one allocation for both
		sess.ChainKeys, sess.ChainARNs = chain[0:1:1], chain[1:2:2]
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "assume role: mint")
	}
	s.touchRole(ctx, sess.RoleID, sess.IssuedAt)
	out := &AssumeRoleOutput{
		Credentials:     credentials(creds),
		AssumedRoleUser: &AssumedRoleUser{AssumedRoleID: sess.PrincipalID, ARN: sess.ARN},
		SourceIdentity:  sourceIdentity,
	}
	if sessionPolicy != "" || len(policyARNs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, nil
}

// assumeRoleKeys builds the request-specific condition keys of AssumeRole.
func assumeRoleKeys(in *AssumeRoleInput, role *authz.Role) []authz.Key {
	keys := []authz.Key{{Name: "sts:RoleSessionName", Values: []string{in.RoleSessionName}}}
	if in.ExternalId != "" {
		keys = append(keys, authz.Key{Name: "sts:ExternalId", Values: []string{in.ExternalId}})
	}
	if in.SourceIdentity != "" {
		keys = append(keys, authz.Key{Name: "sts:SourceIdentity", Values: []string{in.SourceIdentity}})
	}
	if len(in.TransitiveTagKeys) > 0 {
		keys = append(keys, authz.Key{Name: "sts:TransitiveTagKeys", Values: in.TransitiveTagKeys})
	}
	keys = append(keys, authz.RequestTagKeys(in.Tags)...)
	// The role's tags are its resource tags, and only they: the caller's
	// session tags, transitive ones included, are its principal tags
	// (aws:PrincipalTag), never the target's. Letting a caller's transitive
	// tag stand in for the target role's tag would let anyone allowed to tag
	// a session pass an ABAC trust policy written as "ResourceTag/Team ==
	// PrincipalTag/Team" for any role, by chaining through a role of its
	// own. (reference §10.3 reads otherwise; the attack test
	// TestAttackTransitiveTagsOverrideTargetRoleTags pins this choice.)
	for _, t := range role.Tags {
		keys = append(keys, authz.Key{Name: "aws:ResourceTag/" + t.Key, Values: []string{t.Value}})
	}
	return keys
}

// sessionPolicy validates an inline session policy and returns it compacted
// ("" when none was passed).
func (s *Service) sessionPolicy(doc string) (string, error) {
	if doc == "" {
		return "", nil
	}
	if _, err := s.policies.Compile(policy.Session, doc); err != nil {
		return "", malformed(err)
	}
	return compactJSON(doc), nil
}

// sessionPolicyARNs checks that every managed session policy exists in
// account (the session's) or is AWS managed, and returns their stored ARNs,
// which the session carries.
func (s *Service) sessionPolicyARNs(ctx context.Context, account string, in []PolicyDescriptor) ([]string, error) {
	arns := make([]string, 0, len(in))
	for _, pd := range in {
		if a, err := arn.Parse(pd.ARN); err != nil || a.Account != account && a.Account != "aws" {
			return nil, apierr.New(apierr.InvalidParameterValue, "The policy %s does not exist or is not attachable.", pd.ARN)
		}
		p, err := s.authz.ManagedPolicy(ctx, pd.ARN)
		if err != nil {
			if isNotFound(err) {
				return nil, apierr.New(apierr.InvalidParameterValue, "The policy %s does not exist or is not attachable.", pd.ARN)
			}
			return nil, internal(err, "session policy arn")
		}
		arns = append(arns, p.ID)
	}
	return arns, nil
}

// sessionTags merges incoming transitive tags with the requested ones and
// applies the session-tag rules (reference §10.3).
func sessionTags(prev *session.Session, in []Tag, transitiveKeys []string) ([]session.Tag, []string, error) {
	seen := map[string]bool{}
	var out []session.Tag
	var transitive []string
	inherited := map[string]bool{}
	if prev != nil {
		for _, k := range prev.TransitiveTagKeys {
			inherited[strings.ToLower(k)] = true
			transitive = append(transitive, k)
		}
		for _, t := range prev.Tags {
			if inherited[strings.ToLower(t.Key)] {
				out = append(out, t)
				seen[strings.ToLower(t.Key)] = true
			}
		}
	}
	requested := map[string]bool{}
	for _, t := range in {
		k := strings.ToLower(t.Key)
		if strings.HasPrefix(k, "aws:") {
			return nil, nil, apierr.New(apierr.InvalidParameterValue, "Tag keys cannot start with 'aws:'")
		}
		if requested[k] {
			return nil, nil, apierr.New(apierr.InvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		if inherited[k] {
			return nil, nil, apierr.New(apierr.InvalidParameterValue, "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
		}
		requested[k] = true
		out = append(out, session.Tag{Key: t.Key, Value: t.Value})
	}
	for _, k := range transitiveKeys {
		if !requested[strings.ToLower(k)] {
			return nil, nil, apierr.New(apierr.InvalidParameterValue, "The specified transitive tag key must be included in the requested tags.")
		}
		transitive = append(transitive, k)
	}
	if len(out) > 50 {
		return nil, nil, apierr.New(apierr.PackedPolicyTooLarge, "Serialized token too large for session")
	}
	return out, transitive, nil
}

// packedSize reports, as AWS's PackedPolicySize does, the percentage of the
// budget that the session policy, policy ARNs and session tags use, and
// PackedPolicyTooLarge beyond 100 %. The figure is truthful: these bytes
// travel in the session token exactly as counted (the policy compacted;
// sealing keeps their length, and adds a fixed 40 bytes per token).
func packedSize(policyDoc string, arns []string, tags []session.Tag) (int, error) {
	n := len(policyDoc)
	for _, a := range arns {
		n += len(a)
	}
	for _, t := range tags {
		n += len(t.Key) + len(t.Value)
	}
	if n == 0 {
		return 0, nil
	}
	pct := (n*100 + packedLimit - 1) / packedLimit
	if pct > 100 {
		return pct, apierr.New(apierr.PackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
	}
	return pct, nil
}

// compactJSON drops whitespace outside strings.
func compactJSON(s string) string {
	var b strings.Builder
	in := false
	esc := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case in:
			b.WriteByte(ch)
			if esc {
				esc = false
			} else if ch == '\\' {
				esc = true
			} else if ch == '"' {
				in = false
			}
		case ch == '"':
			in = true
			b.WriteByte(ch)
		case ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t':
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func malformed(err error) error {
	if pe, ok := err.(*policy.Error); ok {
		return apierr.New(apierr.MalformedPolicyDocument, "%s", pe.Message)
	}
	return internal(err, "compile session policy")
}

// Package authorize is the authorize API: OpenSTS's own AWS JSON 1.1
// service (X-Amz-Target OpenSTSAuthorization_20261204.Authorize, SigV4
// service opensts) through which a resource server asks for a decision
// about a request it received. The server authenticates the embedded
// request exactly as it authenticates its own (SigV4 header or presigned
// query; long-term keys or session tokens; skew, expiry, revocation), or
// checks a session token the resource server extracted, and evaluates the
// action with the full policy logic (identity, permissions boundary,
// session policies, SCPs, a resource policy the resource server holds,
// cross-account rules). The caller is the resource server's own identity
// and needs opensts:Authorize.
//
// It imports authn, authz, policy, sigv4 and apierr; never the server, the
// pipeline, a protocol package or a store.
package authorize

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// Prefix is the X-Amz-Target prefix of the API; ServiceName its SigV4
// service name; Action the IAM action its caller needs.
const (
	Prefix      = "OpenSTSAuthorization_20261204"
	ServiceName = "opensts"
	Action      = "opensts:Authorize"
	// SigningKeyAction is what a caller needs, besides Action, to receive
	// the signing key of a chunk-signed upload (AuthorizeOutput.SigningKey).
	SigningKeyAction = "opensts:GetStreamingSigningKey"
)

// Limits on the input, so that one call's work is bounded whatever the
// caller sends (the body itself is bounded by the server's --max-body-bytes).
const (
	MaxHeaders           = 128      // header names in Request.Headers
	MaxHeaderBytes       = 64 << 10 // names and values together, as the server's own listener
	MaxURLBytes          = 16 << 10 // Request.Url
	MaxContextKeys       = 64       // keys in Context
	MaxContextValues     = 64       // values of one key
	MaxContextValueBytes = 1024     // one value
	MaxContextBytes      = 64 << 10 // every key and value together
	MaxResourcePolicy    = 20 << 10 // characters, S3's bucket policy quota
	MaxResourceBytes     = 2048     // Resource, as IAM's ARNs
	MaxActionBytes       = 128      // Action, as IAM's simulator
	maxKeyBytes          = 256      // a Context key
	maxTokenBytes        = 16 << 10 // Principal.SessionToken
	maxPrincipalIDBytes  = 128      // Principal.AccessKeyId
	maxMethodBytes       = 32       // Request.Method
	maxServiceBytes      = 64       // Request.Service, Request.Region
	maxUserAgentBytes    = 1024     // Principal.UserAgent
	redactedSignatureLen = 8        // shorter secrets are not scrubbed from messages (no false hits)
)

// Service serves the API. Configure it before first use; it is then safe
// for concurrent use.
type Service struct {
	Authn    *authn.Authenticator
	Authz    *authz.Authorizer
	SigV4    *sigv4.Verifier
	Policies *policy.Cache
	Now      func() time.Time
	// Revocations is the node's revocation set (GetRevocations).
	Revocations *session.Revocations
	// Region is the region the server serves (GetRevocations tells local
	// verifiers); "" means us-east-1 only.
	Region string
}

// AuthorizeInput is one question: who (Request or Principal, exactly one)
// may do Action on Resource, with Context.
type AuthorizeInput struct {
	// Request is the HTTP request the resource server received; the
	// server authenticates its SigV4 signature.
	Request *Request `json:"Request"`
	// Principal is temporary credentials the resource server extracted
	// itself; the server checks the session token, not a signature.
	Principal *PrincipalInput `json:"Principal"`
	Action    string          `json:"Action"`
	Resource  string          `json:"Resource"`
	// Context holds request condition keys (s3:prefix, aws:RequestTag/k,
	// ...). Keys the server sets itself (the principal's, the time, the
	// transport, the source address) are refused.
	Context map[string][]string `json:"Context"`
	// ResourcePolicy is the resource-based policy the resource server
	// holds for Resource (a bucket policy), a JSON document.
	ResourcePolicy string `json:"ResourcePolicy"`
	// ResourceAccount owns Resource; default the caller's account.
	ResourceAccount string `json:"ResourceAccount"`
}

// Request is an HTTP request as the resource server received it.
type Request struct {
	Method string `json:"Method"`
	// Url is the absolute URL, its path and query exactly as received.
	URL string `json:"Url"`
	// Headers are the request's headers; a Host header here wins over
	// the Url's host.
	Headers map[string][]string `json:"Headers"`
	// PayloadHash is the hex SHA-256 of the body as received, or the
	// literal the client signed instead (UNSIGNED-PAYLOAD); "" means an
	// empty body. See sigv4.Verifier.ParseHashAt.
	PayloadHash string `json:"PayloadHash"`
	// SourceIp is the client's address (aws:SourceIp).
	SourceIP string `json:"SourceIp"`
	// Service is the SigV4 service name the request must be signed for;
	// default the Action's service prefix (s3 for s3:GetObject).
	Service string `json:"Service"`
	// Region is the region the request must be signed for; default the
	// server's region or us-east-1, as for OpenSTS's own APIs.
	Region string `json:"Region"`
}

// PrincipalInput is temporary credentials without a request signature.
//
// Only a session token is accepted: it is a credential the server can
// verify on its own (its issuer signature, expiry, revocation), whereas a
// long-term access key id is not secret and proves nothing without a
// signature. The token then stands alone as a bearer credential: whoever
// holds it is authorized as the session without proving that they hold
// the secret access key. A resource server uses this only for requests it
// authenticated some other way; policies can tell such decisions apart
// (opensts:AuthenticationMethod is SessionToken), and the caller's own
// opensts:Authorize permission can be limited to SigV4 with the same key.
type PrincipalInput struct {
	AccessKeyID  string `json:"AccessKeyId"`
	SessionToken string `json:"SessionToken" sensitive:"true"`
	SourceIP     string `json:"SourceIp"`
	UserAgent    string `json:"UserAgent"`
	// SecureTransport is aws:SecureTransport.
	SecureTransport bool `json:"SecureTransport"`
	// Region is aws:RequestedRegion; default the server's.
	Region string `json:"Region"`
}

// AuthorizeOutput is the decision with its explanation.
type AuthorizeOutput struct {
	// Decision is Allow or Deny.
	Decision string `json:"Decision"`
	// Reason is Allowed, ExplicitDeny, ImplicitDeny, AuthenticationFailed,
	// or Denied: about another account's principal, denied by that
	// account's policies (which the answer does not describe).
	Reason string `json:"Reason"`
	// DeniedBy is the policy type that denied or failed to allow:
	// identity, boundary, session, scp or resource.
	DeniedBy    string `json:"DeniedBy,omitempty"`
	Explanation string `json:"Explanation,omitempty"`
	// MatchedStatements are every statement that matched, Allow and Deny.
	MatchedStatements []Statement `json:"MatchedStatements"`
	// MissingContextValues are condition keys a condition needed but the
	// request lacked.
	MissingContextValues []string `json:"MissingContextValues"`
	// PolicyDecisions is what the policies of each type present said:
	// allowed, explicitDeny or implicitDeny.
	PolicyDecisions map[string]string `json:"PolicyDecisions,omitempty"`
	// CrossAccount: the principal and the resource are in different
	// accounts, so both the identity side and the resource policy had to
	// allow.
	CrossAccount        bool                 `json:"CrossAccount,omitempty"`
	Principal           *Principal           `json:"Principal,omitempty"`
	AuthenticationError *AuthenticationError `json:"AuthenticationError,omitempty"`
	// SigningKey is set for an allowed request whose PayloadHash is
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD, when the caller may also
	// opensts:GetStreamingSigningKey: the hex SigV4 signing key of the
	// request's credential scope (its date, region and service), with
	// which the caller checks the chunk signatures. It is derived only
	// after the seed signature verified; the secret never leaves.
	SigningKey string `json:"SigningKey,omitempty" sensitive:"true"`
}

// Statement is a matched statement.
type Statement struct {
	PolicyID   string `json:"PolicyId"`
	PolicyType string `json:"PolicyType"`
	Sid        string `json:"Sid,omitempty"`
	Index      int    `json:"Index"`
	Effect     string `json:"Effect"`
}

// Principal is who made the request, as authenticated.
type Principal struct {
	// Type is IAMUser, AssumedRole, FederatedUser or Root.
	Type             string `json:"Type"`
	ARN              string `json:"Arn"`
	PrincipalARN     string `json:"PrincipalArn"` // aws:PrincipalArn: the role's ARN for role sessions
	AccountID        string `json:"AccountId"`
	UserID           string `json:"UserId"` // aws:userid
	AccessKeyID      string `json:"AccessKeyId"`
	UserName         string `json:"UserName,omitempty"`
	RoleARN          string `json:"RoleArn,omitempty"`
	SessionName      string `json:"SessionName,omitempty"`
	SourceIdentity   string `json:"SourceIdentity,omitempty"`
	MFAAuthenticated bool   `json:"MFAAuthenticated"`
	// SessionIssuedAt and SessionExpiration are epoch seconds (0 for
	// long-term keys).
	SessionIssuedAt   float64 `json:"SessionIssuedAt,omitempty"`
	SessionExpiration float64 `json:"SessionExpiration,omitempty"`
	// AuthenticatedBy is SigV4 or SessionToken.
	AuthenticatedBy string `json:"AuthenticatedBy"`
}

// AuthenticationError is why the embedded request did not authenticate,
// as the resource server should answer its client.
type AuthenticationError struct {
	Code           string `json:"Code"`
	Message        string `json:"Message"`
	HTTPStatusCode int    `json:"HTTPStatusCode"`

	real  bool   // about a credential that exists (RealCredential)
	keyID string // the access key id the signature named (ClaimedKeyID)
}

// ClaimedKeyID is the access key id the request's signature named, "" when
// it did not parse: only a claim when the key was not found.
func (e *AuthenticationError) ClaimedKeyID() string { return e.keyID }

// maxClaimedKeyID bounds ClaimedKeyID: the signature's parser takes an
// access key id of any length.
const maxClaimedKeyID = 128

// claimedKey is an authentication failure of a request whose signature
// parsed, with the access key id it named.
type claimedKey struct {
	error
	id string
}

func (e claimedKey) Unwrap() error { return e.error }

// RealCredential reports whether the failure is about a credential that
// exists (authn.RealCredential), not one the request may have made up.
func (e *AuthenticationError) RealCredential() bool { return e.real }

// Authentication methods (opensts:AuthenticationMethod, Principal.AuthenticatedBy).
const (
	BySigV4        = "SigV4"
	BySessionToken = "SessionToken"
)

func invalid(format string, args ...any) error {
	return apierr.New(apierr.ValidationException, format, args...)
}

// Authorize answers one question. Bad input is a ValidationException; a
// request that does not authenticate is a Deny with AuthenticationError,
// not an error.
func (s *Service) Authorize(ctx context.Context, caller *authz.Caller, in *AuthorizeInput) (*AuthorizeOutput, error) {
	now := s.Now()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	method := BySigV4
	if in.Principal != nil {
		method = BySessionToken
	}
	resourceAccount := in.ResourceAccount
	if resourceAccount == "" {
		resourceAccount = caller.Account
	}
	keys := []authz.Key{
		{Name: "opensts:AuthorizeAction", Values: []string{in.Action}},
		{Name: "opensts:ResourceAccount", Values: []string{resourceAccount}},
		{Name: "opensts:AuthenticationMethod", Values: []string{method}},
	}
	// The caller first: one without the right learns nothing of the
	// request, its principal or the policies.
	if err := s.Authz.Check(ctx, caller, Action, in.Resource, keys...); err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
			return nil, apierr.New(apierr.JSONAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", caller.ARN, Action, in.Resource)
		}
		return nil, apierr.OrInternal(err, "authorize: check the caller")
	}
	resourcePolicy, err := in.CompileResourcePolicy(s.Policies)
	if err != nil {
		return nil, err
	}

	var (
		principal *authz.Caller
		key       *[32]byte
	)
	if in.Request != nil {
		principal, key, err = s.authenticate(ctx, in, now)
	} else {
		principal, err = s.token(in.Principal, now)
	}
	if err != nil {
		ae, ok := AuthenticationFailure(err, in)
		if !ok {
			return nil, apierr.OrInternal(err, "authorize: authenticate the request")
		}
		return Unauthenticated(ae), nil
	}
	if err := s.Authz.Resolve(ctx, principal); err != nil {
		return nil, apierr.OrInternal(err, "authorize: resolve the principal")
	}
	req := &authz.Request{Action: in.Action, Resource: in.Resource, ResourceAccount: resourceAccount, ResourcePolicy: resourcePolicy,
		Keys: make([]authz.Key, 0, len(in.Context)+1)}
	for k, vs := range in.Context {
		req.Keys = append(req.Keys, authz.Key{Name: k, Values: vs})
	}
	req.Keys = append(req.Keys, authz.Key{Name: "opensts:AuthenticationMethod", Values: []string{method}},
		authz.Key{Name: "aws:ResourceAccount", Values: []string{resourceAccount}})
	d, err := s.Authz.Decide(ctx, principal, req)
	if err != nil {
		return nil, apierr.OrInternal(err, "authorize: decide")
	}
	out := Explain(in.Action, d)
	out.Principal = Describe(principal, method)
	if principal.Account != caller.Account {
		ownPoliciesOnly(out)
	}
	if key != nil && out.Decision == "Allow" {
		if err := s.Authz.Check(ctx, caller, SigningKeyAction, in.Resource, keys...); err != nil {
			if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
				return nil, apierr.New(apierr.JSONAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", caller.ARN, SigningKeyAction, in.Resource)
			}
			return nil, apierr.OrInternal(err, "authorize: check the caller for the signing key")
		}
		out.SigningKey = hex.EncodeToString(key[:])
	}
	return out, nil
}

// ownPoliciesOnly cuts an answer about another account's principal down to
// the decision and what the caller's own resource policy said: that
// account's policies (their names, statements, which of them denied, the
// condition keys they lacked) are its own, as GetVerificationData keeps
// them, and AWS shows a resource's owner none of them either. Without it a
// resource server could read another account's IAM policies, statement by
// statement, for any action it liked (found by a review as an attacker).
func ownPoliciesOnly(out *AuthorizeOutput) {
	resource := policy.Resource.String()
	matched := make([]Statement, 0, len(out.MatchedStatements))
	for _, m := range out.MatchedStatements {
		if m.PolicyType == resource {
			matched = append(matched, m)
		}
	}
	out.MatchedStatements = matched
	if out.DeniedBy != "" && out.DeniedBy != resource {
		// Denied by that account's side: whether explicitly or not would
		// say what its policies hold about the action the caller picked.
		out.DeniedBy, out.Reason = "", "Denied"
	}
	out.Explanation = ""
	out.MissingContextValues = []string{}
	var decisions map[string]string
	if v, ok := out.PolicyDecisions[resource]; ok {
		decisions = map[string]string{resource: v}
	}
	out.PolicyDecisions = decisions
}

// Unauthenticated is the answer about a request that did not authenticate.
func Unauthenticated(ae *AuthenticationError) *AuthorizeOutput {
	return &AuthorizeOutput{Decision: "Deny", Reason: "AuthenticationFailed", MatchedStatements: []Statement{}, MissingContextValues: []string{},
		AuthenticationError: ae}
}

// CompileResourcePolicy compiles in.ResourcePolicy with cache (nil when
// there is none); an invalid one is a ValidationException.
func (in *AuthorizeInput) CompileResourcePolicy(cache *policy.Cache) ([]policy.Named, error) {
	if in.ResourcePolicy == "" {
		return nil, nil
	}
	p, err := cache.Compile(policy.Resource, in.ResourcePolicy)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, invalid("ResourcePolicy is not a valid resource-based policy: %s", pe.Message)
		}
		return nil, apierr.OrInternal(err, "authorize: compile the resource policy")
	}
	return []policy.Named{{ID: "ResourcePolicy", Policy: p, Source: policy.Source{Type: policy.SourceResource, Owner: in.Resource}}}, nil
}

// Explain renders a decision. The server and the public verifier's local
// mode both answer with it, so that their answers agree.
func Explain(action string, d policy.Decision) *AuthorizeOutput {
	out := new(AuthorizeOutput)
	ExplainInto(out, action, d)
	out.PolicyDecisions = policyDecisions(d.Verdicts)
	return out
}

// ExplainInto is Explain into out, with PolicyDecisions shared between
// every answer of the same verdicts: the caller must not modify it. The
// public verifier's local mode, whose decisions cost microseconds, saves
// building one map each.
func ExplainInto(out *AuthorizeOutput, action string, d policy.Decision) {
	*out = AuthorizeOutput{Decision: "Deny", MatchedStatements: make([]Statement, 0, len(d.Matched)), MissingContextValues: []string{},
		CrossAccount: d.CrossAccount}
	switch d.Effect {
	case policy.Allow:
		out.Decision, out.Reason = "Allow", "Allowed"
	case policy.ExplicitDeny:
		out.Reason = "ExplicitDeny"
	default:
		out.Reason = "ImplicitDeny"
	}
	if d.Effect != policy.Allow {
		k := d.DeniedBy
		if k == 0 {
			k = policy.Identity
		}
		out.DeniedBy = k.String()
		out.Explanation = d.Explain(action)
	}
	for _, m := range d.Matched {
		effect := "Allow"
		if m.Effect == policy.ExplicitDeny {
			effect = "Deny"
		}
		out.MatchedStatements = append(out.MatchedStatements, Statement{PolicyID: m.PolicyID, PolicyType: m.Kind.String(), Sid: m.Sid, Index: m.Index, Effect: effect})
	}
	out.MissingContextValues = append(out.MissingContextValues, d.Missing...)
	if v, ok := sharedDecisions.Load(d.Verdicts); ok {
		out.PolicyDecisions = v.(map[string]string)
		return
	}
	m := policyDecisions(d.Verdicts)
	sharedDecisions.Store(d.Verdicts, m)
	out.PolicyDecisions = m
}

// sharedDecisions holds ExplainInto's read-only PolicyDecisions maps by
// verdicts (a few thousand at most: three states for each of six kinds).
var sharedDecisions sync.Map

// policyDecisions is what the policies of each type present said.
func policyDecisions(v policy.Verdicts) map[string]string {
	var out map[string]string
	for _, k := range []policy.Kind{policy.Identity, policy.Boundary, policy.Session, policy.Resource, policy.SCP, policy.RCP} {
		if e, ok := v.Of(k); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k.String()] = e.String()
		}
	}
	return out
}

// Describe returns the authenticated principal as the API shows it.
func Describe(c *authz.Caller, method string) *Principal {
	p := &Principal{ARN: c.ARN, PrincipalARN: c.PrincipalARN(), AccountID: c.Account, UserID: c.UserID, AccessKeyID: c.AccessKeyID,
		UserName: c.UserName, MFAAuthenticated: c.MFA(), AuthenticatedBy: method}
	switch c.Type {
	case policy.Root:
		p.Type = "Root"
	case policy.User:
		p.Type = "IAMUser"
	case policy.AssumedRole:
		p.Type = "AssumedRole"
	case policy.FederatedUser:
		p.Type = "FederatedUser"
	default:
		p.Type = "Unknown"
	}
	if s := c.Session; s != nil {
		p.SessionName, p.SourceIdentity = s.SessionName, s.SourceIdentity
		if authz.RoleSession(s) {
			p.RoleARN = arn.Role(s.Account, s.RolePath, s.RoleName)
		}
		p.SessionIssuedAt = float64(s.IssuedAt.Unix())
		p.SessionExpiration = float64(s.Expires.Unix())
	}
	return p
}

// authenticate builds the embedded request and authenticates it as the
// server authenticates its own.
func (s *Service) authenticate(ctx context.Context, in *AuthorizeInput, now time.Time) (_ *authz.Caller, _ *[32]byte, err error) {
	hr := in.Request
	r, err := httpRequest(hr)
	if err != nil {
		return nil, nil, err
	}
	sr, err := s.SigV4.ParseHashAt(r, hr.PayloadHash, now)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			id := sr.AccessKeyID
			if len(id) > maxClaimedKeyID {
				id = id[:maxClaimedKeyID]
			}
			err = claimedKey{err, id}
		}
	}()
	if err := in.CheckService(sr); err != nil {
		return nil, nil, err
	}
	if sr.StreamingPayload {
		region := hr.Region
		if region == "" {
			if _, err := s.Authn.RequestRegion(sr); err != nil {
				return nil, nil, err
			}
			region = sr.Region
		}
		c, key, err := s.Authn.AuthenticateStreaming(ctx, r, sr, now, region)
		if err != nil {
			return nil, nil, err
		}
		return c, &key, nil
	}
	var c *authz.Caller
	if hr.Region != "" {
		c, err = s.Authn.AuthenticateIn(ctx, r, sr, now, hr.Region)
	} else {
		c, err = s.Authn.Authenticate(ctx, r, sr, now)
	}
	return c, nil, err
}

// CheckService refuses a request signed for another service than the one
// in.Request names (default the action's prefix, s3 for s3:GetObject).
func (in *AuthorizeInput) CheckService(sr *sigv4.Request) error {
	service := in.Request.Service
	if service == "" {
		service, _, _ = strings.Cut(in.Action, ":")
	}
	if sr.Service != service {
		// AWS's text, trailing space included. A signature made for
		// another service (a presigned STS URL handed out as a proof of
		// identity) never authorizes here.
		return apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to correct service: '%s'. ", service)
	}
	return nil
}

// token authenticates a Principal input.
func (s *Service) token(p *PrincipalInput, now time.Time) (*authz.Caller, error) {
	c, err := s.Authn.Token(p.AccessKeyID, p.SessionToken, now)
	if err != nil {
		return nil, err
	}
	c.SourceIP, c.UserAgent, c.SecureTransport, c.Region = p.SourceIP, p.UserAgent, p.SecureTransport, p.Region
	if c.Region == "" {
		c.Region = authn.GlobalRegion
	}
	return c, nil
}

// httpRequest builds the server-side view of the embedded request.
func httpRequest(hr *Request) (*http.Request, error) {
	u, err := url.Parse(hr.URL)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.User != nil ||
		!strings.HasPrefix(strings.ToLower(hr.URL), u.Scheme+"://") {
		return nil, invalid("Request.Url must be an absolute http or https URL.")
	}
	if strings.ContainsRune(hr.URL, '#') {
		// A request-target has no fragment. Verifying the URL without it
		// would sign less than the resource server reads (a path or query
		// past the "#"), so such a request is refused, not trimmed.
		return nil, invalid("Request.Url must not contain a fragment (#); a request-target has none.")
	}
	target := hr.URL[len(u.Scheme)+3:]
	if i := strings.IndexAny(target, "/?"); i >= 0 {
		target = target[i:]
	} else {
		target = "/"
	}
	if target == "" || target[0] == '?' {
		target = "/" + target
	}
	r := &http.Request{Method: hr.Method, URL: u, Host: u.Host, Header: make(http.Header, len(hr.Headers)), RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for name, vs := range hr.Headers {
		key := http.CanonicalHeaderKey(name)
		if key == "Host" {
			if len(vs) > 0 {
				r.Host = vs[0]
			}
			continue
		}
		r.Header[key] = append(r.Header[key], vs...)
	}
	if u.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	if hr.SourceIP != "" {
		r.RemoteAddr = net.JoinHostPort(hr.SourceIP, "0")
	}
	return r, nil
}

// Validate bounds and checks the input; messages never echo header values
// or tokens.
func (in *AuthorizeInput) Validate() error {
	if (in.Request == nil) == (in.Principal == nil) {
		return invalid("Exactly one of Request and Principal is required.")
	}
	if err := in.ValidateQuestion(); err != nil {
		return err
	}
	if in.Request != nil {
		return in.Request.validate()
	}
	p := in.Principal
	if p.AccessKeyID == "" || len(p.AccessKeyID) > maxPrincipalIDBytes || p.SessionToken == "" || len(p.SessionToken) > maxTokenBytes {
		return invalid("Principal needs AccessKeyId and SessionToken (temporary credentials; long-term keys need a signed Request).")
	}
	if p.SourceIP != "" && !isIP(p.SourceIP) {
		return invalid("Principal.SourceIp must be an IP address.")
	}
	if len(p.UserAgent) > maxUserAgentBytes || len(p.Region) > maxServiceBytes {
		return invalid("Principal.UserAgent or Principal.Region is too long.")
	}
	return nil
}

// ValidateQuestion checks what the input asks, whoever asks it: the
// action, the resource, its account and policy, and the context keys (a
// ValidationException, as Authorize answers). The public verifier's local
// mode refuses what the server refuses with it.
func (in *AuthorizeInput) ValidateQuestion() error {
	if err := validAction(in.Action); err != nil {
		return err
	}
	if in.Resource == "" || len(in.Resource) > MaxResourceBytes || !utf8.ValidString(in.Resource) {
		return invalid("Resource must be an ARN or * of 1 to %d bytes.", MaxResourceBytes)
	}
	if in.Resource != "*" {
		if _, err := arn.Parse(in.Resource); err != nil {
			return invalid("Resource must be an ARN or *.")
		}
	}
	if in.ResourceAccount != "" && !isAccount(in.ResourceAccount) {
		return invalid("ResourceAccount must be 12 digits.")
	}
	if utf8.RuneCountInString(in.ResourcePolicy) > MaxResourcePolicy {
		return invalid("ResourcePolicy is longer than %d characters.", MaxResourcePolicy)
	}
	return validContext(in.Context)
}

func (hr *Request) validate() error {
	if hr.Method == "" || len(hr.Method) > maxMethodBytes || !httpguts.ValidHeaderFieldName(hr.Method) {
		return invalid("Request.Method must be an HTTP method.")
	}
	if hr.URL == "" || len(hr.URL) > MaxURLBytes {
		return invalid("Request.Url must be 1 to %d bytes.", MaxURLBytes)
	}
	if len(hr.Headers) > MaxHeaders {
		return invalid("Request.Headers has more than %d names.", MaxHeaders)
	}
	total := 0
	for name, vs := range hr.Headers {
		if !httpguts.ValidHeaderFieldName(name) {
			return invalid("Request.Headers has a name that is not a valid HTTP header name.")
		}
		total += len(name)
		for _, v := range vs {
			total += len(v)
		}
		if total > MaxHeaderBytes {
			return invalid("Request.Headers is larger than %d bytes.", MaxHeaderBytes)
		}
	}
	if hr.SourceIP != "" && !isIP(hr.SourceIP) {
		return invalid("Request.SourceIp must be an IP address.")
	}
	if len(hr.PayloadHash) > 128 {
		return invalid("Request.PayloadHash must be a hex SHA-256 or the literal the client signed.")
	}
	if len(hr.Service) > maxServiceBytes || len(hr.Region) > maxServiceBytes {
		return invalid("Request.Service and Request.Region must be at most %d bytes.", maxServiceBytes)
	}
	return nil
}

func validAction(a string) error {
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || len(a) > MaxActionBytes || strings.ContainsAny(a, "*? ") || !utf8.ValidString(a) {
		return invalid("Action must be of the form service:Action, without wildcards, at most %d bytes.", MaxActionBytes)
	}
	return nil
}

// contextKeys are the aws: keys a resource server may give: what the
// request or the resource says, never the principal, the time, the
// transport or the source address, which the server sets from what it
// authenticated (aws:ResourceAccount comes from ResourceAccount). Keys of
// the opensts: namespace are the server's.
var contextKeys = map[string]bool{
	"aws:referer": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:vpcsourceip": true,
	"aws:tagkeys": true, "aws:resourceorgid": true, "aws:resourceorgpaths": true,
	"aws:sourcearn": true, "aws:sourceaccount": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"aws:calledvia": true, "aws:calledviafirst": true, "aws:calledvialast": true,
}

var contextPrefixes = []string{"aws:requesttag/", "aws:resourcetag/"}

func validContext(ctx map[string][]string) error {
	if len(ctx) > MaxContextKeys {
		return invalid("Context has more than %d keys.", MaxContextKeys)
	}
	total := 0
	for k, vs := range ctx {
		if k == "" || len(k) > maxKeyBytes || !utf8.ValidString(k) || !strings.Contains(k, ":") {
			return invalid("Context keys must be condition keys (service:name) of at most %d bytes.", maxKeyBytes)
		}
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "opensts:") {
			return invalid("Context key %s is set by the server.", k)
		}
		if strings.HasPrefix(lk, "aws:") && !contextKeys[lk] && !hasPrefix(lk, contextPrefixes) {
			return invalid("Context key %s is set by the server from what it authenticated, or is not a request key.", k)
		}
		if len(vs) > MaxContextValues {
			return invalid("Context key %s has more than %d values.", k, MaxContextValues)
		}
		total += len(k)
		for _, v := range vs {
			if len(v) > MaxContextValueBytes || !utf8.ValidString(v) {
				return invalid("Context values must be UTF-8 of at most %d bytes.", MaxContextValueBytes)
			}
			total += len(v)
		}
		if total > MaxContextBytes {
			return invalid("Context is larger than %d bytes.", MaxContextBytes)
		}
	}
	return nil
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// AuthenticationFailure renders an authentication failure as the resource
// server should answer it, its message scrubbed of what in holds of
// secrets; ok is false for errors that are not about the request (the
// store failed).
func AuthenticationFailure(err error, in *AuthorizeInput) (*AuthenticationError, bool) {
	e, ok := apierr.As(err)
	if !ok || e.Code.Receiver {
		return nil, false
	}
	var ck claimedKey
	errors.As(err, &ck)
	if errors.Is(err, authn.ErrUnknownAccessKey) {
		return &AuthenticationError{Code: "InvalidAccessKeyId", Message: "The AWS Access Key Id you provided does not exist in our records.",
			HTTPStatusCode: http.StatusForbidden, keyID: ck.id}, true
	}
	if e.Code == apierr.ValidationException {
		// The embedded request's URL: the caller's input, not the client's.
		return nil, false
	}
	return &AuthenticationError{Code: e.Code.Name, Message: scrub(e.Message, in), HTTPStatusCode: e.Code.Status,
		real: authn.RealCredential(err), keyID: ck.id}, true
}

// scrub removes from a message what must not leave: sigv4 echoes a
// malformed Authorization header (with its signature), and nothing may
// echo a session token.
func scrub(msg string, in *AuthorizeInput) string {
	if i := strings.Index(msg, "Authorization="); i >= 0 {
		msg = msg[:i] + "Authorization=" + hidden
	}
	if in.Request == nil {
		return msg
	}
	for name, vs := range in.Request.Headers {
		if secretHeader(name) {
			for _, v := range vs {
				msg = scrubValue(msg, v)
			}
		}
	}
	if u, err := url.Parse(in.Request.URL); err == nil {
		for k, vs := range u.Query() {
			if secretParam(k) {
				for _, v := range vs {
					msg = scrubValue(msg, v)
				}
			}
		}
	}
	return msg
}

func scrubValue(msg, v string) string {
	if len(v) < redactedSignatureLen {
		return msg
	}
	msg = strings.ReplaceAll(msg, v, hidden)
	if len(v) > 32 {
		// truncated echoes start with the value's head
		msg = strings.ReplaceAll(msg, v[:32], hidden)
	}
	return msg
}

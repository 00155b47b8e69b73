// Package verifier lets a Go service accept OpenSTS credentials: it
// authenticates an *http.Request signed with AWS Signature Version 4 (the
// Authorization header or a presigned URL; long-term keys or temporary
// credentials) and authorizes it for an IAM action and resource with the
// full IAM policy logic of the principal (identity policies, permissions
// boundary, session policies, SCPs), a resource policy the service holds
// (a bucket policy) and the cross-account rules, and returns the decision
// with its explanation and the authenticated principal.
//
// # Remote and local mode
//
// In remote mode (the default) each decision is one call to the OpenSTS
// authorize API (OpenSTSAuthorization_20261204.Authorize), signed with
// the service's own credentials, which need opensts:Authorize. The
// service never sees a secret access key or a signing key: OpenSTS checks
// the signature. Every decision is as fresh as the server's.
//
// In local mode (Config.Mode Local) the Verifier decides by itself, with
// the same code as the server (internal/sigv4, the policy engine,
// internal/authorize's rules and explanations), from what it fetches over
// the same API with its own credentials, which need
// opensts:GetVerificationData:
//
//   - per access key and SigV4 scope (day, region, service), the first
//     time it sees a request signed with it: the scope's signing key
//     (kSigning, the HMAC chain over the secret, the date, the region and
//     the service), handed out only against that request's string to sign
//     and signature, which OpenSTS checks first; for temporary
//     credentials the session their token carries, opened and checked by
//     OpenSTS (signature, expiry, revocation); and the principal's
//     policies (identity, boundary, session, SCPs) and principal condition
//     keys (tags, ...). Cached by access key, token and scope.
//   - the revocation set, followed by its version: refetched whole only
//     when it changed.
//
// Only the verifier's own account's principals are decided locally: the
// server hands out the data (policies, tags, sessions, signing keys,
// revocation entries) of the caller's account alone, and answers that
// another account's credentials are another account's; local mode then
// asks the authorize API about each such request, as remote mode does.
//
// A warm cache decides with no round trip: the SigV4 signature against
// the cached signing key, the session's expiry and the revocation set,
// then the full policy evaluation. Config.Freshness (DefaultFreshness, 30
// s) bounds the age of all of it: the set is refetched in the background
// from half the bound, a key's data from three quarters, and a decision
// never uses either once it is older than the bound (it waits for a fetch
// instead, and fails closed with an error if OpenSTS cannot answer). A
// revocation, a policy change, a deleted user or a deactivated key
// therefore applies to a local Verifier at most Freshness after it applied
// on the server. A refusal of credentials (unknown key, invalid or expired
// token) is remembered for at most 5 seconds.
//
// What local mode is never given: a secret access key, a session token's
// secret derivation key, the keyring's Ed25519 signing key or its
// token-encryption key. SigV4 is symmetric, so whoever checks a signature
// can make one for the same scope; a signing key of one day, region and
// service, handed out only for a key whose holder signed a request for
// that scope, lets a compromised service sign only what it could already
// replay (requests to that service, in that region, that day), and
// OpenSTS never hands out one for a service it answers itself (sts, iam,
// organizations, opensts, cloudtrail). Tokens are Ed25519-signed, but
// their payload is sealed and their secret derived with symmetric keys
// that would open or give the secret of every token, so the server opens
// each new token once instead and local mode caches the session by the
// token. So a local Verifier can check tokens but never mint one, and the
// caller's opensts:GetVerificationData can be limited to its service and
// region with the condition keys opensts:SigningService and
// opensts:SigningRegion. Requests signed for the services OpenSTS answers
// get an APIError (ValidationException) in local mode: use remote mode
// for those.
//
// Both modes answer alike: the same decisions, explanations, principals
// and authentication errors (the package's tests hold local mode to remote
// mode's answers on a table of requests).
//
// # Use
//
//	v, err := verifier.New(verifier.Config{
//		Mode:        verifier.Local, // or Remote, the default
//		Endpoint:    "https://opensts.example.com",
//		Credentials: awsCfg.Credentials, // the service's own identity
//	})
//	d, err := v.Authorize(ctx, r, payloadHash, "s3:GetObject", "arn:aws:s3:::bucket/key", nil)
//	if err != nil { /* OpenSTS unreachable: fail closed */ }
//	if !d.Allowed() { /* answer 403, or d.AuthenticationError's code */ }
//
// Middleware wraps an http.Handler: it maps each request to an action and
// resource with a function the service gives, and answers denials itself
// with AWS-style XML errors (or JSON, Config.JSONErrors).
//
// The package imports the standard library, aws-sdk-go-v2 (the
// credentials provider interface and the SigV4 signer), and of OpenSTS's
// internal packages only those that decide (authorize, authn, policy,
// sigv4, session, cache, apierr); never the server, the pipeline or a
// store backend.
package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/opensts/opensts/internal/authorize"
)

// Mode is how a Verifier decides.
type Mode string

// Remote asks the OpenSTS authorize API for every decision.
const Remote Mode = "remote"

// Wire names of the authorize API.
const (
	prefix      = "OpenSTSAuthorization_20261204"
	serviceName = "opensts"
)

// UnsignedPayload is the payload hash of a request whose client left the
// body out of the signature (X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, S3).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// DefaultMaxBodyBytes bounds the body Middleware reads to hash.
const DefaultMaxBodyBytes = 16 << 20

// Config configures a Verifier.
type Config struct {
	// Mode is Remote (the default) or Local.
	Mode Mode
	// Endpoint is the OpenSTS URL (https://opensts.example.com).
	Endpoint string
	// Credentials are the service's own identity toward OpenSTS; they
	// need opensts:Authorize (Remote) or opensts:GetVerificationData
	// (Local). They are cached (aws.CredentialsCache) unless they already
	// are.
	Credentials aws.CredentialsProvider
	// Region signs the calls to OpenSTS; default us-east-1.
	Region string
	// HTTPClient calls OpenSTS; default a client with a 10 s timeout that
	// keeps up to 64 idle connections.
	HTTPClient *http.Client
	// Now is the clock that signs calls and, in local mode, checks
	// requests' times and sessions' expiry; default time.Now.
	Now func() time.Time
	// SourceIP returns a request's client address (aws:SourceIp); default
	// the host of r.RemoteAddr. Behind a proxy, give one that reads the
	// proxy's header, and only from proxies you trust.
	SourceIP func(r *http.Request) string
	// MaxBodyBytes bounds the body Middleware reads to hash;
	// default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// JSONErrors makes Middleware answer {"__type":CODE,"message":...}
	// (AWS JSON) instead of <Error><Code>... (AWS REST XML, as S3).
	JSONErrors bool
	// Freshness (Local) bounds the age of what a decision is made from:
	// the revocation set, and each access key's signing key, session and
	// policies are fetched again once they are this old (in the
	// background from half of it for the set, three quarters for a key,
	// so that keys in steady use do not wait). A revocation, a policy
	// change or a deleted key therefore takes effect within Freshness
	// plus one fetch. Default DefaultFreshness.
	Freshness time.Duration
	// CacheBytes (Local) bounds the memory of the cached keys, sessions
	// and compiled policies; default DefaultCacheBytes.
	CacheBytes int
}

// Verifier authenticates and authorizes requests. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	creds  aws.CredentialsProvider
	signer *v4.Signer
	url    string
	local  *local // Local mode; nil in Remote mode
}

// New returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	if cfg.Mode == "" {
		cfg.Mode = Remote
	}
	if cfg.Mode != Remote && cfg.Mode != Local {
		return nil, fmt.Errorf("verifier: unknown mode %q", cfg.Mode)
	}
	if cfg.Endpoint == "" {
		return nil, errors.New("verifier: Config.Endpoint is required")
	}
	if !strings.HasPrefix(cfg.Endpoint, "http://") && !strings.HasPrefix(cfg.Endpoint, "https://") {
		return nil, fmt.Errorf("verifier: Config.Endpoint %q is not an http or https URL", cfg.Endpoint)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("verifier: Config.Credentials is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.HTTPClient == nil {
		// Every decision is a call to one host: keep enough idle
		// connections for a busy service (the default keeps two).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SourceIP == nil {
		cfg.SourceIP = remoteIP
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Freshness <= 0 {
		cfg.Freshness = DefaultFreshness
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	creds := cfg.Credentials
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	v := &Verifier{cfg: cfg, creds: creds, signer: v4.NewSigner(), url: strings.TrimSuffix(cfg.Endpoint, "/") + "/"}
	if cfg.Mode == Local {
		v.local = newLocal(v)
	}
	return v, nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// Decision is the authorize API's answer.
type Decision struct {
	// Decision is "Allow" or "Deny".
	Decision string `json:"Decision"`
	// Reason is Allowed, ExplicitDeny, ImplicitDeny, AuthenticationFailed, or
	// Denied: about another account's principal, denied by that account's
	// policies (which the answer does not describe).
	Reason string `json:"Reason"`
	// DeniedBy is the policy type that denied or failed to allow
	// (identity, boundary, session, scp, resource).
	DeniedBy    string `json:"DeniedBy,omitempty"`
	Explanation string `json:"Explanation,omitempty"`
	// MatchedStatements are every statement that matched, Allow and Deny.
	MatchedStatements []Statement `json:"MatchedStatements"`
	// MissingContextValues are condition keys a condition needed but the
	// request lacked.
	MissingContextValues []string `json:"MissingContextValues"`
	// PolicyDecisions is what each policy type present said (allowed,
	// explicitDeny, implicitDeny). Read only: in local mode, decisions of
	// the same verdicts share one map.
	PolicyDecisions map[string]string `json:"PolicyDecisions,omitempty"`
	// CrossAccount reports that the principal's account does not own the
	// resource, so the resource policy had to allow too.
	CrossAccount bool `json:"CrossAccount,omitempty"`
	// Principal is who signed the request; nil when it did not
	// authenticate.
	Principal *Principal `json:"Principal,omitempty"`
	// AuthenticationError is set when the request did not authenticate.
	AuthenticationError *AuthenticationError `json:"AuthenticationError,omitempty"`
	// SigningKey is set for an allowed request signed with
	// X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD or
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (pass that literal as the
	// payload hash) when the service's credentials may also
	// opensts:GetStreamingSigningKey: the hex SigV4 signing key of the
	// request's credential scope, with which the service must check every
	// chunk signature of the body. Keep it no longer than the request.
	SigningKey string `json:"SigningKey,omitempty"`
}

// Allowed reports whether the request is allowed.
func (d *Decision) Allowed() bool { return d != nil && d.Decision == "Allow" }

// Statement is a policy statement that matched.
type Statement struct {
	PolicyID   string `json:"PolicyId"`
	PolicyType string `json:"PolicyType"`
	Sid        string `json:"Sid,omitempty"`
	Index      int    `json:"Index"`
	Effect     string `json:"Effect"`
}

// Principal is the authenticated principal.
type Principal struct {
	// Type is IAMUser, AssumedRole, FederatedUser or Root.
	Type              string  `json:"Type"`
	ARN               string  `json:"Arn"`
	PrincipalARN      string  `json:"PrincipalArn"` // the role's ARN for role sessions
	AccountID         string  `json:"AccountId"`
	UserID            string  `json:"UserId"`
	AccessKeyID       string  `json:"AccessKeyId"`
	UserName          string  `json:"UserName,omitempty"`
	RoleARN           string  `json:"RoleArn,omitempty"`
	SessionName       string  `json:"SessionName,omitempty"`
	SourceIdentity    string  `json:"SourceIdentity,omitempty"`
	MFAAuthenticated  bool    `json:"MFAAuthenticated"`
	SessionIssuedAt   float64 `json:"SessionIssuedAt,omitempty"`   // epoch seconds
	SessionExpiration float64 `json:"SessionExpiration,omitempty"` // epoch seconds
	// AuthenticatedBy is SigV4 or SessionToken.
	AuthenticatedBy string `json:"AuthenticatedBy"`
}

// AuthenticationError is why a request did not authenticate, with the
// AWS error code and HTTP status the service should answer.
type AuthenticationError struct {
	Code           string `json:"Code"`
	Message        string `json:"Message"`
	HTTPStatusCode int    `json:"HTTPStatusCode"`
}

// APIError is an error answer of the authorize API itself (the input was
// refused, the service's credentials lack opensts:Authorize, OpenSTS
// failed): never a decision about the request.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("verifier: authorize API: %d %s: %s (request id %s)", e.StatusCode, e.Code, e.Message, e.RequestID)
}

// Option adds to one Authorize call.
type Option func(*input)

// WithResourcePolicy evaluates doc, a resource-based policy (JSON) the
// service holds for the resource, such as a bucket policy.
func WithResourcePolicy(doc string) Option { return func(in *input) { in.ResourcePolicy = doc } }

// WithResourceAccount names the account that owns the resource; default
// the account of the service's own credentials. A principal of another
// account is then allowed only if the resource policy allows it too.
func WithResourceAccount(account string) Option {
	return func(in *input) { in.ResourceAccount = account }
}

// WithService names the SigV4 service the request must be signed for;
// default the action's prefix (s3 for s3:GetObject).
func WithService(name string) Option {
	return func(in *input) {
		if in.Request != nil {
			in.Request.Service = name
		}
	}
}

// WithRegion names the region the request must be signed for; default
// the OpenSTS server's region or us-east-1.
func WithRegion(region string) Option {
	return func(in *input) {
		if in.Request != nil {
			in.Request.Region = region
		}
	}
}

// input is the authorize API's request.
type input struct {
	Request         *request            `json:"Request,omitempty"`
	Principal       *principalInput     `json:"Principal,omitempty"`
	Action          string              `json:"Action"`
	Resource        string              `json:"Resource"`
	Context         map[string][]string `json:"Context,omitempty"`
	ResourcePolicy  string              `json:"ResourcePolicy,omitempty"`
	ResourceAccount string              `json:"ResourceAccount,omitempty"`
}

type request struct {
	Method      string              `json:"Method"`
	URL         string              `json:"Url"`
	Headers     map[string][]string `json:"Headers"`
	PayloadHash string              `json:"PayloadHash,omitempty"`
	SourceIP    string              `json:"SourceIp,omitempty"`
	Service     string              `json:"Service,omitempty"`
	Region      string              `json:"Region,omitempty"`
}

type principalInput struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SessionToken    string `json:"SessionToken"`
	SourceIP        string `json:"SourceIp,omitempty"`
	UserAgent       string `json:"UserAgent,omitempty"`
	SecureTransport bool   `json:"SecureTransport,omitempty"`
}

// Authorize authenticates r, a request the service received, and decides
// whether its principal may do action on resource with the condition keys
// in context (s3:prefix, aws:RequestTag/...; the keys OpenSTS sets itself
// are refused). payloadHash is the hex SHA-256 of r's body as received,
// or UNSIGNED-PAYLOAD when the client sent X-Amz-Content-Sha256:
// UNSIGNED-PAYLOAD; "" means an empty body. r.Body is not read.
//
// A request that does not authenticate is a Deny with AuthenticationError
// set, not an error. An error means there is no decision (OpenSTS
// unreachable, refused the call, or the input was invalid): deny.
func (v *Verifier) Authorize(ctx context.Context, r *http.Request, payloadHash, action, resource string, context map[string][]string, opts ...Option) (*Decision, error) {
	in := &input{Action: action, Resource: resource, Context: context, Request: &request{}}
	for _, o := range opts {
		o(in)
	}
	if v.local != nil {
		var (
			ain  authorize.AuthorizeInput
			areq authorize.Request
		)
		localInput(&ain, in)
		areq.Service, areq.Region = in.Request.Service, in.Request.Region
		ain.Request = &areq
		d, err := v.local.authorize(ctx, r, payloadHash, &ain)
		if !errors.Is(err, errOtherAccount) {
			return d, err
		}
	}
	in.Request.Method, in.Request.URL, in.Request.Headers = r.Method, requestURL(r), requestHeaders(r)
	in.Request.PayloadHash, in.Request.SourceIP = payloadHash, v.cfg.SourceIP(r)
	return v.call(ctx, in)
}

// AuthorizeSessionToken decides for temporary credentials the service
// extracted itself (a session token and its access key id), without a
// request signature. OpenSTS checks the token; whoever holds it is
// treated as the session, so use this only for requests the service
// authenticated some other way. Policies see opensts:AuthenticationMethod
// SessionToken.
func (v *Verifier) AuthorizeSessionToken(ctx context.Context, accessKeyID, sessionToken, sourceIP, action, resource string, context map[string][]string, opts ...Option) (*Decision, error) {
	in := &input{Action: action, Resource: resource, Context: context,
		Principal: &principalInput{AccessKeyID: accessKeyID, SessionToken: sessionToken, SourceIP: sourceIP}}
	for _, o := range opts {
		o(in)
	}
	if v.local != nil {
		var ain authorize.AuthorizeInput
		localInput(&ain, in)
		p := in.Principal
		ain.Principal = &authorize.PrincipalInput{AccessKeyID: p.AccessKeyID, SessionToken: p.SessionToken, SourceIP: p.SourceIP, UserAgent: p.UserAgent,
			SecureTransport: p.SecureTransport}
		d, err := v.local.authorizeToken(ctx, &ain)
		if !errors.Is(err, errOtherAccount) {
			return d, err
		}
	}
	return v.call(ctx, in)
}

// localInput fills out with the question of in, as the authorize API
// reads it (the caller adds the Request or the Principal).
func localInput(out *authorize.AuthorizeInput, in *input) {
	*out = authorize.AuthorizeInput{Action: in.Action, Resource: in.Resource, Context: in.Context, ResourcePolicy: in.ResourcePolicy,
		ResourceAccount: in.ResourceAccount}
}

// Limits of the request the authorize API takes: a request over them gets
// an APIError (ValidationException), not a decision, so a resource server
// answers such a request itself (CheckRequestSize).
const (
	MaxRequestHeaders     = authorize.MaxHeaders     // header names, with Host, Content-Length, Transfer-Encoding
	MaxRequestHeaderBytes = authorize.MaxHeaderBytes // their names and values together
	MaxRequestURLBytes    = authorize.MaxURLBytes    // the absolute URL
)

// Errors of CheckRequestSize.
var (
	ErrHeadersTooLarge = errors.New("verifier: the request has more headers than the authorize API takes")
	ErrURLTooLong      = errors.New("verifier: the request's URL is longer than the authorize API takes")
)

// CheckRequestSize reports whether r is within what the authorize API
// takes (MaxRequestHeaders, MaxRequestHeaderBytes, MaxRequestURLBytes),
// counted as Authorize sends it. A resource server answers a request over
// them as its client's error (400) instead of asking: the answer would be
// an APIError, which callers read as OpenSTS being unavailable.
func CheckRequestSize(r *http.Request) error {
	if len(requestURL(r)) > MaxRequestURLBytes {
		return ErrURLTooLong
	}
	h := requestHeaders(r)
	if len(h) > MaxRequestHeaders {
		return ErrHeadersTooLarge
	}
	total := 0
	for k, vs := range h {
		total += len(k)
		for _, v := range vs {
			total += len(v)
		}
	}
	if total > MaxRequestHeaderBytes {
		return ErrHeadersTooLarge
	}
	return nil
}

// CheckQuestion returns the APIError (ValidationException) the authorize
// API would answer for action, resource and context (condition keys the
// caller may not give, or more, longer or other than UTF-8 values than it
// takes), or nil. A resource server whose condition keys come from its
// client's request answers such a request itself, as the client's error.
func CheckQuestion(action, resource string, context map[string][]string) error {
	in := &authorize.AuthorizeInput{Action: action, Resource: resource, Context: context}
	if err := in.ValidateQuestion(); err != nil {
		return apiError(err)
	}
	return nil
}

// requestURL rebuilds the absolute URL of a server-side request, its
// path and query exactly as received.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	target := r.RequestURI
	if target == "" || !strings.HasPrefix(target, "/") {
		target = r.URL.RequestURI()
	}
	return scheme + "://" + host + target
}

// requestHeaders returns r's headers with Host, and the Content-Length and
// Transfer-Encoding that net/http keeps out of r.Header.
func requestHeaders(r *http.Request) map[string][]string {
	h := make(map[string][]string, len(r.Header)+2)
	for k, vs := range r.Header {
		h[k] = vs
	}
	if r.Host != "" {
		h["Host"] = []string{r.Host}
	}
	if _, ok := h["Content-Length"]; !ok && r.ContentLength > 0 {
		h["Content-Length"] = []string{fmt.Sprint(r.ContentLength)}
	}
	if len(r.TransferEncoding) > 0 {
		h["Transfer-Encoding"] = r.TransferEncoding
	}
	return h
}

// call signs and sends one Authorize call.
func (v *Verifier) call(ctx context.Context, in *input) (*Decision, error) {
	d := new(Decision)
	if err := v.post(ctx, "Authorize", in, d); err != nil {
		return nil, err
	}
	if d.Decision != "Allow" && d.Decision != "Deny" {
		return nil, fmt.Errorf("verifier: answer has no decision")
	}
	return d, nil
}

// maxAnswerBytes bounds an answer of OpenSTS (a principal's policies in
// local mode are the largest).
const maxAnswerBytes = 16 << 20

// post signs and sends one call of the authorize API and decodes its
// answer into out.
func (v *Verifier) post(ctx context.Context, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("verifier: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", prefix+"."+operation)
	creds, err := v.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("verifier: retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), serviceName, v.cfg.Region, v.cfg.Now()); err != nil {
		return fmt.Errorf("verifier: sign: %w", err)
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("verifier: call OpenSTS: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("verifier: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
		var wire struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &wire) == nil {
			e.Code, e.Message = wire.Type, wire.Message
			if i := strings.LastIndexByte(e.Code, '#'); i >= 0 {
				e.Code = e.Code[i+1:]
			}
		}
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("verifier: decode answer: %w", err)
	}
	return nil
}

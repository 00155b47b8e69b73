package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// Generic mode: any HTTP API, mapped to IAM actions and resources by a
// rules file (rules.go). A Generic handler either proxies each request it
// allows to an upstream (GenericConfig.Upstream), or only answers whether
// it would (GenericConfig.AuthRequest): the check an nginx auth_request or
// an Envoy ext_authz HTTP service makes, which cannot sign the authorize
// API's call itself.
//
// Answers: 200 allowed (a check), the upstream's answer (a proxy); 401 an
// authentication failure (no, unknown, expired or badly signed
// credentials); 403 a denial; 400 a request that cannot be authorized as
// sent (dot segments, a URL or headers over the authorize API's limits);
// 503 OpenSTS did not answer. Errors are AWS JSON bodies
// {"__type":CODE,"message":...} with X-Amzn-ErrorType.

// AuthRequest names how a check reaches the handler.
type AuthRequest string

const (
	// NginxAuthRequest: the original method and URI arrive in
	// X-Original-Method and X-Original-URI, which the nginx configuration
	// sets (proxy_set_header replaces whatever the client sent); the Host
	// is the client's, as sent (proxy_set_header Host $http_host).
	NginxAuthRequest AuthRequest = "nginx"
	// EnvoyExtAuthz: the check request is the original request's method,
	// path and headers (ext_authz http_service without a path_prefix);
	// X-Original-* headers are the client's and are ignored.
	EnvoyExtAuthz AuthRequest = "envoy"
)

// Headers the handler sets on an allowed request (toward the upstream, or
// on a check's answer, for the proxy to pass on); a client's own are
// removed.
const (
	HeaderPrincipalARN = "X-Opensts-Principal-Arn"
	HeaderAccount      = "X-Opensts-Account"
)

// GenericConfig configures a Generic handler.
type GenericConfig struct {
	Rules *Rules
	// Upstream is the API's URL (scheme and host); requests are forwarded
	// to it with their path and query as received, without the client's
	// authentication. Exactly one of Upstream and AuthRequest.
	Upstream    string
	AuthRequest AuthRequest
	// Region is the region clients sign for; default us-east-1.
	Region string
	// Domains, when set, are the only Host names (without port) accepted:
	// a request signed for another host is not replayed here.
	Domains []string
	// ResourceAccount owns the resources; default the gateway identity's
	// account.
	ResourceAccount string
	Authorizer      Authorizer
	// SourceIPHeader (AuthRequest) names the header the proxy sets to the
	// client's address (nginx: proxy_set_header X-Real-IP $remote_addr;
	// Envoy: x-envoy-external-address). The proxy must set it, replacing
	// any value the client sent.
	SourceIPHeader string
	// MaxBodyBytes bounds a body read to hash when the client sent no
	// X-Amz-Content-Sha256 (a proxy); default 16 MiB.
	MaxBodyBytes int64
	HTTPClient   *http.Client
	Now          func() time.Time
	Log          *slog.Logger
}

// Generic is the generic mode's http.Handler. Safe for concurrent use.
type Generic struct {
	cfg      GenericConfig
	upstream *url.URL
}

// NewGeneric returns a Generic handler.
func NewGeneric(cfg GenericConfig) (*Generic, error) {
	if cfg.Rules == nil || cfg.Authorizer == nil {
		return nil, errors.New("gateway: rules and an authorizer are required")
	}
	g := &Generic{cfg: cfg}
	switch {
	case cfg.Upstream != "" && cfg.AuthRequest != "":
		return nil, errors.New("gateway: an upstream or an auth request mode, not both")
	case cfg.Upstream != "":
		u, err := url.Parse(cfg.Upstream)
		if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.RawQuery != "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("gateway: upstream %q must be an http or https URL without a path", cfg.Upstream)
		}
		g.upstream = &url.URL{Scheme: u.Scheme, Host: u.Host}
	case cfg.AuthRequest == NginxAuthRequest || cfg.AuthRequest == EnvoyExtAuthz:
	default:
		return nil, fmt.Errorf("gateway: auth request mode %q: nginx or envoy", cfg.AuthRequest)
	}
	if g.cfg.Region == "" {
		g.cfg.Region = "us-east-1"
	}
	for i, d := range g.cfg.Domains {
		g.cfg.Domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	if g.cfg.MaxBodyBytes <= 0 {
		g.cfg.MaxBodyBytes = verifier.DefaultMaxBodyBytes
	}
	if g.cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		t.MaxIdleConnsPerHost = 64
		g.cfg.HTTPClient = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if g.cfg.Now == nil {
		g.cfg.Now = time.Now
	}
	if g.cfg.Log == nil {
		g.cfg.Log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// genericError is an answer of the generic mode.
type genericError struct {
	status  int
	code    string
	message string
}

func (e *genericError) Error() string { return e.code + ": " + e.message }

func gerr(status int, code, msg string) *genericError {
	return &genericError{status: status, code: code, message: msg}
}

var (
	gErrInvalidURI  = gerr(http.StatusBadRequest, "InvalidURI", "The request path is not one this gateway authorizes: no dot segments, encoded slashes in a variable, invalid escapes or fragments.")
	gErrMissingAuth = gerr(http.StatusUnauthorized, "MissingAuthenticationToken", "The request is not signed with SigV4.")
	gErrDenied      = gerr(http.StatusForbidden, "AccessDenied", "Access Denied")
	gErrUnavailable = gerr(http.StatusServiceUnavailable, "ServiceUnavailable", "The authorization service did not answer; try again.")
	gErrBadGateway  = gerr(http.StatusBadGateway, "BadGateway", "The gateway could not reach the service.")
	gErrOverride    = gerr(http.StatusBadRequest, "InvalidRequest", "The request names another method or path (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, X-Original-URL, X-Rewrite-URL or _method): the gateway authorizes a request's own.")
	gErrInternal    = gerr(http.StatusInternalServerError, "InternalFailure", "The gateway failed to handle the request.")
)

// ServeHTTP implements http.Handler.
func (g *Generic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	status, principal, path, err := g.serve(w, r, id)
	if err != nil {
		var e *genericError
		if !errors.As(err, &e) {
			g.cfg.Log.Error("gateway: request failed", "request_id", id, "err", err)
			e = gErrInternal
		}
		h := w.Header()
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", e.code)
		h.Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(e.status)
		if r.Method != http.MethodHead {
			b, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
			_, _ = w.Write(b)
		}
		status = e.status
	}
	g.cfg.Log.Info("gateway", "request_id", id, "request", path, "principal", principal, "status", status)
}

// original is the request to decide about: r itself, or (nginx) the one
// its X-Original-* headers describe.
func (g *Generic) original(r *http.Request) (*http.Request, error) {
	o := r.Clone(r.Context())
	o.Body = r.Body
	if g.cfg.AuthRequest == NginxAuthRequest {
		m, uri := r.Header.Get("X-Original-Method"), r.Header.Get("X-Original-Uri")
		if m == "" || uri == "" || len(r.Header.Values("X-Original-Method")) > 1 || len(r.Header.Values("X-Original-Uri")) > 1 {
			return nil, errors.New("gateway: nginx did not send X-Original-Method and X-Original-URI (see the README's configuration)")
		}
		o.Method, o.RequestURI = m, uri
		o.URL = &url.URL{Path: "/"}
		if u, err := url.ParseRequestURI(uri); err == nil {
			o.URL = u
		}
		// nginx's subrequest carries no body; what the client signed about
		// it is in X-Amz-Content-Sha256 (or nothing, for no body).
		o.ContentLength = 0
		// nginx's, not the client's (Envoy mode leaves a client's own
		// X-Original-* headers alone: they may be signed, and name nothing).
		for k := range o.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-original-") {
				o.Header.Del(k)
			}
		}
	}
	return o, nil
}

func (g *Generic) serve(w http.ResponseWriter, r *http.Request, id string) (int, string, string, error) {
	o, err := g.original(r)
	if err != nil {
		return 0, "", r.URL.EscapedPath(), err
	}
	status, principal, err := g.decide(w, r, o, id)
	return status, principal, o.Method + " " + truncate(o.RequestURI), err
}

func (g *Generic) decide(w http.ResponseWriter, r, o *http.Request, id string) (int, string, error) {
	uri := o.RequestURI
	if strings.ContainsRune(uri, '#') {
		return 0, "", gErrInvalidURI
	}
	rawPath, rawQuery, _ := strings.Cut(uri, "?")
	segs, e := splitPath(rawPath, g.cfg.Rules.SemicolonsLiteral)
	if e != nil || g.cfg.Rules.Lookalike(segs) {
		return 0, "", gErrInvalidURI
	}
	if len(g.cfg.Domains) > 0 {
		h := strings.ToLower(o.Host)
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		known := false
		for _, d := range g.cfg.Domains {
			known = known || h == d
		}
		if !known {
			return 0, "", gerr(http.StatusBadRequest, "InvalidRequest", "The Host header names no endpoint of this gateway.")
		}
	}
	switch err := verifier.CheckRequestSize(o); {
	case errors.Is(err, verifier.ErrURLTooLong):
		return 0, "", gerr(http.StatusRequestURITooLong, "RequestURITooLong", "The request URI is too long.")
	case err != nil:
		return 0, "", gerr(http.StatusBadRequest, "RequestHeaderSectionTooLarge", "The request's header section is too large.")
	}
	q, perr := url.ParseQuery(rawQuery)
	hdr := o.Header
	if g.cfg.AuthRequest == NginxAuthRequest {
		hdr = r.Header // o's lost every X-Original-*, nginx passes them on
	}
	if overrides(hdr, q, rawQuery) {
		return 0, "", gErrOverride
	}
	presigned := o.Header.Get("Authorization") == "" && perr == nil && q.Has("X-Amz-Credential")
	if o.Header.Get("Authorization") == "" && !presigned {
		return 0, "", gErrMissingAuth
	}
	m, ok := g.cfg.Rules.Match(o.Method, segs)
	if !ok {
		g.cfg.Log.Info("gateway: no rule matches", "request_id", id, "method", o.Method, "path", rawPath)
		return 0, "", gErrDenied
	}

	// The payload hash the client signed.
	claimed := o.Header.Get("X-Amz-Content-Sha256")
	var (
		body        io.Reader
		hb          *holdback
		length      = o.ContentLength
		payloadHash = claimed
	)
	switch {
	case strings.HasPrefix(claimed, "STREAMING-"):
		return 0, "", gerr(http.StatusBadRequest, "InvalidRequest", "aws-chunked bodies are served by the s3 preset only.")
	case claimed != "" && claimed != sigv4.UnsignedPayload && !isHexSHA256(claimed):
		return 0, "", gerr(http.StatusBadRequest, "InvalidRequest", "X-Amz-Content-Sha256 is not a hex SHA-256 or UNSIGNED-PAYLOAD.")
	case g.cfg.AuthRequest != "":
		// A check sees no body: the client's claim, or no body at all.
		if claimed == "" {
			payloadHash = emptySHA256
		}
	case o.ContentLength == 0 && len(o.TransferEncoding) == 0:
		if claimed == "" {
			payloadHash = emptySHA256
		}
	case claimed == sigv4.UnsignedPayload:
		hb = lengthBody(formChecked(o), o.ContentLength)
		body = hb
	case claimed != "":
		hb = hashedBody(formChecked(o), claimed, o.ContentLength)
		body = hb
	default:
		// No claim: the signature covers the body's hash, which must be
		// known before asking. Read it, bounded.
		if o.ContentLength > g.cfg.MaxBodyBytes {
			return 0, "", gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The body is larger than the gateway reads to authenticate; sign it with X-Amz-Content-Sha256.")
		}
		b, err := io.ReadAll(io.LimitReader(formChecked(o), g.cfg.MaxBodyBytes+1))
		if errors.Is(err, gErrOverride) {
			return 0, "", gErrOverride
		}
		if err != nil || o.ContentLength >= 0 && int64(len(b)) != o.ContentLength {
			return 0, "", gerr(http.StatusBadRequest, "IncompleteBody", "The body ended before Content-Length bytes.")
		}
		if int64(len(b)) > g.cfg.MaxBodyBytes {
			return 0, "", gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The body is larger than the gateway reads to authenticate; sign it with X-Amz-Content-Sha256.")
		}
		s := sha256.Sum256(b)
		payloadHash = hex.EncodeToString(s[:])
		body, length = bytes.NewReader(b), int64(len(b))
	}

	if err := verifier.CheckQuestion(m.Action, m.Resource, m.Context); err != nil {
		return 0, "", gerr(http.StatusBadRequest, "InvalidRequest", "A path variable is too long or not UTF-8 for the policy's resource and condition keys.")
	}
	opts := []verifier.Option{verifier.WithService(g.cfg.Rules.Service), verifier.WithRegion(g.cfg.Region)}
	if g.cfg.ResourceAccount != "" {
		opts = append(opts, verifier.WithResourceAccount(g.cfg.ResourceAccount))
	}
	if g.cfg.AuthRequest != "" && g.cfg.SourceIPHeader != "" {
		if ip := net.ParseIP(strings.TrimSpace(r.Header.Get(g.cfg.SourceIPHeader))); ip != nil {
			o.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		} else {
			o.RemoteAddr = ""
		}
	}
	d, err := g.cfg.Authorizer.Authorize(r.Context(), o, payloadHash, m.Action, m.Resource, m.Context, opts...)
	if err != nil {
		g.cfg.Log.Error("gateway: no decision from OpenSTS", "request_id", id, "err", err)
		return 0, "", gErrUnavailable
	}
	principal := principalARN(d)
	if !d.Allowed() {
		if ae := d.AuthenticationError; ae != nil {
			return 0, principal, gerr(http.StatusUnauthorized, ae.Code, ae.Message)
		}
		g.cfg.Log.Info("gateway: denied", "request_id", id, "action", m.Action, "resource", m.Resource, "principal", principal,
			"reason", d.Reason, "denied_by", d.DeniedBy)
		return 0, principal, gErrDenied
	}
	account := ""
	if d.Principal != nil {
		account = d.Principal.AccountID
	}
	if g.cfg.AuthRequest != "" {
		h := w.Header()
		h.Set(HeaderPrincipalARN, principal)
		h.Set(HeaderAccount, account)
		h.Set("X-Amzn-Requestid", id)
		w.WriteHeader(http.StatusOK)
		return http.StatusOK, principal, nil
	}
	return g.forward(w, o, rawPath, body, length, hb, principal, account, id)
}

// forward sends an allowed request to the upstream: its path and query as
// received (less a presigned URL's parameters), its headers less the
// client's authentication and hop-by-hop ones, with the principal's.
func (g *Generic) forward(w http.ResponseWriter, o *http.Request, rawPath string, body io.Reader, length int64,
	hb *holdback, principal, account, id string) (int, string, error) {
	u := *g.upstream
	u.RawPath = rawPath
	u.Path, _ = url.PathUnescape(rawPath)
	_, rawQuery, _ := strings.Cut(o.RequestURI, "?")
	u.RawQuery = stripPresign(rawQuery)
	up, err := http.NewRequestWithContext(o.Context(), o.Method, u.String(), body)
	if err != nil {
		return 0, principal, fmt.Errorf("gateway: build the upstream request: %w", err)
	}
	up.URL.RawPath, up.URL.Path = u.RawPath, u.Path
	up.ContentLength = length
	if body == nil {
		up.ContentLength = 0
	}
	drop := map[string]bool{}
	for _, c := range o.Header.Values("Connection") {
		for _, f := range strings.Split(c, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range o.Header {
		l := strings.ToLower(k)
		if hopHeaders[k] || drop[k] || l == "authorization" || l == "x-amz-date" || l == "x-amz-security-token" || l == "x-amz-content-sha256" ||
			strings.HasPrefix(l, "x-opensts-") || l == "content-length" {
			continue
		}
		up.Header[k] = append([]string(nil), vs...)
	}
	up.Header.Set(HeaderPrincipalARN, principal)
	up.Header.Set(HeaderAccount, account)
	// The client's address, as a reverse proxy gives it: appended to
	// X-Forwarded-For (whose earlier entries are the client's word), and
	// X-Real-IP set over a client's own, which an API behind the gateway
	// would otherwise take for the client's address.
	up.Header.Del("X-Real-Ip")
	if ip, _, err := net.SplitHostPort(o.RemoteAddr); err == nil {
		if prior := up.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			up.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+ip)
		} else {
			up.Header.Set("X-Forwarded-For", ip)
		}
		up.Header.Set("X-Real-Ip", ip)
	}
	resp, err := g.cfg.HTTPClient.Do(up)
	if hb != nil {
		if berr := hb.Err(); berr != nil {
			if resp != nil {
				resp.Body.Close()
			}
			var ge *genericError
			if errors.As(berr, &ge) {
				return 0, principal, ge
			}
			be := bodyError(berr)
			return 0, principal, gerr(be.Status, be.Code, be.Message)
		}
	}
	if err != nil {
		g.cfg.Log.Error("gateway: upstream failed", "request_id", id, "err", err)
		return 0, principal, gErrBadGateway
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			h[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	if o.Method != http.MethodHead {
		_, _ = io.CopyBuffer(w, resp.Body, make([]byte, bufSize))
	}
	return resp.StatusCode, principal, nil
}

// overrideHeaders are request headers with which common frameworks let a
// request name another method or path than its own: Symfony (so Laravel)
// and Rack (so Rails) read X-HTTP-Method-Override on a POST, others
// X-HTTP-Method or X-Method-Override, and Symfony, Zend and IIS's URL
// Rewrite X-Original-URL or X-Rewrite-URL. The gateway decides about the
// request's own method and path, so a service behind it that honoured one
// would do what was not authorized (a DELETE sent as an allowed POST).
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "X-Original-Url", "X-Rewrite-Url"}

// overrides reports whether a request carries a method or path override:
// one of overrideHeaders, or a _method query parameter (Laravel, Rails),
// as the frameworks read the raw query's keys (hasMethodField: ".method",
// "[_method]", ...).
//
// A header is compared with '_' read as '-', in any case: CGI, PHP and
// Rack servers name headers HTTP_X_HTTP_METHOD_OVERRIDE either way, and
// Go keeps X_HTTP_METHOD_OVERRIDE under another key than the canonical
// X-Http-Method-Override.
func overrides(h http.Header, q url.Values, rawQuery string) bool {
	for _, k := range overrideHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	for k := range h {
		if strings.IndexByte(k, '_') < 0 {
			continue // canonical keys were looked up above
		}
		n := strings.ReplaceAll(k, "_", "-")
		for _, o := range overrideHeaders {
			if strings.EqualFold(n, o) {
				return true
			}
		}
	}
	return q.Has("_method") || hasMethodField(rawQuery)
}

// stripPresign returns rawQuery without the parameters of a presigned URL
// (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, ..., in any
// case, also percent-encoded), whether the request was presigned or
// signed in its header: they authenticate the request to the gateway, and
// the API behind would log or act on them. The other parameters pass byte
// for byte, in their order.
func stripPresign(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	parts := strings.Split(rawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if isPresignParam(k) {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}

func isPresignParam(k string) bool {
	for p := range presignParams {
		if strings.EqualFold(k, p) {
			return true
		}
	}
	return false
}

// formChecked is o's body, through formScan when a framework would read
// it as form fields: a _method field in it fails the body.
func formChecked(o *http.Request) io.Reader {
	if formBody(o.Header) {
		return &formScan{src: o.Body}
	}
	return o.Body
}

func isHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// pathUnescape decodes one path segment, refusing invalid escapes and
// invalid UTF-8.
func pathUnescape(s string) (string, error) {
	d, err := url.PathUnescape(s)
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(d) {
		return "", errors.New("not UTF-8")
	}
	return d, nil
}

// Package gateway is `opensts gateway`: an S3 reverse proxy that accepts
// OpenSTS credentials. Each request is authenticated and authorized by
// OpenSTS through the public verifier package (the authorize API checks the
// client's SigV4 signature and evaluates the principal's identity,
// boundary, session and SCP policies with a bucket policy the gateway
// holds), then forwarded to any S3-compatible store, re-signed with the
// store's own credentials. The client's credentials, signature and token
// never reach the store; the store's credentials never reach the client.
//
// The S3 preset (s3.go) maps each request to its IAM actions, resources
// and condition keys, decoding the bucket and key once: the upstream
// request is built from the same decoded values the policy saw. Bodies
// stream with bounded memory (body.go): a signed payload is hashed and an
// aws-chunked one has every chunk signature checked on the way, and the
// body's last byte is withheld until the whole body verified, so that the
// store never receives a complete body that did not.
//
// The store checks the body too (upstream_body.go): a signed payload's
// hash is forwarded as signed, a chunked one is re-framed with a trailing
// checksum that is wrong on purpose when the client's body failed.
//
// Generic mode (generic.go, rules.go) serves any HTTP API from a rules file
// that maps method and path patterns to actions and resource templates,
// as a proxy or as the check of nginx auth_request and Envoy ext_authz.
//
// It imports the verifier, sigv4 (parsing the client's request, chunk
// signatures) and aws-sdk-go-v2's SigV4 signer; never the server or a store.
package gateway

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5, which S3 requires of DeleteObjects
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// Authorizer decides about a request; *verifier.Verifier is one.
type Authorizer interface {
	Authorize(ctx context.Context, r *http.Request, payloadHash, action, resource string, context map[string][]string, opts ...verifier.Option) (*verifier.Decision, error)
}

// Config configures a Gateway.
type Config struct {
	// Upstream is the S3-compatible store's URL (scheme and host; requests
	// go to it path-style).
	Upstream string
	// UpstreamCredentials sign the forwarded requests.
	UpstreamCredentials aws.CredentialsProvider
	// UpstreamRegion is the region the forwarded requests are signed for;
	// default us-east-1.
	UpstreamRegion string
	// Region is the region clients must sign for; default us-east-1.
	Region string
	// Domains are the gateway's own host names for virtual-hosted-style
	// requests (BUCKET.DOMAIN); with any, a request to another Host is
	// refused. Empty: path-style only, any Host.
	Domains []string
	// Authorizer decides (a verifier.Verifier in remote mode).
	Authorizer Authorizer
	// BucketPolicies holds the bucket policy (JSON) per bucket name.
	BucketPolicies map[string]string
	// ResourceAccount owns the buckets; default the account of the
	// gateway's own OpenSTS credentials.
	ResourceAccount string
	// HTTPClient calls the upstream; default one that follows no redirect
	// and does not decompress.
	HTTPClient *http.Client
	// MaxDeleteBody bounds a DeleteObjects document; default 2 MiB.
	MaxDeleteBody int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives one line per request (no secrets); default discard.
	Log *slog.Logger
}

// Gateway is the proxy, an http.Handler. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	upstream *url.URL
	signer   *v4.Signer
	parser   *sigv4.Verifier
}

// New returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.RawQuery != "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("gateway: upstream %q must be an http or https URL without a path", cfg.Upstream)
	}
	if cfg.UpstreamCredentials == nil || cfg.Authorizer == nil {
		return nil, errors.New("gateway: upstream credentials and an authorizer are required")
	}
	if cfg.UpstreamRegion == "" {
		cfg.UpstreamRegion = "us-east-1"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	for i, d := range cfg.Domains {
		cfg.Domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		t.MaxIdleConnsPerHost = 64
		t.ResponseHeaderTimeout = 5 * time.Minute
		cfg.HTTPClient = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.MaxDeleteBody <= 0 {
		cfg.MaxDeleteBody = 2 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if _, ok := cfg.UpstreamCredentials.(*aws.CredentialsCache); !ok {
		cfg.UpstreamCredentials = aws.NewCredentialsCache(cfg.UpstreamCredentials)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return &Gateway{cfg: cfg, upstream: &url.URL{Scheme: u.Scheme, Host: u.Host}, signer: signer, parser: sigv4.NewVerifier(cfg.Now)}, nil
}

// LoadBucketPolicies reads DIR/BUCKET.json for every bucket policy in dir.
func LoadBucketPolicies(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read bucket policies: %w", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		if !validBucket(name) {
			return nil, fmt.Errorf("read bucket policies: %s: %q is not a bucket name", e.Name(), name)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read bucket policies: %w", err)
		}
		out[name] = string(b)
	}
	return out, nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Headers forwarded to the upstream besides the signed x-amz-* ones:
// what S3 reads from a request that is not authentication.
var forwardHeaders = []string{
	"Content-Type", "Content-Md5", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control",
	"Expires", "Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
}

// x-amz-* headers that authenticate the client or frame its body: never
// forwarded (the gateway signs its own).
var dropHeaders = map[string]bool{
	"x-amz-date": true, "x-amz-security-token": true, "x-amz-content-sha256": true, "x-amz-decoded-content-length": true,
	"x-amz-trailer": true, "x-amz-copy-source": true, "x-amz-user-agent": true,
}

// Response headers that are the connection's, not the response's.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Proxy-Connection": true,
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	resource := r.URL.EscapedPath()
	op, status, err := g.serve(w, r, id)
	var e *Error
	if err != nil {
		if !errors.As(err, &e) {
			g.cfg.Log.Error("gateway: request failed", "request_id", id, "err", err)
			e = errInternal
		}
		writeError(w, r, e, resource, id)
		status = e.Status
	}
	name := ""
	if op != nil {
		name = op.name
	}
	g.cfg.Log.Info("gateway", "request_id", id, "method", r.Method, "path", resource, "operation", name, "status", status)
}

// serve handles one request; an *Error it returns is answered by the
// caller (nothing was written yet).
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, id string) (*operation, int, error) {
	now := g.cfg.Now()
	t, e := parseTarget(r, g.cfg.Domains)
	if e != nil {
		return nil, 0, e
	}
	// What OpenSTS would refuse to look at is the client's error, not
	// OpenSTS's unavailability (which clients retry).
	switch err := verifier.CheckRequestSize(r); {
	case errors.Is(err, verifier.ErrURLTooLong):
		return nil, 0, s3err(http.StatusRequestURITooLong, "RequestURITooLong", "The request URI is too long.")
	case err != nil:
		return nil, 0, s3err(http.StatusBadRequest, "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size.")
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS ") || r.Header.Get("Authorization") == "" && t.has("AWSAccessKeyId") {
		return nil, 0, errSigV2
	}
	presigned := r.Header.Get("Authorization") == "" && t.has("X-Amz-Credential")
	if r.Header.Get("Authorization") == "" && !presigned {
		return nil, 0, errAnonymous
	}
	// What the client signed in place of the body's hash.
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	payloadHash := claimed
	switch {
	case presigned && claimed == "":
		payloadHash = sigv4.UnsignedPayload
	case claimed == "" && r.ContentLength != 0:
		return nil, 0, errMissingSHA
	case strings.HasPrefix(claimed, "STREAMING-") && claimed != sigv4.StreamingPayload && claimed != sigv4.StreamingPayloadTrailer &&
		claimed != sigv4.StreamingUnsignedTrailer:
		return nil, 0, notImplemented("The gateway does not accept " + truncate(claimed) + " uploads; sign the payload, or use UNSIGNED-PAYLOAD, " +
			"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or STREAMING-UNSIGNED-PAYLOAD-TRAILER.")
	}
	// The gateway reads what the request claims (no secret) to know the
	// signed headers and the seed of a chunked body; OpenSTS verifies it.
	sr, perr := g.parser.ParseHashAt(r, payloadHash, now)
	if perr != nil {
		// OpenSTS would refuse it too; ask it anyway so that the answer
		// is the authoritative one (an unknown key, an expired token).
		sr = nil
	}
	op, e := classify(r, t, presigned, signedAt(sr), now)
	if e != nil {
		return nil, 0, e
	}
	if sr != nil {
		// S3's rule, for both forms: every x-amz-* header is signed, so
		// nobody can add one (a copy source, an ACL) to a signed request
		// or a presigned URL.
		for name := range r.Header {
			l := strings.ToLower(name)
			if strings.HasPrefix(l, "x-amz-") && !signed(sr.SignedHeaders, l) && !(presigned && l == "x-amz-content-sha256") {
				return op, 0, errUnsignedHeader
			}
		}
	}

	var deleteBody []byte
	if op.deleteObjects {
		if strings.HasPrefix(claimed, "STREAMING-") {
			return op, 0, notImplemented("DeleteObjects with a chunked body is not served; sign the payload.")
		}
		// The document is read before anything is authorized (its keys
		// are what is authorized): it must arrive within a bound, so that
		// a client with no credentials cannot hold the connection by
		// trickling it.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(deleteBodyTimeout)) // the wall clock, whatever Config.Now says
		b, checks, e := g.readDelete(r, t, claimed)
		_ = rc.SetReadDeadline(time.Time{})
		if e != nil {
			return op, 0, e
		}
		deleteBody, op.checks = b, checks
	}

	for _, c := range op.checks {
		// Condition keys come from the client's headers and query (a
		// Referer, a tag set): what OpenSTS would refuse to take is the
		// client's error.
		if err := verifier.CheckQuestion(c.action, c.resource, op.ctx); err != nil {
			return op, 0, invalidArgument("A header or query parameter is too long, too numerous or not UTF-8 for the policy's condition keys.")
		}
	}
	var signingKey string
	for i, c := range op.checks {
		opts := []verifier.Option{verifier.WithService("s3"), verifier.WithRegion(g.cfg.Region)}
		if p := g.cfg.BucketPolicies[c.bucket]; p != "" {
			opts = append(opts, verifier.WithResourcePolicy(p))
		}
		if g.cfg.ResourceAccount != "" {
			opts = append(opts, verifier.WithResourceAccount(g.cfg.ResourceAccount))
		}
		d, err := g.cfg.Authorizer.Authorize(r.Context(), r, payloadHash, c.action, c.resource, op.ctx, opts...)
		if err != nil {
			g.cfg.Log.Error("gateway: no decision from OpenSTS", "request_id", id, "err", err)
			return op, 0, errUnavailable
		}
		if !d.Allowed() {
			if d.AuthenticationError != nil {
				return op, 0, authError(d.AuthenticationError, presigned)
			}
			g.cfg.Log.Info("gateway: denied", "request_id", id, "action", c.action, "resource", c.resource,
				"principal", principalARN(d), "reason", d.Reason, "denied_by", d.DeniedBy)
			return op, 0, errAccessDenied
		}
		if i == 0 {
			signingKey = d.SigningKey
		}
	}
	if sr == nil {
		// OpenSTS accepted what the gateway could not parse (their clocks
		// differ at the edge of the skew window): without the signed
		// headers, nothing can be forwarded safely.
		return op, 0, errSignature
	}

	// The body the upstream receives.
	var (
		body   io.Reader
		hb     interface{ Err() error }
		framed bool // body is framedBody's aws-chunked encoding
		length = r.ContentLength
	)
	switch {
	case deleteBody != nil:
		body, length = bytes.NewReader(deleteBody), int64(len(deleteBody))
	case claimed == sigv4.StreamingPayload || claimed == sigv4.StreamingPayloadTrailer:
		if sr == nil || !sr.StreamingPayload {
			return op, 0, errSignature
		}
		kb, err := hex.DecodeString(signingKey)
		if err != nil || len(kb) != sha256.Size {
			return op, 0, fmt.Errorf("gateway: OpenSTS gave no signing key for a chunked upload (the gateway's credentials need %s)", "opensts:GetStreamingSigningKey")
		}
		decoded, e := decodedContentLength(r)
		if e != nil {
			return op, 0, e
		}
		cr, err := sigv4.NewChunkReader(r.Body, sr, [sha256.Size]byte(kb))
		if err != nil {
			return op, 0, bodyError(err)
		}
		op.trailer = sr.StreamingTrailer
		fb := newFramedBody(cr, decoded, func() error {
			if cr.Decoded() != decoded {
				return errIncompleteBody
			}
			return nil
		})
		hb, body, length, framed = fb, fb, framedLength(decoded), true
	case claimed == sigv4.StreamingUnsignedTrailer:
		decoded, e := decodedContentLength(r)
		if e != nil {
			return op, 0, e
		}
		cr, err := sigv4.NewUnsignedChunkReader(r.Body, r.Header.Get("X-Amz-Trailer"))
		if err != nil {
			return op, 0, bodyError(err)
		}
		op.trailer = true
		fb := newFramedBody(cr, decoded, func() error {
			if cr.Decoded() != decoded {
				return errIncompleteBody
			}
			return nil
		})
		hb, body, length, framed = fb, fb, framedLength(decoded), true
	case r.ContentLength == 0 || r.Method == http.MethodGet || r.Method == http.MethodHead:
		if r.ContentLength != 0 {
			return op, 0, invalidRequest("A GET or HEAD request must not have a body.")
		}
		if claimed != "" && claimed != sigv4.UnsignedPayload && lowerHex(claimed) != emptySHA256 {
			return op, 0, errContentSHA
		}
		body, length = nil, 0
	case payloadHash == sigv4.UnsignedPayload:
		h := lengthBody(r.Body, r.ContentLength)
		hb, body = h, h
	default:
		h := hashedBody(r.Body, claimed, r.ContentLength)
		hb, body = h, h
	}

	up, err := g.upstreamRequest(r, t, op, body, length, sr, presigned)
	if err != nil {
		return op, 0, err
	}
	// The store checks the body too, whatever it makes of a connection
	// that ends early: a signed payload's hash is forwarded as signed, a
	// chunked one goes framed with a trailing checksum (framedBody).
	bodyHash := sigv4.UnsignedPayload
	switch {
	case deleteBody != nil:
		s := sha256.Sum256(deleteBody)
		bodyHash = hex.EncodeToString(s[:])
	case body == nil:
		bodyHash = emptySHA256
	case framed:
		bodyHash = sigv4.StreamingUnsignedTrailer
		up.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decodedLength(r), 10))
		up.Header.Set("X-Amz-Trailer", upstreamTrailer)
		if ce := up.Header.Get("Content-Encoding"); ce != "" {
			up.Header.Set("Content-Encoding", "aws-chunked,"+ce)
		} else {
			up.Header.Set("Content-Encoding", "aws-chunked")
		}
	case payloadHash != sigv4.UnsignedPayload && isHexSHA256(payloadHash):
		bodyHash = lowerHex(payloadHash)
	}
	up.Header.Set("X-Amz-Content-Sha256", bodyHash)
	creds, err := g.cfg.UpstreamCredentials.Retrieve(r.Context())
	if err != nil {
		return op, 0, fmt.Errorf("gateway: upstream credentials: %w", err)
	}
	if err := g.signer.SignHTTP(r.Context(), creds, up, bodyHash, "s3", g.cfg.UpstreamRegion, g.cfg.Now()); err != nil {
		return op, 0, fmt.Errorf("gateway: sign: %w", err)
	}
	resp, err := g.cfg.HTTPClient.Do(up)
	if hb != nil {
		if berr := hb.Err(); berr != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return op, 0, bodyError(berr)
		}
	}
	if err != nil {
		g.cfg.Log.Error("gateway: upstream failed", "request_id", id, "err", err)
		return op, 0, errBadGateway
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotModified {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		e, code, msg := upstreamError(resp.StatusCode, b)
		g.cfg.Log.Info("gateway: upstream error", "request_id", id, "status", resp.StatusCode, "upstream_code", code, "upstream_message", msg,
			"upstream_request_id", truncate(resp.Header.Get("X-Amz-Request-Id")))
		return op, 0, e
	}
	h := w.Header()
	for k, vs := range resp.Header {
		if !hopHeaders[k] && !upstreamOnly[k] {
			h[k] = vs
		}
	}
	h.Set("X-Amz-Request-Id", id)
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		buf := make([]byte, bufSize)
		_, _ = io.CopyBuffer(w, resp.Body, buf)
	}
	return op, resp.StatusCode, nil
}

// decodedContentLength is X-Amz-Decoded-Content-Length, which an
// aws-chunked upload must send.
func decodedContentLength(r *http.Request) (int64, *Error) {
	decoded, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || decoded < 0 {
		return 0, s3err(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header (x-amz-decoded-content-length).")
	}
	return decoded, nil
}

// upstreamOnly are response headers that describe the store, not the
// object: not passed on (the request id is the gateway's).
var upstreamOnly = map[string]bool{"Server": true, "X-Amz-Id-2": true, "X-Amz-Request-Id": true, "Location": true}

func principalARN(d *verifier.Decision) string {
	if d.Principal == nil {
		return ""
	}
	return d.Principal.ARN
}

func signedAt(sr *sigv4.Request) time.Time {
	if sr == nil {
		return time.Time{}
	}
	return sr.Time
}

func signed(list []string, h string) bool {
	for _, s := range list {
		if s == h {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// upstreamRequest builds the forwarded request from the decoded target:
// path-style, the key and query re-encoded, only the headers S3 reads
// (signed x-amz-* ones and the standard ones), never the client's
// authentication.
func (g *Gateway) upstreamRequest(r *http.Request, t *target, op *operation, body io.Reader, length int64, sr *sigv4.Request, presigned bool) (*http.Request, error) {
	u := *g.upstream
	if t.bucket != "" {
		u.Path = "/" + t.bucket
		u.RawPath = "/" + t.bucket
		if t.key != "" {
			u.Path += "/" + t.key
			u.RawPath += "/" + s3Escape(t.key, true)
		}
	} else {
		u.Path = "/"
	}
	var q strings.Builder
	for _, p := range t.query {
		if presignParams[p.name] {
			continue
		}
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(s3Escape(p.name, false))
		if !p.bare {
			q.WriteByte('=')
			q.WriteString(s3Escape(p.value, false))
		}
	}
	u.RawQuery = q.String()
	up, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("gateway: build the upstream request: %w", err)
	}
	// NewRequest parses the URL again: keep the exact encoding.
	up.URL.RawPath = u.RawPath
	up.URL.Path = u.Path
	up.ContentLength = length
	if body == nil {
		up.ContentLength = 0
	}
	for _, k := range forwardHeaders {
		if vs := r.Header.Values(k); len(vs) > 0 {
			up.Header[k] = append([]string(nil), vs...)
		}
	}
	if ce := up.Header.Get("Content-Encoding"); ce != "" {
		// aws-chunked frames the client's body; the upstream gets the
		// decoded one.
		var keep []string
		for _, c := range strings.Split(ce, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "aws-chunked") {
				keep = append(keep, c)
			}
		}
		up.Header.Del("Content-Encoding")
		if len(keep) > 0 {
			up.Header.Set("Content-Encoding", strings.Join(keep, ","))
		}
	}
	for name, vs := range r.Header {
		l := strings.ToLower(name)
		if !strings.HasPrefix(l, "x-amz-") || dropHeaders[l] {
			continue
		}
		// Presigned requests sign few headers; S3 takes x-amz-* ones only
		// signed, and so does the gateway.
		if presigned && (sr == nil || !signed(sr.SignedHeaders, l)) {
			continue
		}
		up.Header[name] = append([]string(nil), vs...)
	}
	if op.copySource != "" {
		up.Header.Set("X-Amz-Copy-Source", op.copySource)
	}
	if op.trailer {
		// The checksum came in the client's trailer and was checked;
		// the upstream gets the decoded body without it.
		up.Header.Del("X-Amz-Sdk-Checksum-Algorithm")
	}
	if op.deleteObjects {
		// The body is the gateway's own serialization of what it checked:
		// the client's checksums do not apply to it.
		for name := range up.Header {
			if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-sdk-checksum-algorithm" {
				up.Header.Del(name)
			}
		}
		up.Header.Del("Content-Md5")
		if b, ok := body.(*bytes.Reader); ok {
			sum := md5.New()
			_, _ = b.WriteTo(sum)
			_, _ = b.Seek(0, io.SeekStart)
			up.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum.Sum(nil)))
		}
	}
	return up, nil
}

// deleteDocument is the body of DeleteObjects. The gateway forwards its
// own serialization of the document it parsed, never the client's bytes,
// so that no difference between two XML parsers (a key given twice, an
// unknown element) lets the store delete a key the gateway did not check.
type deleteDocument struct {
	XMLName xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Delete"`
	Objects []deleteObject `xml:"Object"`
	Quiet   bool           `xml:"Quiet,omitempty"`
}

type deleteObject struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
}

// strictDelete is the client's document as read: every element counted,
// so that a repeated or unknown one is refused.
type strictDelete struct {
	Objects []struct {
		Keys       []string   `xml:"Key"`
		VersionIDs []string   `xml:"VersionId"`
		Other      []xml.Name `xml:",any"`
	} `xml:"Object"`
	Quiet []string   `xml:"Quiet"`
	Other []xml.Name `xml:",any"`
}

// deleteBodyTimeout bounds the reading of a DeleteObjects document (at
// most MaxDeleteBody bytes, read before authorization).
const deleteBodyTimeout = time.Minute

// maxDeleteKeys is S3's limit on one DeleteObjects.
const maxDeleteKeys = 1000

// readDelete reads and verifies a DeleteObjects body (bounded) and returns
// the s3:DeleteObject check of each key it names.
func (g *Gateway) readDelete(r *http.Request, t *target, claimed string) ([]byte, []check, *Error) {
	if r.ContentLength > g.cfg.MaxDeleteBody {
		return nil, nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, g.cfg.MaxDeleteBody+1))
	if err != nil {
		return nil, nil, errIncompleteBody
	}
	if int64(len(b)) > g.cfg.MaxDeleteBody {
		return nil, nil, errTooLarge
	}
	if r.ContentLength >= 0 && int64(len(b)) != r.ContentLength {
		return nil, nil, errIncompleteBody
	}
	if claimed != "" && claimed != sigv4.UnsignedPayload {
		s := sha256.Sum256(b)
		if lowerHex(claimed) != hex.EncodeToString(s[:]) {
			return nil, nil, errContentSHA
		}
	}
	var in strictDelete
	if err := xml.Unmarshal(b, &in); err != nil || len(in.Objects) == 0 || len(in.Objects) > maxDeleteKeys || len(in.Other) > 0 || len(in.Quiet) > 1 {
		return nil, nil, errMalformedXML
	}
	doc := deleteDocument{Quiet: len(in.Quiet) == 1 && strings.TrimSpace(in.Quiet[0]) == "true"}
	for _, o := range in.Objects {
		if len(o.Keys) != 1 || len(o.VersionIDs) > 1 || len(o.Other) > 0 {
			return nil, nil, errMalformedXML
		}
		do := deleteObject{Key: o.Keys[0]}
		if len(o.VersionIDs) == 1 {
			do.VersionID = o.VersionIDs[0]
		}
		doc.Objects = append(doc.Objects, do)
	}
	checks := make([]check, 0, len(doc.Objects))
	for _, o := range doc.Objects {
		if o.Key == "" || len(o.Key) > maxKeyBytes || !utf8.ValidString(o.Key) {
			return nil, nil, errMalformedXML
		}
		action := "s3:DeleteObject"
		if o.VersionID != "" {
			action = "s3:DeleteObjectVersion"
		}
		res := "arn:aws:s3:::" + t.bucket + "/" + o.Key
		checks = append(checks, check{action: action, resource: res, bucket: t.bucket})
		checks = append(checks, bypassChecks(r, res, t.bucket)...)
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return nil, nil, errMalformedXML
	}
	return append([]byte(xml.Header), out...), checks, nil
}

// decodedLength is X-Amz-Decoded-Content-Length as the gateway checked it.
func decodedLength(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	return n
}

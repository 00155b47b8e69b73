// Package sigv4 authenticates HTTP requests signed with AWS Signature Version 4,
// on the server side: the Authorization header form and the presigned query
// form. Parse reads what a request claims without any secret; Verify checks the
// signature once the caller has looked up the secret for Request.AccessKeyID.
// Sign signs outgoing requests (tests, the gateway, the CLI).
//
// Canonicalization follows the AWS SigV4 specification as implemented by
// botocore and aws-sdk-go-v2 and is checked against the aws-c-auth and botocore
// test suites. SigV4a (AWS4-ECDSA-P256-SHA256) is not implemented.
//
// Errors are *apierr.Error values with the codes AWS STS answers. It imports
// only the standard library and internal/apierr.
package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
)

// Algorithm is the only signing algorithm this package accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the X-Amz-Content-Sha256 value that leaves the body unsigned.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// DefaultSkew is the clock-skew window AWS STS allows.
const DefaultSkew = 15 * time.Minute

// MaxExpires is the largest X-Amz-Expires a presigned request may carry (7 days).
const MaxExpires = 604800

const (
	timeFormat      = "20060102T150405Z"
	dateFormat      = "20060102"
	scopeTerminator = "aws4_request"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// Messages AWS sends; kept identical so clients and humans recognise them.
	msgMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingAuth = "Request is missing Authentication Token"
)

// Request is what a signed HTTP request claims, parsed without any secret.
// Its fields are valid only when Parse returned no error. A Request is
// immutable after Parse and may be verified from several goroutines.
type Request struct {
	AccessKeyID   string
	Date          string // YYYYMMDD from the credential scope
	Region        string
	Service       string
	SecurityToken string    // X-Amz-Security-Token (header or query), "" if none
	Time          time.Time // X-Amz-Date (or Date header), UTC
	Presigned     bool
	// Expires is X-Amz-Expires for presigned requests (0 when absent).
	Expires time.Duration
	// SignedHeaders are the lower-case header names the client signed, sorted.
	SignedHeaders []string
	// UnsignedPayload is true when the client sent X-Amz-Content-Sha256:
	// UNSIGNED-PAYLOAD, so the body is not covered by the signature.
	UnsignedPayload bool
	// StreamingPayload is true when the client signed
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD: this signature is the seed of
	// the chunk signatures (NewChunkReader), which cover the body.
	StreamingPayload bool
	// StreamingTrailer is true when the client signed
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (StreamingPayload is then
	// true too): the chunks end with a signed trailer carrying the
	// checksum Trailer names.
	StreamingTrailer bool
	// Trailer is the X-Amz-Trailer header of a StreamingTrailer request,
	// as sent.
	Trailer string

	canonical    []byte // canonical request
	stringToSign []byte
	signature    [sha256.Size]byte
	sigOK        bool // the claimed signature was 64 hex digits

	// Inline storage for SignedHeaders and for the canonical request and
	// string to sign, so that Parse allocates once for a typical request.
	// Larger ones spill to the heap as append grows them.
	signedBuf [8]string
	buf       [640]byte
	spill     []byte // ParseHashInto: the buffer that replaced buf, kept
}

// Signature returns the claimed signature in hex, "" when it was not 64
// hex digits.
func (r *Request) Signature() string {
	if !r.sigOK {
		return ""
	}
	return hex.EncodeToString(r.signature[:])
}

// CanonicalRequest returns the canonical request the signature must cover.
func (r *Request) CanonicalRequest() string { return string(r.canonical) }

// StringToSign returns the SigV4 string to sign.
func (r *Request) StringToSign() string { return string(r.stringToSign) }

// scope returns a Request with r's credential scope only, which Verify
// refuses.
func (r *Request) scope() *Request {
	return &Request{AccessKeyID: r.AccessKeyID, Date: r.Date, Region: r.Region, Service: r.Service}
}

// Scope returns the credential scope "date/region/service/aws4_request".
func (r *Request) Scope() string {
	return r.Date + "/" + r.Region + "/" + r.Service + "/" + scopeTerminator
}

// Verifier parses and checks signed requests. Configure it before first use;
// after that it is safe for concurrent use. It caches derived signing keys,
// keyed by a SHA-256 of secret, date, region and service (the secret itself is
// never a cache key), and holds MaxCachedKeys of them (see signingKeys).
type Verifier struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed difference between the request time and Now;
	// 0 means DefaultSkew (15 minutes, as AWS STS).
	Skew time.Duration
	// RawPath reports whether a service takes the request path as sent,
	// without dot-segment normalization and double encoding (S3 does). nil
	// means service "s3", "s3-object-lambda" and "s3express".
	RawPath func(service string) bool
	// UnsignedPayload reports whether a service accepts X-Amz-Content-Sha256:
	// UNSIGNED-PAYLOAD, which leaves the body out of the signature. nil
	// means the S3 services only ("s3", "s3-object-lambda", "s3express"), as
	// AWS: every other service hashes the body it received, so a signature
	// over UNSIGNED-PAYLOAD does not match. Query-protocol services carry the
	// Action in the body; never allow it for them.
	UnsignedPayload func(service string) bool
	// UnsignedQueryToken, for presigned requests, leaves X-Amz-Security-Token
	// out of the canonical query: some signers add it after signing (the
	// aws-c-auth "omit_session_token" cases). AWS SDKs sign it; default false.
	UnsignedQueryToken bool
	// MaxCachedKeys sizes the signing-key cache (rounded up to a power of
	// two sets of 4); 0 means 4096.
	MaxCachedKeys int

	keysOnce sync.Once
	keys     *signingKeys
}

// NewVerifier returns a Verifier with the AWS defaults and the given clock
// (nil means time.Now).
func NewVerifier(now func() time.Time) *Verifier {
	return &Verifier{Now: now}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.Skew > 0 {
		return v.Skew
	}
	return DefaultSkew
}

func (v *Verifier) rawPath(service string) bool {
	if v.RawPath != nil {
		return v.RawPath(service)
	}
	return isS3(service)
}

func (v *Verifier) unsignedPayload(service string) bool {
	if v.UnsignedPayload != nil {
		return v.UnsignedPayload(service)
	}
	return isS3(service)
}

func isS3(service string) bool {
	switch service {
	case "s3", "s3-object-lambda", "s3express":
		return true
	}
	return false
}

// Parse reads the Authorization header (header form) or the X-Amz-* query
// parameters (presigned form) of r, checks the request time against the
// clock, and builds the canonical request and string to sign. body is the full
// request body, already read (nil for none); it is hashed unless the client
// sent X-Amz-Content-Sha256, whose value must then match the body (or be
// UNSIGNED-PAYLOAD, for the services Verifier.UnsignedPayload allows). This
// holds for presigned requests too: a body they carry is signed.
//
// Errors are *apierr.Error: MissingAuthenticationToken when the request
// carries no SigV4 authentication at all; IncompleteSignature when the
// Authorization header or the query parameters are malformed or incomplete;
// SignatureDoesNotMatch when the time is outside the skew window ("Signature
// expired: ..." / "Signature not yet current: ..."), a presigned request is past
// X-Amz-Expires, the scope date differs from the request date or the payload
// hash does not match the body (UNSIGNED-PAYLOAD included, where the service
// does not allow it); MalformedQueryString for bad percent-encoding.
func (v *Verifier) Parse(r *http.Request, body []byte) (*Request, error) {
	return v.ParseAt(r, body, v.now())
}

// ParseAt is Parse with the current time given (read once per request by a
// caller that needs it too) instead of read from the Verifier's clock.
//
// An error found after the credential scope was read (time, payload) comes
// with a Request holding only AccessKeyID, Date, Region and Service, so that
// the caller can answer in the scope's service; it never verifies. Other
// errors come with a nil Request.
func (v *Verifier) ParseAt(r *http.Request, body []byte, now time.Time) (*Request, error) {
	return v.parse(r, body, nil, now)
}

// ParseHashAt is ParseAt for a request whose body the caller does not hand
// over (a resource server asking the authorize API about a request it
// received): payloadHash stands for the body. It is the lower- or
// upper-case hex SHA-256 of the body as received, or the literal value the
// client signed instead of a hash (UNSIGNED-PAYLOAD, for the services
// Verifier.UnsignedPayload allows); "" means an empty body.
//
// Where the client sent X-Amz-Content-Sha256, payloadHash must equal it
// (hex compared without regard to case), except that a client's
// UNSIGNED-PAYLOAD is accepted with any payloadHash: the client left the
// body out of the signature. A presigned request to a service that allows
// unsigned payloads and carries no X-Amz-Content-Sha256 signs
// UNSIGNED-PAYLOAD, as S3 presigned URLs do, whatever payloadHash says.
// Errors are ParseAt's.
func (v *Verifier) ParseHashAt(r *http.Request, payloadHash string, now time.Time) (*Request, error) {
	return v.parse(r, nil, &payloadHash, now)
}

// ParseHashInto is ParseHashAt into req, which it resets first: a caller
// that parses many requests reuses one Request (from a sync.Pool) and its
// buffer, which a long canonical request (a session token among the signed
// headers) outgrows. On error req holds nothing of use. req must not be in
// use by another goroutine.
func (v *Verifier) ParseHashInto(req *Request, r *http.Request, payloadHash string, now time.Time) error {
	_, err := v.into(req, r, nil, &payloadHash, now)
	return err
}

// ParseAtInto is ParseAt into req, which it resets first, for a caller
// that parses request after request (the API listener, into each pooled
// exchange's), and allocates nothing for a typical request. It returns req
// on success; on error what ParseAt returns (nil, or the Request of the
// scope alone, allocated apart: never req). req must not be in use by
// another goroutine, and what it returns is good until the next parse into
// req.
func (v *Verifier) ParseAtInto(req *Request, r *http.Request, body []byte, now time.Time) (*Request, error) {
	return v.into(req, r, body, nil, now)
}

// into resets req, keeping the buffer an earlier parse outgrew into, and
// parses into it.
func (v *Verifier) into(req *Request, r *http.Request, body []byte, hash *string, now time.Time) (*Request, error) {
	spill := req.spill
	*req = Request{spill: spill[:0]}
	out, err := v.parseInto(req, r, body, hash, now)
	if total := len(req.canonical) + len(req.stringToSign); total > len(req.buf) && cap(req.spill) < total {
		// Outgrown: the next parse into req starts with a buffer that
		// holds both (this one's are not touched).
		req.spill = make([]byte, 0, total+total/4)
	}
	return out, err
}

// parse is ParseAt (hash nil) and ParseHashAt (hash set).
func (v *Verifier) parse(r *http.Request, body []byte, hash *string, now time.Time) (*Request, error) {
	return v.parseInto(&Request{}, r, body, hash, now)
}

func (v *Verifier) parseInto(req *Request, r *http.Request, body []byte, hash *string, now time.Time) (*Request, error) {
	var (
		amzDate   string // the timestamp as signed, basic ISO 8601
		signature string
		q         []queryPair
		err       error
	)
	rawQuery := r.URL.RawQuery
	if auth := headerGet(r.Header, "Authorization"); auth != "" {
		signature, err = parseAuthorization(req, auth)
		if err != nil {
			return nil, err
		}
		if amzDate, err = headerTime(req, r.Header); err != nil {
			return nil, err
		}
		req.SecurityToken = headerGet(r.Header, "X-Amz-Security-Token")
		if q, err = parseQuery(rawQuery); err != nil {
			return nil, err
		}
	} else if hasPresignParams(rawQuery) {
		req.Presigned = true
		if q, err = parseQuery(rawQuery); err != nil {
			return nil, err
		}
		if amzDate, signature, err = parsePresigned(req, q); err != nil {
			return nil, err
		}
		// The signature cannot sign itself.
		q = dropKey(q, "X-Amz-Signature")
		if v.UnsignedQueryToken {
			q = dropKey(q, "X-Amz-Security-Token")
		}
	} else {
		return nil, apierr.New(apierr.MissingAuthenticationToken, msgMissingAuth)
	}

	if req.Date != amzDate[:8] {
		return req.scope(), apierr.New(apierr.SignatureDoesNotMatch,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			req.Date, amzDate[:8], amzDate)
	}
	if err := v.checkTime(req, amzDate, now); err != nil {
		return req.scope(), err
	}

	req.sigOK = decodeSignature(&req.signature, signature)

	var ph payload
	if hash != nil {
		err = ph.given(req, r.Header, *hash, v.unsignedPayload(req.Service))
	} else {
		err = ph.compute(req, r.Header, body, v.unsignedPayload(req.Service))
	}
	if err != nil {
		return req.scope(), err
	}

	b := req.buf[:0]
	if cap(req.spill) > 0 {
		b = req.spill
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalPath(b, requestPath(r), v.rawPath(req.Service))
	b = append(b, '\n')
	b = appendCanonicalQuery(b, q)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, req.SignedHeaders)
	b = append(b, '\n')
	for i, h := range req.SignedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h...)
	}
	b = append(b, '\n')
	b = ph.appendTo(b)
	n := len(b)
	req.canonical = b[:n:n]
	sum := sha256.Sum256(req.canonical)
	// The string to sign follows the canonical request in the same buffer.
	req.stringToSign = appendStringToSign(b[n:], amzDate, req.Date, req.Region, req.Service, &sum)
	return req, nil
}

// decodeSignature decodes the claimed signature, 64 hex digits (either
// case), into out; it reports whether it was well formed.
func decodeSignature(out *[sha256.Size]byte, sig string) bool {
	if len(sig) != 2*sha256.Size {
		return false
	}
	for i := range out {
		hi, lo := unhex[sig[2*i]], unhex[sig[2*i+1]]
		if hi|lo > 0xf {
			return false
		}
		out[i] = hi<<4 | lo
	}
	return true
}

// unhex maps a hex digit (either case) to its value and any other byte to 0xff.
var unhex = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

func appendStringToSign(b []byte, amzDate, date, region, service string, crHash *[sha256.Size]byte) []byte {
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, date...)
	b = append(b, '/')
	b = append(b, region...)
	b = append(b, '/')
	b = append(b, service...)
	b = append(b, '/')
	b = append(b, scopeTerminator...)
	b = append(b, '\n')
	return hex.AppendEncode(b, crHash[:])
}

// Verify checks req's signature with the secret access key in constant time.
// It returns an apierr SignatureDoesNotMatch error on mismatch. It does not
// allocate once the signing key for (secret, date, region, service) is cached.
func (v *Verifier) Verify(req *Request, secret []byte) error {
	if req == nil || req.stringToSign == nil {
		return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch)
	}
	key := v.signingKey(secret, req.Date, req.Region, req.Service)
	return check(req, &key)
}

// VerifyKey is Verify with the signing key of req's credential scope
// (SigningKey of the secret, req.Date, req.Region and req.Service) instead
// of the secret: what a party that must check signatures but must not hold
// the secret is given (the public verifier's local mode). A key for another
// scope does not match. It does not allocate.
func (v *Verifier) VerifyKey(req *Request, key *[sha256.Size]byte) error {
	if req == nil || req.stringToSign == nil || key == nil {
		return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch)
	}
	return check(req, key)
}

// SigningKey is the SigV4 signing key of a secret access key for one
// credential scope: HMAC-SHA256 chained over "AWS4"+secret, date
// (YYYYMMDD), region, service and "aws4_request". It signs only requests
// of that day, region and service, and the secret cannot be recovered
// from it.
func SigningKey(secret []byte, date, region, service string) [sha256.Size]byte {
	return deriveKey(secret, date, region, service)
}

// SignatureMismatch returns the SignatureDoesNotMatch error Verify returns
// for a signature that does not match, for callers that compare signatures
// made with SigningKey themselves.
func SignatureMismatch() error { return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch) }

// check compares req's signature with the one key makes, in constant time.
func check(req *Request, key *[sha256.Size]byte) error {
	var mac [sha256.Size]byte
	hmacSHA256(&mac, key[:], req.stringToSign)
	ok := subtle.ConstantTimeCompare(mac[:], req.signature[:]) == 1
	if !ok || !req.sigOK {
		return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch)
	}
	return nil
}

// checkTime applies the skew window and, for presigned requests, X-Amz-Expires.
// The window is inclusive: a request exactly Skew old or ahead is accepted.
func (v *Verifier) checkTime(req *Request, amzDate string, now time.Time) error {
	now = now.UTC()
	skew := v.skew()
	mins := int64(skew / time.Minute)
	if earliest := now.Add(-skew); req.Time.Before(earliest) && !req.Presigned {
		return apierr.New(apierr.SignatureDoesNotMatch,
			"Signature expired: %s is now earlier than %s (%s - %d min.)",
			amzDate, earliest.Format(timeFormat), now.Format(timeFormat), mins)
	}
	if latest := now.Add(skew); req.Time.After(latest) {
		return apierr.New(apierr.SignatureDoesNotMatch,
			"Signature not yet current: %s is still later than %s (%s + %d min.)",
			amzDate, latest.Format(timeFormat), now.Format(timeFormat), mins)
	}
	if req.Presigned {
		life := req.Expires
		if life == 0 {
			life = skew
		}
		if earliest := now.Add(-life); req.Time.Before(earliest) {
			return apierr.New(apierr.SignatureDoesNotMatch,
				"Signature expired: %s is now earlier than %s (%s - %d sec.)",
				amzDate, earliest.Format(timeFormat), now.Format(timeFormat), int64(life/time.Second))
		}
	}
	return nil
}

func incomplete(format string, args ...any) error {
	return apierr.New(apierr.IncompleteSignature, format, args...)
}

// parseAuthorization reads
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(req *Request, auth string) (signature string, err error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != Algorithm {
		return "", incomplete("Unsupported AWS 'algorithm': '%s'. Supported: '%s'.", apierr.Quote(alg), Algorithm)
	}
	var cred, signed string
	var haveCred, haveSigned, haveSig bool
	for more := true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			if part == "" {
				continue
			}
			return "", incomplete("Authorization header requires each component to be of the form key=value. Authorization=%s", apierr.Quote(auth))
		}
		// A component named twice makes the header malformed: the last
		// one won, so a header could name one key to a proxy that reads
		// the first and another to this verifier.
		switch k {
		case "Credential":
			if haveCred {
				return "", incomplete("Authorization header has the 'Credential' parameter more than once. Authorization=%s", apierr.Quote(auth))
			}
			cred, haveCred = val, true
		case "SignedHeaders":
			if haveSigned {
				return "", incomplete("Authorization header has the 'SignedHeaders' parameter more than once. Authorization=%s", apierr.Quote(auth))
			}
			signed, haveSigned = val, true
		case "Signature":
			if haveSig {
				return "", incomplete("Authorization header has the 'Signature' parameter more than once. Authorization=%s", apierr.Quote(auth))
			}
			signature, haveSig = val, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return "", incomplete("%s Authorization=%s", strings.Join(missing, " "), apierr.Quote(auth))
	}
	if err := parseCredential(req, cred); err != nil {
		return "", err
	}
	if err := parseSignedHeaders(req, signed); err != nil {
		return "", err
	}
	return signature, nil
}

func parseCredential(req *Request, cred string) error {
	if strings.Count(cred, "/") != 4 {
		return incomplete("Credential should have exactly five slash-separated components (AccessKeyId/Date/Region/Service/aws4_request), got '%s'.", apierr.Quote(cred))
	}
	var parts [5]string
	rest := cred
	for i := range 4 {
		parts[i], rest, _ = strings.Cut(rest, "/")
	}
	parts[4] = rest
	req.AccessKeyID, req.Date, req.Region, req.Service = parts[0], parts[1], parts[2], parts[3]
	if req.AccessKeyID == "" {
		return incomplete("Credential must contain an access key id.")
	}
	if !validDate(req.Date) {
		return incomplete("Credential should be scoped to a valid date, not '%s'.", apierr.Quote(req.Date))
	}
	if req.Region == "" {
		return incomplete("Credential should be scoped to a valid region.")
	}
	if req.Service == "" {
		return incomplete("Credential should be scoped to a valid service.")
	}
	if parts[4] != scopeTerminator {
		return apierr.New(apierr.SignatureDoesNotMatch,
			"Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", apierr.Quote(parts[4]))
	}
	return nil
}

// lastDate is the last credential scope date that validDate accepted:
// nearly every request carries today's.
var lastDate atomic.Pointer[string]

// validDate reports whether d is a YYYYMMDD date.
func validDate(d string) bool {
	if p := lastDate.Load(); p != nil && *p == d {
		return true
	}
	if _, err := time.Parse(dateFormat, d); err != nil || len(d) != 8 {
		return false
	}
	p := new(string)
	*p = d
	lastDate.Store(p)
	return true
}

// parsedTime is an X-Amz-Date value and its parse.
type parsedTime struct {
	s string
	t time.Time
}

var lastAmzDate atomic.Pointer[parsedTime]

// parseAmzDate is time.Parse(timeFormat, d), remembering the last success
// (requests signed in the same second carry the same value).
func parseAmzDate(d string) (time.Time, error) {
	if p := lastAmzDate.Load(); p != nil && p.s == d {
		return p.t, nil
	}
	t, err := parseLongDate(d)
	if err == nil {
		lastAmzDate.Store(&parsedTime{s: d, t: t})
	}
	return t, err
}

// parseLongDate parses d in the ISO 8601 long format, exactly
// yyyyMMdd'T'HHmmss'Z': time.Parse alone also takes fractional seconds
// after the seconds (".999999" or ",5"), which AWS refuses.
func parseLongDate(d string) (time.Time, error) {
	if len(d) != len(timeFormat) {
		return time.Time{}, errors.New("sigv4: not yyyyMMdd'T'HHmmss'Z'")
	}
	return time.Parse(timeFormat, d)
}

func parseSignedHeaders(req *Request, signed string) error {
	if signed == "" {
		return incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	hs := req.signedBuf[:0]
	host := false
	for rest, more := signed, true; more; {
		var h string
		h, rest, more = strings.Cut(rest, ";")
		if h == "" || !isLower(h) || len(hs) > 0 && hs[len(hs)-1] >= h {
			return incomplete("SignedHeaders must be lower-case header names separated by ';', sorted and without duplicates, got '%s'.", apierr.Quote(signed))
		}
		if h == "host" {
			host = true
		}
		hs = append(hs, h)
	}
	if !host {
		return incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	req.SignedHeaders = hs[:len(hs):len(hs)] // so that appending to it copies
	return nil
}

// isLower reports whether strings.ToLower(s) == s, calling it only for
// names that are not ASCII.
func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return s == strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// headerTime reads X-Amz-Date, or the Date header when there is none, and
// returns the timestamp in the basic format the string to sign uses.
func headerTime(req *Request, h http.Header) (string, error) {
	if d := headerGet(h, "X-Amz-Date"); d != "" {
		t, err := parseAmzDate(d)
		if err != nil {
			return "", incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", apierr.Quote(d))
		}
		req.Time = t
		return d, nil
	}
	if d := headerGet(h, "Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return "", incomplete("Date header must be an RFC 1123 date. Got '%s'.", apierr.Quote(d))
		}
		req.Time = t.UTC()
		return req.Time.Format(timeFormat), nil
	}
	return "", incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

func hasPresignParams(rawQuery string) bool {
	return strings.Contains(rawQuery, "X-Amz-Algorithm=") ||
		strings.Contains(rawQuery, "X-Amz-Credential=") ||
		strings.Contains(rawQuery, "X-Amz-Signature=")
}

func parsePresigned(req *Request, q []queryPair) (amzDate, signature string, err error) {
	get := func(k string) (string, bool) {
		found, v := false, ""
		for _, p := range q {
			if p.key == k {
				if found {
					return "", false
				}
				found, v = true, p.value
			}
		}
		return v, found
	}
	var missing []string
	alg, ok := get("X-Amz-Algorithm")
	if !ok {
		missing = append(missing, "X-Amz-Algorithm")
	}
	cred, ok := get("X-Amz-Credential")
	if !ok {
		missing = append(missing, "X-Amz-Credential")
	}
	signature, ok = get("X-Amz-Signature")
	if !ok {
		missing = append(missing, "X-Amz-Signature")
	}
	signed, ok := get("X-Amz-SignedHeaders")
	if !ok {
		missing = append(missing, "X-Amz-SignedHeaders")
	}
	amzDate, ok = get("X-Amz-Date")
	if !ok {
		missing = append(missing, "X-Amz-Date")
	}
	if len(missing) > 0 {
		return "", "", incomplete("AWS query-string parameters must include %s. Re-examine the query-string parameters.", quoteJoin(missing))
	}
	if alg != Algorithm {
		return "", "", incomplete("X-Amz-Algorithm only supports \"%s\".", Algorithm)
	}
	if err := parseCredential(req, cred); err != nil {
		return "", "", err
	}
	if err := parseSignedHeaders(req, signed); err != nil {
		return "", "", err
	}
	t, perr := parseLongDate(amzDate)
	if perr != nil {
		return "", "", incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
	}
	req.Time = t
	if exp, ok := get("X-Amz-Expires"); ok {
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || n < 1 || n > MaxExpires || exp[0] < '0' || exp[0] > '9' { // digits only: no sign
			return "", "", incomplete("X-Amz-Expires must be a whole number of seconds between 1 and %d.", MaxExpires)
		}
		req.Expires = time.Duration(n) * time.Second
	}
	req.SecurityToken, _ = get("X-Amz-Security-Token")
	return amzDate, signature, nil
}

func quoteJoin(ss []string) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("\"" + s + "\"")
	}
	return b.String()
}

// payloadHash returns the payload hash for the canonical request: the
// X-Amz-Content-Sha256 header when present (which must match body unless it is
// UNSIGNED-PAYLOAD and unsigned is true), else the hex SHA-256 of body.
func payloadHash(req *Request, h http.Header, body []byte, unsigned bool) (string, error) {
	var p payload
	if err := p.compute(req, h, body, unsigned); err != nil {
		return "", err
	}
	return string(p.appendTo(nil)), nil
}

// payload is a payload hash without allocation: the claimed header value,
// or the hex SHA-256 of the body in place.
type payload struct {
	claimed  string
	hex      [2 * sha256.Size]byte
	computed bool
}

func (p *payload) appendTo(b []byte) []byte {
	if p.computed {
		return append(b, p.hex[:]...)
	}
	return append(b, p.claimed...)
}

// compute sets p as payloadHash describes. Where unsigned is false,
// UNSIGNED-PAYLOAD is a claimed hash like any other, and does not match.
func (p *payload) compute(req *Request, h http.Header, body []byte, unsigned bool) error {
	c := headerGet(h, "X-Amz-Content-Sha256")
	if c == UnsignedPayload && unsigned {
		req.UnsignedPayload = true
		p.claimed = c
		return nil
	}
	if len(body) == 0 {
		if c != "" && !strings.EqualFold(c, emptySHA256) {
			return payloadMismatch(c)
		}
		if c != "" {
			p.claimed = c
			return nil
		}
		p.claimed = emptySHA256
		return nil
	}
	sum := sha256.Sum256(body)
	hex.Encode(p.hex[:], sum[:])
	if c != "" {
		if !strings.EqualFold(c, string(p.hex[:])) {
			return payloadMismatch(c)
		}
		p.claimed = c
		return nil
	}
	p.computed = true
	return nil
}

// given sets p from a payload hash the caller computed (ParseHashAt).
func (p *payload) given(req *Request, h http.Header, hash string, unsigned bool) error {
	c := headerGet(h, "X-Amz-Content-Sha256")
	switch {
	case c == UnsignedPayload && unsigned:
		req.UnsignedPayload = true
		p.claimed = c
		return nil
	case c == "" && req.Presigned && unsigned:
		// S3's rule: a presigned URL does not sign its body.
		req.UnsignedPayload = true
		p.claimed = UnsignedPayload
		return nil
	case c == StreamingUnsignedTrailer && unsigned && hash == StreamingUnsignedTrailer:
		// An unsigned body in aws-chunked framing, its checksum in a
		// trailer the caller checks.
		req.UnsignedPayload = true
		p.claimed = c
		return nil
	case c == StreamingPayload && unsigned && hash == StreamingPayload:
		// The caller undertakes to check every chunk signature
		// (NewChunkReader) against this seed.
		req.StreamingPayload = true
		p.claimed = c
		return nil
	case c == StreamingPayloadTrailer && unsigned && hash == StreamingPayloadTrailer:
		// The same, and the signed trailer after the final chunk.
		req.StreamingPayload, req.StreamingTrailer = true, true
		req.Trailer = headerGet(h, "X-Amz-Trailer")
		p.claimed = c
		return nil
	case c != "":
		// Only a hash can match: UNSIGNED-PAYLOAD where the service does
		// not allow it, and streaming payloads (whose chunks nobody here
		// checks), never do.
		if !isHexHash(c) || !strings.EqualFold(c, hash) && !(hash == "" && strings.EqualFold(c, emptySHA256)) {
			return payloadMismatch(c)
		}
		p.claimed = c
		return nil
	case hash == "":
		p.claimed = emptySHA256
		return nil
	case hash == UnsignedPayload && unsigned:
		// Signed over UNSIGNED-PAYLOAD without saying so in a header: the
		// signature matches only if the client signed exactly that.
		req.UnsignedPayload = true
		p.claimed = hash
		return nil
	case len(hash) == 2*sha256.Size:
		for i := 0; i < len(hash); i++ {
			c := hash[i]
			if unhex[c] > 0xf {
				return payloadMismatch(hash)
			}
			if 'A' <= c && c <= 'F' {
				c += 'a' - 'A'
			}
			p.hex[i] = c
		}
		p.computed = true
		return nil
	}
	return payloadMismatch(hash)
}

// isHexHash reports whether s is 64 hex digits (either case).
func isHexHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if unhex[s[i]] > 0xf {
			return false
		}
	}
	return true
}

func payloadMismatch(claimed string) error {
	if strings.HasPrefix(claimed, "STREAMING-") {
		return incomplete("Streaming payload signing (%s) is not supported.", apierr.Quote(claimed))
	}
	return apierr.New(apierr.SignatureDoesNotMatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// requestPath returns the path exactly as the client sent it: from the
// request line when r came from a server, else r.URL's escaped path.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; u != "" && u != "*" {
		if i := strings.Index(u, "://"); i >= 0 && !strings.HasPrefix(u, "/") {
			rest := u[i+3:]
			if j := strings.IndexAny(rest, "/?"); j >= 0 {
				u = rest[j:]
			} else {
				u = "/"
			}
		}
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if r.URL.Opaque != "" {
		return r.URL.Opaque
	}
	return r.URL.EscapedPath()
}

// hostValue returns the Host header value as the client sent it.
func hostValue(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	return r.URL.Host
}

// headerGet is h.Get(key) for a key already in canonical form, without
// canonicalizing it again.
func headerGet(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// headerIndex finds a request's headers by their lower-case names.
type headerIndex struct {
	h http.Header
	// lower holds every header by its lower-case name (the values of
	// each spelling), made at the first name the canonical lookup
	// misses. Scanning the headers for each such name instead cost
	// signed names x headers: a request of 64 KB without credentials
	// (4,400 signed names absent, 4,000 other headers) took 180 ms of
	// CPU to parse (found by a review as an attacker).
	lower map[string][]string
}

// values returns the values of the header named lower (lower-case),
// looking up the canonical form first and then any spelling.
func (x *headerIndex) values(lower string) []string {
	var tmp [64]byte
	if key, ok := appendCanonicalKey(tmp[:0], lower); ok {
		if vs, ok := x.h[string(key)]; ok {
			return vs
		}
	} else if vs, ok := x.h[http.CanonicalHeaderKey(lower)]; ok {
		return vs
	}
	if x.lower == nil {
		x.lower = make(map[string][]string, len(x.h))
		for k, vs := range x.h {
			lk := strings.ToLower(k)
			x.lower[lk] = append(x.lower[lk], vs...)
		}
	}
	return x.lower[lower]
}

// appendCanonicalKey appends the canonical form (as http.CanonicalHeaderKey
// gives it) of a header name made only of lower-case letters, digits and
// '-'; for other names it reports false and the caller canonicalizes.
func appendCanonicalKey(b []byte, lower string) ([]byte, bool) {
	n := len(b)
	b = append(b, lower...)
	upper := true
	for i, c := range b[n:] {
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				b[n+i] = c - ('a' - 'A')
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return nil, false
		}
		upper = c == '-'
	}
	return b, true
}

func appendCanonicalHeaders(b []byte, r *http.Request, signed []string) []byte {
	h := headerIndex{h: r.Header}
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = appendTrimmed(b, hostValue(r))
		case "content-length":
			if vs := h.values(name); len(vs) > 0 {
				b = appendValues(b, vs)
			} else if r.ContentLength >= 0 {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		case "transfer-encoding":
			if vs := h.values(name); len(vs) > 0 {
				b = appendValues(b, vs)
			} else {
				b = appendValues(b, r.TransferEncoding)
			}
		default:
			b = appendValues(b, h.values(name))
		}
		b = append(b, '\n')
	}
	return b
}

func appendValues(b []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// appendTrimmed appends v with leading and trailing whitespace removed and
// inner runs of whitespace (including folded line breaks) collapsed to one space.
func appendTrimmed(b []byte, v string) []byte {
	for first := true; ; first = false {
		i := 0
		for i < len(v) && isSpace(v[i]) {
			i++
		}
		if i == len(v) {
			return b
		}
		v = v[i:]
		// v starts a word: append it whole, after one space unless first.
		j := 1
		for {
			j = indexControl(v, j)
			if j == len(v) || isSpace(v[j]) {
				break
			}
			j++
		}
		if !first {
			b = append(b, ' ')
		}
		b = append(b, v[:j]...)
		v = v[j:]
	}
}

// indexControl returns the index of the first byte of v from i on that is
// at most ' ' (whitespace or another control character), or len(v). It
// looks at eight bytes at a time: a session token among the signed
// headers is a word of some 700 bytes.
func indexControl(v string, i int) int {
	const highs, below = 0x8080808080808080, 0x21 * 0x0101010101010101
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if (x-below)&^x&highs != 0 { // some byte is below 0x21
			break
		}
	}
	for ; i < len(v); i++ {
		if v[i] <= ' ' {
			return i
		}
	}
	return len(v)
}

// isSpace reports whether c is whitespace that appendTrimmed trims or collapses.
func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

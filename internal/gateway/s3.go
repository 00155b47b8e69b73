package gateway

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// target is what an S3 request names, decoded once: the policy decides on
// these values and the upstream request is re-encoded from the same ones,
// so the key the policy saw is the key forwarded.
type target struct {
	bucket string
	key    string // "" for bucket and service operations
	query  []param
}

type param struct {
	name, value string
	bare        bool // "?uploads" rather than "?uploads="
}

func (t *target) get(name string) (string, bool) {
	for _, p := range t.query {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func (t *target) has(name string) bool { _, ok := t.get(name); return ok }

// resource is the ARN the policy sees.
func (t *target) resource() string {
	switch {
	case t.bucket == "":
		return "*"
	case t.key == "":
		return "arn:aws:s3:::" + t.bucket
	}
	return "arn:aws:s3:::" + t.bucket + "/" + t.key
}

// presignParams are the query parameters of a presigned URL: they
// authenticate the request to the gateway and are never forwarded.
var presignParams = map[string]bool{
	"X-Amz-Algorithm": true, "X-Amz-Credential": true, "X-Amz-Date": true, "X-Amz-Expires": true,
	"X-Amz-SignedHeaders": true, "X-Amz-Signature": true, "X-Amz-Security-Token": true,
}

const maxKeyBytes = 1024 // S3's limit on an object key

// parseTarget reads the bucket, key and query of r. With domains set,
// the Host must be one of them (path-style) or a bucket under one of them
// (virtual-hosted style); any other Host is refused, so that a request
// signed for another endpoint is not replayed here. Without domains,
// every request is path-style and the Host is only what the client
// signed.
func parseTarget(r *http.Request, domains []string) (*target, *Error) {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		return nil, invalidRequest("The request target must be an origin-form path.")
	}
	if strings.ContainsRune(uri, '#') {
		// No client sends a fragment (a "#" in a key or value is %23).
		// OpenSTS verifies the signature of the URL without it, so what
		// follows a "#" would be a path or query nobody signed.
		return nil, s3err(http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.")
	}
	rawPath, rawQuery, _ := strings.Cut(uri, "?")
	path, err := url.PathUnescape(rawPath)
	if err != nil || !utf8.ValidString(path) || strings.ContainsRune(path, 0) {
		return nil, s3err(http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.")
	}
	t := &target{}
	hostBucket, e := bucketFromHost(r.Host, domains)
	if e != nil {
		return nil, e
	}
	rest := path[1:]
	if hostBucket != "" {
		t.bucket, t.key = hostBucket, rest
	} else if rest != "" {
		t.bucket, t.key, _ = strings.Cut(rest, "/")
	}
	if t.bucket != "" && !validBucket(t.bucket) {
		return nil, s3err(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	}
	if len(t.key) > maxKeyBytes {
		return nil, s3err(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	}
	if dotSegment(t.key) {
		return nil, errInvalidURI
	}
	if t.query, e = parseQuery(rawQuery); e != nil {
		return nil, e
	}
	return t, nil
}

// bucketFromHost returns the bucket a virtual-hosted-style Host names, or
// "" for path-style.
func bucketFromHost(host string, domains []string) (string, *Error) {
	if len(domains) == 0 {
		return "", nil
	}
	h := strings.ToLower(host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	for _, d := range domains {
		if h == d {
			return "", nil
		}
		if b, ok := strings.CutSuffix(h, "."+d); ok && b != "" {
			return b, nil
		}
	}
	return "", invalidRequest("The Host header names no endpoint of this gateway.")
}

// validBucket is S3's bucket naming rule (3 to 63 characters of lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit, no "..", not an IP address).
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") || net.ParseIP(b) != nil {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '.' && c != '-' || i == 0 || i == len(b)-1) {
			return false
		}
	}
	return true
}

// maxParams bounds the query parameters of one request.
const maxParams = 64

// parseQuery decodes the query; a name given twice is refused, so that no
// two readers can pick different values. "+" is a space, as S3 reads it;
// the forwarded query encodes a space as %20.
func parseQuery(raw string) ([]param, *Error) {
	if raw == "" {
		return nil, nil
	}
	parts := strings.Split(raw, "&")
	if len(parts) > maxParams {
		return nil, invalidArgument("Too many query parameters.")
	}
	out := make([]param, 0, len(parts))
	for _, part := range parts {
		if part == "" {
			continue
		}
		n, v, hasEq := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(n)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || name == "" || !utf8.ValidString(name) || !utf8.ValidString(value) {
			return nil, invalidArgument("The query string is not valid percent-encoding.")
		}
		for _, p := range out {
			if p.name == name {
				return nil, invalidArgument("The query parameter " + strconv.Quote(name) + " is given more than once.")
			}
		}
		out = append(out, param{name: name, value: value, bare: !hasEq})
	}
	return out, nil
}

// s3Escape percent-encodes s as SigV4 does for S3: everything but the
// unreserved characters, and "/" kept when keepSlash.
func s3Escape(s string, keepSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// check is one authorization the request needs: an action on a resource,
// with the bucket whose policy applies.
type check struct {
	action, resource, bucket string
}

// operation is what a request does, as the policy sees it.
type operation struct {
	name   string // the S3 API name, for logs
	checks []check
	ctx    map[string][]string
	// copySource is the re-encoded x-amz-copy-source to forward.
	copySource string
	// deleteObjects: the body is a Delete document whose keys each need
	// s3:DeleteObject (read and checked before forwarding).
	deleteObjects bool
	// trailer: the body is STREAMING-UNSIGNED-PAYLOAD-TRAILER, decoded.
	trailer bool
}

// Query parameters that do not change which operation a request is.
var (
	listParams = set("prefix", "delimiter", "max-keys", "marker", "list-type", "continuation-token", "start-after",
		"fetch-owner", "encoding-type", "x-id", "key-marker", "upload-id-marker", "version-id-marker", "max-uploads",
		"allow-unordered", "optional-object-attributes")
	objectParams = set("x-id", "versionId", "partNumber", "uploadId", "response-content-type", "response-content-language",
		"response-expires", "response-cache-control", "response-content-disposition", "response-content-encoding",
		"max-parts", "part-number-marker", "encoding-type")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Bucket sub-resources: the query parameter, and the actions of GET, PUT
// and DELETE on it ("" where S3 has no such operation).
var bucketSubresources = map[string][3]string{
	"location":          {"s3:GetBucketLocation", "", ""},
	"versioning":        {"s3:GetBucketVersioning", "s3:PutBucketVersioning", ""},
	"tagging":           {"s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"},
	"policy":            {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
	"acl":               {"s3:GetBucketAcl", "s3:PutBucketAcl", ""},
	"cors":              {"s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"},
	"lifecycle":         {"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"},
	"encryption":        {"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
	"website":           {"s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"},
	"logging":           {"s3:GetBucketLogging", "s3:PutBucketLogging", ""},
	"notification":      {"s3:GetBucketNotification", "s3:PutBucketNotification", ""},
	"object-lock":       {"s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", ""},
	"ownershipControls": {"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"},
	"publicAccessBlock": {"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"},
	"requestPayment":    {"s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment", ""},
	"accelerate":        {"s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", ""},
	"replication":       {"s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", "s3:PutReplicationConfiguration"},
	"uploads":           {"s3:ListBucketMultipartUploads", "", ""},
	"versions":          {"s3:ListBucketVersions", "", ""},
}

// Object sub-resources: GET, PUT and DELETE actions.
var objectSubresources = map[string][3]string{
	"acl":        {"s3:GetObjectAcl", "s3:PutObjectAcl", ""},
	"tagging":    {"s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"},
	"retention":  {"s3:GetObjectRetention", "s3:PutObjectRetention", ""},
	"legal-hold": {"s3:GetObjectLegalHold", "s3:PutObjectLegalHold", ""},
	"attributes": {"s3:GetObjectAttributes", "", ""},
}

// Request headers that are S3 condition keys (s3:<header>).
var conditionHeaders = []string{
	"x-amz-acl", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
	"x-amz-server-side-encryption-customer-algorithm", "x-amz-storage-class", "x-amz-metadata-directive",
	"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
	"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
	"x-amz-content-sha256", "x-amz-object-ownership",
}

// classify maps a request to its operation: the IAM actions and resources
// it needs and its S3 condition keys. An operation it does not know is
// refused (NotImplemented), never forwarded unchecked.
func classify(r *http.Request, t *target, presigned bool, signedAt time.Time, now time.Time) (*operation, *Error) {
	op := &operation{ctx: map[string][]string{}}
	// Context every S3 request carries.
	if presigned {
		op.ctx["s3:authType"] = []string{"REST-QUERY-STRING"}
	} else {
		op.ctx["s3:authType"] = []string{"REST-HEADER"}
	}
	op.ctx["s3:signatureversion"] = []string{"AWS4-HMAC-SHA256"}
	if !signedAt.IsZero() {
		age := max(now.Sub(signedAt).Milliseconds(), 0)
		op.ctx["s3:signatureAge"] = []string{strconv.FormatInt(age, 10)}
	}
	if r.TLS != nil {
		op.ctx["s3:TlsVersion"] = []string{tlsVersion(r.TLS.Version)}
	}
	// A header given twice would make its condition key multivalued,
	// which no single-valued operator matches (a Deny on s3:x-amz-acl
	// being public-read would not apply), while the store reads one of
	// the values: refused, as a query parameter given twice is.
	for name, vs := range r.Header {
		if len(vs) > 1 && strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			return nil, invalidArgument("The header " + strconv.Quote(strings.ToLower(name)) + " is given more than once.")
		}
	}
	for _, h := range conditionHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			op.ctx["s3:"+h] = v
		}
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		op.ctx["aws:Referer"] = []string{ref}
	}
	if v, ok := t.get("versionId"); ok {
		op.ctx["s3:versionid"] = []string{v}
	}

	switch {
	case t.bucket == "":
		if r.Method != http.MethodGet || hasOtherParams(t, listParams) {
			return nil, notImplemented("Only ListBuckets is served on the service endpoint.")
		}
		op.name = "ListBuckets"
		op.checks = []check{{action: "s3:ListAllMyBuckets", resource: "*"}}
		return op, nil
	case t.key == "":
		return classifyBucket(r, t, op)
	}
	return classifyObject(r, t, op)
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0301:
		return "1.0"
	case 0x0302:
		return "1.1"
	case 0x0303:
		return "1.2"
	case 0x0304:
		return "1.3"
	}
	return "0"
}

// subresource returns the one sub-resource parameter of t in subs, or ""
// when there is none; more than one, or a parameter neither a
// sub-resource nor in allowed, is an error.
func subresource(t *target, subs map[string][3]string, allowed map[string]bool) (string, *Error) {
	found := ""
	for _, p := range t.query {
		if presignParams[p.name] || allowed[p.name] {
			continue
		}
		if _, ok := subs[p.name]; !ok || found != "" {
			return "", notImplemented("The gateway does not serve the query parameter " + strconv.Quote(p.name) + " here.")
		}
		found = p.name
	}
	return found, nil
}

func hasOtherParams(t *target, allowed map[string]bool) bool {
	for _, p := range t.query {
		if !presignParams[p.name] && !allowed[p.name] {
			return true
		}
	}
	return false
}

func classifyBucket(r *http.Request, t *target, op *operation) (*operation, *Error) {
	res := t.resource()
	if r.Method == http.MethodPost {
		if t.has("delete") && !hasOtherParams(t, set("delete", "x-id")) {
			op.name, op.deleteObjects = "DeleteObjects", true
			return op, nil
		}
		return nil, notImplemented("This POST on a bucket is not served by the gateway.")
	}
	sub, e := subresource(t, bucketSubresources, listParams)
	if e != nil {
		return nil, e
	}
	col := map[string]int{http.MethodGet: 0, http.MethodPut: 1, http.MethodDelete: 2}
	if sub != "" {
		i, ok := col[r.Method]
		action := bucketSubresources[sub][max(i, 0)]
		if !ok || action == "" {
			return nil, notImplemented("The gateway does not serve " + r.Method + " ?" + sub + ".")
		}
		op.name = r.Method + " ?" + sub
		op.checks = []check{{action: action, resource: res, bucket: t.bucket}}
		if sub == "versions" || sub == "uploads" {
			listContext(t, op)
		}
		return op, nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		op.name = "ListObjects"
		if v, _ := t.get("list-type"); v == "2" {
			op.name = "ListObjectsV2"
		}
		if r.Method == http.MethodHead {
			op.name = "HeadBucket"
		}
		op.checks = []check{{action: "s3:ListBucket", resource: res, bucket: t.bucket}}
		listContext(t, op)
	case http.MethodPut:
		if hasOtherParams(t, set("x-id")) {
			return nil, notImplemented("This PUT on a bucket is not served by the gateway.")
		}
		op.name = "CreateBucket"
		op.checks = []check{{action: "s3:CreateBucket", resource: res, bucket: t.bucket}}
		op.checks = append(op.checks, createBucketChecks(r, res, t.bucket)...)
	case http.MethodDelete:
		if hasOtherParams(t, set("x-id")) {
			return nil, notImplemented("This DELETE on a bucket is not served by the gateway.")
		}
		op.name = "DeleteBucket"
		op.checks = []check{{action: "s3:DeleteBucket", resource: res, bucket: t.bucket}}
	default:
		return nil, notImplemented("The gateway does not serve " + r.Method + " on a bucket.")
	}
	return op, nil
}

// listContext sets the condition keys of the list operations.
func listContext(t *target, op *operation) {
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if v, ok := t.get(k); ok {
			op.ctx["s3:"+k] = []string{v}
		}
	}
}

func classifyObject(r *http.Request, t *target, op *operation) (*operation, *Error) {
	res := t.resource()
	_, versioned := t.get("versionId")
	uploadID, multipart := t.get("uploadId")
	if multipart && uploadID == "" {
		return nil, invalidArgument("uploadId must not be empty.")
	}
	if r.Method == http.MethodPost {
		op.checks = []check{{action: "s3:PutObject", resource: res, bucket: t.bucket}}
		switch {
		case t.has("uploads") && !hasOtherParams(t, set("uploads", "x-id")):
			op.name = "CreateMultipartUpload"
			op.checks = append(op.checks, writeHeaderChecks(r, res, t.bucket)...)
		case multipart && !hasOtherParams(t, set("uploadId", "x-id")):
			op.name = "CompleteMultipartUpload"
		default:
			return nil, notImplemented("This POST on an object is not served by the gateway.")
		}
		if e := tagContext(r, op); e != nil {
			return nil, e
		}
		return op, nil
	}
	sub, e := subresource(t, objectSubresources, objectParams)
	if e != nil {
		return nil, e
	}
	if sub != "" {
		i := map[string]int{http.MethodGet: 0, http.MethodPut: 1, http.MethodDelete: 2}[r.Method]
		action := objectSubresources[sub][i]
		if r.Method != http.MethodGet && r.Method != http.MethodPut && r.Method != http.MethodDelete || action == "" {
			return nil, notImplemented("The gateway does not serve " + r.Method + " ?" + sub + ".")
		}
		if versioned && sub == "tagging" {
			action = strings.Replace(action, "ObjectTagging", "ObjectVersionTagging", 1)
		}
		if versioned && sub == "acl" {
			action = strings.Replace(action, "ObjectAcl", "ObjectVersionAcl", 1)
		}
		op.name = r.Method + " ?" + sub
		op.checks = []check{{action: action, resource: res, bucket: t.bucket}}
		if sub == "retention" {
			op.checks = append(op.checks, bypassChecks(r, res, t.bucket)...)
		}
		return op, nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case multipart:
			op.name = "ListParts"
			op.checks = []check{{action: "s3:ListMultipartUploadParts", resource: res, bucket: t.bucket}}
		default:
			op.name = "GetObject"
			if r.Method == http.MethodHead {
				op.name = "HeadObject"
			}
			action := "s3:GetObject"
			if versioned {
				action = "s3:GetObjectVersion"
			}
			op.checks = []check{{action: action, resource: res, bucket: t.bucket}}
		}
	case http.MethodPut:
		op.name = "PutObject"
		if multipart {
			op.name = "UploadPart"
			if !t.has("partNumber") {
				return nil, invalidArgument("partNumber is required with uploadId.")
			}
		} else if t.has("partNumber") {
			return nil, invalidArgument("partNumber needs uploadId.")
		}
		op.checks = []check{{action: "s3:PutObject", resource: res, bucket: t.bucket}}
		if !multipart {
			if e := tagContext(r, op); e != nil {
				return nil, e
			}
			op.checks = append(op.checks, writeHeaderChecks(r, res, t.bucket)...)
		}
		if src := r.Header.Values("X-Amz-Copy-Source"); len(src) > 0 {
			c, enc, e := copySource(src)
			if e != nil {
				return nil, e
			}
			op.name = "CopyObject"
			if multipart {
				op.name = "UploadPartCopy"
			}
			op.checks = append(op.checks, c)
			op.copySource = enc
		}
	case http.MethodDelete:
		switch {
		case multipart:
			op.name = "AbortMultipartUpload"
			op.checks = []check{{action: "s3:AbortMultipartUpload", resource: res, bucket: t.bucket}}
		default:
			op.name = "DeleteObject"
			action := "s3:DeleteObject"
			if versioned {
				action = "s3:DeleteObjectVersion"
			}
			op.checks = []check{{action: action, resource: res, bucket: t.bucket}}
			op.checks = append(op.checks, bypassChecks(r, res, t.bucket)...)
		}
	default:
		return nil, notImplemented("The gateway does not serve " + r.Method + " on an object.")
	}
	return op, nil
}

// tagContext sets s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys
// from x-amz-tagging (a query-encoded tag set). A tag set that does not
// parse, or names a key twice, is refused (S3's InvalidTag): the policy
// would see no tag, or a multivalued one that no single-valued operator
// matches, where the store may read one.
func tagContext(r *http.Request, op *operation) *Error {
	raw := r.Header.Get("X-Amz-Tagging")
	if raw == "" {
		return nil
	}
	bad := s3err(http.StatusBadRequest, "InvalidTag", "The x-amz-tagging header is not a valid tag set, or gives a tag key more than once.")
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return bad
	}
	keys := make([]string, 0, len(vals))
	for k, vs := range vals {
		if len(vs) != 1 || k == "" {
			return bad
		}
		keys = append(keys, k)
		op.ctx["s3:RequestObjectTag/"+k] = vs
	}
	op.ctx["s3:RequestObjectTagKeys"] = keys
	return nil
}

// aclHeaders set an ACL on the object or bucket a request creates.
var aclHeaders = []string{"X-Amz-Acl", "X-Amz-Grant-Read", "X-Amz-Grant-Write", "X-Amz-Grant-Read-Acp", "X-Amz-Grant-Write-Acp",
	"X-Amz-Grant-Full-Control"}

func hasHeader(r *http.Request, names ...string) bool {
	for _, n := range names {
		if len(r.Header.Values(n)) > 0 {
			return true
		}
	}
	return false
}

// writeHeaderChecks are the actions S3 requires, besides s3:PutObject, of
// a write (PutObject, CopyObject, CreateMultipartUpload) whose headers
// set the new object's ACL, tags or object-lock settings. The store
// honours these headers with the gateway's own credentials, which may do
// all of them: without these checks, s3:PutObject alone would make an
// object public or lock it.
func writeHeaderChecks(r *http.Request, res, bucket string) []check {
	var out []check
	add := func(action string) { out = append(out, check{action: action, resource: res, bucket: bucket}) }
	if hasHeader(r, aclHeaders...) {
		add("s3:PutObjectAcl")
	}
	if hasHeader(r, "X-Amz-Tagging") {
		add("s3:PutObjectTagging")
	}
	if hasHeader(r, "X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date") {
		add("s3:PutObjectRetention")
	}
	if hasHeader(r, "X-Amz-Object-Lock-Legal-Hold") {
		add("s3:PutObjectLegalHold")
	}
	return out
}

// bypassHeader lifts governance-mode retention from a delete or a
// retention change; S3 requires s3:BypassGovernanceRetention for it.
const bypassHeader = "X-Amz-Bypass-Governance-Retention"

func bypassChecks(r *http.Request, res, bucket string) []check {
	if !hasHeader(r, bypassHeader) {
		return nil
	}
	return []check{{action: "s3:BypassGovernanceRetention", resource: res, bucket: bucket}}
}

// createBucketChecks are the actions S3 requires, besides
// s3:CreateBucket, of a CreateBucket whose headers set the bucket's ACL,
// object lock or object ownership.
func createBucketChecks(r *http.Request, res, bucket string) []check {
	var out []check
	add := func(action string) { out = append(out, check{action: action, resource: res, bucket: bucket}) }
	if hasHeader(r, aclHeaders...) {
		add("s3:PutBucketAcl")
	}
	if hasHeader(r, "X-Amz-Bucket-Object-Lock-Enabled") {
		add("s3:PutBucketObjectLockConfiguration")
		add("s3:PutBucketVersioning")
	}
	if hasHeader(r, "X-Amz-Object-Ownership") {
		add("s3:PutBucketOwnershipControls")
	}
	return out
}

// copySource reads x-amz-copy-source ("[/]bucket/key[?versionId=v]",
// URL-encoded) into the read check it needs and its canonical re-encoding,
// which is what the upstream receives.
func copySource(vs []string) (check, string, *Error) {
	bad := invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	if len(vs) != 1 {
		return check{}, "", bad
	}
	raw, rawQuery, _ := strings.Cut(vs[0], "?")
	p, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
		return check{}, "", bad
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || key == "" || !validBucket(bucket) || len(key) > maxKeyBytes || dotSegment(key) {
		return check{}, "", bad
	}
	action := "s3:GetObject"
	enc := "/" + bucket + "/" + s3Escape(key, true)
	if rawQuery != "" {
		q, e := parseQuery(rawQuery)
		if e != nil || len(q) != 1 || q[0].name != "versionId" || q[0].value == "" {
			return check{}, "", bad
		}
		action = "s3:GetObjectVersion"
		enc += "?versionId=" + s3Escape(q[0].value, false)
	}
	return check{action: action, resource: "arn:aws:s3:::" + bucket + "/" + key, bucket: bucket}, enc, nil
}

// dotSegment reports whether key has a "." or ".." segment, or an empty
// one before its last. S3 keys are opaque, but a store behind the gateway
// may resolve them as a path (a file system backend, a server that cleans
// its URL paths): the policy would decide about data/home/../secret or
// data//secret/x (which a Deny on data/secret/* does not match) while the
// store serves data/secret or data/secret/x. Such keys are refused, in
// the path and in a copy source. A trailing "/" (a folder marker) stays.
func dotSegment(key string) bool {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		if s == "." || s == ".." || s == "" && i < len(segs)-1 {
			return true
		}
	}
	return false
}

package authorize

import (
	"net/url"
	"strings"
)

// hidden is what stands for a secret in what is recorded (CloudTrail's
// word, as internal/pipeline.Hidden).
const hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// secretHeader reports whether a header's value is a secret or a
// signature: the session token, the Authorization header (its signature),
// the credentials a browser or proxy may send along, and the encryption
// keys of S3's SSE-C (a PUT or GET of an object, and the source of a copy,
// carry the customer's AES key itself).
func secretHeader(name string) bool {
	switch strings.ToLower(name) {
	case "x-amz-security-token", "authorization", "proxy-authorization", "cookie", "x-amz-signature",
		"x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key":
		return true
	}
	return false
}

// recordedHeaders are the headers, besides S3's x-amz-* (secretHeader's
// excepted), whose values the trail keeps: what describes a request and
// carries no credential. Any other header is recorded by name with its
// value hidden, so that a service's own secret header (an API key, a
// vendor's token) is never written to the trail.
var recordedHeaders = map[string]bool{
	"host": true, "content-type": true, "content-length": true, "content-md5": true, "content-encoding": true,
	"content-language": true, "content-disposition": true, "cache-control": true, "expires": true, "expect": true,
	"range": true, "if-match": true, "if-none-match": true, "if-modified-since": true, "if-unmodified-since": true,
	"user-agent": true, "accept": true, "accept-encoding": true, "date": true, "transfer-encoding": true,
	"origin": true, "x-forwarded-for": true, "x-forwarded-proto": true, "x-forwarded-host": true, "x-real-ip": true,
}

// recordedHeader reports whether a header's value is kept in the trail.
func recordedHeader(name string) bool {
	n := strings.ToLower(name)
	if secretHeader(n) {
		return false
	}
	return recordedHeaders[n] || strings.HasPrefix(n, "x-amz-")
}

// secretParam reports whether a query parameter is a presigned URL's
// session token or signature, or an SSE-C key (a presigned URL may carry
// the headers as parameters).
func secretParam(name string) bool {
	switch strings.ToLower(name) {
	case "x-amz-security-token", "x-amz-signature",
		"x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key":
		return true
	}
	return false
}

// recordedParams are the query parameters, besides x-amz-* (secretParam's
// excepted), whose values the trail keeps: S3's, which select and page
// what a request reads, and the Query protocol's Action and Version. Any
// other parameter is recorded by name with its value hidden, as headers
// are: a service behind the gateway may take an API key or a token in its
// query ("?api_key=", "?access_token=", "?sig=").
var recordedParams = map[string]bool{
	"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "encoding-type": true, "list-type": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true, "key-marker": true, "version-id-marker": true,
	"upload-id-marker": true, "max-uploads": true, "max-parts": true, "part-number-marker": true, "uploadid": true,
	"partnumber": true, "versionid": true, "x-id": true, "response-content-type": true, "response-content-language": true,
	"response-expires": true, "response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "action": true, "version": true,
}

// recordedParam reports whether a query parameter's value is kept in the
// trail.
func recordedParam(name string) bool {
	n := strings.ToLower(name)
	if secretParam(n) {
		return false
	}
	return recordedParams[n] || strings.HasPrefix(n, "x-amz-")
}

// Redacted returns a copy of in for the audit trail and logs: the session
// token and the signature (headers, presigned query parameters, the
// Principal's token) are hidden, and so is the value of every header and
// query parameter that is not known to carry no secret (recordedHeader,
// recordedParam); the rest is kept, so an event still says which request
// was decided. The pipeline records this copy,
// never the input itself.
func (in *AuthorizeInput) Redacted() *AuthorizeInput {
	out := *in
	if p := in.Principal; p != nil {
		cp := *p
		if cp.SessionToken != "" {
			cp.SessionToken = hidden
		}
		out.Principal = &cp
	}
	if r := in.Request; r != nil {
		cp := *r
		cp.URL = redactURL(r.URL)
		cp.Headers = make(map[string][]string, len(r.Headers))
		for name, vs := range r.Headers {
			if !recordedHeader(name) {
				cp.Headers[name] = []string{hidden}
				continue
			}
			cp.Headers[name] = vs
		}
		out.Request = &cp
	}
	return &out
}

// subresources are the parameters S3 takes without a value ("?acl",
// "?uploads"), kept in the trail as sent. Any other parameter without a
// value is hidden whole: its name may be the secret ("?<token>").
var subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true, "delete": true, "encryption": true,
	"intelligent-tiering": true, "inventory": true, "legal-hold": true, "lifecycle": true, "location": true, "logging": true,
	"metadatatable": true, "metrics": true, "notification": true, "object-lock": true, "ownershipcontrols": true,
	"policy": true, "policystatus": true, "publicaccessblock": true, "replication": true, "requestpayment": true,
	"restore": true, "retention": true, "select": true, "select-type": true, "session": true, "tagging": true,
	"torrent": true, "uploads": true, "versioning": true, "versions": true, "website": true, "renameobject": true,
}

// redactURL hides the values of the query parameters recordedParam does
// not keep, keeping the rest of the URL as sent (a parameter without a
// value, S3's "?acl" or "?uploads", as it is). A query it cannot read is hidden whole, and so
// is a fragment (no request has one; the API refuses it, but still
// audits the input, and a token could be placed after the "#"), and so
// are the user and password of the URL (refused too). Parameters are
// split at ";" as well as "&", as some servers do: "?prefix=a;api_key=K"
// hides K.
func redactURL(raw string) string {
	raw, _, hasFrag := strings.Cut(raw, "#")
	raw = redactUserinfo(raw)
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		if hasFrag {
			raw += "#" + hidden
		}
		return raw
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte('?')
	for {
		i := strings.IndexAny(query, "&;")
		part := query
		if i >= 0 {
			part = query[:i]
		}
		r, ok := redactParam(part)
		if !ok {
			return base + "?" + hidden
		}
		b.WriteString(r)
		if i < 0 {
			break
		}
		b.WriteByte(query[i])
		query = query[i+1:]
	}
	out := b.String()
	if hasFrag {
		out += "#" + hidden
	}
	return out
}

// redactParam returns one name=value of a query as the trail keeps it; ok
// is false when its name cannot be read.
func redactParam(part string) (string, bool) {
	k, _, hasValue := strings.Cut(part, "=")
	key, err := url.QueryUnescape(k)
	if err != nil {
		return "", false
	}
	// A key holding an encoded "=" (X-Amz-Security-Token%3D...) is judged
	// by its name before it, and hidden whole; spaces around a name ("+")
	// do not change what it is.
	name, _, encodedValue := strings.Cut(key, "=")
	name = strings.TrimSpace(name)
	switch {
	case encodedValue && !recordedParam(name):
		return hidden, true
	case hasValue && !recordedParam(name):
		return k + "=" + hidden, true
	case !hasValue && part != "" && !recordedParam(name) && !subresources[strings.ToLower(name)]:
		return hidden, true
	}
	return part, true
}

// redactUserinfo hides the user and password of an absolute URL
// ("https://user:password@host/"), which the API refuses but audits.
func redactUserinfo(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	auth := raw[i+3:]
	if j := strings.IndexAny(auth, "/?"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return raw
	}
	return raw[:i+3] + hidden + raw[i+3+at:]
}

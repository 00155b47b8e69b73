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

// Redacted returns a copy of in for the audit trail and logs: the session
// token and the signature (headers, presigned query parameters, the
// Principal's token) are hidden; everything else is kept, so an event
// still says which request was decided. The pipeline records this copy,
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
			if secretHeader(name) {
				cp.Headers[name] = []string{hidden}
				continue
			}
			cp.Headers[name] = vs
		}
		out.Request = &cp
	}
	return &out
}

// redactURL hides the values of secret query parameters, keeping the
// rest of the URL as sent. A query it cannot read is hidden whole, and so
// is a fragment (no request has one; the API refuses it, but still
// audits the input, and a token could be placed after the "#").
func redactURL(raw string) string {
	raw, _, hasFrag := strings.Cut(raw, "#")
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		if hasFrag {
			raw += "#" + hidden
		}
		return raw
	}
	parts := strings.Split(query, "&")
	for i, part := range parts {
		k, _, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return base + "?" + hidden
		}
		// A key holding an encoded "=" (X-Amz-Security-Token%3D...) is
		// judged by its name before it.
		if name, _, _ := strings.Cut(key, "="); secretParam(name) {
			parts[i] = k + "=" + hidden
			if name != key {
				parts[i] = hidden
			}
		}
	}
	out := base + "?" + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + hidden
	}
	return out
}

package sigv4

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
)

// queryPair is one query parameter: key and value decoded, and both again in
// canonical (RFC 3986) encoding.
type queryPair struct {
	key, value       string // decoded
	encKey, encValue string // canonical encoding
}

// parseQuery splits a raw query string into pairs. "+" decodes to a space,
// as AWS and url.ParseQuery do.
func parseQuery(raw string) ([]queryPair, error) {
	if raw == "" {
		return nil, nil
	}
	pairs := make([]queryPair, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			// No cause: it would quote the bad escape, part of a value
			// that may be a secret, into the error the audit trail records.
			return nil, apierr.New(apierr.MalformedQueryString, "The query string is malformed: invalid percent-encoding.")
		}
		pairs = append(pairs, queryPair{key: key, value: val, encKey: uriEncode(key, false), encValue: uriEncode(val, false)})
	}
	return pairs, nil
}

func dropKey(q []queryPair, key string) []queryPair {
	return slices.DeleteFunc(q, func(p queryPair) bool { return p.key == key })
}

// appendCanonicalQuery appends the pairs sorted by encoded key, then encoded value.
func appendCanonicalQuery(b []byte, q []queryPair) []byte {
	slices.SortFunc(q, func(a, c queryPair) int {
		if n := strings.Compare(a.encKey, c.encKey); n != 0 {
			return n
		}
		return strings.Compare(a.encValue, c.encValue)
	})
	for i, p := range q {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.encKey...)
		b = append(b, '=')
		b = append(b, p.encValue...)
	}
	return b
}

const upperhex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode percent-encodes every byte but the RFC 3986 unreserved ones (and
// '/' when keepSlash).
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	return string(appendURIEncode(make([]byte, 0, len(s)+2*n), s, keepSlash))
}

func appendURIEncode(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return b
}

// appendCanonicalPath appends the canonical URI for the path as sent.
// Normal SigV4 (every service but S3) removes "." and ".." segments and
// empty segments, then percent-encodes the sent path again, so "%20" becomes
// "%2520" as aws-sdk-go-v2 and botocore produce. With raw, the path is used as
// sent and only bytes that are not valid in a URL path are encoded.
func appendCanonicalPath(b []byte, path string, raw bool) []byte {
	if path == "" || path == "/" {
		return append(b, '/')
	}
	if raw {
		for i := 0; i < len(path); i++ {
			c := path[i]
			if unreserved(c) || strings.IndexByte("%!$&'()*+,/:;=@", c) >= 0 {
				b = append(b, c)
			} else {
				b = append(b, '%', upperhex[c>>4], upperhex[c&15])
			}
		}
		return b
	}
	var stack [16]string
	segs := stack[:0]
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	for _, s := range segs {
		b = append(b, '/')
		b = appendURIEncode(b, s, false)
	}
	if len(segs) == 0 || strings.HasSuffix(path, "/") {
		b = append(b, '/')
	}
	return b
}

const hmacBlock = 64 // SHA-256 block size

// ipad and opad are the HMAC inner and outer pads, one block each.
var ipad, opad = bytes.Repeat([]byte{0x36}, hmacBlock), bytes.Repeat([]byte{0x5c}, hmacBlock)

// hmacSHA256 writes HMAC-SHA256(key, msg) to out. It does not allocate
// unless msg is long (a string to sign has a long region or service).
func hmacSHA256[M []byte | string](out *[sha256.Size]byte, key []byte, msg M) {
	var k [hmacBlock]byte
	if len(key) > hmacBlock {
		sum := sha256.Sum256(key)
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	var stack [hmacBlock + 256]byte
	b := stack[:hmacBlock]
	subtle.XORBytes(b, k[:], ipad)
	b = append(b, msg...)
	inner := sha256.Sum256(b)

	var outer [hmacBlock + sha256.Size]byte
	subtle.XORBytes(outer[:hmacBlock], k[:], opad)
	copy(outer[hmacBlock:], inner[:])
	*out = sha256.Sum256(outer[:])
}

// deriveKey computes the SigV4 signing key for secret and scope.
func deriveKey(secret []byte, date, region, service string) [sha256.Size]byte {
	var stack [128]byte
	b := append(append(stack[:0], "AWS4"...), secret...)
	var k [sha256.Size]byte
	hmacSHA256(&k, b, date)
	clear(b)
	hmacSHA256(&k, k[:], region)
	hmacSHA256(&k, k[:], service)
	hmacSHA256(&k, k[:], scopeTerminator)
	return k
}

// appendField appends s with its length in front.
func appendField[S []byte | string](b []byte, s S) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// signingKey returns the signing key for the scope, from the cache when it
// can. The cache key is a SHA-256 over the length-prefixed secret and scope.
func (v *Verifier) signingKey(secret []byte, date, region, service string) [sha256.Size]byte {
	var stack [128]byte
	b := appendField(stack[:0], secret)
	b = appendField(b, date)
	b = appendField(b, region)
	b = appendField(b, service)
	id := sha256.Sum256(b)
	clear(b)
	clear(stack[:]) // b may have outgrown the array

	v.keysOnce.Do(func() {
		max := v.MaxCachedKeys
		if max <= 0 {
			max = 4096
		}
		v.keys = newSigningKeys(max)
	})
	if k, ok := v.keys.get(&id); ok {
		return k
	}
	k := deriveKey(secret, date, region, service)
	v.keys.put(&id, &k)
	return k
}

// Sign signs an outgoing request in the header form: it sets X-Amz-Date,
// X-Amz-Security-Token (when sessionToken is not empty) and Authorization.
// It signs host, content-type, content-md5 and every x-amz-* header present.
// body is the full request body (nil for none); r.Body is not read. An
// X-Amz-Content-Sha256 header already set (UNSIGNED-PAYLOAD included) is the
// payload hash signed. The path
// is canonicalized as the Verifier does for service.
func Sign(r *http.Request, body []byte, accessKeyID, secret, sessionToken, region, service string, t time.Time) error {
	if r.URL == nil {
		return errors.New("sign request: no URL")
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	amzDate := t.UTC().Format(timeFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Del("Authorization")
	if sessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", sessionToken)
	}
	signed := []string{"host"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if lk == "content-type" || lk == "content-md5" || strings.HasPrefix(lk, "x-amz-") {
			signed = append(signed, lk)
		}
	}
	slices.Sort(signed)
	signed = slices.Compact(signed)

	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	req := &Request{Service: service}
	// A signer signs the payload hash the request claims, UNSIGNED-PAYLOAD
	// included; whether the service accepts it is the Verifier's business.
	ph, err := payloadHash(req, r.Header, body, true)
	if err != nil {
		return err
	}
	var v Verifier
	b := append([]byte(nil), r.Method...)
	if r.Method == "" {
		b = append(b[:0], http.MethodGet...)
	}
	b = append(b, '\n')
	path := r.URL.EscapedPath()
	if r.URL.Opaque != "" {
		path = r.URL.Opaque
	}
	b = appendCanonicalPath(b, path, v.rawPath(service))
	b = append(b, '\n')
	b = appendCanonicalQuery(b, q)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, signed)
	b = append(b, '\n')
	b = append(b, strings.Join(signed, ";")...)
	b = append(b, '\n')
	b = append(b, ph...)
	sum := sha256.Sum256(b)
	date := amzDate[:8]
	sts := appendStringToSign(nil, amzDate, date, region, service, &sum)
	key := deriveKey([]byte(secret), date, region, service)
	var mac [sha256.Size]byte
	hmacSHA256(&mac, key[:], sts)
	r.Header.Set("Authorization", Algorithm+" Credential="+accessKeyID+"/"+date+"/"+region+"/"+service+"/"+scopeTerminator+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+hexString(mac[:]))
	return nil
}

func hexString(b []byte) string {
	const lower = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = lower[c>>4], lower[c&15]
	}
	return string(out)
}

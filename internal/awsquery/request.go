// Package awsquery implements the AWS Query protocol that STS and IAM speak:
// reading Action/Version requests (form body and query string), decoding
// parameters (including X.member.N lists) into structs with AWS's validation
// messages, and writing XML results and ErrorResponse documents.
//
// It imports only the standard library and internal/apierr; services (sts,
// iam) never import it.
package awsquery

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
)

// XML namespaces of the Query services OpenSTS serves.
const (
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// API versions the services expect in Version.
const (
	STSVersion = "2011-06-15"
	IAMVersion = "2010-05-08"
)

// Request is a Query-protocol request: Action and Version, every parameter
// of the query string and the form body merged (Action and Version included),
// and the raw body, which SigV4 verification needs.
type Request struct {
	Action, Version string
	Params          url.Values
	Body            []byte
}

// ReadRequest reads r's query string and, for a form body
// (application/x-www-form-urlencoded with or without charset, or no
// Content-Type), its body, and merges their parameters. It reads at most
// maxBytes of body and closes nothing; the caller owns r.Body.
//
// Errors are *apierr.Error, chosen as AWS answers them:
//   - body over maxBytes: RequestEntityTooLarge (413);
//   - bad percent-encoding: MalformedQueryString (404, per the AWS common errors);
//   - a parameter given twice (in the body, the query, or both):
//     InvalidParameterValue (400), since a Query parameter has one value;
//   - a non-form body with content: InvalidParameterValue naming the type;
//   - no Action: MissingAction (400).
func ReadRequest(r *http.Request, maxBytes int64) (*Request, error) {
	if r.ContentLength > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = readBody(r.Body, r.ContentLength, maxBytes); err != nil {
			return nil, err
		}
	}
	var bodyStr string // the parameter values are substrings of this copy
	if len(body) > 0 {
		bodyStr = string(body)
	}
	n := countPairs(r.URL.RawQuery) + countPairs(bodyStr)
	params := make(url.Values, n)
	// One backing array for every parameter's single value.
	slab := make([]string, n)
	var err error
	if slab, err = parseInto(params, r.URL.RawQuery, slab); err != nil {
		return nil, err
	}
	if len(body) > 0 {
		// r.Header.Get without canonicalizing a key that already is.
		var ct string
		if v := r.Header[hdrContentType]; len(v) > 0 {
			ct = v[0]
		}
		if ct != "" && !formContentType(ct) {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				return nil, apierr.New(apierr.InvalidParameterValue,
					"Unsupported Content-Type for the Query protocol; use application/x-www-form-urlencoded.")
			}
		}
		if _, err := parseInto(params, bodyStr, slab); err != nil {
			return nil, err
		}
	}
	req := &Request{Action: params.Get("Action"), Version: params.Get("Version"), Params: params, Body: body}
	if req.Action == "" {
		return nil, apierr.New(apierr.MissingAction, "The request is missing an action or a required parameter.")
	}
	return req, nil
}

// formContentType reports whether ct is one of the spellings of the form
// type that clients send, which mime.ParseMediaType would accept as
// application/x-www-form-urlencoded; anything else goes through the parser.
func formContentType(ct string) bool {
	switch ct {
	case "application/x-www-form-urlencoded",
		"application/x-www-form-urlencoded; charset=utf-8",
		"application/x-www-form-urlencoded; charset=UTF-8",
		"application/x-www-form-urlencoded;charset=utf-8",
		"application/x-www-form-urlencoded;charset=UTF-8":
		return true
	}
	return false
}

// readBody reads all of body, at most maxBytes, as bytes.Buffer.ReadFrom
// would (io.EOF ends it, any other error fails). With a known length it
// reads into one exactly sized slice instead of growing a buffer, then makes
// sure nothing follows by reading one more byte into its spare capacity (a
// separate buffer would escape to the heap through the io.Reader).
func readBody(body io.Reader, length, maxBytes int64) ([]byte, error) {
	if length <= 0 || length > maxBytes {
		return readRest(nil, body, maxBytes)
	}
	b := make([]byte, length, length+1)
	n := 0
	for n < len(b) {
		m, err := body.Read(b[n:])
		n += m
		if err == io.EOF {
			return b[:n], nil
		}
		if err != nil {
			return nil, readErr(err)
		}
	}
	m, err := body.Read(b[len(b):cap(b)])
	switch {
	case m == 0 && err == io.EOF:
		return b, nil
	case err != nil && err != io.EOF:
		return nil, readErr(err)
	}
	return readRest(b[:len(b)+m], body, maxBytes)
}

func readErr(err error) error {
	return apierr.Wrap(apierr.InvalidParameterValue, err, "The request body could not be read.")
}

// readRest appends the rest of body to b, bounded by maxBytes in total.
func readRest(b []byte, body io.Reader, maxBytes int64) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	n, err := buf.ReadFrom(io.LimitReader(body, maxBytes+1-int64(len(b))))
	if err != nil {
		return nil, readErr(err)
	}
	if int64(len(b))+n > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	return buf.Bytes(), nil
}

// countPairs is an upper bound of the pairs in a form-encoded string.
func countPairs(raw string) int {
	if raw == "" {
		return 0
	}
	return strings.Count(raw, "&") + 1
}

func tooLarge(max int64) error {
	return apierr.New(apierr.RequestEntityTooLarge, "Request body must not be larger than %d bytes.", max)
}

// parseInto adds the pairs of a form-encoded string to params, rejecting
// malformed escapes and repeated keys. Each value is stored in the next
// element of slab (capacity-bounded, so an append elsewhere cannot reach a
// neighbour); it returns what is left of slab.
func parseInto(params url.Values, raw string, slab []string) ([]string, error) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, ok1 := unescape(k)
		val, ok2 := unescape(v)
		if !ok1 || !ok2 {
			// No cause: url.QueryUnescape's would quote the bad escape,
			// part of a value that may be a secret (a password, an MFA
			// code), into the error the audit trail records.
			return nil, apierr.New(apierr.MalformedQueryString, "The query string contains a syntax error.")
		}
		if len(slab) == 0 {
			slab = make([]string, 1)
		}
		slab[0] = val
		// A repeated key does not grow the map. Overwriting its first
		// value does no harm, params being dropped with the error, and
		// saves a lookup per key.
		n := len(params)
		params[key] = slab[0:1:1]
		if len(params) == n {
			return nil, apierr.New(apierr.InvalidParameterValue, "The parameter %s is given more than once.", quoteKey(key))
		}
		slab = slab[1:]
	}
	return slab, nil
}

// unescape decodes s as url.QueryUnescape does ('+' is a space, %XX a
// byte) and reports whether s is well-formed. Without '%' or '+', s itself
// is returned, as it also is by url.QueryUnescape, which however scans s
// twice and builds its result a byte at a time.
func unescape(s string) (string, bool) {
	i := indexEscape(s)
	if i < 0 {
		return s, true
	}
	// Each %XX decodes to one byte. Well-formed escapes do not overlap, so
	// a negative size means a malformed one.
	size := len(s) - 2*strings.Count(s[i:], "%")
	if size < 0 {
		return "", false
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		switch s[0] {
		case '%':
			if len(s) < 3 {
				return "", false
			}
			hi, ok1 := unhex(s[1])
			lo, ok2 := unhex(s[2])
			if !ok1 || !ok2 {
				return "", false
			}
			b.WriteByte(hi<<4 | lo)
			s = s[3:]
		case '+':
			b.WriteByte(' ')
			s = s[1:]
		default:
			i = indexEscape(s)
			if i < 0 {
				i = len(s)
			}
			b.WriteString(s[:i])
			s = s[i:]
		}
	}
	return b.String(), true
}

// indexEscape returns the index of the first '%' or '+' in s, or -1.
func indexEscape(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return i
		}
	}
	return -1
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// quoteKey bounds and sanitizes a client-supplied key echoed in a message.
func quoteKey(k string) string {
	if len(k) > 128 {
		k = k[:128] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, k)
}

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
	"errors"
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
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength))
		}
		n, err := buf.ReadFrom(io.LimitReader(r.Body, maxBytes+1))
		if err != nil {
			return nil, apierr.Wrap(apierr.InvalidParameterValue, err, "The request body could not be read.")
		}
		if n > maxBytes {
			return nil, tooLarge(maxBytes)
		}
		body = buf.Bytes()
	}
	params := make(url.Values)
	if err := parseInto(params, r.URL.RawQuery); err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				return nil, apierr.New(apierr.InvalidParameterValue,
					"Unsupported Content-Type for the Query protocol; use application/x-www-form-urlencoded.")
			}
		}
		if err := parseInto(params, string(body)); err != nil {
			return nil, err
		}
	}
	req := &Request{Action: params.Get("Action"), Version: params.Get("Version"), Params: params, Body: body}
	if req.Action == "" {
		return nil, apierr.New(apierr.MissingAction, "The request is missing an action or a required parameter.")
	}
	return req, nil
}

func tooLarge(max int64) error {
	return apierr.New(apierr.RequestEntityTooLarge, "Request body must not be larger than %d bytes.", max)
}

// parseInto adds the pairs of a form-encoded string to params, rejecting
// malformed escapes and repeated keys.
func parseInto(params url.Values, raw string) error {
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return apierr.Wrap(apierr.MalformedQueryString, err, "The query string contains a syntax error.")
		}
		if _, dup := params[key]; dup {
			return apierr.New(apierr.InvalidParameterValue, "The parameter %s is given more than once.", quoteKey(key))
		}
		params[key] = []string{val}
	}
	return nil
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

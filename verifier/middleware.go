package verifier

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Target is what a request asks to do, as a service maps it.
type Target struct {
	Action   string // s3:GetObject
	Resource string // arn:aws:s3:::bucket/key
	// Context holds the request's condition keys (s3:prefix, ...).
	Context map[string][]string
	// Options add a resource policy, a resource account, a service or a
	// region (WithResourcePolicy, ...).
	Options []Option
}

// MapFunc maps a request to its Target. An error answers the request
// with 400 InvalidRequest and the error's text; return one only for
// requests the service cannot serve at all.
type MapFunc func(r *http.Request) (Target, error)

type decisionKey struct{}

// FromContext returns the Decision that let the request through
// Middleware, or nil.
func FromContext(ctx context.Context) *Decision {
	d, _ := ctx.Value(decisionKey{}).(*Decision)
	return d
}

// Middleware authorizes every request before next sees it. It reads and
// hashes the body (at most Config.MaxBodyBytes, which it then hands to next
// unchanged) unless the client sent X-Amz-Content-Sha256:
// UNSIGNED-PAYLOAD. Allowed requests reach next with the Decision in their
// context (FromContext). Others are answered here, in AWS's REST XML error
// shape (<Error><Code/><Message/><RequestId/></Error>, as S3 answers) or,
// with Config.JSONErrors, AWS JSON ({"__type":..., "message":...}):
//   - a request that does not authenticate: its AuthenticationError's code
//     and status (InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken,
//     ...);
//   - a denial: 403 AccessDenied "Access Denied" (the explanation is not
//     the client's to read);
//   - no decision (OpenSTS unreachable or refusing the service's own
//     credentials): 503 ServiceUnavailable. It fails closed.
func (v *Verifier) Middleware(m MapFunc, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := m(r)
		if err != nil {
			v.writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
			return
		}
		hash := UnsignedPayload
		if r.Header.Get("X-Amz-Content-Sha256") != UnsignedPayload {
			if hash, err = v.hashBody(r); err != nil {
				if errors.Is(err, errTooLarge) {
					v.writeError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
				} else {
					v.writeError(w, http.StatusBadRequest, "IncompleteBody", "The request body could not be read.")
				}
				return
			}
		}
		d, err := v.Authorize(r.Context(), r, hash, t.Action, t.Resource, t.Context, t.Options...)
		switch {
		case err != nil:
			v.writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Please reduce your request rate.")
		case d.AuthenticationError != nil:
			ae := d.AuthenticationError
			status := ae.HTTPStatusCode
			if status < 400 || status > 599 {
				status = http.StatusForbidden
			}
			v.writeError(w, status, ae.Code, ae.Message)
		case !d.Allowed():
			v.writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
		}
	})
}

var errTooLarge = errors.New("verifier: body too large")

// hashBody reads r's body (bounded), puts it back and returns its hash.
func (v *Verifier) hashBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, v.cfg.MaxBodyBytes+1))
	_ = r.Body.Close()
	if err != nil {
		return "", err
	}
	if int64(len(b)) > v.cfg.MaxBodyBytes {
		return "", errTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(b) == 0 {
		return "", nil
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
}

func (v *Verifier) writeError(w http.ResponseWriter, status int, code, msg string) {
	id := requestID()
	w.Header().Set("X-Amz-Request-Id", id)
	if v.cfg.JSONErrors {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", id)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	_ = xml.NewEncoder(&b).Encode(xmlError{Code: code, Message: msg, RequestID: id})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// requestID returns a random id for an error answer.
func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

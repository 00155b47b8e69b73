// Package awsjson implements the AWS JSON 1.1 protocol (Organizations and
// CloudTrail-style APIs): POST / with X-Amz-Target "<Prefix>.<Action>" and
// Content-Type application/x-amz-json-1.1, JSON results, and errors as
// {"__type":"Code","message":"..."} with the code's HTTP status.
//
// It imports only the standard library and internal/apierr.
package awsjson

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
)

// ContentType is the media type of JSON 1.1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// OrganizationsPrefix is the X-Amz-Target prefix of AWS Organizations.
const OrganizationsPrefix = "AWSOrganizationsV20161128"

// Request is a JSON 1.1 request: the target's service prefix and action, and
// the raw body (for SigV4 and for Decode).
type Request struct {
	Prefix, Action string
	Body           []byte
}

// ReadRequest reads r's X-Amz-Target and at most maxBytes of body. Errors are
// *apierr.Error: RequestEntityTooLarge over maxBytes; InvalidAction for a
// missing or malformed target; InvalidParameterValue for another
// Content-Type.
func ReadRequest(r *http.Request, maxBytes int64) (*Request, error) {
	if r.ContentLength > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var buf bytes.Buffer
		n, err := buf.ReadFrom(io.LimitReader(r.Body, maxBytes+1))
		if err != nil {
			return nil, apierr.Wrap(apierr.InvalidParameterValue, err, "The request body could not be read.")
		}
		if n > maxBytes {
			return nil, tooLarge(maxBytes)
		}
		body = buf.Bytes()
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != ContentType && mt != "application/json") {
			return nil, apierr.New(apierr.InvalidParameterValue, "Unsupported Content-Type; use %s.", ContentType)
		}
	}
	target := r.Header.Get("X-Amz-Target")
	// The action follows the last dot: CloudTrail's prefix has dots of its
	// own (com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101).
	i := strings.LastIndexByte(target, '.')
	prefix, action := target[:max(i, 0)], target[i+1:]
	if i < 0 || prefix == "" || action == "" {
		return nil, apierr.New(apierr.InvalidAction, "Missing or malformed X-Amz-Target header.")
	}
	return &Request{Prefix: prefix, Action: action, Body: body}, nil
}

func tooLarge(max int64) error {
	return apierr.New(apierr.RequestEntityTooLarge, "Request body must not be larger than %d bytes.", max)
}

// Decode unmarshals the body into dst with encoding/json; unknown fields are
// ignored and an empty body leaves dst unchanged. Malformed JSON is a
// SerializationException-style client error, answered as
// InvalidInputException (Organizations' own code for bad input).
func Decode(body []byte, dst any) error {
	return DecodeAs(body, dst, apierr.OrgInvalidInputException)
}

// DecodeAs is Decode answering a body that does not decode with code (an
// API's own: SerializationException where the model has none).
func DecodeAs(body []byte, dst any, code apierr.Code) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return apierr.Wrap(code, err, "The request body is not valid JSON for this operation.")
	}
	return nil
}

// WriteResult writes v as the JSON body with x-amzn-RequestId; nil writes {}.
// If v cannot be encoded, an InternalFailure error is written instead.
func WriteResult(w http.ResponseWriter, requestID string, v any) {
	body := []byte("{}")
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			WriteError(w, requestID, apierr.Internal(err))
			return
		}
		body = b
	}
	write(w, http.StatusOK, requestID, body)
}

// WriteError writes {"__type":"Code","message":"..."} with the code's HTTP
// status. An err that is not an *apierr.Error becomes InternalFailure with a
// generic message; nothing of its text reaches the client.
func WriteError(w http.ResponseWriter, requestID string, err error) {
	e, ok := apierr.As(err)
	if !ok || e.Code.Name == "" {
		e = apierr.Internal(err)
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Reason  string `json:"Reason,omitempty"`
	}{e.Code.Name, e.Message, e.Reason})
	status := e.Code.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("X-Amzn-Errortype", e.Code.Name)
	write(w, status, requestID, body)
}

func write(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

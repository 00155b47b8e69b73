package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/verifier"
)

// Error is an S3 error the gateway answers itself (the upstream's own
// errors pass through as the upstream wrote them).
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func s3err(status int, code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: status}
}

// The S3 errors the gateway answers, with S3's words.
var (
	errAccessDenied   = s3err(http.StatusForbidden, "AccessDenied", "Access Denied")
	errUnsignedHeader = s3err(http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed")
	errAnonymous      = s3err(http.StatusForbidden, "AccessDenied", "Anonymous access is not allowed by this gateway")
	errSigV2          = s3err(http.StatusBadRequest, "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	errExpiredURL     = s3err(http.StatusForbidden, "AccessDenied", "Request has expired")
	errInvalidKeyID   = s3err(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	errInvalidToken   = s3err(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	errExpiredToken   = s3err(http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
	errSignature      = s3err(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	errContentSHA     = s3err(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	errMissingSHA     = s3err(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	errIncompleteBody = s3err(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	errMalformedXML   = s3err(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	errTooLarge       = s3err(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
	errUnavailable    = s3err(http.StatusServiceUnavailable, "ServiceUnavailable", "Please reduce your request rate.")
	errInternal       = s3err(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	errBadGateway     = s3err(http.StatusBadGateway, "InternalError", "The gateway could not reach the storage service.")
)

func invalidArgument(msg string) *Error { return s3err(http.StatusBadRequest, "InvalidArgument", msg) }
func invalidRequest(msg string) *Error  { return s3err(http.StatusBadRequest, "InvalidRequest", msg) }
func notImplemented(msg string) *Error {
	return s3err(http.StatusNotImplemented, "NotImplemented", msg)
}

// authError turns an authentication failure of the authorize API into
// S3's answer for it.
func authError(ae *verifier.AuthenticationError, presigned bool) *Error {
	switch ae.Code {
	case "InvalidAccessKeyId":
		return errInvalidKeyID
	case "InvalidClientTokenId":
		return errInvalidToken
	case "ExpiredToken":
		return errExpiredToken
	case "SignatureDoesNotMatch":
		if presigned && strings.HasPrefix(ae.Message, "Signature expired") {
			return errExpiredURL
		}
		if strings.HasPrefix(ae.Message, "Signature expired") || strings.HasPrefix(ae.Message, "Signature not yet current") ||
			strings.HasPrefix(ae.Message, "Credential should be scoped") {
			// S3's RequestTimeTooSkewed and AuthorizationHeaderMalformed
			// carry these; the message says which.
			return s3err(http.StatusForbidden, "SignatureDoesNotMatch", ae.Message)
		}
		if strings.Contains(ae.Message, "x-amz-content-sha256") {
			return errContentSHA
		}
		return errSignature
	case "IncompleteSignature", "MissingAuthenticationToken":
		if presigned {
			return s3err(http.StatusBadRequest, "AuthorizationQueryParametersError", ae.Message)
		}
		return s3err(http.StatusBadRequest, "AuthorizationHeaderMalformed", ae.Message)
	case "MalformedQueryString":
		return invalidArgument(ae.Message)
	}
	return errAccessDenied
}

// bodyError turns an error met while streaming the client's body into the
// S3 error to answer.
func bodyError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ae, ok := apierr.As(err); ok {
		switch ae.Code {
		case apierr.SignatureDoesNotMatch:
			return errSignature
		case apierr.IncompleteSignature:
			return s3err(http.StatusBadRequest, "IncompleteBody", ae.Message)
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	return errIncompleteBody
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// writeError answers e as S3 does: XML (no body for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, e *Error, resource, requestID string) {
	h := w.Header()
	h.Set("X-Amz-Request-Id", requestID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body, _ := xml.Marshal(xmlError{Code: e.Code, Message: e.Message, Resource: resource, RequestID: requestID})
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

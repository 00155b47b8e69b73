package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/sigv4"
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
	var ce *sigv4.ChecksumError
	if errors.As(err, &ce) {
		return s3err(http.StatusBadRequest, "BadDigest", "The "+strings.ToUpper(strings.TrimPrefix(ce.Name, "x-amz-checksum-"))+
			" you specified did not match the calculated checksum.")
	}
	if errors.Is(err, sigv4.ErrUnknownTrailer) {
		return invalidRequest("X-Amz-Trailer must name one checksum: x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 or -sha256.")
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

// What the upstream's errors become. The upstream's error bodies and
// headers are not passed on: they may carry the store's internals (file
// system paths, host names, its own request ids, a redirect's endpoint),
// which the gateway exists to hide. A client gets the gateway's own S3
// error with the upstream's Code when it is one S3 clients know (so that
// an SDK retries SlowDown and reports NoSuchKey), S3's message for it,
// and the gateway's request id; the upstream's words go to the log only.
// An upstream's authentication failure is the gateway's fault (its
// upstream credentials or clock), never the client's: InternalError.
var upstreamMessages = map[string]string{
	"AccessDenied":                         "Access Denied",
	"BadDigest":                            "The Content-MD5 you specified did not match what we received.",
	"BucketAlreadyExists":                  "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
	"BucketAlreadyOwnedByYou":              "Your previous request to create the named bucket succeeded and you already own it.",
	"BucketNotEmpty":                       "The bucket you tried to delete is not empty",
	"EntityTooLarge":                       "Your proposed upload exceeds the maximum allowed size.",
	"EntityTooSmall":                       "Your proposed upload is smaller than the minimum allowed object size.",
	"IncompleteBody":                       "You did not provide the number of bytes specified by the Content-Length HTTP header.",
	"InternalError":                        "We encountered an internal error. Please try again.",
	"InvalidArgument":                      "Invalid Argument",
	"InvalidBucketName":                    "The specified bucket is not valid.",
	"InvalidBucketState":                   "The request is not valid with the current state of the bucket.",
	"InvalidDigest":                        "The Content-MD5 you specified is not valid.",
	"InvalidObjectState":                   "The operation is not valid for the current state of the object.",
	"InvalidPart":                          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
	"InvalidPartOrder":                     "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
	"InvalidRange":                         "The requested range is not satisfiable",
	"InvalidRequest":                       "Invalid Request",
	"InvalidStorageClass":                  "The storage class you specified is not valid.",
	"InvalidTag":                           "The tag provided was not a valid tag.",
	"KeyTooLongError":                      "Your key is too long",
	"MalformedXML":                         "The XML you provided was not well-formed or did not validate against our published schema.",
	"MethodNotAllowed":                     "The specified method is not allowed against this resource.",
	"MissingContentLength":                 "You must provide the Content-Length HTTP header.",
	"NoSuchBucket":                         "The specified bucket does not exist",
	"NoSuchBucketPolicy":                   "The bucket policy does not exist",
	"NoSuchKey":                            "The specified key does not exist.",
	"NoSuchLifecycleConfiguration":         "The lifecycle configuration does not exist.",
	"NoSuchTagSet":                         "The TagSet does not exist",
	"NoSuchUpload":                         "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
	"NoSuchVersion":                        "The specified version does not exist.",
	"NotImplemented":                       "A header you provided implies functionality that is not implemented.",
	"ObjectLockConfigurationNotFoundError": "Object Lock configuration does not exist for this bucket",
	"OperationAborted":                     "A conflicting conditional operation is currently in progress against this resource. Try again.",
	"PreconditionFailed":                   "At least one of the pre-conditions you specified did not hold",
	"ServiceUnavailable":                   "Please reduce your request rate.",
	"SlowDown":                             "Please reduce your request rate.",
	"TooManyBuckets":                       "You have attempted to create more buckets than allowed.",
}

// upstreamAuthCodes are the upstream refusing the gateway's own
// credentials or signature.
var upstreamAuthCodes = map[string]bool{
	"SignatureDoesNotMatch": true, "InvalidAccessKeyId": true, "InvalidToken": true, "ExpiredToken": true, "AuthorizationHeaderMalformed": true,
	"RequestTimeTooSkewed": true, "XAmzContentSHA256Mismatch": true, "AuthorizationQueryParametersError": true, "MissingSecurityHeader": true,
	"TokenRefreshRequired": true, "InvalidSecurity": true,
}

// maxUpstreamError bounds what is read of an upstream's error body.
const maxUpstreamError = 64 << 10

// upstreamError is the answer to an upstream's error (status not 2xx and
// not 304) with body (read up to maxUpstreamError; empty for HEAD), and
// the upstream's own code and message for the log.
func upstreamError(status int, body []byte) (e *Error, code, message string) {
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(body, &x)
	code, message = truncate(x.Code), truncate(x.Message)
	switch {
	case status < 400:
		// A redirect (PermanentRedirect, TemporaryRedirect) names the
		// store's own endpoint; the gateway cannot follow it.
		return errBadGateway, code, message
	case upstreamAuthCodes[x.Code]:
		return errInternal, code, message
	}
	if msg, ok := upstreamMessages[x.Code]; ok {
		return s3err(status, x.Code, msg), code, message
	}
	if status >= 500 {
		return s3err(status, "InternalError", upstreamMessages["InternalError"]), code, message
	}
	return s3err(status, "InvalidRequest", "The storage service refused the request."), code, message
}

// Package apierr is the one table of API error codes OpenSTS sends on the wire:
// each code with its HTTP status and fault (Sender or Receiver). Services return
// *Error values built from these codes; only the protocol layer turns them into
// responses, and anything that is not an *Error becomes InternalFailure.
//
// It imports only the standard library.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Code is a wire error code with its HTTP status.
type Code struct {
	Name     string // wire code, e.g. "AccessDenied"
	Status   int    // HTTP status
	Receiver bool   // true for server faults (Type Receiver)
}

func sender(name string, status int) Code { return Code{Name: name, Status: status} }

// Common query-protocol and authentication errors.
var (
	AccessDenied                = sender("AccessDenied", http.StatusForbidden)
	IncompleteSignature         = sender("IncompleteSignature", http.StatusBadRequest)
	InvalidClientTokenID        = sender("InvalidClientTokenId", http.StatusForbidden)
	SignatureDoesNotMatch       = sender("SignatureDoesNotMatch", http.StatusForbidden)
	ExpiredToken                = sender("ExpiredToken", http.StatusForbidden)
	MissingAuthenticationToken  = sender("MissingAuthenticationToken", http.StatusForbidden)
	ValidationError             = sender("ValidationError", http.StatusBadRequest)
	InvalidAction               = sender("InvalidAction", http.StatusBadRequest)
	MissingAction               = sender("MissingAction", http.StatusBadRequest)
	MissingParameter            = sender("MissingParameter", http.StatusBadRequest)
	InvalidParameterValue       = sender("InvalidParameterValue", http.StatusBadRequest)
	InvalidParameterCombination = sender("InvalidParameterCombination", http.StatusBadRequest)
	MalformedQueryString        = sender("MalformedQueryString", http.StatusNotFound)
	InvalidQueryParameter       = sender("InvalidQueryParameter", http.StatusBadRequest)
	RequestEntityTooLarge       = sender("RequestEntityTooLarge", http.StatusRequestEntityTooLarge)
	OptInRequired               = sender("OptInRequired", http.StatusForbidden)
	Throttling                  = sender("Throttling", http.StatusBadRequest)
	InternalFailure             = Code{Name: "InternalFailure", Status: http.StatusInternalServerError, Receiver: true}
	ServiceUnavailable          = Code{Name: "ServiceUnavailable", Status: http.StatusServiceUnavailable, Receiver: true}
)

// STS modeled errors.
var (
	ExpiredTokenException                = sender("ExpiredTokenException", http.StatusBadRequest)
	IDPCommunicationError                = sender("IDPCommunicationError", http.StatusBadRequest)
	IDPRejectedClaim                     = sender("IDPRejectedClaim", http.StatusForbidden)
	InvalidAuthorizationMessageException = sender("InvalidAuthorizationMessageException", http.StatusBadRequest)
	InvalidIdentityToken                 = sender("InvalidIdentityToken", http.StatusBadRequest)
	MalformedPolicyDocument              = sender("MalformedPolicyDocument", http.StatusBadRequest)
	PackedPolicyTooLarge                 = sender("PackedPolicyTooLarge", http.StatusBadRequest)
	RegionDisabledException              = sender("RegionDisabledException", http.StatusForbidden)
	// GetWebIdentityToken's.
	OutboundWebIdentityFederationDisabledException = sender("OutboundWebIdentityFederationDisabledException", http.StatusForbidden)
	SessionDurationEscalationException             = sender("SessionDurationEscalationException", http.StatusForbidden)
	JWTPayloadSizeExceededException                = sender("JWTPayloadSizeExceededException", http.StatusBadRequest)
)

// IAM modeled errors.
var (
	NoSuchEntity                  = sender("NoSuchEntity", http.StatusNotFound)
	EntityAlreadyExists           = sender("EntityAlreadyExists", http.StatusConflict)
	LimitExceeded                 = sender("LimitExceeded", http.StatusConflict)
	DeleteConflict                = sender("DeleteConflict", http.StatusConflict)
	InvalidInput                  = sender("InvalidInput", http.StatusBadRequest)
	ConcurrentModification        = sender("ConcurrentModification", http.StatusConflict)
	EntityTemporarilyUnmodifiable = sender("EntityTemporarilyUnmodifiable", http.StatusConflict)
	InvalidAuthenticationCode     = sender("InvalidAuthenticationCode", http.StatusForbidden)
	UnmodifiableEntity            = sender("UnmodifiableEntity", http.StatusBadRequest)
	PolicyNotAttachable           = sender("PolicyNotAttachable", http.StatusBadRequest)
	PasswordPolicyViolation       = sender("PasswordPolicyViolation", http.StatusBadRequest)
	InvalidUserType               = sender("InvalidUserType", http.StatusBadRequest)
	MalformedCertificate          = sender("MalformedCertificate", http.StatusBadRequest)
	InvalidCertificate            = sender("InvalidCertificate", http.StatusBadRequest)
	DuplicateCertificate          = sender("DuplicateCertificate", http.StatusConflict)
	KeyPairMismatch               = sender("KeyPairMismatch", http.StatusBadRequest)
	InvalidPublicKey              = sender("InvalidPublicKey", http.StatusBadRequest)
	DuplicateSSHPublicKey         = sender("DuplicateSSHPublicKey", http.StatusBadRequest)
	UnrecognizedPublicKeyEncoding = sender("UnrecognizedPublicKeyEncoding", http.StatusBadRequest)
	NotSupportedService           = sender("NotSupportedService", http.StatusNotFound)
	ReportNotPresent              = sender("ReportNotPresent", http.StatusGone)
	ReportExpired                 = sender("ReportExpired", http.StatusGone)
	PolicyEvaluation              = Code{Name: "PolicyEvaluation", Status: http.StatusInternalServerError, Receiver: true}
	ServiceFailure                = Code{Name: "ServiceFailure", Status: http.StatusInternalServerError, Receiver: true}
)

// SerializationException is the AWS JSON protocol's answer to a body that
// does not decode into the operation's input (malformed JSON, a member of
// the wrong type), for the JSON APIs without a code of their own for it
// (CloudTrail's model has none).
var SerializationException = sender("SerializationException", http.StatusBadRequest)

// Organizations errors (AWS JSON 1.1; the code travels in __type).
var (
	AlreadyInOrganizationException                 = sender("AlreadyInOrganizationException", http.StatusBadRequest)
	AccountNotFoundException                       = sender("AccountNotFoundException", http.StatusBadRequest)
	PolicyNotFoundException                        = sender("PolicyNotFoundException", http.StatusBadRequest)
	TargetNotFoundException                        = sender("TargetNotFoundException", http.StatusBadRequest)
	DuplicatePolicyAttachmentException             = sender("DuplicatePolicyAttachmentException", http.StatusBadRequest)
	PolicyNotAttachedException                     = sender("PolicyNotAttachedException", http.StatusBadRequest)
	CreateAccountStatusNotFoundException           = sender("CreateAccountStatusNotFoundException", http.StatusBadRequest)
	OrgInvalidInputException                       = sender("InvalidInputException", http.StatusBadRequest)
	OrgAccessDeniedException                       = sender("AccessDeniedException", http.StatusBadRequest)
	MalformedPolicyDocumentException               = sender("MalformedPolicyDocumentException", http.StatusBadRequest)
	DuplicatePolicyException                       = sender("DuplicatePolicyException", http.StatusBadRequest)
	PolicyInUseException                           = sender("PolicyInUseException", http.StatusBadRequest)
	ConstraintViolationException                   = sender("ConstraintViolationException", http.StatusBadRequest)
	PolicyTypeNotEnabledException                  = sender("PolicyTypeNotEnabledException", http.StatusBadRequest)
	OrganizationsNotInUseException                 = sender("AWSOrganizationsNotInUseException", http.StatusBadRequest)
	PolicyTypeNotAvailableForOrganizationException = sender("PolicyTypeNotAvailableForOrganizationException", http.StatusBadRequest)
	ParentNotFoundException                        = sender("ParentNotFoundException", http.StatusBadRequest)
	ChildNotFoundException                         = sender("ChildNotFoundException", http.StatusBadRequest)
	OrganizationalUnitNotFoundException            = sender("OrganizationalUnitNotFoundException", http.StatusBadRequest)
	OrganizationalUnitNotEmptyException            = sender("OrganizationalUnitNotEmptyException", http.StatusBadRequest)
	DuplicateOrganizationalUnitException           = sender("DuplicateOrganizationalUnitException", http.StatusBadRequest)
	SourceParentNotFoundException                  = sender("SourceParentNotFoundException", http.StatusBadRequest)
	DestinationParentNotFoundException             = sender("DestinationParentNotFoundException", http.StatusBadRequest)
	DuplicateAccountException                      = sender("DuplicateAccountException", http.StatusBadRequest)
	PolicyTypeAlreadyEnabledException              = sender("PolicyTypeAlreadyEnabledException", http.StatusBadRequest)
	RootNotFoundException                          = sender("RootNotFoundException", http.StatusBadRequest)
	AccountAlreadyClosedException                  = sender("AccountAlreadyClosedException", http.StatusBadRequest)
	MasterCannotLeaveOrganizationException         = sender("MasterCannotLeaveOrganizationException", http.StatusBadRequest)
	OrganizationNotEmptyException                  = sender("OrganizationNotEmptyException", http.StatusBadRequest)
	AccountAlreadyRegisteredException              = sender("AccountAlreadyRegisteredException", http.StatusBadRequest)
	AccountNotRegisteredException                  = sender("AccountNotRegisteredException", http.StatusBadRequest)
	HandshakeNotFoundException                     = sender("HandshakeNotFoundException", http.StatusBadRequest)
	HandshakeAlreadyInStateException               = sender("HandshakeAlreadyInStateException", http.StatusBadRequest)
	InvalidHandshakeTransitionException            = sender("InvalidHandshakeTransitionException", http.StatusBadRequest)
	HandshakeConstraintViolationException          = sender("HandshakeConstraintViolationException", http.StatusBadRequest)
	DuplicateHandshakeException                    = sender("DuplicateHandshakeException", http.StatusBadRequest)
	EffectivePolicyNotFoundException               = sender("EffectivePolicyNotFoundException", http.StatusBadRequest)
	ResourcePolicyNotFoundException                = sender("ResourcePolicyNotFoundException", http.StatusBadRequest)
)

// CloudTrail errors (AWS JSON 1.1).
var (
	CloudTrailAccessDenied           = sender("AccessDeniedException", http.StatusBadRequest)
	InvalidLookupAttributesException = sender("InvalidLookupAttributesException", http.StatusBadRequest)
	InvalidTimeRangeException        = sender("InvalidTimeRangeException", http.StatusBadRequest)
	InvalidMaxResultsException       = sender("InvalidMaxResultsException", http.StatusBadRequest)
	InvalidNextTokenException        = sender("InvalidNextTokenException", http.StatusBadRequest)
	InvalidEventCategoryException    = sender("InvalidEventCategoryException", http.StatusBadRequest)
)

// The AWS JSON services' authentication errors (Organizations,
// CloudTrail answer these where the Query services answer
// InvalidClientTokenId and the others; see JSONAuth). ExpiredToken's is
// ExpiredTokenException.
var (
	UnrecognizedClientException         = sender("UnrecognizedClientException", http.StatusBadRequest)
	InvalidSignatureException           = sender("InvalidSignatureException", http.StatusBadRequest)
	IncompleteSignatureException        = sender("IncompleteSignatureException", http.StatusBadRequest)
	MissingAuthenticationTokenException = sender("MissingAuthenticationTokenException", http.StatusBadRequest)
)

// UnknownOperationException is how the AWS JSON services answer an
// X-Amz-Target they do not serve (400, as AWS answers it), where the Query
// services answer InvalidAction.
var UnknownOperationException = sender("UnknownOperationException", http.StatusBadRequest)

// jsonAuth maps the Query services' authentication codes to the AWS JSON
// services'.
var jsonAuth = map[string]Code{
	InvalidClientTokenID.Name:       UnrecognizedClientException,
	SignatureDoesNotMatch.Name:      InvalidSignatureException,
	ExpiredToken.Name:               ExpiredTokenException,
	IncompleteSignature.Name:        IncompleteSignatureException,
	MissingAuthenticationToken.Name: MissingAuthenticationTokenException,
}

// JSONAuth returns err as an AWS JSON service answers it: an
// authentication failure with a Query service's code gets the JSON
// services' code for it, with the same message and err as its cause (so
// that what is learned from err's chain, a credential that exists, say,
// still is); any other error is returned as it is.
func JSONAuth(err error) error {
	e, ok := As(err)
	if !ok {
		return err
	}
	c, ok := jsonAuth[e.Code.Name]
	if !ok {
		return err
	}
	return &Error{Code: c, Message: e.Message, Cause: err}
}

// OpenSTS's own JSON APIs (revocation).
var (
	JSONAccessDenied          = sender("AccessDeniedException", http.StatusBadRequest)
	ValidationException       = sender("ValidationException", http.StatusBadRequest)
	ResourceNotFoundException = sender("ResourceNotFoundException", http.StatusBadRequest)
	LimitExceededException    = sender("LimitExceededException", http.StatusBadRequest)
)

// Codes is every code above, for tests that round-trip them through the SDKs.
var Codes = []Code{
	AccessDenied, IncompleteSignature, InvalidClientTokenID, SignatureDoesNotMatch, ExpiredToken,
	MissingAuthenticationToken, ValidationError, InvalidAction, MissingAction, MissingParameter,
	InvalidParameterValue, InvalidParameterCombination, MalformedQueryString, InvalidQueryParameter,
	RequestEntityTooLarge, OptInRequired, Throttling, InternalFailure, ServiceUnavailable,
	ExpiredTokenException, IDPCommunicationError, IDPRejectedClaim, InvalidAuthorizationMessageException,
	InvalidIdentityToken, MalformedPolicyDocument, PackedPolicyTooLarge, RegionDisabledException,
	OutboundWebIdentityFederationDisabledException, SessionDurationEscalationException, JWTPayloadSizeExceededException,
	NoSuchEntity, EntityAlreadyExists, LimitExceeded, DeleteConflict, InvalidInput, ConcurrentModification,
	EntityTemporarilyUnmodifiable, InvalidAuthenticationCode, UnmodifiableEntity, PolicyNotAttachable,
	PasswordPolicyViolation, InvalidUserType,
	MalformedCertificate, InvalidCertificate, DuplicateCertificate, KeyPairMismatch, InvalidPublicKey,
	DuplicateSSHPublicKey, UnrecognizedPublicKeyEncoding, NotSupportedService, ReportNotPresent, ReportExpired,
	PolicyEvaluation, ServiceFailure,
	AlreadyInOrganizationException, AccountNotFoundException, PolicyNotFoundException, TargetNotFoundException,
	DuplicatePolicyAttachmentException, PolicyNotAttachedException, CreateAccountStatusNotFoundException,
	OrgInvalidInputException, SerializationException, OrgAccessDeniedException, MalformedPolicyDocumentException,
	DuplicatePolicyException, PolicyInUseException, ConstraintViolationException, PolicyTypeNotEnabledException,
	OrganizationsNotInUseException, PolicyTypeNotAvailableForOrganizationException,
	ParentNotFoundException, ChildNotFoundException, OrganizationalUnitNotFoundException,
	OrganizationalUnitNotEmptyException, DuplicateOrganizationalUnitException, SourceParentNotFoundException,
	DestinationParentNotFoundException, DuplicateAccountException, PolicyTypeAlreadyEnabledException,
	RootNotFoundException,
	AccountAlreadyClosedException, MasterCannotLeaveOrganizationException, OrganizationNotEmptyException, AccountAlreadyRegisteredException, AccountNotRegisteredException,
	HandshakeNotFoundException, HandshakeAlreadyInStateException, InvalidHandshakeTransitionException, HandshakeConstraintViolationException, DuplicateHandshakeException, EffectivePolicyNotFoundException,
	ResourcePolicyNotFoundException,
	CloudTrailAccessDenied, InvalidLookupAttributesException, InvalidTimeRangeException, InvalidMaxResultsException,
	InvalidNextTokenException, InvalidEventCategoryException,
	JSONAccessDenied, ValidationException, ResourceNotFoundException, LimitExceededException,
	UnrecognizedClientException, InvalidSignatureException, IncompleteSignatureException, MissingAuthenticationTokenException,
	UnknownOperationException,
}

// Error is an API error: a code, a message safe to show the caller, and an
// optional cause that is logged and audited but never sent.
type Error struct {
	Code    Code
	Message string
	// Reason is the Reason member some JSON errors carry (Organizations'
	// ConstraintViolationException and InvalidInputException); "" for none.
	Reason string
	Cause  error
}

// New returns an *Error with a formatted message.
func New(c Code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: c, Message: format}
	}
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error that keeps cause for logs and audit.
func Wrap(c Code, cause error, format string, args ...any) *Error {
	e := New(c, format, args...)
	e.Cause = cause
	return e
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code.Name + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code.Name + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code.Name == e.Code.Name && t.Message == ""
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusOf is the HTTP status an error is answered with: its code's, or
// 500 for anything that is not an API error.
func StatusOf(err error) int {
	if e, ok := As(err); ok && e.Code.Name != "" {
		return e.Code.Status
	}
	return InternalFailure.Status
}

// OrInternal passes API errors through and turns anything else into
// InternalFailure whose cause, what prefixed, stays for the log. Services
// end every unexpected error path with it.
func OrInternal(err error, what string) error {
	if _, ok := As(err); ok {
		return err
	}
	return Internal(fmt.Errorf("%s: %w", what, err))
}

// Internal wraps a cause as InternalFailure; the message carries nothing of the cause.
func Internal(cause error) *Error {
	return &Error{Code: InternalFailure, Message: "We encountered an internal error. Please try again.", Cause: cause}
}

// Validation builds AWS's model-validation message:
// "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: ...".
func Validation(violations ...string) *Error {
	n := len(violations)
	msg := fmt.Sprintf("%d validation error", n)
	if n != 1 {
		msg += "s"
	}
	msg += " detected: "
	for i, v := range violations {
		if i > 0 {
			msg += "; "
		}
		msg += v
	}
	return &Error{Code: ValidationError, Message: msg}
}

// MaxQuoted bounds what an error message quotes of a request (a value, an
// action name): a client must not make the server repeat a megabyte back,
// nor into the audit trail's record of the error.
const MaxQuoted = 256

// Quote returns s, or its first MaxQuoted bytes (whole UTF-8 sequences)
// followed by "...", for an error message.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	n := MaxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Package saml verifies SAML 2.0 Responses (HTTP-POST binding) issued by an
// identity provider described by its metadata, as AssumeRoleWithSAML needs:
// the XML signature of the Response or of its Assertion against the
// metadata's signing certificates, the Issuer, the audience, the recipient,
// the validity window and the status, and it returns the verified
// assertion's subject and attributes.
//
// Only what a signature covers is ever read: the verified element that
// goxmldsig returns after checking the signature (never the element it was
// found in), which makes the XML-signature-wrapping permutations and the
// comment-injection trick (CVE-2018-7340) fail. A Response carries exactly
// one Assertion or EncryptedAssertion; anything else is rejected.
//
// It imports only the standard library, goxmldsig, etree, gosaml2's
// EncryptedAssertion decryption and the XML round-trip validator; never
// net/http, a store or the project's services. Nothing here logs.
package saml

import (
	"crypto"
	"crypto/x509"
	"errors"
	"time"
)

// Kind classifies a verification failure the way STS answers it.
type Kind int

const (
	// Invalid: the response is malformed, unsigned, badly signed, or not
	// meant for us (InvalidIdentityToken).
	Invalid Kind = iota + 1
	// Expired: the assertion is past its NotOnOrAfter (ExpiredTokenException).
	Expired
	// Rejected: the identity provider reported a failure status
	// (IDPRejectedClaim).
	Rejected
)

// Error is a verification failure. Message is safe to return to the
// client: it names what failed, never the assertion's content.
type Error struct {
	Kind    Kind
	Message string
	// Expiry is the NotOnOrAfter that had passed, for Expired.
	Expiry time.Time
	cause  error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return "saml: " + e.Message + ": " + e.cause.Error()
	}
	return "saml: " + e.Message
}

func (e *Error) Unwrap() error { return e.cause }

func invalid(msg string, cause error) *Error {
	return &Error{Kind: Invalid, Message: msg, cause: cause}
}

// KindOf returns the Kind of err, or 0 when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// DecryptionKey is a service-provider key that EncryptedAssertions may be
// encrypted to. When Certificate is set, the assertion's EncryptedKey must
// name it (if it names one) and it must be valid at the verification time.
type DecryptionKey struct {
	Key         crypto.Signer // *rsa.PrivateKey
	Certificate *x509.Certificate
}

// Config says what a Response must satisfy. The zero Skew means DefaultSkew.
type Config struct {
	// EntityID is the identity provider's entity id (metadata entityID);
	// the Assertion's Issuer must equal it, and so must the Response's
	// Issuer when there is one.
	EntityID string
	// Certificates are the provider's signing certificates; a signature
	// must verify with one of them, valid at Now.
	Certificates []*x509.Certificate
	// Audiences: every AudienceRestriction must name one of them.
	Audiences []string
	// Recipients: a Response Destination and every bearer
	// SubjectConfirmationData Recipient, when present, must be one of them.
	Recipients []string
	// DecryptionKeys decrypt EncryptedAssertions; none means an
	// EncryptedAssertion is rejected.
	DecryptionKeys []DecryptionKey
	Now            time.Time
	Skew           time.Duration
}

// DefaultSkew is the clock skew allowed on NotBefore and NotOnOrAfter.
const DefaultSkew = 2 * time.Minute

// Default audiences and recipients, as AWS accepts them.
var (
	DefaultAudiences  = []string{"urn:amazon:webservices", "https://signin.aws.amazon.com/saml"}
	DefaultRecipients = []string{"https://signin.aws.amazon.com/saml", "https://signin.aws.amazon.com/static/saml"}
)

// Attribute is one SAML attribute with its values, in document order.
type Attribute struct {
	Name         string
	FriendlyName string
	Values       []string
}

// Assertion is what a verified Response asserts.
type Assertion struct {
	ID           string // the Assertion's ID (replay detection)
	Issuer       string
	IssueInstant time.Time
	// Subject is the NameID's value; SubjectFormat its Format attribute
	// (may be empty); NameQualifier and SPNameQualifier its attributes.
	Subject         string
	SubjectFormat   string
	NameQualifier   string
	SPNameQualifier string
	// Recipient is the bearer SubjectConfirmationData's Recipient ("" when
	// absent); Audiences the AudienceRestriction values.
	Recipient string
	Audiences []string
	// NotOnOrAfter is the earliest expiry of the Conditions and the bearer
	// confirmations: the assertion must not be accepted at or after it.
	NotOnOrAfter time.Time
	// SessionNotOnOrAfter is the AuthnStatement's, zero when absent.
	SessionNotOnOrAfter time.Time
	Attributes          []Attribute
}

// Values returns the values of the attribute named name (exact match), nil
// when there is none.
func (a *Assertion) Values(name string) []string {
	var out []string
	for _, at := range a.Attributes {
		if at.Name == name {
			out = append(out, at.Values...)
		}
	}
	return out
}

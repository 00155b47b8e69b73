// Package audit is the audit trail: one CloudTrail-shaped record per API
// request (Build, from the pipeline's Exchange), written by a background
// writer as JSON lines under a directory, hash-chained record to record and
// file to file, each closed file sealed with a digest record signed with an
// Ed25519 key (Trail); Verify checks a trail offline; Lookup and
// LookupEvents answer CloudTrail's LookupEvents from an in-memory index.
//
// It imports pipeline (Exchange, Redact), authz (Caller), session, sigv4,
// arn and apierr; never a store or a service.
package audit

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
)

// EventVersion is the CloudTrail record version written.
const EventVersion = "1.08"

// DigestType is the eventType of the signed record that closes a file.
const DigestType = "OpenSTSDigest"

// Bounds on caller-controlled strings copied into a record.
const (
	maxNameBytes  = 128
	maxAgentBytes = 1024
)

// Record is one CloudTrail record. Seq and PrevHash are the trail's chain,
// set by the writer.
type Record struct {
	EventVersion       string       `json:"eventVersion"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	EventTime          string       `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	SourceIPAddress    string       `json:"sourceIPAddress"`
	UserAgent          string       `json:"userAgent"`
	ErrorCode          string       `json:"errorCode,omitempty"`
	ErrorMessage       string       `json:"errorMessage,omitempty"`
	RequestParameters  any          `json:"requestParameters"`
	ResponseElements   any          `json:"responseElements"`
	RequestID          string       `json:"requestID"`
	EventID            string       `json:"eventID"`
	ReadOnly           bool         `json:"readOnly"`
	Resources          []Resource   `json:"resources,omitempty"`
	EventType          string       `json:"eventType"`
	ManagementEvent    bool         `json:"managementEvent"`
	RecipientAccountID string       `json:"recipientAccountId"`
	SharedEventID      string       `json:"sharedEventID,omitempty"`
	EventCategory      string       `json:"eventCategory"`
	TLSDetails         *TLSDetails  `json:"tlsDetails,omitempty"`
	Digest             *Digest      `json:"digest,omitempty"`
	Seq                uint64       `json:"seq"`
	PrevHash           string       `json:"prevHash"`
}

// UserIdentity is CloudTrail's userIdentity.
type UserIdentity struct {
	Type                string               `json:"type"`
	PrincipalID         string               `json:"principalId,omitempty"`
	ARN                 string               `json:"arn,omitempty"`
	AccountID           string               `json:"accountId,omitempty"`
	AccessKeyID         string               `json:"accessKeyId,omitempty"`
	UserName            string               `json:"userName,omitempty"`
	IdentityProvider    string               `json:"identityProvider,omitempty"`
	SessionContext      *SessionContext      `json:"sessionContext,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer  *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes     SessionAttributes `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role or user a session was issued from.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName,omitempty"`
}

// SessionAttributes are the session's creation time and MFA.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// WebIDFederationData names the identity provider of a web identity session.
type WebIDFederationData struct {
	FederatedProvider string            `json:"federatedProvider"`
	Attributes        map[string]string `json:"attributes"`
}

// Resource is one resource a request names.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
}

// TLSDetails describes the connection of a request served over TLS.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// Digest closes a file: it is signed over the file's name, its records and
// the hash of its last record, which chains every record before it.
type Digest struct {
	File      string `json:"file"`
	FirstSeq  uint64 `json:"firstSeq"`
	Records   int    `json:"records"`
	KeyID     string `json:"keyId"`
	Signature string `json:"signature"`
}

// BuildConfig is what Build needs beside the exchange.
type BuildConfig struct {
	Region string
	// Account receives the events of requests whose account is unknown
	// (a signature that did not verify).
	Account string
	NewID   func() string
}

// Build returns the records of one request: one, or two for a
// cross-account AssumeRole (one for each account, sharing SharedEventID).
// It copies everything it needs; x may be reused once it returns.
func Build(cfg BuildConfig, x *pipeline.Exchange) []Record {
	r := Record{
		EventVersion:    EventVersion,
		EventTime:       x.Time.UTC().Format(time.RFC3339),
		EventSource:     eventSource(x),
		EventName:       bound(x.Action, maxNameBytes),
		AWSRegion:       cfg.Region,
		UserAgent:       bound(x.HTTP.UserAgent(), maxAgentBytes),
		RequestID:       x.RequestID,
		EventID:         cfg.NewID(),
		EventType:       "AwsApiCall",
		ManagementEvent: true,
		EventCategory:   "Management",
	}
	if r.EventName == "" {
		r.EventName = "Unknown"
	}
	r.SourceIPAddress = x.HTTP.RemoteAddr
	if h, _, err := net.SplitHostPort(x.HTTP.RemoteAddr); err == nil {
		r.SourceIPAddress = h
	}
	if x.SigV4 != nil && x.SigV4.Region != "" {
		r.AWSRegion = bound(x.SigV4.Region, maxNameBytes)
	}
	r.ReadOnly = readOnly(r.EventName)
	r.RequestParameters = pipeline.Redact(x.Input)
	if x.Err == nil && (!r.ReadOnly || r.EventSource == "sts.amazonaws.com") {
		// Reads answer with state, often large, that the trail does not
		// need; STS answers with the minted access key id, which later
		// events join back to.
		r.ResponseElements = pipeline.Redact(x.Output)
	}
	if x.Err != nil {
		e, ok := apierr.As(x.Err)
		if !ok {
			e = apierr.Internal(x.Err)
		}
		r.ErrorCode, r.ErrorMessage = e.Code.Name, e.Message
		if e.Cause != nil && !errors.Is(e.Cause, x.Err) {
			r.ErrorMessage += " (" + bound(e.Cause.Error(), 512) + ")"
		}
	}
	r.UserIdentity, r.RecipientAccountID = identity(x, r.ResponseElements)
	if r.RecipientAccountID == "" {
		r.RecipientAccountID = cfg.Account
	}
	if t := x.HTTP.TLS; t != nil {
		r.TLSDetails = &TLSDetails{TLSVersion: tlsVersion(t.Version), CipherSuite: tls.CipherSuiteName(t.CipherSuite), ClientProvidedHostHeader: bound(x.HTTP.Host, 256)}
	}
	r.Resources = resources(r.RequestParameters, r.ResponseElements)
	out := []Record{r}
	if r.EventName == "AssumeRole" {
		if p, ok := r.RequestParameters.(map[string]any); ok {
			roleARN, _ := p["roleArn"].(string)
			if a, err := arn.Parse(roleARN); err == nil && a.Account != "" && a.Account != r.RecipientAccountID {
				r.SharedEventID = cfg.NewID()
				other := r
				other.EventID = cfg.NewID()
				other.RecipientAccountID = a.Account
				out = []Record{r, other}
			}
		}
	}
	return out
}

func bound(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Sources maps a SigV4 service name to its CloudTrail eventSource.
func eventSource(x *pipeline.Exchange) string {
	if x.API == nil {
		return "unknown"
	}
	return x.API.Name + ".amazonaws.com"
}

// readOnly follows CloudTrail: reads, and STS's credential actions.
func readOnly(action string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Simulate", "Decode", "Assume"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return "TLS"
}

// identity returns the userIdentity of the request and the account that
// receives its event.
func identity(x *pipeline.Exchange, response any) (UserIdentity, string) {
	c := x.Caller
	if c == nil {
		return anonymous(x, response)
	}
	u := UserIdentity{ARN: c.ARN, AccountID: c.Account, AccessKeyID: c.AccessKeyID, PrincipalID: c.UserID}
	s := c.Session
	switch c.Type {
	case policy.Root:
		u.Type, u.PrincipalID = "Root", c.Account
	case policy.User:
		u.Type, u.UserName = "IAMUser", c.UserName
	case policy.AssumedRole:
		u.Type = "AssumedRole"
	case policy.FederatedUser:
		u.Type = "FederatedUser"
	default:
		u.Type = "Unknown"
	}
	if s == nil {
		return u, c.Account
	}
	u.PrincipalID = s.PrincipalID
	sc := &SessionContext{SourceIdentity: s.SourceIdentity, Attributes: SessionAttributes{
		CreationDate: s.IssuedAt.UTC().Format(time.RFC3339), MFAAuthenticated: boolString(s.MFA)}}
	switch {
	case authz.RoleSession(s):
		sc.SessionIssuer = &SessionIssuer{Type: "Role", PrincipalID: s.RoleID, ARN: arn.Role(s.Account, s.RolePath, s.RoleName), AccountID: s.Account, UserName: s.RoleName}
		if s.Type == session.WebIdentity {
			u.WebIDFederationData = &WebIDFederationData{FederatedProvider: s.FederatedProvider, Attributes: map[string]string{}}
		}
	case s.Type == session.FederatedUser && s.UserName != "":
		sc.SessionIssuer = &SessionIssuer{Type: "IAMUser", PrincipalID: s.UserID, ARN: arn.User(s.Account, "/", s.UserName), AccountID: s.Account, UserName: s.UserName}
	case s.Type == session.FederatedUser:
		sc.SessionIssuer = &SessionIssuer{Type: "Root", PrincipalID: s.Account, ARN: arn.Root(s.Account), AccountID: s.Account}
	}
	u.SessionContext = sc
	return u, c.Account
}

// anonymous is the identity of a request without an authenticated caller:
// a federation request (the token's subject, once verified) or a request
// whose signature did not verify (its access key id, as claimed).
func anonymous(x *pipeline.Exchange, response any) (UserIdentity, string) {
	var u UserIdentity
	account := ""
	if in, ok := pipeline.Redact(x.Input).(map[string]any); ok {
		if a, err := arn.Parse(str(in, "roleArn")); err == nil {
			account = a.Account
		}
	}
	out, _ := response.(map[string]any)
	switch {
	case x.Unsigned && x.Action == "AssumeRoleWithWebIdentity":
		u.Type = "WebIdentityUser"
		if out != nil {
			u.IdentityProvider, u.UserName = str(out, "provider"), str(out, "subjectFromWebIdentityToken")
			u.PrincipalID = u.IdentityProvider + ":" + str(out, "audience") + ":" + u.UserName
		}
	case x.Unsigned && x.Action == "AssumeRoleWithSAML":
		u.Type = "SAMLUser"
		if out != nil {
			u.IdentityProvider, u.UserName = str(out, "issuer"), str(out, "subject")
			u.PrincipalID = str(out, "nameQualifier") + ":" + u.UserName
		}
	default:
		u.Type = "Unknown"
		if x.SigV4 != nil {
			u.AccessKeyID = bound(x.SigV4.AccessKeyID, maxNameBytes)
		}
	}
	return u, account
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// resourceKeys are the request parameters that name a resource, with its
// CloudTrail type.
var resourceKeys = []struct{ key, typ string }{
	{"roleArn", "AWS::IAM::Role"},
	{"roleName", "AWS::IAM::Role"},
	{"userName", "AWS::IAM::User"},
	{"groupName", "AWS::IAM::Group"},
	{"policyArn", "AWS::IAM::Policy"},
	{"accessKeyId", "AWS::IAM::AccessKey"},
	{"serialNumber", "AWS::IAM::MFADevice"},
	{"accountId", "AWS::Organizations::Account"},
	{"policyId", "AWS::Organizations::Policy"},
}

// resources lists what a request names, and the access key an STS call or
// CreateAccessKey minted, so that lookups by it find the call.
func resources(params, response any) []Resource {
	var out []Resource
	if p, ok := params.(map[string]any); ok {
		for _, k := range resourceKeys {
			if v := str(p, k.key); v != "" {
				out = append(out, Resource{ARN: v, Type: k.typ})
			}
		}
	}
	if r, ok := response.(map[string]any); ok {
		for _, k := range []string{"credentials", "accessKey"} {
			if c, ok := r[k].(map[string]any); ok {
				if id := str(c, "accessKeyId"); id != "" {
					out = append(out, Resource{ARN: id, Type: "AWS::IAM::AccessKey"})
				}
			}
		}
	}
	return out
}

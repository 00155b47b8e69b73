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
	"encoding/json"
	"errors"
	"maps"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// stsSource is STS's eventSource.
const stsSource = "sts.amazonaws.com"

// DigestType is the eventType of the signed record that closes a file.
const DigestType = "OpenSTSDigest"

// PruneType is the eventType of the signed record retention writes when it
// removes the oldest files.
const PruneType = "OpenSTSPrune"

// CheckpointType is the eventType of the signed record the writer adds to
// the file it writes every Config.Checkpoint (when events came since the
// last): it attests the records before it before the file is sealed, so
// that one changed while the server was down (after a crash) shows,
// whoever rechains it, unless the change is after the last checkpoint.
const CheckpointType = "OpenSTSCheckpoint"

// Bounds on caller-controlled strings copied into a record.
const (
	maxNameBytes  = 128
	maxAgentBytes = 1024
	// maxErrorBytes bounds errorMessage: the messages quote at most
	// apierr.MaxQuoted bytes of a value each, and a validation error lists
	// every violation.
	maxErrorBytes = 4096
	// maxIdentityBytes bounds the federated identity's names (a token's
	// subject, an assertion's NameID and issuer).
	maxIdentityBytes = 2048
	// MaxElementBytes bounds requestParameters and responseElements: a
	// larger one is replaced by OmittedMarker (its size filled in).
	MaxElementBytes = 100 << 10
)

// omitted is what stands for request parameters or response elements
// larger than MaxElementBytes.
const omitted = `{"omitted":true,"reason":"larger than 102400 bytes","originalSize":`

// Record is one CloudTrail record. Seq and PrevHash are the trail's chain,
// set by the writer.
type Record struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	SharedEventID      string          `json:"sharedEventID,omitempty"`
	EventCategory      string          `json:"eventCategory"`
	TLSDetails         *TLSDetails     `json:"tlsDetails,omitempty"`
	Digest             *Digest         `json:"digest,omitempty"`
	Prune              *Prune          `json:"prune,omitempty"`
	Checkpoint         *Checkpoint     `json:"checkpoint,omitempty"`
	Seq                uint64          `json:"seq"`
	PrevHash           string          `json:"prevHash"`

	// params and response, when RequestParameters and ResponseElements
	// are nil, are the typed input and output appendRecord writes them
	// from (through pipeline.AppendRedactedJSON, straight into the line).
	params, response any
	// at is the event's time, which appendRecord formats into the line
	// when EventTime is "" (Trail.Record: no string is made for it).
	at time.Time
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

// Checkpoint attests the chain up to it: it is signed over the file's name,
// its own seq and the hash of the record before it.
type Checkpoint struct {
	File string `json:"file"`
	// Node is the node whose anchored head the trail is (Config.Node),
	// signed: a node id changed beside the trail is seen.
	Node      string `json:"node,omitempty"`
	KeyID     string `json:"keyId"`
	Signature string `json:"signature"`
}

// control reports whether r is one of the trail's own records (a digest,
// a prune mark, a checkpoint), not a request's event.
func (r *Record) control() bool { return r.Digest != nil || r.Prune != nil || r.Checkpoint != nil }

// Digest closes a file: it is signed over the file's name, its records and
// the hash of its last record, which chains every record before it.
type Digest struct {
	File     string `json:"file"`
	FirstSeq uint64 `json:"firstSeq"`
	Records  int    `json:"records"`
	// Recovered marks a file sealed on restart after a crash (the
	// server died before sealing it); it is signed like the rest.
	Recovered bool `json:"recovered,omitempty"`
	// Node is as Checkpoint's.
	Node      string `json:"node,omitempty"`
	KeyID     string `json:"keyId"`
	Signature string `json:"signature"`
}

// Prune records, signed, that retention removed files 1..RemovedThrough, and
// the record the trail now starts at (the first record of NextFile: its seq
// and prevHash), so that verify tells retention from removal.
type Prune struct {
	RemovedThrough int    `json:"removedThrough"`
	NextFile       string `json:"nextFile"`
	NextSeq        uint64 `json:"nextSeq"`
	NextPrevHash   string `json:"nextPrevHash"`
	KeyID          string `json:"keyId"`
	Signature      string `json:"signature"`
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
// Its records hold x.Input and x.Output, which appendRecord writes (redacted)
// into the line; everything else is copied. x may be reused once the
// records are encoded.
func Build(cfg BuildConfig, x *pipeline.Exchange) []Record {
	var r Record
	other := build(cfg, x, &r)
	r.EventTime = r.at.Format(time.RFC3339)
	r.Resources = resources(nil, r.params, r.response)
	if other == "" {
		return []Record{r}
	}
	r.SharedEventID = cfg.NewID()
	o := r
	o.EventID = cfg.NewID()
	o.RecipientAccountID = other
	return []Record{r, o}
}

// build fills r, a zero Record, with the request's record, its time in
// r.at, but not its resources (resources(dst, r.params, r.response)). For a cross-account AssumeRole it
// returns the role's account, which receives a second record (Build).
func build(cfg BuildConfig, x *pipeline.Exchange, r *Record) (other string) {
	r.EventVersion = EventVersion
	r.at = x.Time.UTC()
	r.EventSource = eventSource(x)
	r.EventName = bound(x.Action, maxNameBytes)
	r.AWSRegion = cfg.Region
	if ua := x.HTTP.Header["User-Agent"]; len(ua) > 0 { // Header.Get, without canonicalizing a constant key
		r.UserAgent = bound(ua[0], maxAgentBytes)
	}
	r.RequestID = x.RequestID
	r.EventID = cfg.NewID()
	r.EventType = "AwsApiCall"
	r.ManagementEvent = true
	r.EventCategory = "Management"
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
	r.params = x.Input
	var response any // what the response elements were built from
	if x.Err == nil && (!r.ReadOnly || r.EventSource == stsSource) && r.EventName != "DecodeAuthorizationMessage" {
		// Reads answer with state, often large, that the trail does not
		// need; STS answers with the minted access key id, which later
		// events join back to. DecodeAuthorizationMessage's answer is the
		// decoded policy details: AWS records null for it, and so do we.
		response = x.Output
		r.response = x.Output
	}
	if x.Err != nil {
		e, ok := apierr.As(x.Err)
		if !ok {
			e = apierr.Internal(x.Err)
		}
		r.ErrorCode, r.ErrorMessage = e.Code.Name, bound(e.Message, maxErrorBytes)
		// The cause, past API errors of the same message (an AWS JSON
		// service's code for a Query code's failure, apierr.JSONAuth): what
		// they say the message already does.
		cause := e.Cause
		for cause != nil {
			ce, ok := apierr.As(cause)
			if !ok || ce.Message != e.Message {
				break
			}
			cause = ce.Cause
		}
		if cause != nil && !errors.Is(cause, x.Err) {
			r.ErrorMessage += " (" + bound(cause.Error(), 512) + ")"
		}
	}
	r.UserIdentity, r.RecipientAccountID = identity(x, response)
	if r.RecipientAccountID == "" {
		r.RecipientAccountID = cfg.Account
	}
	if t := x.HTTP.TLS; t != nil {
		r.TLSDetails = &TLSDetails{TLSVersion: tlsVersion(t.Version), CipherSuite: tls.CipherSuiteName(t.CipherSuite), ClientProvidedHostHeader: bound(x.HTTP.Host, 256)}
	}
	if r.EventName == "AssumeRole" {
		roleARN := roleARNAt.Of(x.Input)
		if a, err := arn.Parse(roleARN); err == nil && a.Account != "" && a.Account != r.RecipientAccountID {
			return a.Account
		}
	}
	return ""
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
	return x.API.EventSource()
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
	if a, err := arn.Parse(roleARNAt.Of(x.Input)); err == nil {
		account = a.Account
	}
	out := response
	switch {
	case x.Unsigned && x.Action == "AssumeRoleWithWebIdentity":
		u.Type = "WebIdentityUser"
		if out != nil {
			u.IdentityProvider, u.UserName = providerAt.Of(out), subjectFromWebIdentityTokenAt.Of(out)
			u.PrincipalID = u.IdentityProvider + ":" + audienceAt.Of(out) + ":" + u.UserName
		}
	case x.Unsigned && x.Action == "AssumeRoleWithSAML":
		u.Type = "SAMLUser"
		if out != nil {
			u.IdentityProvider, u.UserName = issuerAt.Of(out), subjectAt.Of(out)
			u.PrincipalID = nameQualifierAt.Of(out) + ":" + u.UserName
		}
	default:
		u.Type = "Unknown"
		if x.SigV4 != nil {
			u.AccessKeyID = bound(x.SigV4.AccessKeyID, maxNameBytes)
		}
	}
	// A token's or an assertion's subject and issuer are the identity
	// provider's: a 95 KB NameID made a 1.1 MB line (attack review).
	u.IdentityProvider = bound(u.IdentityProvider, maxIdentityBytes)
	u.UserName = bound(u.UserName, maxIdentityBytes)
	u.PrincipalID = bound(u.PrincipalID, 2*maxIdentityBytes)
	return u, account
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// The strings of inputs and outputs that records are built from, read
// through Redact's view of them (a sensitive one reads as Hidden).
var (
	roleARNAt                     = pipeline.StringAt("roleArn")
	providerAt                    = pipeline.StringAt("provider")
	subjectFromWebIdentityTokenAt = pipeline.StringAt("subjectFromWebIdentityToken")
	audienceAt                    = pipeline.StringAt("audience")
	issuerAt                      = pipeline.StringAt("issuer")
	subjectAt                     = pipeline.StringAt("subject")
	nameQualifierAt               = pipeline.StringAt("nameQualifier")
	mintedKeyAt                   = []*pipeline.StringPath{pipeline.StringAt("credentials", "accessKeyId"), pipeline.StringAt("accessKey", "accessKeyId")}
)

// resourceKeys are the request parameters that name a resource, with its
// CloudTrail type.
var resourceKeys = []struct {
	key, typ string
	at       *pipeline.StringPath
}{
	{"roleArn", "AWS::IAM::Role", roleARNAt},
	{"roleName", "AWS::IAM::Role", pipeline.StringAt("roleName")},
	{"userName", "AWS::IAM::User", pipeline.StringAt("userName")},
	{"groupName", "AWS::IAM::Group", pipeline.StringAt("groupName")},
	{"policyArn", "AWS::IAM::Policy", pipeline.StringAt("policyArn")},
	{"accessKeyId", "AWS::IAM::AccessKey", pipeline.StringAt("accessKeyId")},
	{"serialNumber", "AWS::IAM::MFADevice", pipeline.StringAt("serialNumber")},
	{"accountId", "AWS::Organizations::Account", pipeline.StringAt("accountId")},
	{"policyId", "AWS::Organizations::Policy", pipeline.StringAt("policyId")},
}

// resourceTypes caches, per input type, which resourceKeys it has.
var resourceTypes sync.Map // reflect.Type → []int

func resourceFields(t reflect.Type) []int {
	if v, ok := resourceTypes.Load(t); ok {
		return v.([]int)
	}
	var keys []int
	for i, k := range resourceKeys {
		if pipeline.HasField(t, k.key) {
			keys = append(keys, i)
		}
	}
	resourceTypes.Store(t, keys)
	return keys
}

// resources lists what a request names, and the access key an STS call or
// CreateAccessKey minted, so that lookups by it find the call.
func resources(out []Resource, params, response any) []Resource {
	if params != nil {
		for _, i := range resourceFields(reflect.TypeOf(params)) {
			k := resourceKeys[i]
			if v := k.at.Of(params); v != "" {
				out = append(out, Resource{ARN: v, Type: k.typ})
			}
		}
	}
	if response != nil {
		for _, at := range mintedKeyAt {
			if id := at.Of(response); id != "" {
				out = append(out, Resource{ARN: id, Type: "AWS::IAM::AccessKey"})
			}
		}
	}
	return out
}

// appendRecord appends r's JSON as json.Marshal writes it, without the
// chain (seq, prevHash) and the closing brace, which the writer appends.
func appendRecord(b []byte, r *Record) []byte { return appendRecordWith(b, r, r.Resources) }

// appendRecordWith is appendRecord with res for r.Resources (Trail.Record
// keeps them out of r, in an array on its stack).
func appendRecordWith(b []byte, r *Record, res []Resource) []byte {
	b = append(b, `{"eventVersion":`...)
	b = pipeline.AppendJSONString(b, r.EventVersion)
	b = append(b, `,"userIdentity":`...)
	b = appendIdentity(b, &r.UserIdentity)
	if r.EventTime == "" && !r.at.IsZero() {
		b = append(b, `,"eventTime":"`...)
		b = r.at.AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	} else {
		b = appendField(b, "eventTime", r.EventTime)
	}
	b = appendField(b, "eventSource", r.EventSource)
	b = appendField(b, "eventName", r.EventName)
	b = appendField(b, "awsRegion", r.AWSRegion)
	b = appendField(b, "sourceIPAddress", r.SourceIPAddress)
	b = appendField(b, "userAgent", r.UserAgent)
	b = appendOmit(b, "errorCode", r.ErrorCode)
	b = appendOmit(b, "errorMessage", r.ErrorMessage)
	b = appendRaw(b, `,"requestParameters":`, r.RequestParameters, r.params)
	b = appendRaw(b, `,"responseElements":`, r.ResponseElements, r.response)
	b = appendField(b, "requestID", r.RequestID)
	b = appendField(b, "eventID", r.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, r.ReadOnly)
	if len(res) > 0 {
		b = append(b, `,"resources":[`...)
		for i := range res {
			x := &res[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ARN":`...)
			b = pipeline.AppendJSONString(b, x.ARN)
			b = appendOmit(b, "accountId", x.AccountID)
			b = appendField(b, "type", x.Type)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "eventType", r.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, r.ManagementEvent)
	b = appendField(b, "recipientAccountId", r.RecipientAccountID)
	b = appendOmit(b, "sharedEventID", r.SharedEventID)
	b = appendField(b, "eventCategory", r.EventCategory)
	if t := r.TLSDetails; t != nil {
		b = append(b, `,"tlsDetails":{"tlsVersion":`...)
		b = pipeline.AppendJSONString(b, t.TLSVersion)
		b = appendField(b, "cipherSuite", t.CipherSuite)
		b = appendField(b, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		b = append(b, '}')
	}
	return b
}

func appendIdentity(b []byte, u *UserIdentity) []byte {
	b = append(b, `{"type":`...)
	b = pipeline.AppendJSONString(b, u.Type)
	b = appendOmit(b, "principalId", u.PrincipalID)
	b = appendOmit(b, "arn", u.ARN)
	b = appendOmit(b, "accountId", u.AccountID)
	b = appendOmit(b, "accessKeyId", u.AccessKeyID)
	b = appendOmit(b, "userName", u.UserName)
	b = appendOmit(b, "identityProvider", u.IdentityProvider)
	if sc := u.SessionContext; sc != nil {
		b = append(b, `,"sessionContext":{`...)
		if si := sc.SessionIssuer; si != nil {
			b = append(b, `"sessionIssuer":{"type":`...)
			b = pipeline.AppendJSONString(b, si.Type)
			b = appendField(b, "principalId", si.PrincipalID)
			b = appendField(b, "arn", si.ARN)
			b = appendField(b, "accountId", si.AccountID)
			b = appendOmit(b, "userName", si.UserName)
			b = append(b, "},"...)
		}
		b = append(b, `"attributes":{"creationDate":`...)
		b = pipeline.AppendJSONString(b, sc.Attributes.CreationDate)
		b = appendField(b, "mfaAuthenticated", sc.Attributes.MFAAuthenticated)
		b = append(b, '}')
		b = appendOmit(b, "sourceIdentity", sc.SourceIdentity)
		b = append(b, '}')
	}
	if w := u.WebIDFederationData; w != nil {
		b = append(b, `,"webIdFederationData":{"federatedProvider":`...)
		b = pipeline.AppendJSONString(b, w.FederatedProvider)
		b = append(b, `,"attributes":`...)
		if w.Attributes == nil {
			b = append(b, "null"...)
		} else {
			keys := slices.Sorted(maps.Keys(w.Attributes))
			b = append(b, '{')
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = pipeline.AppendJSONString(b, k)
				b = append(b, ':')
				b = pipeline.AppendJSONString(b, w.Attributes[k])
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendField(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return pipeline.AppendJSONString(b, v)
}

func appendOmit(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, key, v)
}

func appendRaw(b []byte, key string, v json.RawMessage, typed any) []byte {
	b = append(b, key...)
	start := len(b)
	if len(v) == 0 {
		b = pipeline.AppendRedactedJSON(b, typed)
	} else {
		b = append(b, v...)
	}
	if n := len(b) - start; n > MaxElementBytes {
		b = append(b[:start], omitted...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '}')
	}
	return b
}

package authorize

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
)

// VerificationAction is the IAM action a local verifier's own identity
// needs for GetVerificationData and GetRevocations. Its condition keys
// opensts:SigningService and opensts:SigningRegion (GetVerificationData
// with a StringToSign) let an administrator limit a verifier to the
// service and region it serves.
const VerificationAction = "opensts:GetVerificationData"

// What a local verifier is given, and what it is not
//
// A verifier that decides without a round trip per request must check
// SigV4 signatures itself, and SigV4 is symmetric: whoever checks a
// signature can make one for the same scope. So the server never hands out
// a secret access key, a session token's secret derivation key, the
// keyring's Ed25519 signing key or its token-encryption key. For every
// access key a verifier sees it gets, instead:
//
//   - the SigV4 signing key of that key's secret for one day, region and
//     service (kSigning = HMAC chain over "AWS4"+secret, date, region,
//     service, "aws4_request"), and only after proving that the key's
//     holder sent it a request signed for that scope (the request's string
//     to sign and signature, which the server checks). The verifier can
//     then sign only what it could already replay: requests to its own
//     service, in its region, on that day. Scopes of the services OpenSTS
//     itself answers (sts, iam, organizations, opensts, cloudtrail) are
//     refused, so a verifier can never act on OpenSTS as its clients.
//   - for a session token, the session the token carries, opened and
//     checked by the server (issuer signature, expiry, revocation), with
//     the principal's policies: the verifier caches it by the token's
//     SHA-256 and never needs a key that opens or mints tokens. Tokens are
//     Ed25519-signed but their payload is sealed with a symmetric key and
//     their secret is an HMAC under a symmetric key: neither can be given
//     out without giving out every token's content or secret.
//
// With the revocation set (GetRevocations, followed by its version) a
// verifier then decides locally: signature, expiry, revocation and the
// full policy evaluation.

// Services OpenSTS itself answers: no signing key of theirs is handed out.
var reservedServices = map[string]bool{"sts": true, "iam": true, "organizations": true, "opensts": true, "cloudtrail": true}

// Bounds of GetVerificationData's input.
const (
	maxStringToSign = 2048
	// A presigned URL may be used up to sigv4.MaxExpires after it was
	// signed, plus the clock skew: older scopes are refused.
	maxScopeAge = sigv4.MaxExpires + 24*time.Hour
)

// GetVerificationDataInput names the credentials a local verifier saw.
type GetVerificationDataInput struct {
	AccessKeyID  string `json:"AccessKeyId"`
	SessionToken string `json:"SessionToken" sensitive:"true"`
	// StringToSign and Signature are those of a request the verifier
	// received signed with the key: the server hands out the signing key
	// of the StringToSign's scope only if Signature matches. Without them
	// (a session token the verifier authenticated some other way, see
	// PrincipalInput) no signing key is handed out; long-term keys need
	// them.
	StringToSign string `json:"StringToSign"`
	// Signature is hidden in the audit trail: with its StringToSign it
	// is what this call needs to hand out the scope's signing key.
	Signature string `json:"Signature" sensitive:"true"`
}

// GetVerificationDataOutput is what a local verifier decides from.
type GetVerificationDataOutput struct {
	// AuthenticationError is set when the credentials were refused
	// (unknown or inactive key, invalid, expired or revoked token, a
	// signature that does not match); nothing else is then set.
	AuthenticationError *AuthenticationError `json:"AuthenticationError,omitempty"`
	// SigningKey is the hex SigV4 signing key of Scope
	// (date/region/service/aws4_request).
	SigningKey string `json:"SigningKey,omitempty" sensitive:"true"`
	Scope      string `json:"Scope,omitempty"`
	// Principal is the principal as Authorize describes it
	// (AuthenticatedBy unset).
	Principal *Principal `json:"Principal,omitempty"`
	// Match is the principal as policies' Principal elements match it.
	Match *PrincipalMatch `json:"Match,omitempty"`
	// Session is the session of a session token: what expiry, revocation
	// and the MFA age need.
	Session *SessionData `json:"Session,omitempty"`
	// Context holds the condition keys that depend on the principal only
	// (aws:PrincipalArn, aws:userid, aws:PrincipalTag/..., ...); the
	// verifier adds the request's (time, transport, source address, user
	// agent, region, MFA age).
	Context map[string]string `json:"Context,omitempty"`
	// Policies are the principal's policies, each a document to compile.
	Policies *PolicySet `json:"Policies,omitempty"`
	// Gone: the user or role behind the credentials no longer exists;
	// every decision is an implicit deny.
	Gone bool `json:"Gone,omitempty"`
	// OtherAccount: the credentials authenticated, but belong to another
	// account than the caller's; nothing else is set. A verifier learns
	// the policies, tags and signing keys of its own account's principals
	// only, and asks Authorize (which decides on the server) about the
	// others'.
	OtherAccount bool `json:"OtherAccount,omitempty"`
}

// PrincipalMatch is policy.Principal on the wire.
type PrincipalMatch struct {
	Type      string `json:"Type"`
	Account   string `json:"Account"`
	ARN       string `json:"Arn"`
	ID        string `json:"Id"`
	RoleARN   string `json:"RoleArn,omitempty"`
	RoleID    string `json:"RoleId,omitempty"`
	Federated string `json:"Federated,omitempty"`
}

// SessionData is what a verifier needs of a session. Times are RFC 3339.
type SessionData struct {
	AccessKeyID       string    `json:"AccessKeyId"`
	Account           string    `json:"Account"`
	ARN               string    `json:"Arn"`
	RoleID            string    `json:"RoleId,omitempty"`
	SourceAccessKeyID string    `json:"SourceAccessKeyId,omitempty"`
	IssuedAt          time.Time `json:"IssuedAt"`
	Expires           time.Time `json:"Expires"`
	MFA               bool      `json:"MFA,omitempty"`
	MFAAuthTime       time.Time `json:"MFAAuthTime,omitzero"`
	ChainKeys         []string  `json:"ChainKeys,omitempty"`
	ChainARNs         []string  `json:"ChainArns,omitempty"`
	// ChainIssued is when each of ChainKeys was issued (the zero time for a
	// long-term key), when the token says: revocations by time judge each
	// ancestor by its own.
	ChainIssued []time.Time `json:"ChainIssued,omitempty"`
}

// PolicySet is policy.Set on the wire. A nil slot (JSON null) and an empty
// one ([]) differ as in policy.Set: an empty Session slot denies
// everything.
type PolicySet struct {
	Identity        []PolicyDocument   `json:"Identity"`
	Boundary        []PolicyDocument   `json:"Boundary"`
	Session         []PolicyDocument   `json:"Session"`
	SessionRequired bool               `json:"SessionRequired,omitempty"`
	SCP             [][]PolicyDocument `json:"SCP"`
}

// PolicyDocument is one policy: its id (as matched statements name it),
// the kind to compile it as (policy.Kind's name) and its document.
type PolicyDocument struct {
	ID       string `json:"Id"`
	Kind     string `json:"Kind"`
	Document string `json:"Document"`
}

// principalTypes names policy.PrincipalType on the wire.
var principalTypes = map[policy.PrincipalType]string{policy.Root: "Root", policy.User: "User", policy.AssumedRole: "AssumedRole", policy.FederatedUser: "FederatedUser"}

// ParsePrincipalType is the inverse of the wire names of PrincipalMatch.Type.
func ParsePrincipalType(s string) (policy.PrincipalType, bool) {
	for t, name := range principalTypes {
		if name == s {
			return t, true
		}
	}
	return 0, false
}

// requestKeys are the condition keys FillContext sets from the request
// rather than the principal: a verifier sets them per request.
var requestKeys = map[string]bool{"aws:currenttime": true, "aws:epochtime": true, "aws:securetransport": true, "aws:viaawsservice": true,
	"aws:sourceip": true, "aws:useragent": true, "aws:requestedregion": true, "aws:multifactorauthage": true}

// GetVerificationData checks credentials a local verifier saw and returns
// what it needs to decide about them without a round trip; see
// VerificationAction.
func (s *Service) GetVerificationData(ctx context.Context, caller *authz.Caller, in *GetVerificationDataInput) (*GetVerificationDataOutput, error) {
	now := s.Now()
	if in.AccessKeyID == "" || len(in.AccessKeyID) > maxPrincipalIDBytes || len(in.SessionToken) > maxTokenBytes {
		return nil, invalid("AccessKeyId is required, and SessionToken must be at most %d bytes.", maxTokenBytes)
	}
	var scope scope
	keys := []authz.Key{}
	switch {
	case in.StringToSign != "":
		var err error
		if scope, err = parseStringToSign(in.StringToSign, in.Signature, now); err != nil {
			return nil, err
		}
		keys = append(keys, authz.Key{Name: "opensts:SigningService", Values: []string{scope.service}},
			authz.Key{Name: "opensts:SigningRegion", Values: []string{scope.region}})
	case in.Signature != "":
		return nil, invalid("Signature needs StringToSign.")
	case in.SessionToken == "":
		return nil, invalid("A long-term access key needs the StringToSign and Signature of a request signed with it.")
	}
	if err := s.Authz.Check(ctx, caller, VerificationAction, "*", keys...); err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
			return nil, apierr.New(apierr.JSONAccessDenied, "User: %s is not authorized to perform: %s", caller.ARN, VerificationAction)
		}
		return nil, apierr.OrInternal(err, "verification data: check the caller")
	}
	c, secret, err := s.Authn.Secret(ctx, in.AccessKeyID, in.SessionToken, now)
	if err != nil {
		if in.StringToSign != "" {
			// The work a known key costs, so that the answer's time does
			// not tell an unknown key from another account's.
			proofMatches(nil, &scope, in.StringToSign)
		}
		return refused(err)
	}
	out := &GetVerificationDataOutput{}
	if in.StringToSign != "" {
		key, ok := proofMatches(secret, &scope, in.StringToSign)
		clear(secret)
		if !ok {
			if c.Account != caller.Account {
				// Another account's credentials with no valid proof are
				// answered as unknown ones: the caller learns nothing of
				// which access keys or tokens exist in other accounts.
				return refused(unknownCredentials(in.AccessKeyID, in.SessionToken))
			}
			return refused(sigv4.SignatureMismatch())
		}
		out.SigningKey, out.Scope = hex.EncodeToString(key[:]), scope.date+"/"+scope.region+"/"+scope.service+"/aws4_request"
	}
	clear(secret)
	if c.Account != caller.Account {
		// Another account's principal: its policies, tags and a signing
		// key of its secret are that account's (the key would sign its
		// requests to another account's service of the same name). The
		// proof was checked first, so that this answer tells nothing to
		// whoever holds none.
		return &GetVerificationDataOutput{OtherAccount: true}, nil
	}
	if err := s.Authz.Resolve(ctx, c); err != nil {
		return nil, apierr.OrInternal(err, "verification data: resolve the principal")
	}
	out.Principal = Describe(c, "")
	out.Principal.AuthenticatedBy = ""
	p := c.Principal()
	out.Match = &PrincipalMatch{Type: principalTypes[p.Type], Account: p.Account, ARN: p.ARN, ID: p.ID, RoleARN: p.RoleARN, RoleID: p.RoleID, Federated: p.Federated}
	if sess := c.Session; sess != nil {
		out.Session = &SessionData{AccessKeyID: sess.AccessKeyID, Account: sess.Account, ARN: sess.ARN, RoleID: sess.RoleID,
			SourceAccessKeyID: sess.SourceAccessKeyID, IssuedAt: sess.IssuedAt, Expires: sess.Expires, MFA: sess.MFA, MFAAuthTime: sess.MFAAuthTime,
			ChainKeys: sess.ChainKeys, ChainARNs: sess.ChainARNs, ChainIssued: sess.ChainIssued}
	}
	if c.Gone {
		out.Gone = true
		return out, nil
	}
	var pctx policy.Context
	if err := s.Authz.FillContext(ctx, c, &pctx); err != nil {
		return nil, apierr.OrInternal(err, "verification data: principal context")
	}
	out.Context = make(map[string]string, pctx.Len())
	for _, k := range pctx.Keys() {
		if requestKeys[strings.ToLower(k)] {
			continue
		}
		vs, _ := pctx.Get(k)
		if len(vs) != 1 {
			return nil, apierr.Internal(errors.New("verification data: principal context key " + k + " is not single-valued"))
		}
		out.Context[k] = vs[0]
	}
	set, err := s.Authz.PolicySet(ctx, c)
	if err != nil {
		return nil, apierr.OrInternal(err, "verification data: load the principal's policies")
	}
	if out.Policies, err = wireSet(&set); err != nil {
		return nil, apierr.Internal(err)
	}
	return out, nil
}

// proofMatches derives the signing key of scope for secret and reports
// whether scope.signature signs stringToSign with it.
func proofMatches(secret []byte, scope *scope, stringToSign string) ([sha256.Size]byte, bool) {
	key := sigv4.SigningKey(secret, scope.date, scope.region, scope.service)
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(stringToSign))
	return key, hmac.Equal(mac.Sum(nil), scope.signature)
}

// unknownCredentials is what Authn.Secret answers for an access key id
// (and token) that does not exist.
func unknownCredentials(accessKeyID, token string) error {
	if strings.HasPrefix(accessKeyID, "ASIA") || token != "" {
		return authn.ErrInvalidToken
	}
	return authn.ErrUnknownAccessKey
}

// refused answers credentials that do not authenticate; other errors pass.
func refused(err error) (*GetVerificationDataOutput, error) {
	ae, ok := AuthenticationFailure(err, &AuthorizeInput{})
	if !ok {
		return nil, apierr.OrInternal(err, "verification data: authenticate the credentials")
	}
	return &GetVerificationDataOutput{AuthenticationError: ae}, nil
}

type scope struct {
	date, region, service string
	signature             []byte
}

// parseStringToSign reads the credential scope of a SigV4 string to sign:
//
//	AWS4-HMAC-SHA256 \n YYYYMMDDTHHMMSSZ \n date/region/service/aws4_request \n hex(SHA-256(canonical request))
func parseStringToSign(sts, signature string, now time.Time) (scope, error) {
	bad := func() (scope, error) {
		return scope{}, invalid("StringToSign must be a SigV4 string to sign and Signature its 64 hex digit signature.")
	}
	if len(sts) > maxStringToSign || len(signature) != 2*sha256.Size {
		return bad()
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return bad()
	}
	lines := strings.Split(sts, "\n")
	if len(lines) != 4 || lines[0] != sigv4.Algorithm || len(lines[3]) != 2*sha256.Size {
		return bad()
	}
	parts := strings.Split(lines[2], "/")
	if len(parts) != 4 || parts[3] != "aws4_request" || parts[1] == "" || parts[2] == "" || len(parts[1]) > maxServiceBytes || len(parts[2]) > maxServiceBytes {
		return bad()
	}
	day, err := time.Parse("20060102", parts[0])
	if err != nil || !strings.HasPrefix(lines[1], parts[0]) {
		return bad()
	}
	if day.After(now.Add(24*time.Hour)) || day.Before(now.Add(-maxScopeAge)) {
		return scope{}, invalid("The StringToSign's date is not one a request could be verified on now.")
	}
	if reservedServices[parts[2]] {
		return scope{}, invalid("No signing key is handed out for %s: OpenSTS answers that service itself.", parts[2])
	}
	return scope{date: parts[0], region: parts[1], service: parts[2], signature: sig}, nil
}

// wireDocs writes policies; every policy must carry its document.
func wireDocs(list []policy.Named) ([]PolicyDocument, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]PolicyDocument, len(list))
	for i, n := range list {
		if n.Doc == "" || n.Policy == nil {
			return nil, errors.New("verification data: policy " + n.ID + " has no document")
		}
		out[i] = PolicyDocument{ID: n.ID, Kind: n.Policy.Kind().String(), Document: n.Doc}
	}
	return out, nil
}

// wireLevels writes organization policy levels (SCPs, RCPs); nil stays nil.
func wireLevels(levels [][]policy.Named) ([][]PolicyDocument, error) {
	if levels == nil {
		return nil, nil
	}
	out := make([][]PolicyDocument, len(levels))
	for i, level := range levels {
		var err error
		if out[i], err = wireDocs(level); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wireSet writes a policy set; every policy must carry its document.
func wireSet(set *policy.Set) (*PolicySet, error) {
	w := &PolicySet{SessionRequired: set.SessionRequired}
	var err error
	if w.Identity, err = wireDocs(set.Identity); err != nil {
		return nil, err
	}
	if w.Boundary, err = wireDocs(set.Boundary); err != nil {
		return nil, err
	}
	if w.Session, err = wireDocs(set.Session); err != nil {
		return nil, err
	}
	if w.SCP, err = wireLevels(set.SCP); err != nil {
		return nil, err
	}
	return w, nil
}

// GetRevocationsInput names the version of the revocation set the
// verifier holds ("" for none).
type GetRevocationsInput struct {
	Version string `json:"Version"`
}

// GetRevocationsOutput is the revocation set, unless the verifier's
// version is current (Modified false, Entries empty). It also tells the
// verifier what it needs of the server: its region, the caller's account
// (the default resource account), the resource control policies that bound
// requests to that account's resources, and the server's time.
type GetRevocationsOutput struct {
	Version  string       `json:"Version"`
	Modified bool         `json:"Modified"`
	Entries  []Revocation `json:"Entries"`
	// Region is the region the server serves: requests signed for it or
	// for us-east-1 authenticate when Authorize is given no Region.
	Region        string    `json:"Region"`
	CallerAccount string    `json:"CallerAccount"`
	ServerTime    time.Time `json:"ServerTime"`
	// ResourceControlPolicies are the RCP levels of CallerAccount (the
	// root, each OU above the account top first, the account), sent
	// whole with every answer, so that a verifier holds them no longer
	// than the revocation set; null when none apply (see policy.Set.RCP).
	// A verifier asked about a resource of another account lets Authorize
	// decide.
	ResourceControlPolicies [][]PolicyDocument `json:"ResourceControlPolicies"`
}

// Revocation is session.Revocation on the wire. Times are RFC 3339 with
// nanoseconds.
type Revocation struct {
	ID           string    `json:"Id"`
	Account      string    `json:"Account"`
	Kind         string    `json:"Kind"`
	Target       string    `json:"Target"`
	RoleID       string    `json:"RoleId,omitempty"`
	OriginKeys   []string  `json:"OriginKeys,omitempty"`
	IssuedBefore time.Time `json:"IssuedBefore"`
	ExpiresAt    time.Time `json:"ExpiresAt"`
}

// GetRevocations returns the revocation set's entries of the caller's
// account when the set differs from the version the caller holds. The set is small (its entries leave 36 hours
// after the last session they match was issued, and each account may make
// MaxEntriesPerAccount), so a changed set is sent whole; an unchanged one
// costs a version string.
func (s *Service) GetRevocations(ctx context.Context, caller *authz.Caller, in *GetRevocationsInput) (*GetRevocationsOutput, error) {
	if len(in.Version) > 128 {
		return nil, invalid("Version is at most 128 characters.")
	}
	if err := s.Authz.Check(ctx, caller, VerificationAction, "*"); err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
			return nil, apierr.New(apierr.JSONAccessDenied, "User: %s is not authorized to perform: %s", caller.ARN, VerificationAction)
		}
		return nil, apierr.OrInternal(err, "revocations: check the caller")
	}
	_, all := s.Revocations.Snapshot()
	// The caller's account's entries only: a verifier decides locally
	// about its own account's sessions (GetVerificationData answers
	// OtherAccount for the others', which Authorize decides). The version
	// is theirs too: the set's own version changes with every account's
	// revocations, and would tell a verifier when another account revoked.
	entries := []Revocation{}
	for _, e := range all {
		if e.Account != caller.Account {
			continue
		}
		entries = append(entries, Revocation{ID: e.ID, Account: e.Account, Kind: e.Kind, Target: e.Target, RoleID: e.RoleID, OriginKeys: e.OriginKeys,
			IssuedBefore: e.IssuedBefore, ExpiresAt: e.ExpiresAt})
	}
	version := accountVersion(caller.Account, entries)
	out := &GetRevocationsOutput{Version: version, Modified: version != in.Version, Entries: []Revocation{}, Region: s.Region,
		CallerAccount: caller.Account, ServerTime: s.Now().UTC()}
	if out.Region == "" {
		out.Region = "us-east-1"
	}
	rcp, err := s.Authz.RCPLevels(ctx, caller.Account)
	if err != nil {
		return nil, apierr.OrInternal(err, "revocations: resource control policies")
	}
	if out.ResourceControlPolicies, err = wireLevels(rcp); err != nil {
		return nil, apierr.OrInternal(err, "revocations: resource control policies")
	}
	if out.Modified {
		out.Entries = entries
	}
	return out, nil
}

// accountVersion is the version of one account's revocation entries (as
// Snapshot sorts them, by ID): a digest of the account and its entries
// only, so that it changes when they do and never when another account's
// do, and every node holding the same set answers the same version.
func accountVersion(account string, entries []Revocation) string {
	h := sha256.New()
	b := binary.AppendUvarint(nil, uint64(len(account)))
	h.Write(append(b, account...))
	for _, e := range entries {
		b = session.AppendRevocationDigest(b[:0], e.ID, e.Account, e.Kind, e.Target, e.RoleID, e.OriginKeys, e.IssuedBefore, e.ExpiresAt)
		h.Write(b)
	}
	return "a" + hex.EncodeToString(h.Sum(nil)[:16])
}

// SessionRevocations is the inverse of GetRevocations' wire entries.
func SessionRevocations(entries []Revocation) []session.Revocation {
	out := make([]session.Revocation, len(entries))
	for i, e := range entries {
		out[i] = session.Revocation{ID: e.ID, Account: e.Account, Kind: e.Kind, Target: e.Target, RoleID: e.RoleID, OriginKeys: e.OriginKeys,
			IssuedBefore: e.IssuedBefore, ExpiresAt: e.ExpiresAt}
	}
	return out
}

// Package session mints and verifies stateless session credentials: the
// ASIA access key id, the secret access key and the session token returned by
// AssumeRole*, GetSessionToken and GetFederationToken. It also owns the token
// keyring (creation, rotation, revocation, persistence through
// store.SigningKeys) and the access key id format.
//
// # Token
//
// A session token carries the whole Session and is signed, not stored:
// issuing writes nothing to the database and any node verifies a token with no
// lookup. Before base64url (no padding) encoding, Mint issues format version
// 2:
//
//	0x02 | key id (8) | payload | audit path (32*depth) | position (1) | batch signature (64)
//
// Tokens are signed in groups (batch.go): the body "0x02 | key id | payload"
// is a leaf of a Merkle tree (RFC 6962 hashing, leaf = SHA-256(0x00 ||
// body), node = SHA-256(0x01 || left || right)) over up to 64 tokens minted
// at the same time, and the Ed25519 signature covers
// "opensts/session-batch/v1\x00" || key id || root. The audit path and
// position byte (1<<depth | one direction bit per level) let a verifier
// recompute the root; a token signed alone (any idle node) has depth 0, and
// only tokens minted under load carry a path. Verifiers remember verified
// roots, so the tokens of one batch cost one Ed25519 verification in all.
//
// Version 1, issued before, still verifies:
//
//	0x01 | key id (8) | payload | Ed25519 signature (64) over everything before it
//
// The payload is a compact binary encoding of Session (fixed field order,
// uvarint-length-prefixed strings, uvarint times relative to IssuedAt); it
// includes the access key id, which binds the token to it. The URL-safe
// alphabet keeps tokens intact in presigned URLs and form bodies, where '+' is
// easily turned into a space. A typical assumed-role token (no tags, no
// policy) is about 400 characters signed alone, and 440 to 650 in a batch
// (43 characters per level of the tree, 6 levels for a full batch of 64).
// Callers must treat tokens as opaque: the format is versioned by its first
// byte and will change.
//
// The token is authenticated but not encrypted: someone holding it can read
// the session context (account, role, session name, tags, session policy).
// That is the same information its holder can already obtain from
// GetCallerIdentity and its own request; what matters, the secret access key,
// is not in the token.
//
// # Secret access key
//
// The secret is never in the token. It is computed by whoever holds the
// keyring key's secret derivation key D (32 random bytes per keyring key):
//
//	secret = base64std( HMAC-SHA256(D, "opensts/session-secret/v1\x00" || signed bytes)[:30] )
//
// where "signed bytes" are the version, key id and payload (which contain the
// access key id): in version 2, the token body, i.e. the Merkle leaf. So the secret is bound to the access key id and to every
// field of the session, differs for every token, and cannot be recovered from
// the token without D.
//
// # Who can do what
//
// Minting needs the Ed25519 private key; verifying needs the public key and D.
// A Verifier (the public verifier package for resource servers) gets only
// public keys and derivation keys (PublicKeyring): it cannot create a token
// that any OpenSTS node or other verifier accepts. It can, however, compute
// the secret of any token presented to it: SigV4 is a symmetric scheme, so
// anyone who checks a SigV4 signature must know the signing secret. A
// compromised resource server can therefore replay the sessions it has seen
// (as it could with AWS's own credentials sent to it), but it cannot mint
// sessions, change a session's principal, tags, policy or expiry, or extend
// it. Resource servers that must not hold D use the remote authorize API.
//
// # Keyring
//
// Each keyring key has an id, an Ed25519 key pair and a derivation key, all
// persisted through store.SigningKeys; the Ed25519 seed and D are sealed
// together with seal.Sealer (aad = key id), so the store holds no plaintext key
// material and temporary credentials survive restarts. Tokens are signed with
// the newest usable key; every key verifies until VerifyUntil, which is at
// least SignUntil + MaxLifetime + a one hour margin for nodes that learn of a
// rotation late. A new key is published for Config.Propagation before it
// signs, so every node has loaded it before it sees a token signed with it.
// Revoke stops a key verifying at once on this node and, after their next
// Refresh, on every other node.
//
// It imports internal/store, internal/seal and internal/cache, and otherwise
// only the standard library.
package session

import (
	"errors"
	"strconv"
	"time"
	"unsafe"
)

// Type is the kind of session.
type Type uint8

// Session types.
const (
	AssumedRole   Type = iota + 1 // AssumeRole
	FederatedUser                 // GetFederationToken
	SessionToken                  // GetSessionToken of a user or root
	WebIdentity                   // AssumeRoleWithWebIdentity
	SAML                          // AssumeRoleWithSAML
	LDAP                          // AssumeRoleWithLDAPIdentity (an OpenSTS extension)
)

func (t Type) valid() bool { return t >= AssumedRole && t <= LDAP }

func (t Type) String() string {
	switch t {
	case AssumedRole:
		return "AssumedRole"
	case FederatedUser:
		return "FederatedUser"
	case SessionToken:
		return "SessionToken"
	case WebIdentity:
		return "WebIdentity"
	case SAML:
		return "SAML"
	case LDAP:
		return "LDAP"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Tag is a session (principal) tag. Keys are case-preserving.
type Tag struct{ Key, Value string }

// Session is everything a token carries. Times have second precision and are
// in UTC once minted or verified.
type Session struct {
	Type        Type
	AccessKeyID string // ASIA...; set by Mint
	Account     string // account of the session principal
	// ARN of the session principal: arn:aws:sts::ACCT:assumed-role/Role/sess,
	// ...:federated-user/name, or the user/root ARN for SessionToken.
	ARN         string
	PrincipalID string // AROA...:sess, ACCT:name, AIDA... or ACCT for root
	UserName    string // SessionToken/FederatedUser: the long-term user's name ("" for root)
	UserID      string // AIDA... of that user, or the account id for root
	RoleName    string
	RoleID      string
	RolePath    string
	SessionName string
	IssuedAt    time.Time
	Expires     time.Time // the session is valid while now < Expires
	MFA         bool
	MFAAuthTime time.Time // zero without MFA

	SourceIdentity    string
	Tags              []Tag // principal (session) tags
	TransitiveTagKeys []string
	Policy            string // inline session policy (JSON)
	PolicyARNs        []string
	ChainDepth        int // 0 for sessions from long-term credentials

	FederatedSubject  string // web identity / SAML
	FederatedProvider string

	SourceAccessKeyID string // long-term key that started the chain, for audit

	// ChainKeys and ChainARNs are the sessions this one was chained from
	// (role chaining), their access key ids and ARNs, oldest first: a
	// revocation of any of them revokes this one too.
	ChainKeys []string
	ChainARNs []string
	// ChainIssued, when set, holds when each of them was issued (zero for
	// the long-term key that started a chain): a revocation of sessions
	// issued before some time reaches what was chained from an ancestor
	// issued before it, whenever the descendant was issued. Tokens of
	// versions before it have none (their ancestors are then judged by
	// this session's issue time).
	ChainIssued []time.Time
}

// Credentials are the temporary credentials returned to the caller.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time // UTC, whole seconds
}

// Errors returned by Verify. Callers map ErrInvalid to InvalidClientTokenId
// and ErrExpired to ExpiredToken.
var (
	ErrInvalid = errors.New("session: invalid token")
	ErrExpired = errors.New("session: token expired")
)

// KeyInfo describes one keyring key, without secrets (for `opensts keys list`).
type KeyInfo struct {
	ID          string
	Algorithm   string
	CreatedAt   time.Time
	SignUntil   time.Time
	VerifyUntil time.Time
	Revoked     bool
	// Signing is true for the key this node currently signs new tokens with.
	Signing bool
}

// VerifierKey is what a verifier needs of one keyring key: the Ed25519 public
// key, the secret derivation key and the token-encryption key. Derive is
// secret: whoever holds it can compute the secret access key of any token
// signed by this key. Decrypt is secret too: whoever holds it can read every
// session token of this key; without it, the key's version 3 tokens (every
// token minted since tokens were sealed) do not verify. A key created before
// keys had an encryption key of their own (or in TokenVersion 2 mode) has
// one derived from Derive: whoever holds Derive can read its tokens.
type VerifierKey struct {
	ID          string
	Public      []byte
	Derive      []byte
	Decrypt     []byte
	VerifyUntil time.Time
	Revoked     bool
}

// size estimates the memory s retains: the struct and its strings and
// slices.
func (s *Session) size() int {
	if s == nil {
		return 0
	}
	n := obj(int(unsafe.Sizeof(*s)))
	for _, v := range []string{s.AccessKeyID, s.Account, s.ARN, s.PrincipalID, s.UserName, s.UserID, s.RoleName, s.RoleID,
		s.RolePath, s.SessionName, s.SourceIdentity, s.Policy, s.FederatedSubject, s.FederatedProvider, s.SourceAccessKeyID} {
		n += obj(len(v))
	}
	n += obj(cap(s.Tags) * int(unsafe.Sizeof(Tag{})))
	for _, t := range s.Tags {
		n += obj(len(t.Key)) + obj(len(t.Value))
	}
	for _, l := range [][]string{s.TransitiveTagKeys, s.PolicyARNs} {
		n += obj(cap(l) * int(unsafe.Sizeof("")))
		for _, v := range l {
			n += obj(len(v))
		}
	}
	return n
}

// ChainIssuedAfter is the ChainIssued of a session chained from prev:
// when prev's ancestors were issued (zero where prev's token did not say),
// then when prev was.
func ChainIssuedAfter(prev *Session) []time.Time {
	out := make([]time.Time, len(prev.ChainKeys), len(prev.ChainKeys)+1)
	copy(out, prev.ChainIssued)
	return append(out, prev.IssuedAt)
}

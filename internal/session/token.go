package session

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/bits"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	tokenV1     = 0x01
	kidSize     = 8
	sigSize     = ed25519.SignatureSize
	tokenHeader = 1 + kidSize

	// tokenV3 is tokenV2 with the payload sealed (see splitToken).
	tokenV3      = 0x03
	nonceSize    = chacha20poly1305.NonceSizeX
	tagSize      = chacha20poly1305.Overhead
	sealedHeader = tokenHeader + nonceSize
	// A sealed payload is padded to a multiple of padBlock bytes, and to at
	// least minSealed, so that a token's length tells its holder neither
	// which action issued it nor the length of a name, tag or policy
	// within padBlock bytes.
	padBlock  = 64
	minSealed = 256

	// maxTokenChars bounds the encoded token accepted by Verify. The largest
	// legitimate session (50 tags of 128+256 bytes, a 2048-byte policy, ten
	// policy ARNs of 2048 bytes) stays well under it.
	maxTokenChars = 96 << 10

	flagMFA         = 1 << 0
	flagMFAAuthTime = 1 << 1
	// flagChain: the payload ends with the ancestor sessions' access key
	// ids and ARNs (revocation of a session cuts off what was chained from
	// it). Tokens without it, from earlier versions, have no ancestors.
	flagChain = 1 << 2
	// flagChainIssued: after the chain, when each ancestor was issued, as
	// one more than the seconds before this session (0: none, the
	// long-term key that started the chain; with flagChain only).
	flagChainIssued = 1 << 3
	knownFlags      = flagMFA | flagMFAAuthTime | flagChain | flagChainIssued

	// maxUnix is 9999-12-31T23:59:59Z; times beyond it are rejected.
	maxUnix        = 253402300799
	maxChainDepth  = 1 << 16
	maxListEntries = 1 << 12
)

// tokenEncoding is base64url without padding; Strict rejects non-zero
// trailing bits, so a token has exactly one spelling.
var tokenEncoding = base64.RawURLEncoding.Strict()

type keyID [kidSize]byte

var errEncode = errors.New("session: cannot encode session")

// appendPayload appends the version 1 payload encoding of s to b. s.IssuedAt
// and s.Expires must be whole seconds.
func appendPayload(b []byte, s *Session) ([]byte, error) {
	return appendPayloadID(b, s, nil)
}

// appendPayloadID is appendPayload with the access key id taken from id
// instead of s.AccessKeyID if id is not nil (Mint, which saves converting
// it to a string).
func appendPayloadID(b []byte, s *Session, id []byte) ([]byte, error) {
	iss := s.IssuedAt.Unix()
	exp := s.Expires.Unix()
	if !s.Type.valid() || iss <= 0 || iss > maxUnix || exp <= iss || exp > maxUnix ||
		s.ChainDepth < 0 || s.ChainDepth > maxChainDepth ||
		len(s.Tags) > maxListEntries || len(s.TransitiveTagKeys) > maxListEntries || len(s.PolicyARNs) > maxListEntries ||
		len(s.ChainKeys) != len(s.ChainARNs) || len(s.ChainKeys) > maxListEntries ||
		s.ChainIssued != nil && len(s.ChainIssued) != len(s.ChainKeys) {
		return b, errEncode
	}
	var flags byte
	if s.MFA {
		flags |= flagMFA
	}
	if !s.MFAAuthTime.IsZero() {
		if t := s.MFAAuthTime.Unix(); t <= 0 || t > maxUnix {
			return b, errEncode
		}
		flags |= flagMFAAuthTime
	}
	if len(s.ChainKeys) > 0 {
		flags |= flagChain
		if s.ChainIssued != nil {
			flags |= flagChainIssued
		}
	}
	b = append(b, byte(s.Type), flags)
	if id != nil {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	} else {
		b = appendString(b, s.AccessKeyID)
	}
	b = appendString(b, s.Account)
	b = appendString(b, s.ARN)
	b = appendString(b, s.PrincipalID)
	b = appendString(b, s.UserName)
	b = appendString(b, s.UserID)
	b = appendString(b, s.RoleName)
	b = appendString(b, s.RoleID)
	b = appendString(b, s.RolePath)
	b = appendString(b, s.SessionName)
	b = binary.AppendUvarint(b, uint64(iss))
	b = binary.AppendUvarint(b, uint64(exp-iss))
	if flags&flagMFAAuthTime != 0 {
		// Usually a little before IssuedAt; zig-zag keeps it short either way.
		b = binary.AppendVarint(b, iss-s.MFAAuthTime.Unix())
	}
	b = appendString(b, s.SourceIdentity)
	b = binary.AppendUvarint(b, uint64(len(s.Tags)))
	for _, t := range s.Tags {
		b = appendString(b, t.Key)
		b = appendString(b, t.Value)
	}
	b = appendStrings(b, s.TransitiveTagKeys)
	b = appendString(b, s.Policy)
	b = appendStrings(b, s.PolicyARNs)
	b = binary.AppendUvarint(b, uint64(s.ChainDepth))
	b = appendString(b, s.FederatedSubject)
	b = appendString(b, s.FederatedProvider)
	b = appendString(b, s.SourceAccessKeyID)
	if flags&flagChain != 0 {
		b = appendStrings(b, s.ChainKeys)
		b = appendStrings(b, s.ChainARNs)
	}
	if flags&flagChainIssued != 0 {
		for _, t := range s.ChainIssued {
			// An ancestor was issued before its descendant: written as
			// one more than the seconds before this session, so that 0
			// stays the zero time (a long-term key, which has none).
			d := int64(0)
			if !t.IsZero() {
				if d = iss - t.Unix(); d < 0 || d >= iss {
					return b, errEncode
				}
				d++
			}
			b = binary.AppendUvarint(b, uint64(d))
		}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// appendPadding pads a payload of n bytes (the last n of b) as ISO/IEC
// 7816-4 does: a 0x80 byte, then zeros up to the padded size (see padBlock).
func appendPadding(b []byte, n int) []byte {
	size := max(minSealed, (n+1+padBlock-1)/padBlock*padBlock)
	b = append(b, 0x80)
	for range size - n - 1 {
		b = append(b, 0)
	}
	return b
}

// trimPadding removes appendPadding's padding, or reports false if p does
// not end in it.
func trimPadding(p []byte) ([]byte, bool) {
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 || p[i] != 0x80 {
		return nil, false
	}
	return p[:i], true
}

// payloadSize estimates the encoded payload size of s, to size buffers.
func payloadSize(s *Session) int {
	n := 64 + len(s.AccessKeyID) + len(s.Account) + len(s.ARN) + len(s.PrincipalID) +
		len(s.UserName) + len(s.UserID) + len(s.RoleName) + len(s.RoleID) + len(s.RolePath) +
		len(s.SessionName) + len(s.SourceIdentity) + len(s.Policy) + len(s.FederatedSubject) +
		len(s.FederatedProvider) + len(s.SourceAccessKeyID)
	for i := range s.ChainKeys {
		n += len(s.ChainKeys[i]) + len(s.ChainARNs[i]) + 9 // lengths, and its issue time
	}
	for _, t := range s.Tags {
		n += len(t.Key) + len(t.Value) + 4
	}
	for _, k := range s.TransitiveTagKeys {
		n += len(k) + 2
	}
	for _, a := range s.PolicyARNs {
		n += len(a) + 2
	}
	return n
}

// envelope is a structurally valid, not yet authenticated, token.
type envelope struct {
	version byte
	kid     keyID
	signed  []byte // version, key id and payload: v1's signed message, v2's and v3's Merkle leaf
	payload []byte // v3: nonce and sealed payload
	pos     byte   // v2, v3: position byte, 1<<(len(path)/32) | directions
	path    []byte // v2, v3: audit path, len(path)/32 sibling hashes from the leaf up
	sig     []byte
}

// decodeToken base64-decodes a token and splits it. It never panics.
func decodeToken(token string) (envelope, bool) {
	if len(token) > maxTokenChars || len(token) < tokenEncoding.EncodedLen(tokenHeader+sigSize+1) {
		return envelope{}, false
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return envelope{}, false
	}
	return splitToken(raw)
}

// splitToken splits a version 1, 2 or 3 token:
//
//	v1: 0x01 | key id (8) | payload | signature (64)
//	v2: 0x02 | key id (8) | payload | path (32*depth) | pos (1) | signature (64)
//	v3: 0x03 | key id (8) | nonce (24) | sealed payload | path (32*depth) | pos (1) | signature (64)
//
// where pos = 1<<depth | directions, depth <= maxPathDepth. Version 3 seals
// the payload with XChaCha20-Poly1305 under the key's token-encryption key,
// the version and key id as additional data, and is signed like version 2,
// over the ciphertext: only the version, the key id, the random nonce and
// the batch proof are readable without the encryption key.
func splitToken(raw []byte) (envelope, bool) {
	if len(raw) < tokenHeader+sigSize+1 {
		return envelope{}, false
	}
	e := envelope{version: raw[0]}
	copy(e.kid[:], raw[1:tokenHeader])
	n := len(raw) - sigSize
	e.sig = raw[n:]
	switch e.version {
	case tokenV1:
	case tokenV2, tokenV3:
		if n < tokenHeader+2 {
			return envelope{}, false
		}
		n--
		e.pos = raw[n]
		depth := bits.Len8(e.pos) - 1
		if depth < 0 || depth > maxPathDepth || n-depth*hashSize < tokenHeader+1 {
			return envelope{}, false
		}
		e.path = raw[n-depth*hashSize : n : n]
		n -= depth * hashSize
	default:
		return envelope{}, false
	}
	if e.version == tokenV3 && n < sealedHeader+tagSize+1 {
		return envelope{}, false
	}
	e.signed = raw[:n:n]
	e.payload = raw[tokenHeader:n:n]
	return e, true
}

// parsePayload decodes a version 1 payload. It never panics, allocates in
// proportion to len(p) only, and rejects trailing bytes, unknown flags and
// out-of-range values. All strings share one copy of p.
func parsePayload(p []byte) (*Session, bool) {
	d := decoder{b: p, s: string(p)}
	s := new(Session)
	s.Type = Type(d.byte())
	flags := d.byte()
	if !s.Type.valid() || flags&^knownFlags != 0 {
		return nil, false
	}
	s.MFA = flags&flagMFA != 0
	s.AccessKeyID = d.string()
	s.Account = d.string()
	s.ARN = d.string()
	s.PrincipalID = d.string()
	s.UserName = d.string()
	s.UserID = d.string()
	s.RoleName = d.string()
	s.RoleID = d.string()
	s.RolePath = d.string()
	s.SessionName = d.string()
	iss := d.uvarint()
	life := d.uvarint()
	if d.bad || iss == 0 || iss > maxUnix || life == 0 || life > maxUnix-iss {
		return nil, false
	}
	s.IssuedAt = time.Unix(int64(iss), 0).UTC()
	s.Expires = time.Unix(int64(iss+life), 0).UTC()
	if flags&flagMFAAuthTime != 0 {
		delta := d.varint()
		if delta > int64(iss) || delta < int64(iss)-maxUnix {
			return nil, false
		}
		at := int64(iss) - delta
		if at <= 0 {
			return nil, false
		}
		s.MFAAuthTime = time.Unix(at, 0).UTC()
	}
	s.SourceIdentity = d.string()
	if n := d.count(2); n > 0 {
		s.Tags = make([]Tag, n)
		for i := range s.Tags {
			s.Tags[i] = Tag{Key: d.string(), Value: d.string()}
		}
	}
	s.TransitiveTagKeys = d.strings()
	s.Policy = d.string()
	s.PolicyARNs = d.strings()
	depth := d.uvarint()
	if depth > maxChainDepth {
		return nil, false
	}
	s.ChainDepth = int(depth)
	s.FederatedSubject = d.string()
	s.FederatedProvider = d.string()
	s.SourceAccessKeyID = d.string()
	if flags&flagChain != 0 {
		s.ChainKeys = d.strings()
		s.ChainARNs = d.strings()
		if len(s.ChainKeys) == 0 || len(s.ChainKeys) != len(s.ChainARNs) {
			return nil, false
		}
	}
	if flags&flagChainIssued != 0 {
		if flags&flagChain == 0 {
			return nil, false
		}
		s.ChainIssued = make([]time.Time, len(s.ChainKeys))
		for i := range s.ChainIssued {
			delta := d.uvarint()
			if delta == 0 {
				continue // the zero time: a long-term key
			}
			if delta > iss {
				return nil, false
			}
			s.ChainIssued[i] = time.Unix(int64(iss-delta+1), 0).UTC()
		}
	}
	if d.bad || d.off != len(p) {
		return nil, false
	}
	return s, true
}

// decoder reads from b; string fields are sliced from s, a string copy of b.
// After the first error bad is set and every read returns a zero value.
type decoder struct {
	b   []byte
	s   string
	off int
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || d.off >= len(d.b) {
		d.bad = true
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)-d.off) {
		d.bad = true
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// count reads a list length whose elements take at least min bytes each, so
// that a hostile length cannot make the caller allocate more than len(b).
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.bad || n > maxListEntries || n*uint64(min) > uint64(len(d.b)-d.off) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *decoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

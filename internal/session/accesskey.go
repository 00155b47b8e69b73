package session

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"sync"
)

// Access key ids are 4-letter prefix + 16 characters of the RFC 4648 base32
// alphabet (A-Z2-7), i.e. 80 bits, laid out the way AWS lays out its own
// AKIA/ASIA ids so that the account can be recovered without a lookup (which
// is how GetAccessKeyInfo answers statelessly):
//
//	bit 79       1 (marks an id that carries an account; ids with this bit
//	             clear carry none, like AWS's pre-2019 ids)
//	bits 78..39  the 12-digit account number as a 40-bit integer
//	bits 38..0   random
//
// Equivalently: base32-decode the 16 characters into 10 bytes; the account is
// (big-endian uint48 of bytes 0..5 & 0x7fffffffff80) >> 7. This is the decoding
// published for AWS ids, so tools written for AWS give the same answer.
//
// Only 39 bits are random, so ids are not globally unique at high volume (the
// birthday bound inside one account is around 2^19.5 ids). As in AWS, an ASIA
// id is unique only together with its session token: nothing in this package
// relies on id uniqueness (secrets are derived from the whole signed token),
// and a collision can only make revocation by access key id revoke more than
// one session, which fails closed.

var keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

const (
	accessKeyIDLen = 20
	maxAccount     = 999_999_999_999
	accountFlag    = uint64(1) << 47
	accountShift   = 7
	accountMask    = uint64(0x7fffffffff80)
)

// NewAccessKeyID returns a 20-character access key id with the given 4-letter
// prefix ("AKIA" for long-term keys, "ASIA" for session keys) that embeds the
// 12-digit account id (see AccountForAccessKeyID). random nil means
// crypto/rand.
func NewAccessKeyID(prefix, account string, random io.Reader) (string, error) {
	if len(prefix) != 4 || !isUpper(prefix) {
		return "", fmt.Errorf("new access key id: invalid prefix %q", prefix)
	}
	acct, ok := parseAccount(account)
	if !ok {
		return "", fmt.Errorf("new access key id: invalid account %q", account)
	}
	var r [idRandSize]byte
	if random == nil {
		random = rand.Reader
	}
	if _, err := io.ReadFull(random, r[:]); err != nil {
		return "", fmt.Errorf("new access key id: read random: %w", err)
	}
	var out [accessKeyIDLen]byte
	encodeAccessKeyID(&out, prefix, acct, &r)
	return string(out[:]), nil
}

// idRandSize is the number of random bytes an access key id is made from.
const idRandSize = 5

// encodeAccessKeyID writes the access key id with the given prefix (4
// uppercase letters), account (at most maxAccount) and 39 random bits (the
// low 7 of r[0], and r[1:5]) to out.
func encodeAccessKeyID(out *[accessKeyIDLen]byte, prefix string, acct uint64, r *[idRandSize]byte) {
	var b [16]byte // 10 used; the slack is for the Uint64 store
	hi := accountFlag | acct<<accountShift | uint64(r[0]&0x7f)
	binary.BigEndian.PutUint64(b[0:8], hi<<16) // top 48 bits
	copy(b[6:10], r[1:5])
	copy(out[:4], prefix)
	keyIDEncoding.Encode(out[4:], b[:10])
}

// idRands are ChaCha8 generators seeded from crypto/rand, for the random
// bits of session access key ids when Config.Rand is crypto/rand. A
// sync.Pool keeps about one per P, so Mints do not contend; a generator
// dropped by the GC is simply replaced by a freshly seeded one.
//
// Security: an access key id is not a secret. It travels in the clear in
// every SigV4 request, and nothing relies on it for authentication: the
// secret access key is derived from the whole signed token (see
// keyring.go), and the token binds the id. What the random bits should be
// is unpredictable, so that nobody can guess the id of another caller's
// session, and spread, so that ids rarely collide; ChaCha8 (math/rand/v2,
// the generator the Go runtime itself uses) is a cryptographically strong
// generator with fast key erasure, so its output seeded with 256 bits from
// the operating system is computationally indistinguishable from crypto/rand
// output and earlier outputs cannot be recovered from its state. What it
// saves is one getrandom call per Mint (about 30 ns with the vDSO of Linux
// 6.11 and later, a system call of 0.3 to 1 µs before).
var idRands = sync.Pool{New: func() any {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic(err) // crypto/rand.Read never fails (Go 1.24+)
	}
	return mathrand.NewChaCha8(seed)
}}

// fastRandom fills b from a pooled ChaCha8 generator (see idRands).
func fastRandom(b []byte) {
	g := idRands.Get().(*mathrand.ChaCha8)
	_, _ = g.Read(b) // ChaCha8.Read never fails
	idRands.Put(g)
}

// AccountForAccessKeyID returns the 12-digit account embedded in an AKIA or
// ASIA access key id created by NewAccessKeyID (or by AWS since 2019). It
// reports false for other prefixes, malformed ids and ids that carry no
// account. It does not say whether the key exists.
func AccountForAccessKeyID(id string) (string, bool) {
	if len(id) != accessKeyIDLen || (id[:4] != "AKIA" && id[:4] != "ASIA") {
		return "", false
	}
	var b [10]byte
	n, err := keyIDEncoding.Decode(b[:], []byte(id[4:]))
	if err != nil || n != 10 {
		return "", false
	}
	var w [8]byte
	copy(w[2:], b[:6])
	v := binary.BigEndian.Uint64(w[:])
	if v&accountFlag == 0 {
		return "", false
	}
	acct := (v & accountMask) >> accountShift
	if acct > maxAccount {
		return "", false
	}
	return fmt.Sprintf("%012d", acct), true
}

// NewSecretAccessKey returns a 40-character secret access key in the standard
// base64 alphabet (240 random bits), for long-term keys. random nil means
// crypto/rand.
func NewSecretAccessKey(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [30]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("new secret access key: read random: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func parseAccount(s string) (uint64, bool) {
	if len(s) != 12 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

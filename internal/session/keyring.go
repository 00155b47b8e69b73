package session

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"sort"
	"sync"
	"time"
)

const (
	algEd25519 = "Ed25519"
	deriveSize = 32
	seedSize   = ed25519.SeedSize
	// secretLabel domain-separates the secret derivation HMAC.
	secretLabel = "opensts/session-secret/v1\x00"
	secretBytes = 30 // 40 base64 characters
)

// ringKey is one keyring key as loaded in memory. It is immutable once built;
// a change to the stored record builds a new ringKey, which is what the verify
// cache relies on to notice revocations.
type ringKey struct {
	id          keyID
	idStr       string
	pub         ed25519.PublicKey
	priv        ed25519.PrivateKey // nil in a Verifier and for revoked keys
	derive      []byte
	created     time.Time
	signUntil   time.Time
	verifyUntil time.Time
	revoked     bool

	macs  sync.Pool // of *macState: HMAC-SHA256 keyed with derive
	batch batcher   // group signer (keys with priv only)
}

func newRingKey(id keyID, pub ed25519.PublicKey, priv ed25519.PrivateKey, derive []byte) *ringKey {
	k := &ringKey{id: id, idStr: hex.EncodeToString(id[:]), pub: pub, priv: priv, derive: derive}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.derive)} }
	return k
}

// secret derives the secret access key of a token from its signed bytes.
func (k *ringKey) secret(signed []byte) []byte {
	var out [secretChars]byte
	k.deriveSecret(&out, signed)
	return out[:]
}

var secretLabelBytes = []byte(secretLabel)

// secretChars is the length of a secret access key.
const secretChars = 40

// macState is a pooled HMAC-SHA256 keyed with a ringKey's derivation key,
// with room for its output so that hashing through the hash.Hash interface
// does not allocate.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// deriveSecret writes the secret access key of a token with the given
// signed bytes to out.
func (k *ringKey) deriveSecret(out *[secretChars]byte, signed []byte) {
	mac := k.macs.Get().(*macState)
	mac.h.Reset()
	mac.h.Write(secretLabelBytes)
	mac.h.Write(signed)
	mac.h.Sum(mac.sum[:0])
	base64.StdEncoding.Encode(out[:], mac.sum[:secretBytes])
	clear(mac.sum[:])
	k.macs.Put(mac)
}

// keyring is an immutable snapshot of the keys a node knows.
type keyring struct {
	byID map[keyID]*ringKey
	keys []*ringKey // newest first
}

func newKeyring(keys []*ringKey) *keyring {
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].created.Equal(keys[j].created) {
			return keys[i].created.After(keys[j].created)
		}
		return keys[i].idStr > keys[j].idStr
	})
	r := &keyring{byID: make(map[keyID]*ringKey, len(keys)), keys: keys}
	for _, k := range keys {
		r.byID[k.id] = k
	}
	return r
}

// canSign reports whether k may sign a token at now.
func (k *ringKey) canSign(now time.Time) bool {
	return k.priv != nil && !k.revoked && now.Before(k.signUntil)
}

// signer returns the key to sign with at now: the newest key that may sign and
// has been published for at least propagation, or, if there is none (first
// key, or every older key revoked), the newest key that may sign at all.
func (r *keyring) signer(now time.Time, propagation time.Duration) *ringKey {
	var fallback *ringKey
	for _, k := range r.keys {
		if !k.canSign(now) {
			continue
		}
		if !now.Before(k.created.Add(propagation)) {
			return k
		}
		if fallback == nil {
			fallback = k
		}
	}
	return fallback
}

func parseKeyID(s string) (keyID, bool) {
	var id keyID
	if len(s) != 2*kidSize {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, false
	}
	// Only the lowercase spelling is canonical.
	if hex.EncodeToString(id[:]) != s {
		return id, false
	}
	return id, true
}

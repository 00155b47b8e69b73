package session

import (
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"sort"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	algEd25519 = "Ed25519"
	deriveSize = 32
	seedSize   = ed25519.SeedSize
	// encryptSize is the size of a token-encryption key (XChaCha20-Poly1305).
	encryptSize = chacha20poly1305.KeySize
	// legacyEncryptInfo derives the token-encryption key of a key created
	// before keys had one of their own (see encryptionKey).
	legacyEncryptInfo = "opensts/session-token-encryption/v1"
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
	encrypt     []byte      // token-encryption key; nil for revoked keys
	box         cipher.AEAD // XChaCha20-Poly1305 keyed with encrypt; nil without it
	created     time.Time
	signUntil   time.Time
	verifyUntil time.Time
	revoked     bool

	macs  sync.Pool // of *macState: HMAC-SHA256 keyed with derive
	batch batcher   // group signer (keys with priv only)
}

// newRingKey builds a key. encrypt, the token-encryption key, may be nil
// (revoked keys, and verifiers given no decryption key): such a key still
// verifies version 1 and 2 tokens but rejects every version 3 token.
func newRingKey(id keyID, pub ed25519.PublicKey, priv ed25519.PrivateKey, derive, encrypt []byte) *ringKey {
	k := &ringKey{id: id, idStr: hex.EncodeToString(id[:]), pub: pub, priv: priv, derive: derive}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.derive)} }
	if len(encrypt) == encryptSize {
		k.encrypt = encrypt
		k.box, _ = chacha20poly1305.NewX(encrypt) // never fails for a 32-byte key
	}
	return k
}

// legacyEncryptionKey derives a token-encryption key from the derivation key
// of a key record created before records carried one (HKDF-SHA256, its own
// label), so that every loaded key can mint version 3 tokens. Such keys stop
// signing within 2*RotateEvery of the upgrade.
func legacyEncryptionKey(derive []byte) []byte {
	k, err := hkdf.Key(sha256.New, derive, nil, legacyEncryptInfo, encryptSize)
	if err != nil {
		panic(err) // only for lengths beyond 255*32 bytes
	}
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

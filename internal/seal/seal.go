// Package seal encrypts small secrets at rest (secret access keys, MFA seeds,
// keyring private keys) under the deployment's 32-byte master key, and derives
// purpose-bound subkeys from it.
//
// The master key itself is never used directly as a cipher key: every use gets
// its own HKDF-SHA256 subkey (RFC 5869) with a distinct info label, so sealing,
// the key fingerprint and each Derive purpose are cryptographically separate.
//
// Sealed format, version 1 (33 bytes of overhead):
//
//	0x01 | key id (4) | nonce (12) | AES-256-GCM ciphertext and 16-byte tag
//
// The key id is a fingerprint of the master key (HKDF output, reveals nothing
// about the key); it lets a future Sealer holding several master keys pick the
// right one during a master-key rotation, and lets Open fail fast on data sealed
// under another key. The version and key id are authenticated together with the
// caller's aad. Nonces are random; at 2^32 seals per master key the GCM
// collision bound would call for a new key, which is far beyond the number of
// secrets a deployment stores.
//
// It imports only the standard library.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// ErrOpen is returned by Open for every failure: truncated or tampered input,
// unknown version, wrong aad, wrong master key. It deliberately does not say
// which.
var ErrOpen = errors.New("seal: cannot open sealed value")

const (
	version1   = 0x01
	keyIDSize  = 4
	nonceSize  = 12
	tagSize    = 16
	headerSize = 1 + keyIDSize
	overhead   = headerSize + nonceSize + tagSize

	// KeySize is the required master key length in bytes.
	KeySize = 32
)

// HKDF info labels. Derive labels are prefixed so that no purpose string can
// collide with the internal labels.
const (
	infoSeal   = "opensts/seal/aes-256-gcm/v1"
	infoKeyID  = "opensts/seal/key-id/v1"
	infoDerive = "opensts/derive/v1/"
)

// Sealer encrypts small secrets with AES-256-GCM under a key derived from a
// 32-byte master key. It is safe for concurrent use.
type Sealer struct {
	master []byte
	aead   cipher.AEAD
	keyID  [keyIDSize]byte
	random io.Reader
}

// New returns a Sealer for masterKey, which must be exactly 32 bytes (for
// example 32 bytes from crypto/rand, kept outside the database). random
// supplies nonces; nil means crypto/rand. New copies masterKey.
func New(masterKey []byte, random io.Reader) (*Sealer, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("seal: master key is %d bytes, want %d", len(masterKey), KeySize)
	}
	if random == nil {
		random = rand.Reader
	}
	master := append([]byte(nil), masterKey...)
	encKey, err := hkdf.Key(sha256.New, master, nil, infoSeal, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	id, err := hkdf.Key(sha256.New, master, nil, infoKeyID, keyIDSize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key id: %w", err)
	}
	s := &Sealer{master: master, aead: aead, random: random}
	copy(s.keyID[:], id)
	return s, nil
}

// Seal encrypts plaintext and binds it to aad (for example the id of the
// record that holds it), so a sealed value copied into another record does not
// open. The result is a fresh slice of len(plaintext)+33 bytes.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, headerSize+nonceSize, overhead+len(plaintext))
	out[0] = version1
	copy(out[1:headerSize], s.keyID[:])
	nonce := out[headerSize : headerSize+nonceSize]
	if _, err := io.ReadFull(s.random, nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return s.aead.Seal(out, nonce, plaintext, additionalData(out[:headerSize], aad)), nil
}

// Open authenticates and decrypts a value produced by Seal with the same
// master key and aad. Any failure returns ErrOpen. The plaintext is in new
// memory: sealed is only read (callers pass buffers they reuse, such as the
// key cache's second-tier records), and neither it nor aad is kept.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < overhead || sealed[0] != version1 ||
		subtle.ConstantTimeCompare(sealed[1:headerSize], s.keyID[:]) != 1 {
		return nil, ErrOpen
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	pt, err := s.aead.Open(nil, nonce, sealed[headerSize+nonceSize:], additionalData(sealed[:headerSize], aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Derive returns a 32-byte subkey of the master key for purpose, computed
// with HKDF-SHA256 (no salt, info "opensts/derive/v1/" + purpose). The same
// master key and purpose always give the same subkey; distinct purposes give
// independent keys. Use a fixed, descriptive purpose such as
// "sts/authorization-message".
func (s *Sealer) Derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, s.master, nil, infoDerive+purpose, 32)
	if err != nil {
		// hkdf.Key fails only for an output longer than 255*32 bytes.
		panic("seal: hkdf: " + err.Error())
	}
	return k
}

// additionalData authenticates the header together with the caller's aad.
// The header has a fixed length, so the concatenation is unambiguous.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

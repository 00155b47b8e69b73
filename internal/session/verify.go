package session

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultCacheBytes bounds the verified tokens a Manager or Verifier
// remembers by default: 16 MiB, some fifteen thousand typical sessions (an
// assumed-role session without tags or policy costs about a kilobyte; see
// cacheEntry.size).
const DefaultCacheBytes = 16 << 20

// verify is the verification pipeline shared by Manager and Verifier.
//
// Order: decode and split the token; find its key (unknown or revoked:
// ErrInvalid); check the signature (ErrInvalid): for version 1 over the
// signed bytes, for version 2 over the batch root recomputed from the token
// body and its audit path (see verifyBatch); parse the payload; check the
// binding to accessKeyID (ErrInvalid); expiry: a token whose key is past
// VerifyUntil, or with now >= Expires, is ErrExpired. The session is valid
// for IssuedAt <= t < Expires (AWS rejects credentials from their Expiration
// on); IssuedAt is not checked, so a small clock skew between nodes does not
// reject fresh tokens.
func verify(r *keyring, c *cache, roots *rootCache, now time.Time, accessKeyID, token string) (*Session, []byte, error) {
	if len(token) > maxTokenChars {
		return nil, nil, ErrInvalid
	}
	var h tokenHash
	if c != nil {
		// Hashed in place: Sum256 only reads it, and a copy of a token
		// (some 500 bytes) would be the cached path's largest allocation.
		h = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
		if e := c.get(&h); e != nil {
			if r.byID[e.key.id] == e.key && !e.key.revoked {
				return result(e.sess, e.secret, accessKeyID, e.key, now)
			}
			c.remove(&h)
		}
	}
	env, ok := decodeToken(token)
	if !ok {
		return nil, nil, ErrInvalid
	}
	k := r.byID[env.kid]
	if k == nil || k.revoked || len(k.pub) != ed25519.PublicKeySize {
		return nil, nil, ErrInvalid
	}
	if env.version == tokenV1 {
		if !ed25519.Verify(k.pub, env.signed, env.sig) {
			return nil, nil, ErrInvalid
		}
	} else if !verifyBatch(k, roots, &env) {
		return nil, nil, ErrInvalid
	}
	s, ok := openPayload(k, &env)
	if !ok {
		return nil, nil, ErrInvalid
	}
	secret := k.secret(env.signed)
	if c != nil && s.AccessKeyID == accessKeyID && now.Before(s.Expires) {
		c.put(&h, &cacheEntry{key: k, sess: s, secret: secret})
	}
	return result(s, secret, accessKeyID, k, now)
}

// openPayload parses the payload of an authenticated envelope, decrypting
// it first if it is sealed (version 3). A key without a token-encryption key
// opens no version 3 token.
func openPayload(k *ringKey, e *envelope) (*Session, bool) {
	if e.version != tokenV3 {
		return parsePayload(e.payload)
	}
	if k.box == nil {
		return nil, false
	}
	buf := tokenBufs.Get().(*[]byte)
	defer tokenBufs.Put(buf)
	p, err := k.box.Open((*buf)[:0], e.payload[:nonceSize], e.payload[nonceSize:], e.signed[:tokenHeader])
	if err != nil {
		return nil, false
	}
	payload, ok := trimPadding(p)
	var s *Session
	if ok {
		s, ok = parsePayload(payload) // copies it
	}
	clear(p)
	if cap(p) <= maxPooledToken {
		*buf = p[:0]
	}
	return s, ok
}

// result applies the binding and expiry checks and returns copies, so that
// callers cannot alter what the cache holds.
func result(s *Session, secret []byte, accessKeyID string, k *ringKey, now time.Time) (*Session, []byte, error) {
	if subtle.ConstantTimeCompare([]byte(s.AccessKeyID), []byte(accessKeyID)) != 1 {
		return nil, nil, ErrInvalid
	}
	if !now.Before(s.Expires) || !now.Before(k.verifyUntil) {
		return nil, nil, ErrExpired
	}
	cp := *s
	return &cp, append([]byte(nil), secret...), nil
}

// Verifier checks session tokens with public keys and secret derivation keys
// only: it cannot mint. It is safe for concurrent use.
type Verifier struct {
	mu    sync.Mutex // serializes SetKeys
	ring  atomic.Pointer[keyring]
	cache *cache
	roots *rootCache
	now   func() time.Time
}

// NewVerifier returns a Verifier for keys (from Manager.PublicKeyring). Keys
// with a malformed id, public key or derivation key are ignored, so tokens
// signed by them do not verify. now nil means time.Now.
func NewVerifier(keys []VerifierKey, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{cache: newCache(DefaultCacheBytes), roots: newRootCache(DefaultRootCacheBytes), now: now}
	v.SetKeys(keys)
	return v
}

// SetKeys replaces the verifier's keyring, for example after fetching a newer
// PublicKeyring. Tokens of keys no longer present stop verifying at once.
func (v *Verifier) SetKeys(keys []VerifierKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.ring.Load()
	ks := make([]*ringKey, 0, len(keys))
	for _, vk := range keys {
		id, ok := parseKeyID(vk.ID)
		if !ok {
			continue
		}
		if vk.Revoked {
			k := newRingKey(id, nil, nil, nil, nil)
			k.revoked = true
			ks = append(ks, k)
			continue
		}
		if len(vk.Public) != ed25519.PublicKeySize || len(vk.Derive) != deriveSize ||
			(vk.Decrypt != nil && len(vk.Decrypt) != encryptSize) {
			continue
		}
		if old != nil {
			// Keep unchanged keys, so that their cached verifications survive.
			if k := old.byID[id]; k != nil && !k.revoked && k.verifyUntil.Equal(vk.VerifyUntil) &&
				bytes.Equal(k.pub, vk.Public) && bytes.Equal(k.derive, vk.Derive) && bytes.Equal(k.encrypt, vk.Decrypt) {
				ks = append(ks, k)
				continue
			}
		}
		k := newRingKey(id, append(ed25519.PublicKey(nil), vk.Public...), nil,
			append([]byte(nil), vk.Derive...), bytes.Clone(vk.Decrypt))
		k.verifyUntil = vk.VerifyUntil
		ks = append(ks, k)
	}
	v.ring.Store(newKeyring(ks))
}

// Verify checks token and its binding to accessKeyID exactly like
// Manager.Verify, and returns the session and its secret access key.
func (v *Verifier) Verify(accessKeyID, token string) (*Session, []byte, error) {
	return verify(v.ring.Load(), v.cache, v.roots, v.now(), accessKeyID, token)
}

// cache is a bounded cache (internal/cache) of successfully verified tokens
// keyed by the SHA-256 of the token.
type cache = lru[tokenHash, *cacheEntry]

// tokenHash is the SHA-256 of a token.
type tokenHash [sha256.Size]byte

type cacheEntry struct {
	key    *ringKey
	sess   *Session
	secret []byte
}

// newCache returns a cache of at most maxBytes, or nil (no caching) for
// maxBytes <= 0.
func newCache(maxBytes int) *cache {
	return newLRU[tokenHash, *cacheEntry](maxBytes, (*cacheEntry).size)
}

// size estimates the memory e retains: itself, its session and secret (the
// ring key is the keyring's).
func (e *cacheEntry) size() int {
	return obj(int(unsafe.Sizeof(*e))) + e.sess.size() + obj(cap(e.secret))
}

package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// Defaults for Config.
const (
	DefaultRotateEvery = 24 * time.Hour
	DefaultMaxLifetime = 36 * time.Hour // 129600 s, the longest STS session
	DefaultPropagation = time.Minute
	DefaultRunEvery    = 30 * time.Second

	// verifyMargin is added to every key's VerifyUntil beyond SignUntil +
	// MaxLifetime, to cover nodes that keep signing with a key until their
	// next Refresh after another node rotated it.
	verifyMargin = time.Hour
	// pruneAfter keeps a key loaded this long after VerifyUntil, so that its
	// tokens are reported as expired rather than invalid.
	pruneAfter = 24 * time.Hour
	// autoRotateTimeout bounds the store writes of a rotation Mint performs
	// when no key can sign (only when Run is not running).
	autoRotateTimeout = 10 * time.Second
)

// Config configures a Manager.
type Config struct {
	Keys   store.SigningKeys // required
	Sealer *seal.Sealer      // required; seals private and derivation keys
	Now    func() time.Time  // nil: time.Now
	Rand   io.Reader         // nil: crypto/rand; need not be safe for concurrent use
	// RotateEvery is the age of the newest key after which Run creates a new
	// one (default 24h). A key signs for at most 2*RotateEvery if Run never
	// runs; Mint then rotates by itself.
	RotateEvery time.Duration
	// MaxLifetime is the longest token Mint accepts (default 36h). A key
	// verifies until SignUntil + MaxLifetime + 1h. Every node must use the
	// same value.
	MaxLifetime time.Duration
	// Propagation is how long a new key is published before it signs, so that
	// every node and verifier has loaded it first: set it above the Run
	// interval of every node and the refresh interval of verifiers. Zero
	// means DefaultPropagation; a negative value signs with a new key at once
	// (single node, tests).
	Propagation time.Duration
	// CacheBytes bounds the verified tokens remembered, by their estimated
	// size (default DefaultCacheBytes; negative disables the cache, and the
	// cache of DefaultRootCacheBytes of verified batch roots with it).
	CacheBytes int
	// TokenVersion is the session token format Mint issues: 3 (the default;
	// contents sealed) or 2 (contents readable by the holder), for a rolling
	// upgrade of several nodes: while nodes of the release before sealed
	// tokens still serve, the upgraded ones mint version 2 tokens and create
	// keys in the format those nodes load; once every node is upgraded, drop
	// the setting. Every release verifies both.
	TokenVersion int
	Logger       *slog.Logger // nil: slog.Default()
}

// Manager mints and verifies session credentials and manages the keyring.
// Mint, Verify, Keys and PublicKeyring are safe for concurrent use and never
// touch the store (except Mint when no key can sign, see Config.RotateEvery);
// Rotate, Revoke and Refresh serialize with each other and swap an immutable
// keyring snapshot.
type Manager struct {
	cfg   Config
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	prop  time.Duration
	ring  atomic.Pointer[keyring]
	cache *cache
	roots *rootCache
	// minting counts the Mints that have not reached their key's signer
	// yet (see batcher.more).
	minting atomic.Int32
	// version is the token version Mint issues: tokenV3; tests set
	// tokenV2 to mint the tokens of earlier releases.
	version byte

	mu   sync.Mutex // serializes keyring changes
	recs map[string]recKey
}

// recKey remembers the store record a ringKey was built from, so that Refresh
// only rebuilds (and unseals) keys whose record changed.
type recKey struct {
	rec store.SigningKey
	key *ringKey
}

// NewManager loads the keyring from cfg.Keys and creates the first key if
// there is none that can sign.
func NewManager(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Keys == nil || cfg.Sealer == nil {
		return nil, errors.New("new session manager: Keys and Sealer are required")
	}
	if cfg.RotateEvery <= 0 {
		cfg.RotateEvery = DefaultRotateEvery
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	m := &Manager{cfg: cfg, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger, prop: cfg.Propagation, version: tokenV3}
	switch cfg.TokenVersion {
	case 0, 3:
	case 2:
		m.version = tokenV2
	default:
		return nil, fmt.Errorf("new session manager: token version %d: want 2 or 3", cfg.TokenVersion)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil || m.rand == rand.Reader {
		m.rand = rand.Reader // safe for concurrent use as it is
	} else {
		m.rand = &lockedReader{r: m.rand}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	switch {
	case m.prop == 0:
		m.prop = DefaultPropagation
	case m.prop < 0:
		m.prop = 0
	}
	m.cache = newCache(cfg.CacheBytes)
	if cfg.CacheBytes > 0 {
		m.roots = newRootCache(DefaultRootCacheBytes)
	}
	m.ring.Store(newKeyring(nil))

	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refreshLocked(ctx); err != nil {
		return nil, fmt.Errorf("new session manager: %w", err)
	}
	if m.ring.Load().signer(m.now(), m.prop) == nil {
		if _, err := m.rotateLocked(ctx); err != nil {
			return nil, fmt.Errorf("new session manager: %w", err)
		}
	}
	return m, nil
}

// Mint fills s.AccessKeyID (ASIA, embedding s.Account), sets s.IssuedAt to now
// if it is zero, truncates IssuedAt, Expires and MFAAuthTime to whole seconds
// and signs the session with the current key. It writes nothing to the store.
// Expires must be after IssuedAt and at most MaxLifetime after now (an
// already expired session may be minted, for tests; it never verifies);
// IssuedAt must not be in the future; s.Account must be a 12-digit account id.
//
// Concurrent Mints share signatures (group signing, see batch.go): on an
// idle node a Mint signs at once; under load Mints wait for the current
// signature, or up to a fraction of a millisecond for company, and are
// signed together.
func (m *Manager) Mint(s Session) (Credentials, error) {
	m.minting.Add(1)
	buf := tokenBufs.Get().(*[]byte)
	p, err := m.prepare(s, m.version, (*buf)[:0])
	if err != nil {
		m.minting.Add(-1)
		tokenBufs.Put(buf)
		return Credentials{}, err
	}
	p.body = p.key.signBody(p.body, &m.minting)
	c := p.credentials()
	if cap(p.body) <= maxPooledToken {
		*buf = p.body
		tokenBufs.Put(buf)
	}
	return c, nil
}

// tokenBufs holds scratch buffers for raw token bytes; Mint copies the
// encoded token out of them.
var tokenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledToken is the largest buffer returned to tokenBufs, so that one
// huge session does not pin memory.
const maxPooledToken = 8 << 10

// pendingToken is a token whose body is encoded and whose secret is derived,
// waiting for its signature.
type pendingToken struct {
	key     *ringKey
	body    []byte // version, key id, payload (v3: nonce, sealed payload); room for a signature
	id      [accessKeyIDLen]byte
	secret  [secretChars]byte
	expires time.Time
}

// credentials encodes the credentials of a signed token. The three strings
// share one allocation.
func (p *pendingToken) credentials() Credentials {
	var sb strings.Builder
	sb.Grow(len(p.id) + len(p.secret) + tokenEncoding.EncodedLen(len(p.body)))
	sb.Write(p.id[:])
	sb.Write(p.secret[:])
	var enc [1024]byte
	for rest := p.body; len(rest) > 0; {
		n := min(len(rest), len(enc)/4*3) // whole groups of 3 bytes, except at the end
		tokenEncoding.Encode(enc[:], rest[:n])
		sb.Write(enc[:tokenEncoding.EncodedLen(n)])
		rest = rest[n:]
	}
	all := sb.String()
	const a, b = accessKeyIDLen, accessKeyIDLen + secretChars
	return Credentials{
		AccessKeyID:     all[:a],
		SecretAccessKey: all[a:b],
		SessionToken:    all[b:],
		Expiration:      p.expires,
	}
}

// mintV1 mints a version 1 token (one signature over the token), which
// Mint no longer issues; tests use it to pin the version 1 format.
func (m *Manager) mintV1(s Session) (Credentials, error) {
	p, err := m.prepare(s, tokenV1, nil)
	if err != nil {
		return Credentials{}, err
	}
	p.body = append(p.body, ed25519.Sign(p.key.priv, p.body)...)
	return p.credentials(), nil
}

// prepare validates s, picks the signing key, assigns the access key id,
// encodes the token body of the given version (appended to buf[:0]),
// encrypts its payload (version 3) and derives the secret from the body as
// it is signed.
func (m *Manager) prepare(s Session, version byte, buf []byte) (pendingToken, error) {
	now := unixTime(m.now())
	if s.IssuedAt.IsZero() {
		s.IssuedAt = now
	} else {
		s.IssuedAt = unixTime(s.IssuedAt)
	}
	s.Expires = unixTime(s.Expires)
	if !s.MFAAuthTime.IsZero() {
		s.MFAAuthTime = unixTime(s.MFAAuthTime)
	}
	switch {
	case !s.Type.valid():
		return pendingToken{}, fmt.Errorf("mint session: invalid type %d", s.Type)
	case s.IssuedAt.After(now):
		return pendingToken{}, errors.New("mint session: issued in the future")
	case !s.Expires.After(s.IssuedAt):
		return pendingToken{}, errors.New("mint session: expires before it is issued")
	case s.Expires.Sub(now) > m.cfg.MaxLifetime:
		return pendingToken{}, fmt.Errorf("mint session: lifetime exceeds %v", m.cfg.MaxLifetime)
	}
	k := m.ring.Load().signer(now, m.prop)
	if k == nil {
		var err error
		if k, err = m.autoRotate(now); err != nil {
			return pendingToken{}, fmt.Errorf("mint session: %w", err)
		}
	}
	if s.Expires.After(k.verifyUntil) {
		return pendingToken{}, fmt.Errorf("mint session: token would outlive key %s", k.idStr)
	}
	p := pendingToken{key: k, expires: s.Expires}
	acct, ok := parseAccount(s.Account)
	if !ok {
		return pendingToken{}, fmt.Errorf("mint session: new access key id: invalid account %q", s.Account)
	}
	if version == tokenV3 && k.box == nil {
		return pendingToken{}, fmt.Errorf("mint session: key %s has no token-encryption key", k.idStr)
	}
	// The access key id's random bits, then the nonce.
	var rnd [idRandSize + nonceSize]byte
	need := rnd[:idRandSize]
	if version == tokenV3 {
		need = rnd[:]
	}
	if m.rand == rand.Reader {
		fastRandom(need)
	} else if _, err := io.ReadFull(m.rand, need); err != nil {
		return pendingToken{}, fmt.Errorf("mint session: read random: %w", err)
	}
	encodeAccessKeyID(&p.id, "ASIA", acct, (*[idRandSize]byte)(rnd[:idRandSize]))

	// Room for the nonce, padding and tag, and a v1 signature or a v2/v3
	// position byte and signature (a batched token's audit path makes append
	// grow it).
	if n := sealedHeader + len(p.id) + payloadSize(&s) + padBlock + tagSize + 1 + sigSize; cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	buf = append(buf[:0], version)
	buf = append(buf, k.id[:]...)
	start := len(buf)
	if version == tokenV3 {
		buf = append(buf, rnd[idRandSize:]...)
		start = len(buf)
	}
	var err error
	if buf, err = appendPayloadID(buf, &s, p.id[:]); err != nil {
		return pendingToken{}, fmt.Errorf("mint session: %w", err)
	}
	if version == tokenV3 {
		buf = appendPadding(buf, len(buf)-start)
		// Sealed in place: the ciphertext overwrites the payload exactly.
		buf = k.box.Seal(buf[:start], buf[tokenHeader:start], buf[start:], buf[:tokenHeader])
	}
	clear(rnd[:])
	p.body = buf
	k.deriveSecret(&p.secret, buf)
	return p, nil
}

// autoRotate creates a key when none can sign: Run is not running, or every
// key was revoked.
func (m *Manager) autoRotate(now time.Time) (*ringKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.ring.Load().signer(now, m.prop); k != nil {
		return k, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), autoRotateTimeout)
	defer cancel()
	if _, err := m.rotateLocked(ctx); err != nil {
		return nil, err
	}
	if k := m.ring.Load().signer(now, m.prop); k != nil {
		return k, nil
	}
	return nil, errors.New("no signing key")
}

// Verify checks token and its binding to accessKeyID, and returns the session
// and its secret access key (40 bytes, base64 alphabet). The order is: parse,
// signature, binding, expiry; an unknown or revoked key, a bad signature, a
// malformed token or another access key id give ErrInvalid, and now >=
// Expires gives ErrExpired. Successful results are cached (keyed by the
// token's SHA-256), so repeated requests skip Ed25519; binding, expiry and
// revocation are still checked on every call. The returned values are copies,
// but their slices (Tags, TransitiveTagKeys, PolicyARNs) are shared and must
// not be modified.
func (m *Manager) Verify(accessKeyID, token string) (*Session, []byte, error) {
	return verify(m.ring.Load(), m.cache, m.roots, m.now(), accessKeyID, token)
}

// Rotate creates a new signing key. Every other key stops signing once the
// new one has propagated (Config.Propagation; at once if it is negative) and
// verifies until its last token can have expired. It returns the new key's id.
func (m *Manager) Rotate(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rotateLocked(ctx)
}

func (m *Manager) rotateLocked(ctx context.Context) (string, error) {
	now := unixTime(m.now())
	recs, err := m.cfg.Keys.ListSigningKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: list: %w", err)
	}
	rec, err := m.newKeyRecord(now)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	if err := m.cfg.Keys.PutSigningKey(ctx, rec); err != nil {
		return "", fmt.Errorf("rotate signing key: put %s: %w", rec.ID, err)
	}
	stop := now.Add(m.prop)
	verifyUntil := stop.Add(m.cfg.MaxLifetime + verifyMargin)
	for i, r := range recs {
		if r.Revoked || !r.SignUntil.After(stop) {
			continue
		}
		r.SignUntil = stop
		if r.VerifyUntil.After(verifyUntil) {
			r.VerifyUntil = verifyUntil
		}
		if err := m.cfg.Keys.PutSigningKey(ctx, r); err != nil {
			return "", fmt.Errorf("rotate signing key: retire %s: %w", r.ID, err)
		}
		recs[i] = r
	}
	if err := m.install(append(recs, rec), now); err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return rec.ID, nil
}

// newKeyRecord creates a key: 8-byte id, Ed25519 seed, derivation key and
// token-encryption key from m.rand; the seed and the two secret keys are
// sealed together, bound to the id.
//
// In TokenVersion 2 mode (a rolling upgrade), the record leaves out the
// encryption key, as the release before sealed tokens wrote them, so that
// its nodes load the key; such a key's encryption key is derived from its
// derivation key (legacyEncryptionKey) once version 3 tokens are minted.
func (m *Manager) newKeyRecord(now time.Time) (store.SigningKey, error) {
	var buf [kidSize + seedSize + deriveSize + encryptSize]byte
	b := buf[:]
	if m.version == tokenV2 {
		b = b[:kidSize+seedSize+deriveSize]
	}
	if _, err := io.ReadFull(m.rand, b); err != nil {
		return store.SigningKey{}, fmt.Errorf("read random: %w", err)
	}
	defer clear(b)
	var id keyID
	copy(id[:], b[:kidSize])
	k := newRingKey(id, nil, nil, nil, nil)
	secret := b[kidSize:]
	priv := ed25519.NewKeyFromSeed(secret[:seedSize])
	sealed, err := m.cfg.Sealer.Seal(secret, keyAAD(k.idStr))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("seal key: %w", err)
	}
	signUntil := now.Add(2 * m.cfg.RotateEvery)
	return store.SigningKey{
		ID:          k.idStr,
		Algorithm:   algEd25519,
		Public:      append([]byte(nil), priv.Public().(ed25519.PublicKey)...),
		Private:     sealed,
		CreatedAt:   now,
		SignUntil:   signUntil,
		VerifyUntil: signUntil.Add(m.cfg.MaxLifetime + verifyMargin),
	}, nil
}

func keyAAD(id string) []byte { return []byte("opensts/session-key/v1/" + id) }

// Revoke marks a key revoked: its tokens stop verifying at once on this node
// (cached verifications included) and on other nodes at their next Refresh.
// If no key can sign afterwards, a new one is created. An unknown id gives an
// error wrapping store.ErrNotFound.
func (m *Manager) Revoke(ctx context.Context, keyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.cfg.Keys.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("revoke signing key %s: list: %w", keyID, err)
	}
	i := 0
	for i < len(recs) && recs[i].ID != keyID {
		i++
	}
	if i == len(recs) {
		return fmt.Errorf("revoke signing key %s: %w", keyID, store.ErrNotFound)
	}
	if !recs[i].Revoked {
		recs[i].Revoked = true
		if err := m.cfg.Keys.PutSigningKey(ctx, recs[i]); err != nil {
			return fmt.Errorf("revoke signing key %s: %w", keyID, err)
		}
	}
	now := unixTime(m.now())
	if err := m.install(recs, now); err != nil {
		return fmt.Errorf("revoke signing key %s: %w", keyID, err)
	}
	if m.ring.Load().signer(now, m.prop) == nil {
		if _, err := m.rotateLocked(ctx); err != nil {
			return fmt.Errorf("revoke signing key %s: %w", keyID, err)
		}
	}
	return nil
}

// Refresh reloads the keyring from the store, picking up other nodes'
// rotations and revocations. Keys that fail to load (wrong master key,
// corrupt record) are left out, so their tokens do not verify, and reported
// in the error; the other keys are installed regardless.
func (m *Manager) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refreshLocked(ctx)
}

func (m *Manager) refreshLocked(ctx context.Context) error {
	recs, err := m.cfg.Keys.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("refresh keyring: %w", err)
	}
	if err := m.install(recs, unixTime(m.now())); err != nil {
		return fmt.Errorf("refresh keyring: %w", err)
	}
	return nil
}

// install builds and publishes a keyring snapshot from store records,
// reusing the ringKeys of unchanged records. Callers hold m.mu.
func (m *Manager) install(recs []store.SigningKey, now time.Time) error {
	next := make(map[string]recKey, len(recs))
	keys := make([]*ringKey, 0, len(recs))
	var errs []error
	for _, r := range recs {
		if now.After(r.VerifyUntil.Add(pruneAfter)) {
			continue
		}
		if old, ok := m.recs[r.ID]; ok && sameRecord(old.rec, r) {
			next[r.ID] = old
			keys = append(keys, old.key)
			continue
		}
		k, err := m.load(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", r.ID, err))
			continue
		}
		next[r.ID] = recKey{rec: r, key: k}
		keys = append(keys, k)
	}
	m.recs = next
	m.ring.Store(newKeyring(keys))
	return errors.Join(errs...)
}

var errKeyRecord = errors.New("malformed signing key record")

// load builds a ringKey from a store record, unsealing its private half.
func (m *Manager) load(r store.SigningKey) (*ringKey, error) {
	id, ok := parseKeyID(r.ID)
	if !ok {
		return nil, errKeyRecord
	}
	if r.Revoked {
		k := newRingKey(id, nil, nil, nil, nil)
		k.revoked = true
		k.created, k.signUntil, k.verifyUntil = r.CreatedAt, r.SignUntil, r.VerifyUntil
		return k, nil
	}
	if r.Algorithm != algEd25519 || len(r.Public) != ed25519.PublicKeySize {
		return nil, errKeyRecord
	}
	secret, err := m.cfg.Sealer.Open(r.Private, keyAAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	defer clear(secret)
	derive := append([]byte(nil), secret[seedSize:min(len(secret), seedSize+deriveSize)]...)
	var encrypt []byte
	switch len(secret) {
	case seedSize + deriveSize + encryptSize:
		encrypt = append([]byte(nil), secret[seedSize+deriveSize:]...)
	case seedSize + deriveSize: // created before keys had a token-encryption key
		encrypt = legacyEncryptionKey(derive)
	default:
		return nil, errKeyRecord
	}
	priv := ed25519.NewKeyFromSeed(secret[:seedSize])
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), r.Public) {
		return nil, errKeyRecord
	}
	k := newRingKey(id, append(ed25519.PublicKey(nil), r.Public...), priv, derive, encrypt)
	k.created, k.signUntil, k.verifyUntil = r.CreatedAt, r.SignUntil, r.VerifyUntil
	return k, nil
}

func sameRecord(a, b store.SigningKey) bool {
	return a.ID == b.ID && a.Algorithm == b.Algorithm && a.Revoked == b.Revoked &&
		bytes.Equal(a.Public, b.Public) && bytes.Equal(a.Private, b.Private) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.SignUntil.Equal(b.SignUntil) && a.VerifyUntil.Equal(b.VerifyUntil)
}

// Run refreshes the keyring every interval (DefaultRunEvery if every <= 0),
// rotates when the newest key is older than RotateEvery, and deletes keys
// long past VerifyUntil if the store supports it. It returns when ctx is
// done. Errors are logged and retried at the next tick.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultRunEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keyDeleter is implemented by stores that can delete signing keys.
// store.SigningKeys does not require it; without it, retired keys stay in
// the store (one small row per rotation) but are no longer loaded.
type keyDeleter interface {
	DeleteSigningKey(ctx context.Context, id string) error
}

func (m *Manager) tick(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refreshLocked(ctx); err != nil {
		m.log.ErrorContext(ctx, "session keyring refresh failed", "err", err)
	}
	now := m.now()
	var newest *ringKey
	for _, k := range m.ring.Load().keys {
		if !k.revoked {
			newest = k
			break
		}
	}
	if newest == nil || !now.Before(newest.created.Add(m.cfg.RotateEvery)) {
		id, err := m.rotateLocked(ctx)
		if err != nil {
			m.log.ErrorContext(ctx, "session key rotation failed", "err", err)
		} else {
			m.log.InfoContext(ctx, "session key rotated", "key_id", id)
		}
	}
	if d, ok := m.cfg.Keys.(keyDeleter); ok {
		recs, err := m.cfg.Keys.ListSigningKeys(ctx)
		if err != nil {
			return
		}
		for _, r := range recs {
			if now.After(r.VerifyUntil.Add(pruneAfter)) {
				if err := d.DeleteSigningKey(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					m.log.ErrorContext(ctx, "session key prune failed", "key_id", r.ID, "err", err)
				}
			}
		}
	}
}

// Keys describes the loaded keys, newest first, without secrets.
func (m *Manager) Keys() []KeyInfo {
	r := m.ring.Load()
	signer := r.signer(m.now(), m.prop)
	out := make([]KeyInfo, 0, len(r.keys))
	for _, k := range r.keys {
		out = append(out, KeyInfo{
			ID:          k.idStr,
			Algorithm:   algEd25519,
			CreatedAt:   k.created,
			SignUntil:   k.signUntil,
			VerifyUntil: k.verifyUntil,
			Revoked:     k.revoked,
			Signing:     k == signer,
		})
	}
	return out
}

// PublicKeyring exports what a Verifier needs: for each loaded key its public
// key, secret derivation key and token-encryption key (revoked keys only by
// id, marked Revoked). The derivation and encryption keys are secret: hand
// them only to trusted resource servers, over an authenticated, encrypted
// channel.
func (m *Manager) PublicKeyring() []VerifierKey {
	r := m.ring.Load()
	out := make([]VerifierKey, 0, len(r.keys))
	for _, k := range r.keys {
		vk := VerifierKey{ID: k.idStr, VerifyUntil: k.verifyUntil, Revoked: k.revoked}
		if !k.revoked {
			vk.Public = append([]byte(nil), k.pub...)
			vk.Derive = append([]byte(nil), k.derive...)
			vk.Decrypt = append([]byte(nil), k.encrypt...)
		}
		out = append(out, vk)
	}
	return out
}

// unixTime truncates t to whole seconds in UTC, dropping the monotonic reading.
func unixTime(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// lockedReader makes an injected reader safe for concurrent Mint calls.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

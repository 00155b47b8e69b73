package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opensts/opensts/internal/store"
)

// sessionStrings lists every string a session carries, and the access key
// ids of the credentials.
func sessionStrings(s Session, accessKeyID string) []string {
	out := []string{accessKeyID, s.Account, s.ARN, s.PrincipalID, s.UserName, s.UserID,
		s.RoleName, s.RoleID, s.RolePath, s.SessionName, s.SourceIdentity, s.Policy,
		s.FederatedSubject, s.FederatedProvider, s.SourceAccessKeyID}
	for _, t := range s.Tags {
		out = append(out, t.Key, t.Value)
	}
	out = append(out, s.TransitiveTagKeys...)
	out = append(out, s.PolicyARNs...)
	var keep []string
	for _, v := range out {
		if len(v) >= 4 { // shorter strings occur in any random bytes
			keep = append(keep, v)
		}
	}
	return keep
}

// leaks reports where v occurs in token: in its raw bytes, or in its text
// as base64 or base64url (with or without padding) at any of the three
// alignments, or as hex.
func leaks(t *testing.T, token, v string) []string {
	t.Helper()
	raw := rawToken(t, token)
	var where []string
	if bytes.Contains(raw, []byte(v)) {
		where = append(where, "raw bytes")
	}
	if strings.Contains(token, v) {
		where = append(where, "token text")
	}
	if bytes.Contains(raw, []byte(hex.EncodeToString([]byte(v)))) || strings.Contains(token, hex.EncodeToString([]byte(v))) {
		where = append(where, "hex")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			// v preceded by shift bytes: the characters that depend on v
			// alone start after the first shift*4/3 rounded up.
			e := enc.EncodeToString(append(make([]byte, shift), v...))
			skip := (shift*8 + 5) / 6
			core := strings.TrimRight(e[skip:], "=")
			if rest := (shift + len(v)) % 3; rest != 0 {
				core = core[:len(core)-1] // the last character mixes in what follows
			}
			if len(core) >= 4 && (strings.Contains(token, core) || bytes.Contains(raw, []byte(core))) {
				where = append(where, "base64 ("+strconv.Itoa(shift)+")")
			}
		}
	}
	return where
}

// TestSealedTokenRevealsNothing: a version 3 token, alone or batched,
// contains none of its session's strings in any encoding; the same check
// finds them in a version 2 token, so it can fail.
func TestSealedTokenRevealsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	sessions := []Session{fullSession(now), largestSession(now), typicalSession(now)}
	sessions[0].Type = AssumedRole
	for i, s := range sessions {
		s.IssuedAt = now
		for _, c := range append([]Credentials{mustMint(t, f.m, s)}, mintBatch(t, f.m, s, typicalSession(now), s)...) {
			if rawToken(t, c.SessionToken)[0] != tokenV3 {
				t.Fatal("Mint did not issue version 3")
			}
			for _, v := range sessionStrings(s, c.AccessKeyID) {
				if where := leaks(t, c.SessionToken, v); where != nil {
					t.Errorf("session %d: %q readable in the token (%s)", i, v, strings.Join(where, ", "))
				}
			}
			if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The check is real: a version 2 token shows every one of them.
	f.m.version = tokenV2
	s := fullSession(now)
	c := mustMint(t, f.m, s)
	for _, v := range sessionStrings(s, c.AccessKeyID) {
		if leaks(t, c.SessionToken, v) == nil {
			t.Errorf("%q not found in a version 2 token: the leak check is blind", v)
		}
	}
}

// TestSealedTokenClearBytes: what a version 3 token shows in clear is its
// version, its key id, a random nonce and its batch proof, nothing else;
// two tokens of the same session share nothing but the version and key id.
func TestSealedTokenClearBytes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Rand = nil })
	now := f.clock.Now()
	a := envOf(t, mustMint(t, f.m, typicalSession(now)).SessionToken)
	b := envOf(t, mustMint(t, f.m, typicalSession(now)).SessionToken)
	if !bytes.Equal(a.signed[:tokenHeader], b.signed[:tokenHeader]) {
		t.Fatal("version and key id differ")
	}
	// Beyond the header, equal bytes at the same offset are chance: about
	// one in 256 each.
	same := 0
	for i := tokenHeader; i < min(len(a.signed), len(b.signed)); i++ {
		if a.signed[i] == b.signed[i] {
			same++
		}
	}
	if n := len(a.signed) - tokenHeader; same > n/32 {
		t.Errorf("%d of %d sealed bytes equal in two tokens of the same session", same, n)
	}
}

// TestSealedTokenTampering: every byte of a version 3 token is covered.
// Flipping any bit fails it; so does relabelling it as version 2 (the
// signature covers the version byte) or moving its sealed payload under
// another key id.
func TestSealedTokenTampering(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	c := mintBatch(t, f.m, fullSession(now), typicalSession(now), typicalSession(now))[0]
	raw := rawToken(t, c.SessionToken)
	cold := f.newManager(t, func(c *Config) { c.CacheBytes = -1 })
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(raw)
			bad[i] ^= bit
			if _, _, err := cold.Verify(c.AccessKeyID, tokenEncoding.EncodeToString(bad)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: %v, want ErrInvalid", i, bit, err)
			}
		}
	}
	// A correctly signed body whose payload is not sealed with the key: a
	// version 3 token made of a version 2 body under the same signature
	// machinery does not open.
	f.m.version = tokenV2
	v2 := envOf(t, mustMint(t, f.m, typicalSession(now)).SessionToken)
	relabel := bytes.Clone(v2.signed)
	relabel[0] = tokenV3
	key := f.m.ring.Load().keys[0]
	var e envelope
	e.version, e.signed, e.payload = tokenV3, relabel, relabel[tokenHeader:]
	if _, ok := openPayload(key, &e); ok {
		t.Fatal("a plain payload opened as sealed")
	}
	// Sealed under one key, claimed by another (signed by the other key):
	// the additional data binds the key id, and the other key cannot open
	// it anyway.
	f.clock.Advance(time.Minute)
	if _, err := f.m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := f.m.ring.Load().keys[0]
	if other == key {
		t.Fatal("rotation did not add a key")
	}
	moved := bytes.Clone(envOf(t, c.SessionToken).signed)
	copy(moved[1:tokenHeader], other.id[:])
	e = envelope{version: tokenV3, signed: moved, payload: moved[tokenHeader:]}
	if _, ok := openPayload(other, &e); ok {
		t.Fatal("a payload sealed under one key opened under another")
	}
	if _, ok := openPayload(key, &e); ok {
		t.Fatal("a payload opened with another key id as additional data")
	}
	moved = append(moved, 1)
	moved = append(moved, ed25519.Sign(other.priv, batchMessageOf(other, moved[:len(moved)-1]))...)
	if _, _, err := cold.Verify(c.AccessKeyID, tokenEncoding.EncodeToString(moved)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("payload moved under another key's signature: %v, want ErrInvalid", err)
	}
}

// batchMessageOf is the message a batch of one signs for body.
func batchMessageOf(k *ringKey, body []byte) []byte {
	leaf := leafHash(body)
	m := batchMessage(&k.id, &leaf)
	return m[:]
}

// TestVerifierWithoutDecryptKey: a verifier given a key without its
// Decrypt half rejects that key's version 3 tokens (it cannot read them)
// and still accepts its version 2 tokens; with a wrong Decrypt key it
// rejects them too.
func TestVerifierWithoutDecryptKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	v3 := mustMint(t, f.m, fullSession(now))
	f.m.version = tokenV2
	v2 := mustMint(t, f.m, fullSession(now))
	keys := f.m.PublicKeyring()
	if len(keys[0].Decrypt) != encryptSize {
		t.Fatalf("exported Decrypt key is %d bytes", len(keys[0].Decrypt))
	}
	keys[0].Decrypt = nil
	v := NewVerifier(keys, f.clock.Now)
	if _, _, err := v.Verify(v3.AccessKeyID, v3.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("v3 without Decrypt: %v, want ErrInvalid", err)
	}
	if _, _, err := v.Verify(v2.AccessKeyID, v2.SessionToken); err != nil {
		t.Errorf("v2 without Decrypt: %v", err)
	}
	keys[0].Decrypt = bytes.Repeat([]byte{7}, encryptSize)
	v = NewVerifier(keys, f.clock.Now)
	if _, _, err := v.Verify(v3.AccessKeyID, v3.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("v3 with a wrong Decrypt key: %v, want ErrInvalid", err)
	}
	keys[0].Decrypt = []byte("short")
	v = NewVerifier(keys, f.clock.Now)
	if _, _, err := v.Verify(v2.AccessKeyID, v2.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed Decrypt key accepted: %v", err)
	}
	// A verifier that was given the key without Decrypt and then with it
	// (SetKeys) reads the token.
	v.SetKeys(f.m.PublicKeyring())
	if _, _, err := v.Verify(v3.AccessKeyID, v3.SessionToken); err != nil {
		t.Errorf("after SetKeys with Decrypt: %v", err)
	}
}

// TestLegacyKeyRecord: a signing key stored by a release before tokens were
// sealed (its sealed secret holds the seed and derivation key only) loads,
// verifies the tokens it signed then, and mints version 3 tokens under a
// token-encryption key derived from its derivation key, which a Verifier
// given the exported keyring reads.
func TestLegacyKeyRecord(t *testing.T) {
	t.Parallel()
	clk := newClock()
	now := clk.Now()
	sealer := testSealer(t)
	keys := newMemKeys()
	secret := bytes.Repeat([]byte{0x42}, seedSize+deriveSize)
	id := "0123456789abcdef"
	sealed, err := sealer.Seal(secret, keyAAD(id))
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(secret[:seedSize])
	rec := store.SigningKey{
		ID: id, Algorithm: algEd25519, Public: priv.Public().(ed25519.PublicKey), Private: sealed,
		CreatedAt: now.Add(-time.Hour), SignUntil: now.Add(time.Hour), VerifyUntil: now.Add(48 * time.Hour),
	}
	if err := keys.PutSigningKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(context.Background(), Config{Keys: keys, Sealer: sealer, Now: clk.Now, Propagation: -1})
	if err != nil {
		t.Fatal(err)
	}
	if ks := m.Keys(); len(ks) != 1 || ks[0].ID != id || !ks[0].Signing {
		t.Fatalf("legacy key not loaded as the signer: %+v", ks)
	}
	k := m.ring.Load().keys[0]
	if want := legacyEncryptionKey(secret[seedSize:]); !bytes.Equal(k.encrypt, want) {
		t.Fatal("legacy key's encryption key is not derived from its derivation key")
	}
	m.version = tokenV2
	old := mustMint(t, m, fullSession(now))
	m.version = tokenV3
	in := fullSession(now)
	c := mustMint(t, m, in)
	v := NewVerifier(m.PublicKeyring(), clk.Now)
	for _, cr := range []Credentials{old, c} {
		if _, _, err := v.Verify(cr.AccessKeyID, cr.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := v.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	in.AccessKeyID = c.AccessKeyID
	if diff := cmp.Diff(in, *got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-minted +verified):\n%s", diff)
	}
	// A record whose sealed secret has another length is refused.
	bad := rec
	bad.ID = "fedcba9876543210"
	if bad.Private, err = sealer.Seal(secret[:seedSize+deriveSize-1], keyAAD(bad.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.load(bad); !errors.Is(err, errKeyRecord) {
		t.Errorf("short secret: %v, want errKeyRecord", err)
	}
	// New keys carry their own encryption key, not the derived one.
	if _, err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	nk := m.ring.Load().keys[0]
	if nk.id == k.id || len(nk.encrypt) != encryptSize || bytes.Equal(nk.encrypt, legacyEncryptionKey(nk.derive)) {
		t.Error("a new key's encryption key is missing or derived")
	}
}

// sealedSize is the padded size of a payload of n bytes.
func sealedSize(n int) int { return max(minSealed, (n+1+padBlock-1)/padBlock*padBlock) }

func TestPadding(t *testing.T) {
	t.Parallel()
	for n := range 700 {
		p := bytes.Repeat([]byte{0x80}, n) // the worst content: padding bytes
		b := appendPadding(bytes.Clone(p), n)
		if len(b) != sealedSize(n) || len(b)%padBlock != 0 || len(b) < minSealed {
			t.Fatalf("%d bytes padded to %d", n, len(b))
		}
		got, ok := trimPadding(b)
		if !ok || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: padding does not trim back", n)
		}
	}
	for _, bad := range [][]byte{nil, {}, {0}, {0, 0}, {1}, {0x80, 1}, {0x7f, 0}} {
		if _, ok := trimPadding(bad); ok {
			t.Errorf("trimPadding(%x) accepted", bad)
		}
	}
}

// TestSealedTokenLengths: a token's length does not tell which action
// issued it, nor the length of a session name, tag or source identity, nor
// whether the session has them, within the padding block: every typical
// session below has a token of the same length.
func TestSealedTokenLengths(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	var sessions []Session
	for n := 2; n <= 20; n++ {
		s := typicalSession(now)
		name := strings.Repeat("n", n)
		s.SessionName, s.PrincipalID = name, s.RoleID+":"+name
		s.ARN = "arn:aws:sts::123456789012:assumed-role/deploy-role/" + name
		sessions = append(sessions, s)
	}
	withTag := typicalSession(now)
	withTag.Tags = []Tag{{"Project", "falcon"}}
	withSource := typicalSession(now)
	withSource.SourceIdentity = "alice@example.com"
	user := Session{ // GetSessionToken
		Type: SessionToken, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/alice",
		PrincipalID: "AIDA3XFRBF23GEXAMPLE", UserName: "alice", UserID: "AIDA3XFRBF23GEXAMPLE",
		Expires: now.Add(time.Hour), SourceAccessKeyID: "AKIAZ7SAMPLEEXAMPLE2",
	}
	sessions = append(sessions, withTag, withSource, user)
	want := -1
	for i, s := range sessions {
		c := mustMint(t, f.m, s)
		if want < 0 {
			want = len(c.SessionToken)
		}
		if len(c.SessionToken) != want {
			t.Errorf("session %d: token of %d chars, the first was %d", i, len(c.SessionToken), want)
		}
	}
}

// TestTokenVersion2Mode: a Manager configured for a rolling upgrade mints
// version 2 tokens and creates keys in the record format of the release
// before sealed tokens (seed and derivation key only), which that release
// loads; switched back to version 3 on the same store, it mints sealed
// tokens with those keys and still verifies the version 2 ones.
func TestTokenVersion2Mode(t *testing.T) {
	t.Parallel()
	clk := newClock()
	sealer := testSealer(t)
	keys := newMemKeys()
	m, err := NewManager(context.Background(), Config{Keys: keys, Sealer: sealer, Now: clk.Now, Propagation: -1, TokenVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	old := mustMint(t, m, fullSession(clk.Now()))
	if rawToken(t, old.SessionToken)[0] != tokenV2 {
		t.Fatal("TokenVersion 2 minted another version")
	}
	recs, _ := keys.ListSigningKeys(context.Background())
	if len(recs) != 1 {
		t.Fatalf("%d keys", len(recs))
	}
	secret, err := sealer.Open(recs[0].Private, keyAAD(recs[0].ID))
	if err != nil || len(secret) != seedSize+deriveSize {
		t.Fatalf("key record for a rolling upgrade: %d-byte secret (%v), want the previous release's %d", len(secret), err, seedSize+deriveSize)
	}
	m3, err := NewManager(context.Background(), Config{Keys: keys, Sealer: sealer, Now: clk.Now, Propagation: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := mustMint(t, m3, fullSession(clk.Now()))
	if rawToken(t, c.SessionToken)[0] != tokenV3 {
		t.Fatal("default is not version 3")
	}
	for _, cr := range []Credentials{old, c} {
		if _, _, err := m3.Verify(cr.AccessKeyID, cr.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewManager(context.Background(), Config{Keys: keys, Sealer: sealer, TokenVersion: 1}); err == nil {
		t.Error("TokenVersion 1 accepted")
	}
}

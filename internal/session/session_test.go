package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func mustMint(t testing.TB, m *Manager, s Session) Credentials {
	t.Helper()
	c, err := m.Mint(s)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return c
}

func TestRoundTripEveryField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	for name, in := range map[string]Session{"full": fullSession(now), "typical": typicalSession(now)} {
		t.Run(name, func(t *testing.T) {
			c := mustMint(t, f.m, in)
			got, secret, err := f.m.Verify(c.AccessKeyID, c.SessionToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := in
			want.AccessKeyID = c.AccessKeyID
			if want.IssuedAt.IsZero() {
				want.IssuedAt = now
			}
			if diff := cmp.Diff(want, *got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("session (-minted +verified):\n%s", diff)
			}
			if string(secret) != c.SecretAccessKey {
				t.Errorf("secret = %q, want %q", secret, c.SecretAccessKey)
			}
			if !c.Expiration.Equal(in.Expires) || c.Expiration.Location() != time.UTC {
				t.Errorf("Expiration = %v, want %v UTC", c.Expiration, in.Expires)
			}
			if !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.AccessKeyID) != 20 {
				t.Errorf("AccessKeyID = %q", c.AccessKeyID)
			}
			if acct, ok := AccountForAccessKeyID(c.AccessKeyID); !ok || acct != in.Account {
				t.Errorf("AccountForAccessKeyID = %q, %v; want %q", acct, ok, in.Account)
			}
			if len(c.SecretAccessKey) != 40 {
				t.Errorf("len(secret) = %d, want 40", len(c.SecretAccessKey))
			}
		})
	}
}

func TestMintTruncatesToSeconds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.clock.Set(t0.Add(700 * time.Millisecond))
	s := typicalSession(t0)
	s.Expires = t0.Add(time.Hour + 900*time.Millisecond)
	c := mustMint(t, f.m, s)
	got, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(t0) || !got.Expires.Equal(t0.Add(time.Hour)) || !c.Expiration.Equal(got.Expires) {
		t.Errorf("IssuedAt %v Expires %v Expiration %v", got.IssuedAt, got.Expires, c.Expiration)
	}
}

// The known answers: testdata/known_answer.golden and known_answer_v2.golden
// hold tokens minted by earlier releases (version 1, version 2) with the
// fixture's deterministic key; TestV1TokensStillVerify and
// TestV2TokensStillVerify check that they still verify, with their secrets.
// TestKnownAnswerV3 pins the version Mint issues.

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestTypicalTokenSize(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := mustMint(t, f.m, typicalSession(f.clock.Now()))
	t.Logf("typical assumed-role token: %d chars", len(c.SessionToken))
	if len(c.SessionToken) >= 600 {
		t.Errorf("typical token is %d chars, want < 600", len(c.SessionToken))
	}
	if c.SessionToken[0] != 'A' { // base64url of version byte 0x01 starts with 'A'
		t.Errorf("token starts with %q", c.SessionToken[:1])
	}
}

func TestTamperAnyByte(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.CacheBytes = -1 })
	c := mustMint(t, f.m, fullSession(f.clock.Now()))
	raw, err := tokenEncoding.DecodeString(c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(raw)
			b[i] ^= mask
			if _, _, err := f.m.Verify(c.AccessKeyID, tokenEncoding.EncodeToString(b)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrInvalid", i, mask, err)
			}
		}
	}
	for _, bad := range []string{
		"", "A", c.SessionToken[:len(c.SessionToken)-1], c.SessionToken + "A", c.SessionToken + "=",
		strings.ReplaceAll(c.SessionToken, "-", "+"), " " + c.SessionToken,
		strings.Repeat("A", maxTokenChars+1),
		tokenEncoding.EncodeToString(raw[:len(raw)-1]), tokenEncoding.EncodeToString(append(bytes.Clone(raw), 0)),
	} {
		if bad == c.SessionToken {
			continue
		}
		if _, _, err := f.m.Verify(c.AccessKeyID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%.20q...) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestBindingToAccessKeyID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	a := mustMint(t, f.m, typicalSession(now))
	b := mustMint(t, f.m, typicalSession(now))
	for _, id := range []string{b.AccessKeyID, "", "ASIA", strings.ToLower(a.AccessKeyID), a.AccessKeyID + "X"} {
		// Twice: the second call is served from the verify cache.
		for range 2 {
			if _, _, err := f.m.Verify(id, a.SessionToken); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify(%q, token of %q) = %v, want ErrInvalid", id, a.AccessKeyID, err)
			}
			if _, _, err := f.m.Verify(a.AccessKeyID, a.SessionToken); err != nil {
				t.Errorf("Verify(own id) = %v", err)
			}
		}
	}
}

func TestExpiryBoundary(t *testing.T) {
	t.Parallel()
	for _, cacheSize := range []int{-1, 0} {
		t.Run(fmt.Sprintf("cache=%d", cacheSize), func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.CacheBytes = cacheSize })
			s := typicalSession(f.clock.Now())
			c := mustMint(t, f.m, s)
			steps := []struct {
				at   time.Time
				want error
			}{
				{s.Expires.Add(-time.Second), nil},
				{s.Expires.Add(-time.Nanosecond), nil},
				{s.Expires, ErrExpired}, // valid while now < Expires
				{s.Expires.Add(time.Hour), ErrExpired},
			}
			for _, st := range steps {
				f.clock.Set(st.at)
				if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, st.want) {
					t.Errorf("at Expires%+v: err = %v, want %v", st.at.Sub(s.Expires), err, st.want)
				}
			}
			// Binding is checked before expiry.
			if _, _, err := f.m.Verify("ASIAAAAAAAAAAAAAAAAA", c.SessionToken); !errors.Is(err, ErrInvalid) {
				t.Errorf("expired token, wrong id: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestUnknownKey(t *testing.T) {
	t.Parallel()
	a := newFixture(t, nil)
	b := newFixture(t, func(c *Config) { c.Rand = detRand(99) })
	c := mustMint(t, b.m, typicalSession(b.clock.Now()))
	if _, _, err := a.m.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("token of another keyring: %v, want ErrInvalid", err)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	c := mustMint(t, f.m, typicalSession(f.clock.Now()))
	if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil { // now cached
		t.Fatal(err)
	}
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	if _, _, err := v.Verify(c.AccessKeyID, c.SessionToken); err != nil {
		t.Fatal(err)
	}
	old := f.m.Keys()[0].ID
	f.clock.Advance(time.Minute)
	if err := f.m.Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("after revoke: %v, want ErrInvalid", err)
	}
	v.SetKeys(f.m.PublicKeyring())
	if _, _, err := v.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("verifier after revoke: %v, want ErrInvalid", err)
	}
	// Minting goes on with a fresh key.
	c2 := mustMint(t, f.m, typicalSession(f.clock.Now()))
	if _, _, err := f.m.Verify(c2.AccessKeyID, c2.SessionToken); err != nil {
		t.Errorf("new token after revoke: %v", err)
	}
	keys := f.m.Keys()
	if len(keys) != 2 || keys[0].ID == old || !keys[0].Signing || !keys[1].Revoked {
		t.Errorf("keys after revoke = %+v", keys)
	}
	// A restarted node sees the revocation.
	m2 := f.newManager(t, nil)
	if _, _, err := m2.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("restarted node: %v, want ErrInvalid", err)
	}
	if err := f.m.Revoke(ctx, "0000000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v, want ErrNotFound", err)
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	s := typicalSession(f.clock.Now())
	s.Expires = f.clock.Now().Add(DefaultMaxLifetime)
	before := mustMint(t, f.m, s)
	k1 := f.m.Keys()[0]

	f.clock.Advance(time.Hour)
	k2, err := f.m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := f.m.Keys()
	if keys[0].ID != k2 || !keys[0].Signing || keys[1].ID != k1.ID || keys[1].Signing {
		t.Fatalf("keys after rotate = %+v", keys)
	}
	if want := f.clock.Now(); !keys[1].SignUntil.Equal(want) {
		t.Errorf("old SignUntil = %v, want %v", keys[1].SignUntil, want)
	}
	if want := f.clock.Now().Add(DefaultMaxLifetime + verifyMargin); !keys[1].VerifyUntil.Equal(want) {
		t.Errorf("old VerifyUntil = %v, want %v", keys[1].VerifyUntil, want)
	}
	after := mustMint(t, f.m, typicalSession(f.clock.Now()))
	if kid(t, after.SessionToken) != k2 {
		t.Errorf("minted after rotate with %s, want %s", kid(t, after.SessionToken), k2)
	}
	for _, at := range []time.Time{f.clock.Now(), s.Expires.Add(-time.Second)} {
		f.clock.Set(at)
		if _, _, err := f.m.Verify(before.AccessKeyID, before.SessionToken); err != nil {
			t.Errorf("token of rotated key at %v: %v", at, err)
		}
	}
	f.clock.Set(s.Expires)
	if _, _, err := f.m.Verify(before.AccessKeyID, before.SessionToken); !errors.Is(err, ErrExpired) {
		t.Errorf("at its expiry: %v, want ErrExpired", err)
	}
	// Past the key's VerifyUntil the token is still reported expired, until
	// the key is pruned; then it is unknown.
	f.clock.Set(keys[1].VerifyUntil)
	if err := f.m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.Verify(before.AccessKeyID, before.SessionToken); !errors.Is(err, ErrExpired) {
		t.Errorf("after VerifyUntil: %v, want ErrExpired", err)
	}
	f.clock.Set(keys[1].VerifyUntil.Add(pruneAfter + time.Second))
	if err := f.m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.Verify(before.AccessKeyID, before.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("after prune: %v, want ErrInvalid", err)
	}
	for _, k := range f.m.Keys() {
		if k.ID == k1.ID {
			t.Errorf("key %s not pruned", k1.ID)
		}
	}
}

func TestRotatePropagation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Propagation = 0 }) // default: 1 minute
	k1 := f.m.Keys()[0].ID
	if kid(t, mustMint(t, f.m, typicalSession(f.clock.Now())).SessionToken) != k1 {
		t.Fatal("first key does not sign at once")
	}
	k2, err := f.m.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  string
	}{{0, k1}, {DefaultPropagation - time.Second, k1}, {DefaultPropagation, k2}} {
		f.clock.Set(t0.Add(tc.after))
		if got := kid(t, mustMint(t, f.m, typicalSession(f.clock.Now())).SessionToken); got != tc.want {
			t.Errorf("%v after rotate: signed with %s, want %s", tc.after, got, tc.want)
		}
	}
}

func TestAutomaticRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	k1 := f.m.Keys()[0].ID
	f.m.tick(ctx)
	if n := len(f.m.Keys()); n != 1 {
		t.Fatalf("rotated too early: %d keys", n)
	}
	f.clock.Advance(DefaultRotateEvery)
	f.m.tick(ctx)
	keys := f.m.Keys()
	if len(keys) != 2 || keys[0].ID == k1 || !keys[0].Signing {
		t.Fatalf("after RotateEvery: %+v", keys)
	}

	// Without Run, Mint rotates by itself once no key may sign.
	g := newFixture(t, nil)
	g.clock.Advance(2 * DefaultRotateEvery)
	c := mustMint(t, g.m, typicalSession(g.clock.Now()))
	if kid(t, c.SessionToken) == g.m.Keys()[1].ID {
		t.Error("Mint signed with a key past SignUntil")
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.m.Run(ctx, time.Millisecond); close(done) }()
	time.Sleep(5 * time.Millisecond)
	cancel()
	<-done
}

func TestRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := mustMint(t, f.m, fullSession(f.clock.Now()))
	puts := f.keys.putCount()
	// A new process: same store, same master key, new Sealer and randomness.
	m2 := f.newManager(t, func(c *Config) { c.Rand = nil })
	if f.keys.putCount() != puts {
		t.Error("restart wrote keys")
	}
	s, secret, err := m2.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatalf("Verify after restart: %v", err)
	}
	if string(secret) != c.SecretAccessKey || s.AccessKeyID != c.AccessKeyID {
		t.Error("restarted node derives another secret")
	}
	c2 := mustMint(t, m2, typicalSession(f.clock.Now()))
	if kid(t, c2.SessionToken) != kid(t, c.SessionToken) {
		t.Error("restarted node signs with another key")
	}
	if _, _, err := f.m.Verify(c2.AccessKeyID, c2.SessionToken); err != nil {
		t.Errorf("first node verifies second node's token: %v", err)
	}
}

func TestOtherNodeRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	b := f.newManager(t, nil)
	k2, err := f.m.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := mustMint(t, f.m, typicalSession(f.clock.Now()))
	if _, _, err := b.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("before refresh: %v, want ErrInvalid", err)
	}
	if err := b.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Verify(c.AccessKeyID, c.SessionToken); err != nil {
		t.Errorf("after refresh: %v", err)
	}
	if got := kid(t, mustMint(t, b, typicalSession(f.clock.Now())).SessionToken); got != k2 {
		t.Errorf("node b signs with %s after refresh, want %s", got, k2)
	}
}

func TestWrongMasterKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other, err := seal.New(bytes.Repeat([]byte{7}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewManager(context.Background(), Config{Keys: f.keys, Sealer: other, Now: f.clock.Now})
	if !errors.Is(err, seal.ErrOpen) {
		t.Errorf("NewManager with another master key: %v, want seal.ErrOpen", err)
	}
}

func TestVerifierCannotMint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := mustMint(t, f.m, fullSession(f.clock.Now()))
	pub := f.m.PublicKeyring()
	v := NewVerifier(pub, f.clock.Now)
	s, secret, err := v.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatalf("Verifier.Verify: %v", err)
	}
	ms, msecret, _ := f.m.Verify(c.AccessKeyID, c.SessionToken)
	if diff := cmp.Diff(ms, s); diff != "" || !bytes.Equal(secret, msecret) {
		t.Errorf("verifier and manager disagree: %s", diff)
	}
	if _, ok := any(v).(interface {
		Mint(Session) (Credentials, error)
	}); ok {
		t.Error("Verifier can mint")
	}
	for _, k := range v.ring.Load().keys {
		if k.priv != nil {
			t.Error("verifier holds a private key")
		}
	}
	// The exported keyring contains no private key material.
	for _, sk := range f.keys.keys {
		seedAndDerive, err := testSealer(t).Open(sk.Private, keyAAD(sk.ID))
		if err != nil {
			t.Fatal(err)
		}
		seed := seedAndDerive[:seedSize]
		for _, vk := range pub {
			if bytes.Contains(vk.Public, seed[:8]) || bytes.Contains(vk.Derive, seed[:8]) {
				t.Error("PublicKeyring leaks the private seed")
			}
		}
	}
	// A token forged by a verifier (signed with anything but the private key)
	// does not verify.
	_, forger, _ := ed25519.GenerateKey(nil)
	raw, _ := tokenEncoding.DecodeString(c.SessionToken)
	signed := raw[:len(raw)-sigSize]
	forged := tokenEncoding.EncodeToString(append(bytes.Clone(signed), ed25519.Sign(forger, signed)...))
	if _, _, err := v.Verify(c.AccessKeyID, forged); !errors.Is(err, ErrInvalid) {
		t.Errorf("forged token: %v, want ErrInvalid", err)
	}
}

func TestStoreHoldsNoPlaintextKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	if _, err := f.m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	for _, k := range f.keys.keys {
		stored = fmt.Appendf(stored, "%s|%s|%x|%x|%v|", k.ID, k.Algorithm, k.Public, k.Private, k)
		stored = append(stored, k.Public...)
		stored = append(stored, k.Private...)
	}
	if len(f.keys.keys) != 2 {
		t.Fatalf("%d keys stored", len(f.keys.keys))
	}
	for _, k := range f.m.ring.Load().keys {
		for name, secret := range map[string][]byte{"seed": k.priv.Seed(), "derive": k.derive} {
			for i := 0; i+8 <= len(secret); i++ {
				if bytes.Contains(stored, secret[i:i+8]) {
					t.Fatalf("store holds plaintext %s of key %s", name, k.idStr)
				}
			}
		}
	}
	// Sealed values are bound to their record: swapping them fails.
	var recs []store.SigningKey
	for _, k := range f.keys.keys {
		recs = append(recs, k)
	}
	recs[0].Private, recs[1].Private = recs[1].Private, recs[0].Private
	swapped := newMemKeys()
	for _, r := range recs {
		swapped.keys[r.ID] = r
	}
	if _, err := NewManager(context.Background(), Config{Keys: swapped, Sealer: testSealer(t), Now: f.clock.Now}); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("swapped sealed keys: %v, want seal.ErrOpen", err)
	}
}

func TestSecretsDiffer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	seen := map[string]bool{}
	for range 100 {
		c := mustMint(t, f.m, typicalSession(f.clock.Now()))
		for _, v := range []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken} {
			if seen[v] {
				t.Fatalf("repeated value %q", v)
			}
			seen[v] = true
		}
	}
	// The secret depends on every signed byte, not only the access key id.
	k := f.m.ring.Load().keys[0]
	a := k.secret([]byte("same-id|payload-a"))
	b := k.secret([]byte("same-id|payload-b"))
	if bytes.Equal(a, b) {
		t.Error("secret does not depend on the payload")
	}
}

func TestMintRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	for name, mod := range map[string]func(*Session){
		"no type":           func(s *Session) { s.Type = 0 },
		"unknown type":      func(s *Session) { s.Type = LDAP + 1 },
		"expires at issue":  func(s *Session) { s.Expires = now },
		"expires before":    func(s *Session) { s.IssuedAt = now.Add(-time.Hour); s.Expires = now.Add(-2 * time.Hour) },
		"too long":          func(s *Session) { s.Expires = now.Add(DefaultMaxLifetime + time.Second) },
		"issued in future":  func(s *Session) { s.IssuedAt = now.Add(time.Minute) },
		"bad account":       func(s *Session) { s.Account = "12345" },
		"negative depth":    func(s *Session) { s.ChainDepth = -1 },
		"MFA time pre-1970": func(s *Session) { s.MFAAuthTime = time.Unix(-5, 0) },
	} {
		s := typicalSession(now)
		mod(&s)
		if _, err := f.m.Mint(s); err == nil {
			t.Errorf("%s: Mint succeeded", name)
		}
	}
	s := typicalSession(now)
	s.Expires = now.Add(DefaultMaxLifetime)
	if _, err := f.m.Mint(s); err != nil {
		t.Errorf("MaxLifetime exactly: %v", err)
	}
	// An already expired session can be minted (tests need one) but never verifies.
	s = typicalSession(now)
	s.IssuedAt, s.Expires = now.Add(-2*time.Hour), now.Add(-time.Hour)
	c, err := f.m.Mint(s)
	if err != nil {
		t.Fatalf("expired session: %v", err)
	}
	if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); !errors.Is(err, ErrExpired) {
		t.Errorf("expired session verifies: %v", err)
	}
}

func TestConcurrentMintVerifyRotate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.CacheBytes = 64 << 10 }) // about 64 sessions
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				c, err := f.m.Mint(typicalSession(f.clock.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				for range 2 {
					if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
						t.Errorf("goroutine %d, token %d: %v", g, i, err)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := f.m.Rotate(ctx); err != nil {
				t.Error(err)
			}
			if err := f.m.Refresh(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

func TestCacheEviction(t *testing.T) {
	t.Parallel()
	h := func(n byte) *tokenHash { return &tokenHash{0, n} }
	k := &ringKey{}
	probe := newCache(1 << 20)
	probe.put(h(0), &cacheEntry{key: k})
	_, per := probe.stats()
	c := newCache(2 * per) // two entries
	c.put(h(1), &cacheEntry{key: k})
	c.put(h(2), &cacheEntry{key: k})
	c.get(h(1))
	c.put(h(3), &cacheEntry{key: k})
	if c.get(h(1)) == nil || c.get(h(2)) != nil || c.get(h(3)) == nil {
		t.Error("the entry read since the last eviction should stay and the unread one go")
	}
	c.remove(h(1))
	if c.get(h(1)) != nil {
		t.Error("remove")
	}
}

func TestVerifyReturnsCopies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := mustMint(t, f.m, fullSession(f.clock.Now()))
	s1, sec1, _ := f.m.Verify(c.AccessKeyID, c.SessionToken)
	s1.ARN = "changed"
	sec1[0] ^= 1
	s2, sec2, err := f.m.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil || s2.ARN == "changed" || string(sec2) != c.SecretAccessKey {
		t.Error("caller's changes reached the cache")
	}
}

func kid(t testing.TB, token string) string {
	t.Helper()
	e, ok := decodeToken(token)
	if !ok {
		t.Fatal("undecodable token")
	}
	return fmt.Sprintf("%x", e.kid[:])
}

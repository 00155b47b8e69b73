package issuer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// memKeys is an in-memory store.IssuerKeys.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]store.SigningKey
}

func (m *memKeys) PutIssuerKey(_ context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = k
	return nil
}

func (m *memKeys) ListIssuerKeys(context.Context) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memKeys) DeleteIssuerKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.keys, id)
	return nil
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newIssuer(t *testing.T, keys *memKeys, clk *clock, mk byte) *Issuer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{mk}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(context.Background(), Config{Keys: keys, Sealer: s, URL: "https://issuer.example.com/oidc", Now: clk.Now,
		RotateEvery: time.Hour, Propagation: 10 * time.Minute, RefreshEvery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func verify(t *testing.T, i *Issuer, tok, alg string) error {
	t.Helper()
	set, err := i.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		return err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return fmt.Errorf("kid %q: %d keys in the JWKS", jws.Signatures[0].Header.KeyID, len(keys))
	}
	_, err = jws.Verify(keys[0])
	return err
}

// TestRotation: a new key is published before it signs, the old one signs
// until then and stays in the JWKS until its last token has expired; a
// revoked key leaves the JWKS at once.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	keys := &memKeys{keys: map[string]store.SigningKey{}}
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	i := newIssuer(t, keys, clk, 1)
	kid := func(tok string) string {
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES384})
		if err != nil {
			t.Fatal(err)
		}
		return jws.Signatures[0].Header.KeyID
	}
	sign := func(alg string) string {
		tok, err := i.Sign(ctx, alg, map[string]any{"iss": i.URL(), "sub": "s"})
		if err != nil {
			t.Fatal(err)
		}
		if err := verify(t, i, tok, alg); err != nil {
			t.Fatalf("%s token does not verify against the JWKS: %v", alg, err)
		}
		return tok
	}
	first := kid(sign(RS256))
	kidES := kid(sign(ES384))
	if first == kidES {
		t.Fatal("one key for two algorithms")
	}
	// Nothing private in the JWKS.
	set, _ := i.JWKS(ctx)
	b, _ := json.Marshal(set)
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Errorf("JWKS key %s is not public", k.KeyID)
		}
	}
	if strings.Contains(string(b), `"d"`) {
		t.Errorf("JWKS carries a private exponent: %s", b)
	}

	clk.now = clk.now.Add(time.Hour) // RotateEvery
	i.tick(ctx)
	set, _ = i.JWKS(ctx)
	if len(set.Keys) != 4 {
		t.Fatalf("after rotation the JWKS has %d keys, want 4 (old and new of each algorithm)", len(set.Keys))
	}
	if got := kid(sign(RS256)); got != first {
		t.Errorf("signed with %s before the new key propagated, want %s", got, first)
	}
	clk.now = clk.now.Add(10 * time.Minute)
	second := kid(sign(RS256))
	if second == first {
		t.Error("the old key still signs after the new one propagated")
	}
	// Another node sharing the store publishes the same keys.
	other := newIssuer(t, keys, clk, 1)
	if err := verify(t, other, sign(ES384), ES384); err != nil {
		t.Errorf("another node does not publish this node's key: %v", err)
	}
	// The old key leaves the JWKS once its last token expired.
	clk.now = clk.now.Add(MaxLifetime + verifyMargin + time.Second)
	set, _ = i.JWKS(ctx)
	if len(set.Key(first)) != 0 {
		t.Error("the retired key is still published past its last token")
	}
	// Revocation.
	tok := sign(RS256)
	current := kid(tok)
	if err := i.Revoke(ctx, current); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, i, tok, RS256); err == nil {
		t.Error("a token of a revoked key verifies against the JWKS")
	}
	if got := kid(sign(RS256)); got == current {
		t.Error("a revoked key signs")
	}
	if err := i.Revoke(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown key: %v", err)
	}
	// Past VerifyUntil + pruneAfter, records are deleted.
	clk.now = clk.now.Add(10 * 24 * time.Hour)
	i.tick(ctx)
	ks, _ := keys.ListIssuerKeys(ctx)
	if len(ks) != 2 {
		t.Errorf("%d records after pruning, want the 2 fresh keys", len(ks))
	}
}

// TestSealedKeys: private halves are sealed with the master key, bound to
// the key id; a node with another master key loads none of them, and a
// record whose sealed half was swapped with another key's is refused.
func TestSealedKeys(t *testing.T) {
	ctx := context.Background()
	keys := &memKeys{keys: map[string]store.SigningKey{}}
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	i := newIssuer(t, keys, clk, 1)
	ks, _ := keys.ListIssuerKeys(ctx)
	for _, k := range ks {
		if bytes.Contains(k.Private, k.Public[len(k.Public)-16:]) {
			t.Errorf("key %s: private record carries plaintext key material", k.ID)
		}
	}
	s2, _ := seal.New(bytes.Repeat([]byte{2}, 32), rand.Reader)
	if _, err := New(ctx, Config{Keys: keys, Sealer: s2, URL: i.URL(), Now: clk.Now}); err == nil {
		t.Error("a node with another master key loaded the keys")
	}
	// Swap the sealed halves of the two keys.
	a, b := ks[0], ks[1]
	a.Private, b.Private = b.Private, a.Private
	keys.keys[a.ID], keys.keys[b.ID] = a, b
	if err := i.Refresh(ctx); err == nil {
		t.Error("records with swapped private halves loaded")
	}
}

func TestValidURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://sts.example.com":        true,
		"https://sts.example.com/oidc":   true,
		"http://sts.example.com":         false,
		"https://sts.example.com/":       false,
		"https://sts.example.com?x=1":    false,
		"https://u:p@sts.example.com":    false,
		"https://sts.example.com/#frag":  false,
		"sts.example.com":                false,
		"https:///nohost":                false,
		"https://sts.example.com/a%zz/b": false,
	} {
		if err := ValidURL(u); (err == nil) != ok {
			t.Errorf("ValidURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
}

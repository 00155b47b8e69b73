package session

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/chacha20poly1305"
)

func mustMintV1(t testing.TB, m *Manager, s Session) Credentials {
	t.Helper()
	c, err := m.mintV1(s)
	if err != nil {
		t.Fatalf("mintV1: %v", err)
	}
	return c
}

// mintBatch mints ss as one batch, deterministically: the same path a
// closing Mint takes, without the concurrency.
func mintBatch(t testing.TB, m *Manager, ss ...Session) []Credentials {
	t.Helper()
	ps := make([]pendingToken, len(ss))
	reqs := make([]*signReq, len(ss))
	for i, s := range ss {
		p, err := m.prepare(s, m.version, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.key != ps[0].key && i > 0 {
			t.Fatal("batch spans keys")
		}
		ps[i] = p
		reqs[i] = &signReq{leaf: leafHash(p.body), ready: make(chan struct{}, 1)}
	}
	b := &ps[0].key.batch
	b.mu.Lock()
	b.open = reqs
	ps[0].key.signBatch(b.close(), nil)
	out := make([]Credentials, len(ss))
	for i := range ps {
		ps[i].body = reqs[i].appendProof(ps[i].body)
		out[i] = ps[i].credentials()
	}
	return out
}

func rawToken(t testing.TB, token string) []byte {
	t.Helper()
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func envOf(t testing.TB, token string) envelope {
	t.Helper()
	e, ok := splitToken(rawToken(t, token))
	if !ok {
		t.Fatal("token does not split")
	}
	return e
}

func depthOf(t testing.TB, token string) int { return len(envOf(t, token).path) / hashSize }

// mth is RFC 6962's Merkle tree hash over leaf hashes, as a reference.
func mth(leaves [][hashSize]byte) [hashSize]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1 << (bits.Len(uint(len(leaves)-1)) - 1) // largest power of two < n
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return nodeHash(l[:], r[:])
}

func TestMerkleTree(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 128; n++ {
		leaves := make([][hashSize]byte, n)
		for i := range leaves {
			leaves[i] = leafHash(fmt.Appendf(nil, "token %d of %d", i, n))
		}
		tree := buildTree(append([][hashSize]byte(nil), leaves...))
		root := *tree.root()
		if root != mth(leaves) {
			t.Fatalf("n=%d: root differs from RFC 6962 MTH", n)
		}
		maxDepth := bits.Len(uint(n - 1))
		seen := map[byte]bool{}
		for i := range leaves {
			path, pos := tree.appendPath(nil, i)
			d := len(path) / hashSize
			if len(path)%hashSize != 0 || bits.Len8(pos)-1 != d || d > maxDepth || (n <= maxBatch && d > 6) {
				t.Fatalf("n=%d i=%d: pos %08b, path %d bytes", n, i, pos, len(path))
			}
			if seen[pos] {
				t.Fatalf("n=%d: position %08b repeats", n, pos)
			}
			seen[pos] = true
			if rootFromPath(leaves[i], pos, path) != root {
				t.Fatalf("n=%d i=%d: path does not prove the leaf", n, i)
			}
			if n > 1 && rootFromPath(leaves[(i+1)%n], pos, path) == root {
				t.Fatalf("n=%d i=%d: path proves another leaf", n, i)
			}
		}
	}
}

// TestMintIdleIsBatchOfOne: with no concurrency, every token is signed alone
// and is one byte longer than version 1, plus the nonce and tag of its
// sealed payload.
func TestMintIdleIsBatchOfOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	v1 := rawToken(t, mustMintV1(t, f.m, typicalSession(now)).SessionToken)
	for range 3 {
		c := mustMint(t, f.m, typicalSession(now))
		raw := rawToken(t, c.SessionToken)
		e := envOf(t, c.SessionToken)
		payload := len(v1) - tokenHeader - sigSize
		if raw[0] != tokenV3 || e.pos != 1 || len(e.path) != 0 || len(raw) != len(v1)+1+nonceSize+sealedSize(payload)-payload+tagSize {
			t.Fatalf("idle token: version %d pos %d path %d, %d bytes (v1 %d)", raw[0], e.pos, len(e.path), len(raw), len(v1))
		}
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	if b := &f.m.ring.Load().keys[0].batch; b.open != nil || b.signing != 0 {
		t.Errorf("signer not idle: %d open, %d signing", len(b.open), b.signing)
	}
}

// TestTokenSizes reports the size of a typical and of the largest
// legitimate assumed-role token in every version, and checks what sealing
// and batching add: the nonce and tag (40 bytes), and 1 + 32*depth bytes.
func TestTokenSizes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	for _, tc := range []struct {
		name string
		s    Session
	}{{"typical", typicalSession(now)}, {"largest", largestSession(now)}} {
		v1 := mustMintV1(t, f.m, tc.s)
		f.m.version = tokenV2
		v2 := mustMint(t, f.m, tc.s)
		f.m.version = tokenV3
		v3 := mustMint(t, f.m, tc.s)
		t.Logf("%s token: v1 %d chars, v2 %d chars, v3 (sealed) %d chars", tc.name,
			len(v1.SessionToken), len(v2.SessionToken), len(v3.SessionToken))
		payload := len(rawToken(t, v1.SessionToken)) - tokenHeader - sigSize
		want := nonceSize + sealedSize(payload) - payload + tagSize
		if grow := len(rawToken(t, v3.SessionToken)) - len(rawToken(t, v2.SessionToken)); grow != want {
			t.Errorf("%s: sealing adds %d bytes, want %d", tc.name, grow, want)
		}
		if len(v3.SessionToken) > maxTokenChars/4 {
			t.Errorf("%s: %d chars leaves too little room under maxTokenChars", tc.name, len(v3.SessionToken))
		}
		for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
			ss := make([]Session, n)
			for i := range ss {
				ss[i] = tc.s
			}
			c := mintBatch(t, f.m, ss...)[0]
			d := depthOf(t, c.SessionToken)
			grow := len(rawToken(t, c.SessionToken)) - len(rawToken(t, v3.SessionToken))
			t.Logf("%s token, v3 batch of %2d: depth %d, %d chars (+%d bytes)", tc.name, n, d, len(c.SessionToken), grow)
			if grow != d*hashSize {
				t.Errorf("%s: batch of %d grows by %d bytes, want %d", tc.name, n, grow, d*hashSize)
			}
			if tc.name == "typical" && n == maxBatch && len(c.SessionToken) >= 760 {
				t.Errorf("typical token in a full batch is %d chars", len(c.SessionToken))
			}
		}
	}
}

// verifyAll checks that every credential verifies with m, a Manager without
// caches on the same store, and a Verifier, and returns the Verifier.
func verifyAll(t *testing.T, f *fixture, cs []Credentials) *Verifier {
	t.Helper()
	cold := f.newManager(t, func(c *Config) { c.CacheBytes = -1 })
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	for i, c := range cs {
		for name, verify := range map[string]func(string, string) (*Session, []byte, error){
			"manager": f.m.Verify, "uncached manager": cold.Verify, "verifier": v.Verify,
		} {
			s, secret, err := verify(c.AccessKeyID, c.SessionToken)
			if err != nil {
				t.Fatalf("token %d, %s: %v", i, name, err)
			}
			if string(secret) != c.SecretAccessKey || s.AccessKeyID != c.AccessKeyID {
				t.Fatalf("token %d, %s: wrong secret or session", i, name)
			}
		}
	}
	return v
}

func (c *rootCache) len() int { n, _ := c.l.stats(); return n }

// TestConcurrentMint: 200 goroutines minting at once; every token verifies
// everywhere, whatever batches formed.
func TestConcurrentMint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Rand = nil })
	const n = 200
	cs := make([]Credentials, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			s := typicalSession(f.clock.Now())
			if i%3 == 0 {
				s = fullSession(f.clock.Now())
			}
			c, err := f.m.Mint(s)
			if err != nil {
				t.Error(err)
			}
			cs[i] = c
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	depths := map[int]int{}
	for _, c := range cs {
		depths[depthOf(t, c.SessionToken)]++
	}
	t.Logf("tokens by audit path depth: %v", depths)
	verifyAll(t, f, cs)
	if b := &f.m.ring.Load().keys[0].batch; b.open != nil || b.signing != 0 {
		t.Errorf("signer not idle: %d open, %d signing", len(b.open), b.signing)
	}
}

// TestForcedBatches: with batches of up to 64 and Mints that always expect
// company, 200 concurrent Mints are signed in batches of 64, 64, 64 and 8
// (the last closed by its opener when nobody joined for a second), and a
// verifier needs one Ed25519 verification per batch.
func TestForcedBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	k := f.m.ring.Load().signer(f.clock.Now(), 0)
	k.batch.mu.Lock()
	k.batch.target, k.batch.budget, k.batch.gap, k.batch.load = maxBatch, time.Second, time.Second, loadedSignatures
	k.batch.forceMore = true
	k.batch.mu.Unlock()
	const n = 200
	cs := make([]Credentials, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := f.m.Mint(typicalSession(f.clock.Now()))
			if err != nil {
				t.Error(err)
			}
			cs[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	depths := map[int]int{}
	sigs := map[string]int{}
	for _, c := range cs {
		depths[depthOf(t, c.SessionToken)]++
		sigs[string(envOf(t, c.SessionToken).sig)]++
	}
	if want := map[int]int{6: 192, 3: 8}; !cmp.Equal(depths, want) {
		t.Errorf("tokens by depth = %v, want %v", depths, want)
	}
	if len(sigs) != 4 {
		t.Errorf("%d distinct signatures, want 4", len(sigs))
	}
	v := verifyAll(t, f, cs)
	if got := v.roots.len(); got != 4 {
		t.Errorf("verifier cached %d roots, want 4", got)
	}
	if k.batch.open != nil || k.batch.signing != 0 || k.batch.load != loadedSignatures {
		t.Errorf("signer not idle and loaded: %d open, %d signing, load %d", len(k.batch.open), k.batch.signing, k.batch.load)
	}
}

// reassemble builds a v2 token from parts.
func reassemble(body, path []byte, pos byte, sig []byte) string {
	b := append(bytes.Clone(body), path...)
	b = append(b, pos)
	return tokenEncoding.EncodeToString(append(b, sig...))
}

func TestBatchTamper(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil) // caches on: the root of the batch gets cached
	now := f.clock.Now()
	batch := mintBatch(t, f.m, fullSession(now), typicalSession(now), typicalSession(now), typicalSession(now), typicalSession(now))
	other := mintBatch(t, f.m, typicalSession(now), typicalSession(now), typicalSession(now))
	single := mustMint(t, f.m, typicalSession(now))
	cold := f.newManager(t, func(c *Config) { c.CacheBytes = -1 })
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	verifiers := map[string]func(string, string) (*Session, []byte, error){
		"manager": f.m.Verify, "uncached manager": cold.Verify, "verifier": v.Verify,
	}
	// Verify one token of each batch first, so that their roots are cached.
	for _, c := range []Credentials{batch[0], other[0], single} {
		for _, verify := range verifiers {
			if _, _, err := verify(c.AccessKeyID, c.SessionToken); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v.roots.len() != 2 {
		t.Fatalf("verifier caches %d roots, want 2 (none for a batch of one)", v.roots.len())
	}
	mustFail := func(name, id, token string) {
		t.Helper()
		for vn, verify := range verifiers {
			if _, _, err := verify(id, token); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s, %s: err = %v, want ErrInvalid", name, vn, err)
			}
		}
	}

	// Every bit pattern of every byte of tokens whose root is cached (the
	// signature too: a cached root does not excuse another signature).
	for _, c := range []Credentials{batch[4], batch[1], other[2]} {
		raw := rawToken(t, c.SessionToken)
		for i := range raw {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := bytes.Clone(raw)
				b[i] ^= mask
				mustFail(fmt.Sprintf("byte %d/%d ^ %#x", i, len(raw), mask), c.AccessKeyID, tokenEncoding.EncodeToString(b))
			}
		}
	}

	a, b := envOf(t, batch[1].SessionToken), envOf(t, batch[2].SessionToken)
	o := envOf(t, other[1].SessionToken)
	s1 := envOf(t, single.SessionToken)
	id := batch[1].AccessKeyID
	// Paths and positions of other leaves prove other leaves.
	mustFail("b's path and position", id, reassemble(a.signed, b.path, b.pos, a.sig))
	mustFail("b's path", id, reassemble(a.signed, b.path, a.pos, a.sig))
	mustFail("b's position", id, reassemble(a.signed, a.path, b.pos, a.sig))
	for d := 1; d <= 6; d++ {
		if d != len(a.path)/hashSize {
			mustFail(fmt.Sprintf("position of depth %d", d), id, reassemble(a.signed, a.path, byte(1<<d)|a.pos&byte(1<<d-1), a.sig))
		}
	}
	// Shorter and longer paths: an interior node is never a leaf.
	d := len(a.path) / hashSize
	top := a.pos &^ (1 << d)
	mustFail("path without its last hash", id, reassemble(a.signed, a.path[:len(a.path)-hashSize], byte(1<<(d-1))|top&byte(1<<(d-1)-1), a.sig))
	mustFail("path without its first hash", id, reassemble(a.signed, a.path[hashSize:], byte(1<<(d-1))|top>>1, a.sig))
	mustFail("path with one more hash", id, reassemble(a.signed, append(bytes.Clone(a.path), a.path[:hashSize]...), a.pos|1<<(d+1), a.sig))
	mustFail("no path", id, reassemble(a.signed, nil, 1, a.sig))
	// Another batch's signature (and path) cannot be borrowed.
	mustFail("other batch's signature", id, reassemble(a.signed, a.path, a.pos, o.sig))
	mustFail("other batch's proof", id, reassemble(a.signed, o.path, o.pos, o.sig))
	mustFail("single's signature", id, reassemble(a.signed, a.path, a.pos, s1.sig))
	mustFail("batch signature on a single", single.AccessKeyID, reassemble(s1.signed, nil, 1, a.sig))
	// A batch signature is not a v1 signature, nor the reverse.
	v1 := bytes.Clone(s1.signed)
	v1[0] = tokenV1
	mustFail("v2 signature as v1", single.AccessKeyID, tokenEncoding.EncodeToString(append(v1, s1.sig...)))
	t1 := envOf(t, mustMintV1(t, f.m, typicalSession(now)).SessionToken)
	v2 := bytes.Clone(t1.signed)
	v2[0] = tokenV2
	mustFail("v1 signature as v2", single.AccessKeyID, reassemble(v2, nil, 1, t1.sig))
	// Unknown position bytes.
	mustFail("position 0", id, reassemble(a.signed, nil, 0, a.sig))

	// Another key id (of a key that exists) in the body.
	f.clock.Advance(time.Minute)
	if _, err := f.m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := cold.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.SetKeys(f.m.PublicKeyring())
	newKid := f.m.ring.Load().keys[0].id
	body := bytes.Clone(a.signed)
	copy(body[1:tokenHeader], newKid[:])
	mustFail("other key id", id, reassemble(body, a.path, a.pos, a.sig))
	// Still fine after the rotation.
	for _, verify := range verifiers {
		if _, _, err := verify(batch[3].AccessKeyID, batch[3].SessionToken); err != nil {
			t.Errorf("after rotation: %v", err)
		}
	}
}

// TestRootCacheFollowsKeys: a cached root stops counting once its key is
// revoked or replaced.
func TestRootCacheFollowsKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	cs := mintBatch(t, f.m, typicalSession(now), typicalSession(now), typicalSession(now), typicalSession(now))
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	for _, c := range cs[:1] {
		if _, _, err := v.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	// Same key id, another public key: the cached root must not vouch.
	keys := f.m.PublicKeyring()
	pub, _, _ := ed25519.GenerateKey(nil)
	keys[0].Public = pub
	v.SetKeys(keys)
	if _, _, err := v.Verify(cs[1].AccessKeyID, cs[1].SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("replaced key: %v, want ErrInvalid", err)
	}
	v.SetKeys(f.m.PublicKeyring())
	if _, _, err := v.Verify(cs[1].AccessKeyID, cs[1].SessionToken); err != nil {
		t.Errorf("key restored: %v", err)
	}
	f.clock.Advance(time.Minute)
	if err := f.m.Revoke(context.Background(), f.m.Keys()[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.m.Verify(cs[2].AccessKeyID, cs[2].SessionToken); !errors.Is(err, ErrInvalid) {
		t.Errorf("revoked key, cached root: %v, want ErrInvalid", err)
	}
}

// readGolden parses "name: value" lines of a golden file.
func readGolden(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			out[k] = v
		}
	}
	return out
}

// TestV1TokensStillVerify: tokens issued before version 2 (the v1 golden
// tokens, signed by the same deterministic key) verify after the upgrade.
func TestV1TokensStillVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	g := readGolden(t, "known_answer.golden")
	if g["key_id"] != f.m.Keys()[0].ID {
		t.Fatalf("fixture key %s, golden %s", f.m.Keys()[0].ID, g["key_id"])
	}
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	for _, name := range []string{"full", "typical"} {
		id, token, secret := g[name+".access_key_id"], g[name+".session_token"], g[name+".secret_access_key"]
		if rawToken(t, token)[0] != tokenV1 {
			t.Fatalf("%s: golden token is not version 1", name)
		}
		for vn, verify := range map[string]func(string, string) (*Session, []byte, error){"manager": f.m.Verify, "verifier": v.Verify} {
			for range 2 { // cold, then cached
				s, sec, err := verify(id, token)
				if err != nil {
					t.Fatalf("%s, %s: %v", name, vn, err)
				}
				if string(sec) != secret || s.AccessKeyID != id {
					t.Errorf("%s, %s: secret %s, want %s", name, vn, sec, secret)
				}
			}
		}
	}
	// And a freshly minted v1 token round-trips every field.
	in := fullSession(f.clock.Now())
	c := mustMintV1(t, f.m, in)
	got, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	in.AccessKeyID = c.AccessKeyID
	if diff := cmp.Diff(in, *got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("v1 round trip (-minted +verified):\n%s", diff)
	}
}

// TestV2TokensStillVerify: tokens issued by the release before sealed
// payloads (the version 2 golden tokens, signed by the same deterministic
// key) verify after the upgrade, cold and cached, with the same secrets;
// and a freshly minted version 2 token round-trips every field.
func TestV2TokensStillVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	g := readGolden(t, "known_answer_v2.golden")
	if g["key_id"] != f.m.Keys()[0].ID {
		t.Fatalf("fixture key %s, golden %s", f.m.Keys()[0].ID, g["key_id"])
	}
	v := NewVerifier(f.m.PublicKeyring(), f.clock.Now)
	for _, name := range []string{"single", "batch.0", "batch.1", "batch.2"} {
		id, token, secret := g[name+".access_key_id"], g[name+".session_token"], g[name+".secret_access_key"]
		if rawToken(t, token)[0] != tokenV2 {
			t.Fatalf("%s: golden token is not version 2", name)
		}
		for vn, verify := range map[string]func(string, string) (*Session, []byte, error){"manager": f.m.Verify, "verifier": v.Verify} {
			for range 2 { // cold, then cached
				s, sec, err := verify(id, token)
				if err != nil {
					t.Fatalf("%s, %s: %v", name, vn, err)
				}
				if string(sec) != secret || s.AccessKeyID != id {
					t.Errorf("%s, %s: secret %s, want %s", name, vn, sec, secret)
				}
			}
		}
	}
	f.m.version = tokenV2
	in := fullSession(f.clock.Now())
	c := mustMint(t, f.m, in)
	if rawToken(t, c.SessionToken)[0] != tokenV2 {
		t.Fatal("not a version 2 token")
	}
	got, _, err := v.Verify(c.AccessKeyID, c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	in.AccessKeyID = c.AccessKeyID
	if diff := cmp.Diff(in, *got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("v2 round trip (-minted +verified):\n%s", diff)
	}
}

// TestKnownAnswerV3 pins version 3: a token signed alone and a batch of
// three (an odd count: the third leaf is promoted), with fixed master key,
// randomness and clock; and checks by hand, with nothing but the exported
// keys, that the payload is XChaCha20-Poly1305 under the key's Decrypt key
// with the version and key id as additional data, and that the signature is
// over the Merkle root of the sealed bodies.
func TestKnownAnswerV3(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.Now()
	single := mustMint(t, f.m, typicalSession(now))
	batch := mintBatch(t, f.m, fullSession(now), typicalSession(now), typicalSession(now))
	exported := f.m.PublicKeyring()[0]
	var sb strings.Builder
	fmt.Fprintf(&sb, "key_id: %s\npublic: %x\n\n", f.m.Keys()[0].ID, exported.Public)
	fmt.Fprintf(&sb, "single.access_key_id: %s\nsingle.secret_access_key: %s\nsingle.session_token: %s\n\n",
		single.AccessKeyID, single.SecretAccessKey, single.SessionToken)
	var leaves [][hashSize]byte
	for _, c := range batch {
		leaves = append(leaves, leafHash(envOf(t, c.SessionToken).signed))
	}
	fmt.Fprintf(&sb, "batch.root: %x\n", mth(leaves))
	for i, c := range batch {
		e := envOf(t, c.SessionToken)
		fmt.Fprintf(&sb, "batch.%d.access_key_id: %s\nbatch.%d.secret_access_key: %s\nbatch.%d.position: %08b\nbatch.%d.session_token: %s\n",
			i, c.AccessKeyID, i, c.SecretAccessKey, i, e.pos, i, c.SessionToken)
	}
	golden(t, "known_answer_v3.golden", sb.String())
	for _, c := range append(batch, single) {
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
	}
	// The signature is Ed25519 over label || key id || root, checkable by hand.
	e := envOf(t, batch[0].SessionToken)
	msg := append([]byte("opensts/session-batch/v1\x00"), e.kid[:]...)
	root := mth(leaves)
	if !ed25519.Verify(exported.Public, append(msg, root[:]...), e.sig) {
		t.Error("batch signature is not over label || key id || root")
	}
	sum := sha256.Sum256(append([]byte{0}, e.signed...))
	if sum != leaves[0] {
		t.Error("leaf is not SHA-256(0x00 || body)")
	}
	// The payload opens with the exported key alone, and is the session.
	aead, err := chacha20poly1305.NewX(exported.Decrypt)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawToken(t, batch[0].SessionToken)
	plain, err := aead.Open(nil, raw[9:33], e.signed[33:], raw[:9])
	if err != nil {
		t.Fatalf("payload does not open as XChaCha20-Poly1305(version || key id): %v", err)
	}
	// ISO/IEC 7816-4 padding to a multiple of 64 bytes, at least 256.
	if len(plain)%64 != 0 || len(plain) < 256 {
		t.Fatalf("sealed payload of %d bytes", len(plain))
	}
	end := bytes.LastIndexByte(plain, 0x80)
	if end < 0 || len(bytes.Trim(plain[end+1:], "\x00")) != 0 {
		t.Fatal("payload not padded with 0x80 0x00...")
	}
	s, ok := parsePayload(plain[:end])
	if !ok || s.AccessKeyID != batch[0].AccessKeyID || s.ARN != fullSession(now).ARN {
		t.Fatalf("opened payload is not the session: %+v", s)
	}
}

// TestCollectOnlyUnderLoad: a Mint alone never waits for company, even
// right after loaded signatures, and lonely signatures end the load. Not
// parallel: other tests' goroutines running make a leader collect.
func TestCollectOnlyUnderLoad(t *testing.T) {
	f := newFixture(t, nil)
	k := f.m.ring.Load().signer(f.clock.Now(), 0)
	if k.batch.load != 0 {
		t.Fatalf("fresh signer: load %d", k.batch.load)
	}
	k.batch.mu.Lock()
	k.batch.load = loadedSignatures
	k.batch.mu.Unlock()
	collected := 0
	defer func() {
		if collected > 1 {
			t.Errorf("%d of %d serial Mints waited for company", collected, loadedSignatures+2)
		}
	}()
	for i := range loadedSignatures + 2 {
		start := time.Now()
		c := mustMint(t, f.m, typicalSession(f.clock.Now()))
		if d := depthOf(t, c.SessionToken); d != 0 {
			t.Fatalf("serial mint %d: depth %d", i, d)
		}
		k.batch.mu.Lock()
		load, collects := k.batch.load, k.batch.collects
		k.batch.collects = 0
		k.batch.mu.Unlock()
		if want := max(loadedSignatures-1-i, 0); load != want {
			t.Fatalf("after serial mint %d: load %d, want %d", i, load, want)
		}
		// (A GC worker running at that moment could make one Mint wait.)
		if collects != 0 {
			collected++
			t.Logf("serial mint %d collected (took %v)", i, time.Since(start))
		}
	}
}

// TestCollectUnderLoad: goroutines that mint in a loop (a loaded node)
// share signatures in batches, because Mints that find the node loaded wait
// for company; and a serial Mint afterwards still signs alone. Not
// parallel, for the same reason as TestCollectOnlyUnderLoad.
func TestCollectUnderLoad(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Rand = nil })
	// Batches close when full or when nothing else can join; the gap rule
	// (TestCollectGap) would also close them whenever the minters are all
	// descheduled for a moment, which other test packages running beside
	// this one make happen.
	f.m.ring.Load().keys[0].batch.gap = collectBudget
	const workers, each = 32, 30
	cs := make([]Credentials, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c, err := f.m.Mint(typicalSession(f.clock.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				cs[w*each+i] = c
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	k := f.m.ring.Load().keys[0]
	k.batch.mu.Lock()
	sigs, tokens, collects, open, signing := k.batch.signatures, k.batch.tokens, k.batch.collects, k.batch.open, k.batch.signing
	k.batch.mu.Unlock()
	perSig := float64(tokens) / float64(sigs)
	t.Logf("%d tokens, %d signatures: %.1f tokens per signature; %d batches waited for company", tokens, sigs, perSig, collects)
	// Without collecting, 1.2 to 2 tokens a signature (a signature's worth
	// of arrivals); with it, close to batchTarget on an idle machine and
	// above 4 with other test packages running beside it, but 2.0 was seen
	// once under the race detector with the suite beside it, so the
	// average is logged, not asked. What is asked cannot depend on timing:
	// loaded Mints opened batches to wait for company, and batches held
	// more than one token.
	if tokens != workers*each || collects == 0 || tokens <= sigs {
		t.Errorf("%d tokens in %d signatures, %d batches that waited for company; want %d tokens, batches that waited, and more tokens than signatures", tokens, sigs, collects, workers*each)
	}
	if open != nil || signing != 0 || f.m.minting.Load() != 0 {
		t.Errorf("signer not idle: %d open, %d signing, %d minting", len(open), signing, f.m.minting.Load())
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.AccessKeyID] {
			t.Fatalf("repeated access key id %s", c.AccessKeyID)
		}
		seen[c.AccessKeyID] = true
	}
	verifyAll(t, f, cs[:64])
	// Loaded, but alone: signs at once.
	c := mustMint(t, f.m, typicalSession(f.clock.Now()))
	if d := depthOf(t, c.SessionToken); d != 0 {
		t.Errorf("serial mint after load: depth %d", d)
	}
}

// TestCollectGap: a batch that nobody joins closes after the gap, long
// before the budget.
func TestCollectGap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	k := f.m.ring.Load().signer(f.clock.Now(), 0)
	k.batch.mu.Lock()
	k.batch.budget, k.batch.gap, k.batch.load, k.batch.forceMore = time.Minute, 5*time.Millisecond, loadedSignatures, true
	k.batch.mu.Unlock()
	start := time.Now()
	mustMint(t, f.m, typicalSession(f.clock.Now()))
	took := time.Since(start)
	k.batch.mu.Lock()
	collects, sigs := k.batch.collects, k.batch.signatures
	k.batch.mu.Unlock()
	if collects != 1 || sigs != 1 {
		t.Errorf("%d collects, %d signatures; want 1 and 1", collects, sigs)
	}
	if took < 5*time.Millisecond || took > 30*time.Second {
		t.Errorf("lonely batch closed after %v; want the 5ms gap, not the 1m budget", took)
	}
}

// TestMintErrorLeavesNoMinter: a rejected Mint does not count as in flight
// (which would make leaders wait for it).
func TestMintErrorLeavesNoMinter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s := typicalSession(f.clock.Now())
	s.Account = "12345"
	if _, err := f.m.Mint(s); err == nil {
		t.Fatal("bad account accepted")
	}
	mustMint(t, f.m, typicalSession(f.clock.Now()))
	if n := f.m.minting.Load(); n != 0 {
		t.Errorf("%d Mints in flight after returning", n)
	}
}

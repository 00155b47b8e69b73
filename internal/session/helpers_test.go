package session

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
)

// memKeys is an in-memory store.SigningKeys that copies records in and out,
// like a real backend.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]store.SigningKey
	puts int
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]store.SigningKey{}} }

func copyKey(k store.SigningKey) store.SigningKey {
	k.Public = slices.Clone(k.Public)
	k.Private = slices.Clone(k.Private)
	return k
}

func (s *memKeys) PutSigningKey(_ context.Context, k store.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = copyKey(k)
	s.puts++
	return nil
}

func (s *memKeys) ListSigningKeys(context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, copyKey(k))
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (s *memKeys) putCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// detRand returns a deterministic random stream for seed.
func detRand(seed byte) io.Reader {
	var s [32]byte
	for i := range s {
		s[i] = seed + byte(i)
	}
	return mathrand.NewChaCha8(s)
}

var testMasterKey = []byte("0123456789abcdef0123456789abcdef")

func testSealer(t testing.TB) *seal.Sealer {
	t.Helper()
	s, err := seal.New(testMasterKey, detRand(200))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fixture struct {
	keys  *memKeys
	clock *clock
	m     *Manager
}

// newFixture returns a Manager over a fresh in-memory store with a fixed
// clock and randomness, and propagation disabled unless cfg sets it.
func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{keys: newMemKeys(), clock: newClock()}
	f.m = f.newManager(t, mod)
	return f
}

func (f *fixture) newManager(t testing.TB, mod func(*Config)) *Manager {
	t.Helper()
	cfg := Config{
		Keys:        f.keys,
		Sealer:      testSealer(t),
		Now:         f.clock.Now,
		Rand:        detRand(1),
		Propagation: -1,
		Logger:      slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

// typicalSession is an assumed-role session with no tags or policy.
func typicalSession(now time.Time) Session {
	return Session{
		Type:              AssumedRole,
		Account:           "123456789012",
		ARN:               "arn:aws:sts::123456789012:assumed-role/deploy-role/ci-build-4711",
		PrincipalID:       "AROA3XFRBF23GEXAMPLE:ci-build-4711",
		RoleName:          "deploy-role",
		RoleID:            "AROA3XFRBF23GEXAMPLE",
		RolePath:          "/",
		SessionName:       "ci-build-4711",
		Expires:           now.Add(time.Hour),
		SourceAccessKeyID: "AKIAZ7SAMPLEEXAMPLE2",
	}
}

// largestSession is the largest assumed-role session AssumeRole issues: the
// longest role path, role name, session name and source identity, a session
// policy, policy ARNs and tags that use the whole packed budget (8192
// bytes), every tag transitive, in a role chain with MFA.
func largestSession(now time.Time) Session {
	rolePath := "/" + strings.Repeat("p", 510) + "/"
	roleName := strings.Repeat("r", 64)
	sessionName := strings.Repeat("s", 64)
	s := Session{
		Type:              AssumedRole,
		Account:           "123456789012",
		ARN:               "arn:aws:sts::123456789012:assumed-role/" + roleName + "/" + sessionName,
		PrincipalID:       "AROA3XFRBF23GEXAMPLE:" + sessionName,
		RoleName:          roleName,
		RoleID:            "AROA3XFRBF23GEXAMPLE",
		RolePath:          rolePath,
		SessionName:       sessionName,
		Expires:           now.Add(time.Hour),
		MFA:               true,
		MFAAuthTime:       now.Add(-time.Minute),
		SourceIdentity:    strings.Repeat("i", 64),
		Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 1960) + `"}]}`,
		ChainDepth:        1,
		SourceAccessKeyID: "AKIAZ7SAMPLEEXAMPLE2",
	}
	budget := 8192 - len(s.Policy)
	for i := 0; budget >= 128+256; i++ {
		k := fmt.Sprintf("%03d", i) + strings.Repeat("k", 125)
		s.Tags = append(s.Tags, Tag{Key: k, Value: strings.Repeat("v", 256)})
		s.TransitiveTagKeys = append(s.TransitiveTagKeys, k)
		budget -= 128 + 256
	}
	return s
}

// fullSession sets every field.
func fullSession(now time.Time) Session {
	return Session{
		Type:              SessionToken,
		Account:           "000000000042",
		ARN:               "arn:aws:iam::000000000042:user/eng/alice",
		PrincipalID:       "AIDAEXAMPLEALICE00001",
		UserName:          "alice",
		UserID:            "AIDAEXAMPLEALICE00001",
		RoleName:          "r",
		RoleID:            "AROAEXAMPLE",
		RolePath:          "/svc/",
		SessionName:       "sess-é-ünïcode",
		IssuedAt:          now.Add(-2 * time.Second),
		Expires:           now.Add(12 * time.Hour),
		MFA:               true,
		MFAAuthTime:       now.Add(-10 * time.Minute),
		SourceIdentity:    "alice@example.com",
		Tags:              []Tag{{"Project", "blue"}, {"cost-center", ""}, {"Empty", "x"}},
		TransitiveTagKeys: []string{"Project"},
		Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		PolicyARNs:        []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::000000000042:policy/p"},
		ChainDepth:        3,
		FederatedSubject:  "sub-123",
		FederatedProvider: "arn:aws:iam::000000000042:oidc-provider/token.actions.githubusercontent.com",
		SourceAccessKeyID: "AKIAEXAMPLE000000001",
	}
}

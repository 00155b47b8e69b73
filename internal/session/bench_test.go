package session

import (
	"crypto/ed25519"
	"testing"
)

func BenchmarkMint(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Rand = nil })
	s := typicalSession(f.clock.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.m.Mint(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMintParallel mints from 16 goroutines per CPU, as a loaded
// server does: signatures are shared by batches.
func BenchmarkMintParallel(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Rand = nil })
	s := typicalSession(f.clock.Now())
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.m.Mint(s); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportBatches(b, f.m)
}

// reportBatches reports the mean number of tokens per signature.
func reportBatches(b *testing.B, m *Manager) {
	var sigs, tokens uint64
	for _, k := range m.ring.Load().keys {
		k.batch.mu.Lock()
		sigs += k.batch.signatures
		tokens += k.batch.tokens
		k.batch.mu.Unlock()
	}
	if sigs > 0 {
		b.ReportMetric(float64(tokens)/float64(sigs), "tokens/sig")
	}
}

func BenchmarkMintV1(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.Rand = nil })
	s := typicalSession(f.clock.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.m.mintV1(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBatched verifies, cold (no token cache), tokens of full
// batches of 64 in order: one Ed25519 verification per 64 tokens.
func BenchmarkVerifyBatched(b *testing.B) {
	f := newFixture(b, nil)
	now := f.clock.Now()
	ss := make([]Session, maxBatch)
	for i := range ss {
		ss[i] = typicalSession(now)
	}
	var cs []Credentials
	for range 64 {
		cs = append(cs, mintBatch(b, f.m, ss...)...)
	}
	v := f.newManager(b, nil)
	v.cache = nil // token cache off; root cache on
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(cs) == 0 {
			v.roots = newRootCache(DefaultRootCacheBytes) // each batch verified once per round
		}
		c := cs[i%len(cs)]
		if _, _, err := v.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkVerifyV1(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.CacheBytes = -1 })
	c := mustMintV1(b, f.m, typicalSession(f.clock.Now()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.CacheBytes = -1 })
	c := mustMint(b, f.m, typicalSession(f.clock.Now()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b, nil)
	c := mustMint(b, f.m, typicalSession(f.clock.Now()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCachedParallel(b *testing.B) {
	f := newFixture(b, nil)
	c := mustMint(b, f.m, typicalSession(f.clock.Now()))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := f.m.Verify(c.AccessKeyID, c.SessionToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEd25519Sign is the floor for Mint: one signature over a typical
// token body.
// BenchmarkSealOpen is the cost of sealing and opening the payload of a
// typical token (what version 3 adds to Mint and to a cold Verify).
func BenchmarkSealOpen(b *testing.B) {
	f := newFixture(b, nil)
	k := f.m.ring.Load().keys[0]
	s := typicalSession(f.clock.Now())
	s.IssuedAt = f.clock.Now()
	s.AccessKeyID = "ASIARZPUZDIKAAAQEAYE"
	p, err := appendPayload(nil, &s)
	if err != nil {
		b.Fatal(err)
	}
	var nonce [nonceSize]byte
	aad := make([]byte, tokenHeader)
	buf := make([]byte, 0, len(p)+tagSize)
	out := make([]byte, 0, len(p))
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		buf = k.box.Seal(buf[:0], nonce[:], p, aad)
		var err error
		if out, err = k.box.Open(out[:0], nonce[:], buf, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	msg := make([]byte, 230)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

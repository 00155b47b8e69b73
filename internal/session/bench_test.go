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

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, func(c *Config) { c.CacheSize = -1 })
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
func BenchmarkEd25519Sign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	msg := make([]byte, 230)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

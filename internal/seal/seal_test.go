package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef")
	// fixedNonce makes Seal deterministic for the known-answer test.
	fixedNonce = bytes.Repeat([]byte{0x42}, nonceSize)
)

func newSealer(t testing.TB, key []byte) *Sealer {
	t.Helper()
	s, err := New(key, bytes.NewReader(bytes.Repeat(fixedNonce, 100)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	s := newSealer(t, testKey)
	got, err := s.Seal([]byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), []byte("AKIAIOSFODNN7EXAMPLE"))
	if err != nil {
		t.Fatal(err)
	}
	// Cross-checked with an independent implementation (pyca/cryptography
	// HKDF and AESGCM).
	const want = "01" + "ab10ae8d" + "424242424242424242424242" +
		"a0c41bf6b1b09d2a9c6e90d25deae34613ae747eba1bbcebeeb667c2ea643fecaed9d162a2791b941d0ec98c9457c861a0a95160df92214b"
	if hex.EncodeToString(got) != want {
		t.Errorf("Seal = %x\nwant   %s", got, want)
	}
	if d := hex.EncodeToString(s.Derive("sts/authorization-message")); d != "ac0a5445e77388c43a603438e37daed6486977c762af9d0761ffa20f24951145" {
		t.Errorf("Derive = %s", d)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := New(testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed, err := s.Seal(pt, []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+overhead {
			t.Errorf("len = %d, want %d", len(sealed), len(pt)+overhead)
		}
		got, err := s.Open(sealed, []byte("aad"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Open = %q, %v; want %q", got, err, pt)
		}
		if bytes.Contains(sealed, []byte("secret")) {
			t.Error("plaintext visible in sealed value")
		}
	}
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same value are equal")
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	s := newSealer(t, testKey)
	aad := []byte("AKIAIOSFODNN7EXAMPLE")
	sealed, err := s.Seal([]byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	other := newSealer(t, bytes.Repeat([]byte{1}, 32))
	cases := map[string]func() ([]byte, error){
		"wrong aad":  func() ([]byte, error) { return s.Open(sealed, []byte("AKIAIOSFODNN7EXAMPLF")) },
		"nil aad":    func() ([]byte, error) { return s.Open(sealed, nil) },
		"wrong key":  func() ([]byte, error) { return other.Open(sealed, aad) },
		"empty":      func() ([]byte, error) { return s.Open(nil, aad) },
		"short":      func() ([]byte, error) { return s.Open(sealed[:overhead-1], aad) },
		"truncated":  func() ([]byte, error) { return s.Open(sealed[:len(sealed)-1], aad) },
		"extended":   func() ([]byte, error) { return s.Open(append(bytes.Clone(sealed), 0), aad) },
		"version 2":  func() ([]byte, error) { b := bytes.Clone(sealed); b[0] = 2; return s.Open(b, aad) },
		"aad moved":  func() ([]byte, error) { return s.Open(sealed, append([]byte{version1}, aad...)) },
		"header aad": func() ([]byte, error) { return s.Open(sealed, append(sealed[:headerSize:headerSize], aad...)) },
	}
	for i := range sealed {
		cases["flip byte "+string(rune('0'+i%10))+hex.EncodeToString([]byte{byte(i)})] = func() ([]byte, error) {
			b := bytes.Clone(sealed)
			b[i] ^= 0x01
			return s.Open(b, aad)
		}
	}
	for name, open := range cases {
		if pt, err := open(); !errors.Is(err, ErrOpen) || pt != nil {
			t.Errorf("%s: Open = %q, %v; want ErrOpen", name, pt, err)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n), nil); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
	key := bytes.Clone(testKey)
	s, err := New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := s.Seal([]byte("v"), nil)
	clear(key) // New must have copied the key
	if _, err := s.Open(sealed, nil); err != nil {
		t.Errorf("Open after caller cleared its key: %v", err)
	}
	if _, err := New(testKey, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	s, _ = New(testKey, bytes.NewReader(nil))
	if _, err := s.Seal([]byte("v"), nil); err == nil {
		t.Error("Seal without randomness succeeded")
	}
}

func TestDerive(t *testing.T) {
	t.Parallel()
	s := newSealer(t, testKey)
	a := s.Derive("a")
	if len(a) != 32 || !bytes.Equal(a, newSealer(t, testKey).Derive("a")) {
		t.Error("Derive is not deterministic 32 bytes")
	}
	seen := map[string]bool{}
	for _, p := range []string{"a", "b", "", "sts/authorization-message", "../seal/aes-256-gcm/v1"} {
		k := string(s.Derive(p))
		if seen[k] {
			t.Errorf("purpose %q repeats a subkey", p)
		}
		seen[k] = true
	}
	if bytes.Equal(s.Derive("a"), newSealer(t, bytes.Repeat([]byte{1}, 32)).Derive("a")) {
		t.Error("Derive ignores the master key")
	}
	if bytes.Contains(s.Derive(""), testKey[:8]) {
		t.Error("Derive leaks the master key")
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f, testKey)
	sealed, _ := s.Seal([]byte("secret"), []byte("aad"))
	f.Add(sealed, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, in, aad []byte) {
		pt, err := s.Open(in, aad)
		if err == nil && !(bytes.Equal(in, sealed) && bytes.Equal(aad, []byte("aad"))) {
			t.Fatalf("forged value opened: %q", pt)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	s, _ := New(testKey, nil)
	pt := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(pt, []byte("id")); err != nil {
			b.Fatal(err)
		}
	}
}

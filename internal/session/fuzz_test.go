package session

import (
	"bytes"
	"math/bits"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse feeds hostile input to the token decoder and the payload parser.
// Run it with: go test ./internal/session -run '^$' -fuzz '^FuzzParse$'
func FuzzParse(f *testing.F) {
	fx := newFixture(f, nil)
	now := fx.clock.Now()
	for _, s := range []Session{typicalSession(now), fullSession(now)} {
		c := mustMint(f, fx.m, s)
		f.Add(c.SessionToken)
		s.AccessKeyID, s.IssuedAt = c.AccessKeyID, now
		p, err := appendPayload(nil, &s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(p)) // a plain payload
	}
	// Version 1, batched version 2 and 3 tokens, and their raw bytes.
	v1 := mustMintV1(f, fx.m, fullSession(now))
	f.Add(v1.SessionToken)
	batch := mintBatch(f, fx.m, typicalSession(now), fullSession(now), typicalSession(now), typicalSession(now), typicalSession(now))
	fx.m.version = tokenV2
	batchV2 := mintBatch(f, fx.m, typicalSession(now), fullSession(now), typicalSession(now))
	fx.m.version = tokenV3
	key := fx.m.ring.Load().keys[0]
	sealed := map[string]bool{} // the bodies the key sealed
	for _, c := range batch {
		raw, _ := tokenEncoding.DecodeString(c.SessionToken)
		e, _ := splitToken(raw)
		sealed[string(e.signed)] = true
	}
	for _, c := range []Credentials{v1, batch[0], batch[1], batch[4], batchV2[0], batchV2[1]} {
		f.Add(c.SessionToken)
		raw, _ := tokenEncoding.DecodeString(c.SessionToken)
		f.Add(string(raw))
	}
	f.Add("")
	f.Add("AQ")
	f.Add("Ag")
	v := NewVerifier(fx.m.PublicKeyring(), fx.clock.Now)
	f.Fuzz(func(t *testing.T, in string) {
		// As a token: must never verify unless it is one we minted.
		if _, _, err := v.Verify("ASIARZPUZDIKAAAQEAYE", in); err == nil {
			t.Fatalf("hostile token verified: %q", in)
		}
		decodeToken(in)
		// As raw token bytes: a successful split is consistent and
		// reassembles to the input.
		if e, ok := splitToken([]byte(in)); ok {
			d := len(e.path) / hashSize
			switch {
			case e.version != tokenV1 && e.version != tokenV2 && e.version != tokenV3,
				len(e.sig) != sigSize, len(e.payload) == 0,
				e.version == tokenV1 && (e.pos != 0 || len(e.path) != 0),
				e.version != tokenV1 && (len(e.path)%hashSize != 0 || d > maxPathDepth || bits.Len8(e.pos)-1 != d),
				e.version == tokenV3 && len(e.payload) < nonceSize+tagSize+1,
				!bytes.Equal(e.signed[tokenHeader:], e.payload), !bytes.Equal(e.signed[1:tokenHeader], e.kid[:]):
				t.Fatalf("inconsistent split of %q: %+v", in, e)
			}
			re := append(bytes.Clone(e.signed), e.path...)
			if e.version != tokenV1 {
				re = append(re, e.pos)
			}
			if !bytes.Equal(append(re, e.sig...), []byte(in)) {
				t.Fatalf("split of %q does not reassemble", in)
			}
			rootFromPath(leafHash(e.signed), e.pos, e.path)
			// Decryption, as if the signature had verified: only what
			// the key sealed opens.
			if _, ok := openPayload(key, &e); ok && e.version == tokenV3 && !sealed[string(e.signed)] {
				t.Fatalf("a body the key never sealed opened: %q", in)
			}
		}
		// As a payload: a successful parse must survive re-encoding.
		s, ok := parsePayload([]byte(in))
		if !ok {
			return
		}
		enc, err := appendPayload(nil, s)
		if err != nil {
			t.Fatalf("parsed session does not encode: %v\n%+v", err, s)
		}
		s2, ok := parsePayload(enc)
		if !ok {
			t.Fatalf("re-encoded payload does not parse")
		}
		if diff := cmp.Diff(s, s2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if !bytes.Equal(enc, mustEncode(t, s2)) {
			t.Fatal("encoding is not deterministic")
		}
	})
}

func mustEncode(t *testing.T, s *Session) []byte {
	t.Helper()
	b, err := appendPayload(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

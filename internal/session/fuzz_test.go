package session

import (
	"bytes"
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
		raw, _ := tokenEncoding.DecodeString(c.SessionToken)
		f.Add(string(raw[tokenHeader : len(raw)-sigSize]))
	}
	f.Add("")
	f.Add("AQ")
	v := NewVerifier(fx.m.PublicKeyring(), fx.clock.Now)
	f.Fuzz(func(t *testing.T, in string) {
		// As a token: must never verify unless it is one we minted.
		if _, _, err := v.Verify("ASIARZPUZDIKAAAQEAYE", in); err == nil {
			t.Fatalf("hostile token verified: %q", in)
		}
		decodeToken(in)
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

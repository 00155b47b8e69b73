package oidc

import (
	"encoding/base64"
	"testing"
	"time"
)

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// FuzzParse: no input panics Parse or the claim checks, and every failure
// is an *Error with a kind.
//
//	go test ./internal/federation/oidc -run '^$' -fuzz '^FuzzParse$'
func FuzzParse(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3gifQ.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if KindOf(err) == 0 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := checkClaims(tok.claims, Provider{URL: tok.Issuer, ClientIDs: []string{"a"}}, time.Unix(0, 0)); err != nil && KindOf(err) == 0 {
			t.Fatalf("untyped error %v", err)
		}
	})
}

package oidc

import (
	"crypto"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata returns a path under ../shared/testdata (relative to the
// repository root); a missing suite fails the test.
func testdata(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "..", "..", "shared", "testdata"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test suite missing: %v", err)
	}
	return p
}

// TestJOSECookbook verifies the RFC 7520 signature examples: the
// asymmetric ones (PS384, ES512) verify with their key; the HMAC ones are
// refused whatever the key, as an OIDC token is never verified with a
// shared secret.
func TestJOSECookbook(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata(t, "jose-cookbook-rfc7520"), "*", "*.json"))
	n := 0
	for _, f := range files {
		var c struct {
			Input struct {
				Alg string          `json:"alg"`
				Key json.RawMessage `json:"key"`
			} `json:"input"`
			Output struct {
				Compact string `json:"compact"`
			} `json:"output"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil || c.Output.Compact == "" {
			continue // a key file, or an example without a compact form
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			asym := !strings.HasPrefix(c.Input.Alg, "HS")
			tok, err := ParseJWS(c.Output.Compact)
			if !asym {
				if err == nil {
					keys, kerr := ParseJWKS([]byte(`{"keys":[` + string(c.Input.Key) + `]}`))
					if kerr == nil {
						if _, err = VerifySignature(tok, keys); err == nil {
							t.Fatalf("%s token accepted", c.Input.Alg)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			keys, err := ParseJWKS([]byte(`{"keys":[` + string(c.Input.Key) + `]}`))
			if err != nil {
				t.Fatalf("jwks: %v", err)
			}
			payload, err := VerifySignature(tok, keys)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !strings.HasPrefix(string(payload), "It") {
				t.Errorf("payload %q", payload)
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d cookbook examples found", n)
	}
}

// keyAlgMismatch are Wycheproof cases upstream calls valid whose JWK names
// another algorithm than the token (PS256 key, PS384 token; "ES521" key,
// ES512 token). OpenSTS uses a key only with the algorithm its JWK allows,
// so it refuses them on purpose.
var keyAlgMismatch = map[int]bool{346: true, 347: true, 351: true}

// TestWycheproofJWS runs Wycheproof's JSON Web Signature vectors through
// ParseJWS, ParseJWKS and VerifySignature. Valid asymmetric compact tokens
// must verify, invalid ones must not. HMAC-signed tokens, valid or not,
// must be refused (no shared-secret verification), and so must the JSON
// serialisation (OIDC tokens are compact).
func TestWycheproofJWS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata(t, "wycheproof-jose-sig", "testvectors_v1"), "json_web_signature_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		TestGroups []struct {
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				JWS     string `json:"jws"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	var accepted, rejected int
	for _, g := range suite.TestGroups {
		key := g.Public
		if key == nil {
			key = g.Private // symmetric: the "public" key is the secret
		}
		for _, tc := range g.Tests {
			ok := func() bool {
				tok, err := ParseJWS(tc.JWS)
				if err != nil {
					return false
				}
				keys, err := ParseJWKS([]byte(`{"keys":[` + string(key) + `]}`))
				if err != nil {
					return false
				}
				_, err = VerifySignature(tok, keys)
				return err == nil
			}()
			want := tc.Result == "valid" && g.Public != nil && !strings.HasPrefix(tc.JWS, "{") && !keyAlgMismatch[tc.TcID]
			if tc.Result == "acceptable" {
				continue
			}
			if ok != want {
				t.Errorf("tcId %d (%s): accepted=%v, want %v", tc.TcID, tc.Comment, ok, want)
			}
			if ok {
				accepted++
			} else {
				rejected++
			}
		}
	}
	if accepted < 20 || rejected < 200 {
		t.Errorf("accepted %d, rejected %d: the suite did not run as expected", accepted, rejected)
	}
}

// TestWycheproofJWK runs Wycheproof's JSON Web Key vectors: keys and key
// sets a verifier must refuse (too small, exponent 1, points off the
// curve, wrong curve or use, duplicate kids) and valid asymmetric tokens it
// must accept. HMAC keys are refused as in TestWycheproofJWS.
func TestWycheproofJWK(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata(t, "wycheproof-jose-sig", "testvectors_v1"), "json_web_key_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []struct {
				TcID    json.Number `json:"tcId"`
				Comment string      `json:"comment"`
				JWS     string      `json:"jws"`
				Result  string      `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range suite.TestGroups {
		key := g.Public
		if key == nil {
			key = g.Private
		}
		set := key
		if !strings.Contains(string(key), `"keys"`) {
			set = json.RawMessage(`{"keys":[` + string(key) + `]}`)
		}
		for _, tc := range g.Tests {
			n++
			ok := func() bool {
				tok, err := ParseJWS(tc.JWS)
				if err != nil {
					return false
				}
				keys, err := ParseJWKS(set)
				if err != nil {
					return false
				}
				_, err = VerifySignature(tok, match(keys, tok.KeyID))
				return err == nil
			}()
			want := tc.Result == "valid" && g.Public != nil
			if tc.Result == "acceptable" {
				continue
			}
			if ok != want {
				t.Errorf("tcId %s (%s, %s): accepted=%v, want %v", tc.TcID, g.Comment, tc.Comment, ok, want)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d vectors", n)
	}
}

// TestWycheproofPSS runs the RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte
// salt: PS256) primitive vectors through verifyPSS, the strict salt check
// that backs go-jose's PS256/384/512, with the key parsed by ParseJWKS.
func TestWycheproofPSS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata(t, "wycheproof-jose-sig", "testvectors_v1"), "rsa_pss_2048_sha256_mgf1_32_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		TestGroups []struct {
			SLen         int             `json:"sLen"`
			PublicKeyJwk json.RawMessage `json:"publicKeyJwk"`
			Tests        []struct {
				TcID   json.Number `json:"tcId"`
				Msg    string      `json:"msg"`
				Sig    string      `json:"sig"`
				Result string      `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range suite.TestGroups {
		keys, err := ParseJWKS([]byte(`{"keys":[` + string(g.PublicKeyJwk) + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		pub := keys[0].Key.(*rsa.PublicKey)
		for _, tc := range g.Tests {
			msg, _ := hex.DecodeString(tc.Msg)
			sig, _ := hex.DecodeString(tc.Sig)
			ok := verifyPSS(pub, crypto.SHA256, msg, sig)
			if tc.Result != "acceptable" && ok != (tc.Result == "valid") {
				t.Errorf("tcId %s: accepted=%v, want %s", tc.TcID, ok, tc.Result)
			}
			n++
		}
	}
	if n < 50 {
		t.Errorf("only %d vectors", n)
	}
}

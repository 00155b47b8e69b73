package saml

import (
	"crypto/x509"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sharedtest"
)

// FuzzVerify feeds mutated Responses to Decode, ParseMetadata and Verify,
// seeded with the accepted cases of ../shared/testdata/saml-gosaml2 that
// need no decryption key. Verify must never panic, and whatever it accepts
// must assert exactly what the seed it came from asserts: the signature
// covers the assertion, so a mutation that passes (whitespace outside what
// is signed, say) cannot change a subject, an attribute or an id. That is
// signature wrapping, stated as a property.
// Run it with: go test ./internal/federation/saml -run '^$' -fuzz '^FuzzVerify$'
func FuzzVerify(f *testing.F) {
	dir := sharedtest.Dir(f, "saml-gosaml2")
	var suite struct {
		Cases []struct {
			ResponseFile     string `json:"response_file"`
			ResponseEncoding string `json:"response_encoding"`
			SP               struct {
				IdentityProviderIssuer      string
				AssertionConsumerServiceURL string
				AudienceURI                 string
				IDPCertificate              string
				SPEncryptionKey             string
			} `json:"service_provider"`
			Now     string `json:"now"`
			Outcome string `json:"strict_outcome"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(readFile(f, dir, "cases.json"), &suite); err != nil {
		f.Fatal(err)
	}
	type seed struct {
		cfg  Config
		want *Assertion
	}
	var seeds []seed
	for _, c := range suite.Cases {
		if c.Outcome != "accept" || c.SP.SPEncryptionKey != "" {
			continue
		}
		now, err := time.Parse(time.RFC3339Nano, c.Now)
		if err != nil {
			f.Fatal(err)
		}
		cfg := Config{
			EntityID:     c.SP.IdentityProviderIssuer,
			Certificates: []*x509.Certificate{parseCertPEMOrBase64(f, readFile(f, dir, c.SP.IDPCertificate))},
			Audiences:    []string{c.SP.AudienceURI},
			Recipients:   []string{c.SP.AssertionConsumerServiceURL},
			Now:          now,
			Skew:         time.Second,
		}
		raw := response(f, dir, c.ResponseFile, c.ResponseEncoding)
		a, err := Verify(raw, cfg)
		if err != nil {
			f.Fatalf("seed %s: %v", c.ResponseFile, err)
		}
		f.Add(len(seeds), raw)
		seeds = append(seeds, seed{cfg, a})
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, i int, raw []byte) {
		if i < 0 {
			i = -i
		}
		s := seeds[i%len(seeds)]
		_, _ = Decode(string(raw))
		_, _ = ParseMetadata(raw)
		a, err := Verify(raw, s.cfg)
		if err != nil {
			if KindOf(err) == 0 {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		if !reflect.DeepEqual(a, s.want) {
			t.Fatalf("a mutated Response verified with other contents:\ngot  %+v\nwant %+v", a, s.want)
		}
	})
}

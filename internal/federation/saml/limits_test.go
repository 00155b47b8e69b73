package saml

import (
	"bytes"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/sharedtest"
)

// TestMarkupBound: a Response, or metadata, with more markup than any real
// one is refused before the (slow) well-formedness check and the parser
// run, so that an unauthenticated request costs little however it is
// built. (Attack review: 70 KB of <x/> cost 0.13-0.33 s a request.)
func TestMarkupBound(t *testing.T) {
	t.Parallel()
	flood := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0">` +
		strings.Repeat("<x/>", maxResponseMarkup) + `</samlp:Response>`)
	_, err := Verify(flood, Config{})
	if KindOf(err) != Invalid || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("markup flood: %v, want Invalid too large", err)
	}
	// Just under the bound it is parsed (and refused for what it is).
	under := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0">` +
		strings.Repeat("<x/>", maxResponseMarkup-3) + `</samlp:Response>`)
	if _, err := Verify(under, Config{}); err == nil || strings.Contains(err.Error(), "too large") {
		t.Fatalf("under the bound: %v", err)
	}

	// Metadata: a real document padded with text (not markup) to far
	// beyond a response's size still parses; padded with markup past the
	// bound it is refused.
	md := readFile(t, sharedtest.Dir(t, "saml-crewjam"), "testdata/TestSPCanHandleOneloginResponse_IDPMetadata")
	if _, err := ParseMetadata(md); err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndex(md, []byte("</"))
	padded := append(append(bytes.Clone(md[:end]), "<!--"+strings.Repeat("p", 400<<10)+"-->"...), md[end:]...)
	if _, err := ParseMetadata(padded); err != nil {
		t.Fatalf("400 KiB of comment: %v", err)
	}
	flooded := append(append(bytes.Clone(md[:end]), strings.Repeat("<x/>", maxMetadataMarkup)...), md[end:]...)
	if _, err := ParseMetadata(flooded); err == nil {
		t.Fatal("metadata markup flood accepted")
	}
}

package sts

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store"
)

func TestSAMLHelpers(t *testing.T) {
	t.Parallel()
	// The API reference's example: BASE64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")),
	// the expected value computed independently with Python's hashlib.
	if got, want := nameQualifier("https://example.com/saml", "123456789012", "MySAMLIdP"), "1uAJanUnBc2XeUkHURMht+xam2c="; got != want {
		t.Errorf("nameQualifier = %s, want %s", got, want)
	}
	for in, want := range map[string]string{
		"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":   "persistent",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient":    "transient",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		"": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	} {
		if got := subjectType(in); got != want {
			t.Errorf("subjectType(%q) = %q, want %q", in, got, want)
		}
	}
	role, prov := "arn:aws:iam::123456789012:role/R", "arn:aws:iam::123456789012:saml-provider/P"
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{[]string{role + "," + prov}, true},
		{[]string{prov + ", " + role}, true},
		{[]string{"arn:aws:iam::123456789012:role/Other," + prov, prov + "," + role}, true},
		{[]string{"arn:aws:iam::123456789012:role/r," + prov}, false},
		{[]string{role}, false},
		{[]string{role + ",arn:aws:iam::123456789012:saml-provider/Q"}, false},
		{nil, false},
	} {
		if got := samlRolePair(tc.values, role, prov); got != tc.want {
			t.Errorf("samlRolePair(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// TestSAMLMetadataParsedOnce: a provider's metadata is parsed once however
// large it is (the attack review made every unauthenticated request parse a
// 400 KB document, about a second of CPU each), and again only when it
// changes.
func TestSAMLMetadataParsedOnce(t *testing.T) {
	t.Parallel()
	md, err := os.ReadFile(filepath.Join(sharedtest.Dir(t, "saml-crewjam"), "testdata/TestSPCanHandleOneloginResponse_IDPMetadata"))
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndex(md, []byte("</"))
	large := string(md[:end]) + "<!--" + strings.Repeat("p", 400<<10) + "-->" + string(md[end:])
	s := New(Config{})
	for _, doc := range []string{string(md), large} {
		a, err := s.samlMetadata(store.SAMLProvider{MetadataDocument: doc})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.samlMetadata(store.SAMLProvider{MetadataDocument: doc})
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("metadata of %d bytes parsed twice", len(doc))
		}
	}
	small, _ := s.samlMetadata(store.SAMLProvider{MetadataDocument: string(md)})
	changed, err := s.samlMetadata(store.SAMLProvider{MetadataDocument: strings.Replace(string(md), "</", " </", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if changed == small {
		t.Error("changed metadata served from the cache")
	}
}

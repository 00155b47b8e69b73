package server

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// BenchmarkAssumeRoleWithSAML runs one unsigned AssumeRoleWithSAML request
// through Server.Handler per iteration: decode, XML signature verification
// (RSA-2048, SHA-256), assertion checks, the replay cache write (SQLite),
// the trust policy decision and the token mint. Each iteration needs a new
// assertion (a replay is refused); signing it is not timed.
//
//	go test ./internal/server -run '^$' -bench AssumeRoleWithSAML -benchmem
func BenchmarkAssumeRoleWithSAML(b *testing.B) {
	s := benchServer(b)
	h := s.Handler()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	const issuer = "https://idp.bench.test"
	metadata := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + issuer + `"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>`
	iamCall := func(form url.Values) []byte {
		form.Set("Version", "2010-05-08")
		return call(b, h, "iam", benchRootKey, benchRootSec, form)
	}
	providerARN := "arn:aws:iam::" + benchAccount + ":saml-provider/bench"
	roleARN := "arn:aws:iam::" + benchAccount + ":role/bench-saml"
	iamCall(url.Values{"Action": {"CreateSAMLProvider"}, "Name": {"bench"}, "SAMLMetadataDocument": {metadata}})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"saml:aud":"https://signin.aws.amazon.com/saml"}}}]}`
	iamCall(url.Values{"Action": {"CreateRole"}, "RoleName": {"bench-saml"}, "AssumeRolePolicyDocument": {trust}})

	signer := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}))
	signer.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	n := 0
	// request returns a new signed assertion's form body.
	request := func() []byte {
		n++
		now := time.Now().UTC()
		ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05Z") }
		id := "_bench" + strconv.Itoa(n)
		doc := etree.NewDocument()
		if err := doc.ReadFromString(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + id + `" Version="2.0" IssueInstant="` + ts(now) + `">` +
			`<saml:Issuer>` + issuer + `</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice</saml:NameID>` +
			`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="` + ts(now.Add(5*time.Minute)) + `" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject>` +
			`<saml:Conditions NotBefore="` + ts(now.Add(-time.Minute)) + `" NotOnOrAfter="` + ts(now.Add(5*time.Minute)) + `"><saml:AudienceRestriction><saml:Audience>urn:amazon:webservices</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
			`<saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>` + roleARN + `,` + providerARN + `</saml:AttributeValue></saml:Attribute>` +
			`<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`); err != nil {
			b.Fatal(err)
		}
		signed, err := signer.SignEnveloped(doc.Root())
		if err != nil {
			b.Fatal(err)
		}
		out := etree.NewDocument()
		out.SetRoot(signed)
		a, err := out.WriteToString()
		if err != nil {
			b.Fatal(err)
		}
		resp := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r` + id + `" Version="2.0" IssueInstant="` + ts(now) + `">` +
			`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` + a + `</samlp:Response>`
		return []byte(url.Values{"Action": {"AssumeRoleWithSAML"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN}, "PrincipalArn": {providerARN},
			"DurationSeconds": {"900"}, "SAMLAssertion": {base64.StdEncoding.EncodeToString([]byte(resp))}}.Encode())
	}
	serve := func(body []byte) {
		req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		w := &discardWriter{h: make(map[string][]string)}
		h.ServeHTTP(w, req)
		if w.status != 200 || w.n < 500 {
			b.Fatalf("AssumeRoleWithSAML: status %d, %d bytes", w.status, w.n)
		}
	}
	serve(request())
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		body := request()
		b.StartTimer()
		serve(body)
	}
}

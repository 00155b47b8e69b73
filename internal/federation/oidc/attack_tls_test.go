package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestIPProviderCertificateMustNameTheAddress: a provider whose URL names
// an IP address (https://10.0.0.5/realms/x) is reached over TLS whose
// ClientHello carries no server name (SNI), so the handshake's ServerName
// was "" and the certificate was verified with no name at all: a man in the
// middle with any certificate a trusted root (or, with thumbprints, the
// pinned public intermediate) issued, for any name, served its own JWKS and
// minted tokens for every role trusting the provider (found by a review as
// an attacker). The certificate is now verified for the host dialled: one
// for attacker.example is refused, one naming the address is accepted.
func TestIPProviderCertificateMustNameTheAddress(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Trusted Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	// The attacker's certificate: legitimately issued, but for another name.
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "attacker.example"},
		DNSNames: []string{"attacker.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)

	k := rsaKey(t, "k")
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/keys"})
		case "/keys":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.pub}})
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	p := Provider{URL: srv.URL, ClientIDs: []string{"app"}} // https://127.0.0.1:PORT
	v := New(Config{RootCAs: roots, Timeout: 2 * time.Second})
	tk, err := Parse(sign(t, k, jose.RS256, "k", claimsAt(p.URL, time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tk, p); err == nil {
		t.Fatal("a certificate for attacker.example was accepted for provider " + p.URL + ": token forged with the attacker's JWKS verified")
	}

	// The provider's own certificate, naming its address, is accepted.
	ownTmpl := *leafTmpl
	ownTmpl.SerialNumber, ownTmpl.DNSNames, ownTmpl.IPAddresses = big.NewInt(3), nil, []net.IP{net.ParseIP("127.0.0.1")}
	ownDER, _ := x509.CreateCertificate(rand.Reader, &ownTmpl, ca, &leafKey.PublicKey, caKey)
	srv.Close()
	srv = httptest.NewUnstartedServer(srv.Config.Handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{ownDER}, PrivateKey: leafKey}}}
	srv.StartTLS()
	defer srv.Close()
	p = Provider{URL: srv.URL, ClientIDs: []string{"app"}}
	if tk, err = Parse(sign(t, k, jose.RS256, "k", claimsAt(p.URL, time.Now()))); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{RootCAs: roots, Timeout: 2 * time.Second}).Verify(context.Background(), tk, p); err != nil {
		t.Fatalf("the provider's certificate for its address: %v", err)
	}
	// Through a proxy the handshake's server name is what there is: none
	// (an address) is refused, not taken as "any name".
	if err := verifyChain([]*x509.Certificate{ca}, "", roots, nil); err == nil {
		t.Fatal("a chain verified for no host name")
	}
}

package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testIdP is an OpenID Connect provider served over HTTPS from a test CA
// (root -> intermediate -> leaf for localhost). It shares no code with the
// server's JOSE handling: its JWKS is written and its tokens are signed here
// by hand with the standard library.
type testIdP struct {
	srv *httptest.Server
	URL string // https://localhost:PORT
	// Thumbprint is the SHA-1 of the intermediate CA (the top of the chain
	// the server presents), as AWS computes an OIDC provider's thumbprint.
	Thumbprint string
	RootCA     *x509.Certificate

	mu   sync.Mutex
	keys map[string]idpKey // by kid, published in the JWKS
	hang chan struct{}     // closed by Close; hanging handlers wait on it
	hung atomic.Bool

	JWKSFetches atomic.Int64
}

type idpKey struct {
	alg  string
	priv crypto.Signer
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	idp := &testIdP{keys: map[string]idpKey{}, hang: make(chan struct{})}
	now := time.Now()
	mkCert := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey crypto.Signer, key crypto.Signer) *x509.Certificate {
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, interKey, leafKey := newKey(), newKey(), newKey()
	ca := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	root := mkCert(ca(1, "OpenSTS test IdP root"), nil, nil, rootKey)
	inter := mkCert(ca(2, "OpenSTS test IdP intermediate"), root, rootKey, interKey)
	leaf := mkCert(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "localhost"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		inter, interKey, leafKey)
	sum := sha1.Sum(inter.Raw)
	idp.Thumbprint, idp.RootCA = hex.EncodeToString(sum[:]), root

	idp.srv = httptest.NewUnstartedServer(http.HandlerFunc(idp.serve))
	idp.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey}}}
	idp.srv.StartTLS()
	_, port, _ := net.SplitHostPort(idp.srv.Listener.Addr().String())
	idp.URL = "https://localhost:" + port
	t.Cleanup(idp.Close)
	return idp
}

// Close stops the server, releasing hanging handlers first.
func (idp *testIdP) Close() {
	idp.mu.Lock()
	select {
	case <-idp.hang:
	default:
		close(idp.hang)
	}
	idp.mu.Unlock()
	idp.srv.Close()
}

// Hang makes every later request wait until Close.
func (idp *testIdP) Hang() { idp.hung.Store(true) }

func (idp *testIdP) serve(w http.ResponseWriter, r *http.Request) {
	if idp.hung.Load() {
		<-idp.hang
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		iss := idp.URL + strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": idp.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA", "PS256"}})
	case r.URL.Path == "/jwks":
		idp.JWKSFetches.Add(1)
		idp.mu.Lock()
		defer idp.mu.Unlock()
		var keys []map[string]string
		for kid, k := range idp.keys {
			keys = append(keys, jwk(kid, k))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	default:
		http.NotFound(w, r)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwk(kid string, k idpKey) map[string]string {
	m := map[string]string{"kid": kid, "alg": k.alg, "use": "sig"}
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		ecdhKey, _ := pub.ECDH()
		raw := ecdhKey.Bytes() // 0x04 || X || Y
		n := (len(raw) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64(raw[1:1+n]), b64(raw[1+n:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(pub)
	}
	return m
}

// AddKey publishes a new key of alg (RS256, PS256, ES256 or EdDSA) as kid.
func (idp *testIdP) AddKey(t *testing.T, kid, alg string) {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil || priv == nil {
		t.Fatalf("key %s: %v", alg, err)
	}
	idp.mu.Lock()
	idp.keys[kid] = idpKey{alg: alg, priv: priv}
	idp.mu.Unlock()
}

// RemoveKey stops publishing kid (the key can still sign, for tests).
func (idp *testIdP) RemoveKey(kid string) idpKey {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	k := idp.keys[kid]
	delete(idp.keys, kid)
	return k
}

func (idp *testIdP) key(kid string) idpKey {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.keys[kid]
}

// claims returns standard claims for sub and aud, valid for 10 minutes.
func (idp *testIdP) claims(sub, aud string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": idp.URL, "sub": sub, "aud": aud, "iat": now, "nbf": now - 5, "exp": now + 600}
}

// Sign signs claims with the published key kid (its own algorithm).
func (idp *testIdP) Sign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	k := idp.key(kid)
	return signJWT(t, map[string]any{"alg": k.alg, "kid": kid, "typ": "JWT"}, claims, k)
}

// signJWT signs by hand: header.payload.signature, base64url, with k.
func signJWT(t *testing.T, header, claims map[string]any, k idpKey) string {
	t.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(p)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch k.alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.priv.(*ecdsa.PrivateKey), digest[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "EdDSA":
		sig = ed25519.Sign(k.priv.(ed25519.PrivateKey), []byte(input))
	default:
		t.Fatalf("sign: alg %s", k.alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// unsignedJWT is an alg "none" token.
func unsignedJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return b64(h) + "." + b64(p) + "."
}

// hs256JWT is signed with HMAC-SHA256 under secret (algorithm confusion:
// the RSA public key as the shared secret).
func hs256JWT(kid string, claims map[string]any, secret []byte) string {
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(p)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

// publicPEM is the PEM of a key's public half.
func publicPEM(t *testing.T, k idpKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

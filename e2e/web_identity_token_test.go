package e2e

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// issuerEnv is a server that is its own OIDC issuer, served over TLS at
// the issuer URL (the API on e.endpoint too).
type issuerEnv struct {
	*env
	url        string
	thumbprint string
	client     *http.Client // trusts the issuer's certificate
}

func startIssuer(t *testing.T, opts ...envOption) *issuerEnv {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	url := "https://" + ts.Listener.Addr().String()
	e := start(t, append(opts, func(c *config.Config, _ *server.Options) { c.WebIdentityIssuer = url })...)
	ts.Config.Handler = e.srv.Handler()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	sum := sha1.Sum(ts.Certificate().Raw)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &issuerEnv{env: e, url: url, thumbprint: hex.EncodeToString(sum[:]),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

func (ie *issuerEnv) getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := ie.client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

const allowWebIdentityToken = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetWebIdentityToken","Resource":"*",
	"Condition":{"ForAllValues:StringEquals":{"sts:IdentityTokenAudience":["https://api.example.com","sts-self"]},"NumericLessThanEquals":{"sts:DurationSeconds":"900"}}}]}`

// TestGetWebIdentityToken drives OpenSTS as an OIDC issuer: a user gets a
// JWT with aws-sdk-go-v2, go-jose verifies it against the JWKS found
// through the discovery document, and OpenSTS's own
// AssumeRoleWithWebIdentity, with an OIDC provider pointing at OpenSTS,
// accepts it; tampered tokens, alg confusion and tokens past their exp are
// refused; the caller's policy bounds audiences and duration.
func TestGetWebIdentityToken(t *testing.T) {
	t.Parallel()
	ie := startIssuer(t, withStrictAudit())
	creds := ie.userWith(t, "workload", allowWebIdentityToken)
	c := ie.sts(creds.AccessKeyID, creds.SecretAccessKey, "")

	// Discovery and JWKS, as a relying party finds them.
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	ie.getJSON(t, ie.url+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != ie.url || disc.JWKSURI != ie.url+"/.well-known/jwks.json" || strings.Join(disc.Algs, ",") != "RS256,ES384" {
		t.Fatalf("discovery = %+v", disc)
	}
	var jwks jose.JSONWebKeySet
	ie.getJSON(t, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want one RS256 and one ES384", len(jwks.Keys))
	}
	for _, k := range jwks.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.KeyID == "" {
			t.Fatalf("JWKS key %+v: want a public signing key with a kid", k)
		}
	}

	for _, alg := range []string{"RS256", "ES384"} {
		t.Run(alg, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			out := must[*sts.GetWebIdentityTokenOutput](t)(c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
				Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String(alg),
				Tags: []ststypes.Tag{{Key: aws.String("job"), Value: aws.String("nightly")}}}))
			raw := aws.ToString(out.WebIdentityToken)
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			keys := jwks.Key(jws.Signatures[0].Header.KeyID)
			if len(keys) != 1 || keys[0].Algorithm != alg {
				t.Fatalf("kid %q names %d keys", jws.Signatures[0].Header.KeyID, len(keys))
			}
			payload, err := jws.Verify(keys[0])
			if err != nil {
				t.Fatalf("verify with the JWKS: %v", err)
			}
			var claims struct {
				Iss, Sub, Aud, Jti string
				Iat, Exp           int64
				AWS                struct {
					Account     string            `json:"aws_account"`
					RequestTags map[string]string `json:"request_tags"`
				} `json:"https://sts.amazonaws.com/"`
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims.Iss != ie.url || claims.Sub != "arn:aws:iam::"+testAccount+":user/workload" || claims.Aud != "https://api.example.com" ||
				claims.Jti == "" || claims.AWS.Account != testAccount || claims.AWS.RequestTags["job"] != "nightly" {
				t.Errorf("claims = %+v", claims)
			}
			if exp := time.Unix(claims.Exp, 0); claims.Exp-claims.Iat != 300 || !exp.Equal(aws.ToTime(out.Expiration)) || exp.Before(before.Add(300*time.Second)) {
				t.Errorf("iat %d exp %d, Expiration %v: want a 300 s token", claims.Iat, claims.Exp, out.Expiration)
			}
		})
	}

	// The caller's policy bounds the audience and the duration.
	_, err := c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{Audience: []string{"https://evil.example.com"}, SigningAlgorithm: aws.String("RS256")})
	wantCode(t, err, "AccessDenied")
	_, err = c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(1800)})
	wantCode(t, err, "AccessDenied")
	// The model's constraints.
	for name, in := range map[string]*sts.GetWebIdentityTokenInput{
		"duration":  {Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(3601)},
		"algorithm": {Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("HS256")},
		"audience":  {Audience: []string{strings.Repeat("a", 1001)}, SigningAlgorithm: aws.String("RS256")},
		"audiences": {Audience: strings.Split("a b c d e f g h i j k", " "), SigningAlgorithm: aws.String("RS256")},
	} {
		_, err := c.GetWebIdentityToken(ctx, in)
		if code := apiCode(t, err); code != "ValidationError" {
			t.Errorf("%s: %s, want ValidationError", name, code)
		}
	}

	// OpenSTS trusts itself: an OIDC provider at the issuer URL, and a
	// role whose trust policy names the token's sub.
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(ie.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(ie.url), ClientIDList: []string{"sts-self"}, ThumbprintList: []string{ie.thumbprint}}))
	host := strings.TrimPrefix(ie.url, "https://")
	trust := trustDoc(`{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(prov.OpenIDConnectProviderArn) + `"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringEquals":{"` + host + `:sub":"arn:aws:iam::` + testAccount + `:user/workload","` + host + `:aud":"sts-self"}}}`)
	must[*iam.CreateRoleOutput](t)(ie.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("from-self"), AssumeRolePolicyDocument: aws.String(trust)}))
	anon := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ie.endpoint), RetryMaxAttempts: 1})
	assume := func(tok string) error {
		_, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/from-self"),
			RoleSessionName: aws.String("self"), WebIdentityToken: aws.String(tok)})
		return err
	}
	var tok string
	for _, alg := range []string{"RS256", "ES384"} {
		tok = aws.ToString(must[*sts.GetWebIdentityTokenOutput](t)(c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
			Audience: []string{"sts-self"}, SigningAlgorithm: aws.String(alg)})).WebIdentityToken)
		if err := assume(tok); err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity with OpenSTS's own %s token: %v", alg, err)
		}
		// Tampering: another sub under the same signature.
		parts := strings.Split(tok, ".")
		body, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(string(body), "user/workload", "user/admin00", 1)
		if err := assume(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]); apiCode(t, err) != "InvalidIdentityToken" {
			t.Errorf("%s: tampered token: %v, want InvalidIdentityToken", alg, err)
		}
		// Alg confusion: the same claims "signed" with HS256 keyed by the
		// public key, and with alg none.
		parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if err != nil {
			t.Fatal(err)
		}
		kid := parsed.Signatures[0].Header.KeyID
		var pubDER []byte
		for _, k := range jwks.Keys {
			if k.KeyID == kid {
				if pubDER, err = x509.MarshalPKIXPublicKey(k.Key); err != nil {
					t.Fatal(err)
				}
			}
		}
		hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubDER}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		hsTok, err := hs.Sign(body)
		if err != nil {
			t.Fatal(err)
		}
		hsRaw, _ := hsTok.CompactSerialize()
		if err := assume(hsRaw); apiCode(t, err) != "InvalidIdentityToken" {
			t.Errorf("%s: HS256 token keyed with the public key: %v, want InvalidIdentityToken", alg, err)
		}
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		if err := assume(none); apiCode(t, err) != "InvalidIdentityToken" {
			t.Errorf("%s: alg none: %v, want InvalidIdentityToken", alg, err)
		}
	}
	// The audit trail records the call, never the token (a bearer
	// credential for whoever trusts the issuer).
	trail := ie.trail(t)
	if !strings.Contains(trail, `"eventName":"GetWebIdentityToken"`) {
		t.Error("no GetWebIdentityToken event in the audit trail")
	}
	if sig := tok[strings.LastIndexByte(tok, '.')+1:]; strings.Contains(trail, sig) {
		t.Error("the audit trail holds a web identity token")
	}
	// A token for another audience is not accepted by the role.
	tok = aws.ToString(must[*sts.GetWebIdentityTokenOutput](t)(c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
		Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("RS256")})).WebIdentityToken)
	if err := assume(tok); err == nil {
		t.Error("a token for another audience assumed the role")
	}
}

// TestGetWebIdentityTokenSessions: a role session's token names the role
// and never outlives the session; a server without an issuer refuses.
func TestGetWebIdentityTokenSessions(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	ie := startIssuer(t, withClock(clk))
	creds := ie.userWith(t, "caller", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	ie.role(t, "minter", "/svc/", trustAccount)
	must[*iam.PutRolePolicyOutput](t)(ie.rootIAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("minter"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetWebIdentityToken","Resource":"*"}]}`)}))
	out := must[*sts.AssumeRoleOutput](t)(ie.sts(creds.AccessKeyID, creds.SecretAccessKey, "").AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/svc/minter"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)}))
	rc := ie.sts(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	tok := aws.ToString(must[*sts.GetWebIdentityTokenOutput](t)(rc.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
		Audience: []string{"a", "b"}, SigningAlgorithm: aws.String("ES384")})).WebIdentityToken)
	body, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub string
		Aud []string
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "arn:aws:iam::"+testAccount+":role/svc/minter" || strings.Join(claims.Aud, ",") != "a,b" {
		t.Errorf("claims = %+v: want the role's ARN and both audiences", claims)
	}
	// Ten minutes later the session has five left: a 600 s token would
	// outlive it.
	clk.Advance(10 * time.Minute)
	_, err = rc.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{Audience: []string{"a"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(600)})
	var esc *ststypes.SessionDurationEscalationException
	if !errors.As(err, &esc) {
		t.Errorf("token past the session: %v, want SessionDurationEscalationException", err)
	}

	plain := start(t)
	u := plain.userWith(t, "u", allowWebIdentityToken)
	_, err = plain.sts(u.AccessKeyID, u.SecretAccessKey, "").GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("RS256")})
	var off *ststypes.OutboundWebIdentityFederationDisabledException
	if !errors.As(err, &off) {
		t.Errorf("server without an issuer: %v, want OutboundWebIdentityFederationDisabledException", err)
	}
	resp, err := http.Get(plain.endpoint + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("a server without an issuer serves a JWKS")
	}
}

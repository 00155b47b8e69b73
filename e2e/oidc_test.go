package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/server"
)

const oidcClientID = "sts-client"

// oidcEnv is a server, a test IdP and a provider for it in the account.
type oidcEnv struct {
	*env
	idp         *testIdP
	providerARN string
	prefix      string // condition key prefix: localhost:PORT
	anon        *sts.Client
}

func withOIDC(minRefresh, timeout time.Duration) envOption {
	return func(c *config.Config, _ *server.Options) {
		c.OIDCMinRefresh, c.OIDCTimeout = minRefresh, timeout
	}
}

func trustDoc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func startOIDC(t *testing.T, minRefresh, timeout time.Duration) *oidcEnv {
	t.Helper()
	e := start(t, withOIDC(minRefresh, timeout))
	idp := newTestIdP(t)
	idp.AddKey(t, "rsa1", "RS256")
	idp.AddKey(t, "ec1", "ES256")
	idp.AddKey(t, "ed1", "EdDSA")
	idp.AddKey(t, "ps1", "PS256")
	ctx := context.Background()
	out := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(idp.URL), ClientIDList: []string{oidcClientID}, ThumbprintList: []string{idp.Thumbprint},
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("id")}},
	}))
	o := &oidcEnv{env: e, idp: idp, providerARN: aws.ToString(out.OpenIDConnectProviderArn), prefix: strings.TrimPrefix(idp.URL, "https://"),
		anon: sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.endpoint), RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second}})}
	fed := `"Principal":{"Federated":"` + o.providerARN + `"}`
	web := trustDoc(
		`{"Effect":"Allow",`+fed+`,"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"`+o.prefix+`:sub":"user-1","`+o.prefix+`:aud":"`+oidcClientID+`"}}}`,
		`{"Effect":"Allow",`+fed+`,"Action":["sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"`+o.prefix+`:sub":"user-1"}}}`)
	must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(web)}))
	notags := trustDoc(`{"Effect":"Allow",` + fed + `,"Action":"sts:AssumeRoleWithWebIdentity"}`)
	must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("notags"), AssumeRolePolicyDocument: aws.String(notags)}))
	return o
}

func (o *oidcEnv) roleARN(name string) string { return "arn:aws:iam::" + testAccount + ":role/" + name }

func (o *oidcEnv) assume(role, token string, mod ...func(*sts.AssumeRoleWithWebIdentityInput)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(o.roleARN(role)), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(token)}
	for _, m := range mod {
		m(in)
	}
	return o.anon.AssumeRoleWithWebIdentity(context.Background(), in)
}

// TestOIDCProviderIAM drives the IAM OIDC provider actions with the SDK.
func TestOIDCProviderIAM(t *testing.T) {
	t.Parallel()
	o := startOIDC(t, time.Second, 3*time.Second)
	ctx := context.Background()
	c := o.rootIAM()
	arnIn := aws.String(o.providerARN)
	if want := "arn:aws:iam::" + testAccount + ":oidc-provider/" + o.prefix; o.providerARN != want {
		t.Errorf("arn %s, want %s", o.providerARN, want)
	}
	_, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(o.idp.URL), ClientIDList: []string{"x"}})
	wantCode(t, err, "EntityAlreadyExists")
	_, err = c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("http://plain.example.com")})
	wantCode(t, err, "InvalidInput")
	_, err = c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://x.example.com"), ThumbprintList: []string{"nothex"}})
	wantCode(t, err, "ValidationError")

	must[*iam.AddClientIDToOpenIDConnectProviderOutput](t)(c.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn, ClientID: aws.String("second")}))
	must[*iam.RemoveClientIDFromOpenIDConnectProviderOutput](t)(c.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn, ClientID: aws.String("nope")}))
	must[*iam.TagOpenIDConnectProviderOutput](t)(c.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn, Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}))
	must[*iam.UntagOpenIDConnectProviderOutput](t)(c.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn, TagKeys: []string{"team"}}))
	tp2 := strings.Repeat("ab", 20)
	must[*iam.UpdateOpenIDConnectProviderThumbprintOutput](t)(c.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: arnIn, ThumbprintList: []string{o.idp.Thumbprint, tp2}}))
	got := must[*iam.GetOpenIDConnectProviderOutput](t)(c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn}))
	if aws.ToString(got.Url) != o.prefix || strings.Join(got.ClientIDList, ",") != oidcClientID+",second" ||
		strings.Join(got.ThumbprintList, ",") != o.idp.Thumbprint+","+tp2 || got.CreateDate == nil || len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "env" {
		t.Errorf("get: url %s clients %v thumbprints %v tags %v", aws.ToString(got.Url), got.ClientIDList, got.ThumbprintList, got.Tags)
	}
	tags := must[*iam.ListOpenIDConnectProviderTagsOutput](t)(c.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: arnIn}))
	if len(tags.Tags) != 1 {
		t.Errorf("tags %v", tags.Tags)
	}
	list := must[*iam.ListOpenIDConnectProvidersOutput](t)(c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))
	if len(list.OpenIDConnectProviderList) != 1 || aws.ToString(list.OpenIDConnectProviderList[0].Arn) != o.providerARN {
		t.Errorf("list %+v", list.OpenIDConnectProviderList)
	}
	// A user without policies is refused every action.
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nobody")}))
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")}))
	_, err = o.iam(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "").GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn})
	wantCode(t, err, "AccessDenied")

	must[*iam.DeleteOpenIDConnectProviderOutput](t)(c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn}))
	_, err = c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnIn})
	wantCode(t, err, "NoSuchEntity")
	// The provider is gone for AssumeRoleWithWebIdentity at once.
	_, err = o.assume("web", o.idp.Sign(t, "rsa1", o.idp.claims("user-1", oidcClientID)))
	wantCode(t, err, "InvalidIdentityToken")
}

// TestOIDCAssumeRoleWithWebIdentity: the SDK, the algorithms, the response,
// the session, trust-policy conditions, tags and source identity, and each
// error AWS defines for the action.
func TestOIDCAssumeRoleWithWebIdentity(t *testing.T) {
	t.Parallel()
	o := startOIDC(t, time.Second, 3*time.Second)
	ctx := context.Background()
	claims := func() map[string]any { return o.idp.claims("user-1", oidcClientID) }

	for _, kid := range []string{"rsa1", "ec1", "ed1", "ps1"} {
		t.Run("ok/"+kid, func(t *testing.T) {
			out, err := o.assume("web", o.idp.Sign(t, kid, claims()))
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.SubjectFromWebIdentityToken) != "user-1" || aws.ToString(out.Audience) != oidcClientID || aws.ToString(out.Provider) != o.idp.URL {
				t.Errorf("subject %q audience %q provider %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience), aws.ToString(out.Provider))
			}
			wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/web/sess"
			if aws.ToString(out.AssumedRoleUser.Arn) != wantARN || !strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") {
				t.Errorf("user %+v key %s", out.AssumedRoleUser, aws.ToString(out.Credentials.AccessKeyId))
			}
			id := must[*sts.GetCallerIdentityOutput](t)(o.sts(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			if aws.ToString(id.Arn) != wantARN {
				t.Errorf("caller %s", aws.ToString(id.Arn))
			}
		})
	}
	t.Run("azp", func(t *testing.T) {
		c := claims()
		c["aud"], c["azp"] = []string{"other", "more"}, oidcClientID
		out, err := o.assume("web", o.idp.Sign(t, "rsa1", c))
		if err != nil || aws.ToString(out.Audience) != oidcClientID {
			t.Fatalf("%v %+v", err, out)
		}
	})
	t.Run("trust condition on sub", func(t *testing.T) {
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", o.idp.claims("user-2", oidcClientID)))
		wantCode(t, err, "AccessDenied")
	})
	t.Run("missing role", func(t *testing.T) {
		_, err := o.assume("nope", o.idp.Sign(t, "rsa1", claims()))
		wantCode(t, err, "AccessDenied")
	})
	tagged := func() map[string]any {
		c := claims()
		c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"dept": []string{"eng"}, "team": []string{"id"}}, "transitive_tag_keys": []string{"team"}}
		c["https://aws.amazon.com/source_identity"] = "alice"
		return c
	}
	t.Run("session tags and source identity", func(t *testing.T) {
		out, err := o.assume("web", o.idp.Sign(t, "rsa1", tagged()))
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.SourceIdentity) != "alice" || aws.ToInt32(out.PackedPolicySize) <= 0 {
			t.Errorf("source identity %q packed %v", aws.ToString(out.SourceIdentity), out.PackedPolicySize)
		}
	})
	t.Run("tags need sts:TagSession", func(t *testing.T) {
		_, err := o.assume("notags", o.idp.Sign(t, "rsa1", tagged()))
		wantCode(t, err, "AccessDenied")
	})
	t.Run("invalid source identity", func(t *testing.T) {
		c := claims()
		c["https://aws.amazon.com/source_identity"] = "aws:bad"
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", c))
		wantCode(t, err, "InvalidIdentityToken")
	})
	t.Run("MalformedPolicyDocument", func(t *testing.T) {
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", claims()), func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`)
		})
		wantCode(t, err, "MalformedPolicyDocument")
	})
	t.Run("PackedPolicyTooLarge", func(t *testing.T) {
		c := claims()
		tags := map[string]any{}
		for i := range 40 {
			tags[fmt.Sprintf("%03d%s", i, strings.Repeat("k", 100))] = []string{strings.Repeat("v", 250)}
		}
		c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": tags}
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", c))
		wantCode(t, err, "PackedPolicyTooLarge")
	})
	t.Run("ExpiredTokenException", func(t *testing.T) {
		c := claims()
		c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-10*time.Minute).Unix()
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", c))
		wantCode(t, err, "ExpiredTokenException")
	})
	t.Run("IDPRejectedClaim", func(t *testing.T) {
		c := claims()
		delete(c, "sub")
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", c))
		wantCode(t, err, "IDPRejectedClaim")
	})
	t.Run("duration over the role maximum", func(t *testing.T) {
		_, err := o.assume("web", o.idp.Sign(t, "rsa1", claims()), func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7200) })
		wantCode(t, err, "ValidationError")
	})
	t.Run("signed request is served too", func(t *testing.T) {
		_, err := o.rootSTS().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(o.roleARN("web")), RoleSessionName: aws.String("signed"), WebIdentityToken: aws.String(o.idp.Sign(t, "ec1", claims()))})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestOIDCAttacks: forged, misdirected and stale tokens are refused with the
// code AWS uses, and a flood of unknown key ids costs the provider at most
// one JWKS fetch per refresh interval.
func TestOIDCAttacks(t *testing.T) {
	t.Parallel()
	o := startOIDC(t, 2*time.Second, 3*time.Second)
	claims := func() map[string]any { return o.idp.claims("user-1", oidcClientID) }
	// Warm the cache.
	if _, err := o.assume("web", o.idp.Sign(t, "rsa1", claims())); err != nil {
		t.Fatal(err)
	}
	rsa1 := o.idp.key("rsa1")
	good := o.idp.Sign(t, "rsa1", claims())
	parts := strings.Split(good, ".")
	tamperedClaims := claims()
	tamperedClaims["sub"] = "admin"
	tp, _ := json.Marshal(tamperedClaims)
	otherIss := claims()
	otherIss["iss"] = "https://evil.example.com"
	futureNBF := claims()
	futureNBF["nbf"] = time.Now().Add(time.Hour).Unix()
	futureIAT := claims()
	futureIAT["iat"] = time.Now().Add(time.Hour).Unix()
	stringExp := claims()
	stringExp["exp"] = "tomorrow"
	noExp := claims()
	delete(noExp, "exp")

	cases := []struct {
		name, token, code string
	}{
		{"alg none", unsignedJWT(claims()), "InvalidIdentityToken"},
		{"HS256 with the RSA public key as secret", hs256JWT("rsa1", claims(), publicPEM(t, rsa1)), "InvalidIdentityToken"},
		{"kid of an EC key, RS256 signature", signJWT(t, map[string]any{"alg": "RS256", "kid": "ec1"}, claims(), rsa1), "InvalidIdentityToken"},
		{"ES256 header on the RSA key's kid", signJWT(t, map[string]any{"alg": "ES256", "kid": "rsa1"}, claims(), o.idp.key("ec1")), "InvalidIdentityToken"},
		{"wrong issuer", o.idp.Sign(t, "rsa1", otherIss), "InvalidIdentityToken"},
		{"wrong audience", o.idp.Sign(t, "rsa1", o.idp.claims("user-1", "someone-else")), "InvalidIdentityToken"},
		{"nbf in the future", o.idp.Sign(t, "rsa1", futureNBF), "InvalidIdentityToken"},
		{"iat in the future", o.idp.Sign(t, "rsa1", futureIAT), "InvalidIdentityToken"},
		{"exp not a number", o.idp.Sign(t, "rsa1", stringExp), "InvalidIdentityToken"},
		{"no exp", o.idp.Sign(t, "rsa1", noExp), "InvalidIdentityToken"},
		{"tampered payload", parts[0] + "." + b64(tp) + "." + parts[2], "InvalidIdentityToken"},
		{"truncated signature", good[:len(good)-10], "InvalidIdentityToken"},
		{"not a JWT", "abcd.efgh", "InvalidIdentityToken"},
		{"oversized token", good + strings.Repeat("A", 20001), "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := o.assume("web", tc.token)
			wantCode(t, err, tc.code)
		})
	}

	t.Run("unknown kid flood is rate limited", func(t *testing.T) {
		time.Sleep(2100 * time.Millisecond) // past the refresh interval
		o.idp.AddKey(t, "stranger", "RS256")
		stranger := o.idp.RemoveKey("stranger") // a key the provider does not publish
		before := o.idp.JWKSFetches.Load()
		for i := range 40 {
			tok := signJWT(t, map[string]any{"alg": "RS256", "kid": fmt.Sprintf("unknown-%d", i)}, claims(), stranger)
			_, err := o.assume("web", tok)
			wantCode(t, err, "InvalidIdentityToken")
		}
		if n := o.idp.JWKSFetches.Load() - before; n > 1 {
			t.Errorf("40 tokens with unknown key ids caused %d JWKS fetches, want at most 1", n)
		}
		// Known keys keep working during the flood.
		if _, err := o.assume("web", o.idp.Sign(t, "ec1", claims())); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("key rotation while the server runs", func(t *testing.T) {
		o.idp.AddKey(t, "rsa2", "RS256")
		o.idp.RemoveKey("rsa1")
		time.Sleep(2100 * time.Millisecond)
		before := o.idp.JWKSFetches.Load()
		out, err := o.assume("web", o.idp.Sign(t, "rsa2", claims()))
		if err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
		if aws.ToString(out.SubjectFromWebIdentityToken) != "user-1" {
			t.Errorf("subject %q", aws.ToString(out.SubjectFromWebIdentityToken))
		}
		if n := o.idp.JWKSFetches.Load() - before; n != 1 {
			t.Errorf("a token of a new key caused %d JWKS fetches, want 1", n)
		}
	})
}

// TestOIDCProviderTLS: a provider without thumbprints whose certificate
// does not chain to a system root is unreachable (IDPCommunicationError);
// a provider that hangs answers IDPCommunicationError within the bound.
func TestOIDCProviderTLS(t *testing.T) {
	o := startOIDC(t, time.Second, 2*time.Second)
	ctx := context.Background()
	// The same IdP under another issuer path, registered without thumbprints.
	nopin := o.idp.URL + "/nopin"
	out := must[*iam.CreateOpenIDConnectProviderOutput](t)(o.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(nopin), ClientIDList: []string{oidcClientID}}))
	trust := trustDoc(`{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(out.OpenIDConnectProviderArn) + `"},"Action":"sts:AssumeRoleWithWebIdentity"}`)
	must[*iam.CreateRoleOutput](t)(o.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("nopin"), AssumeRolePolicyDocument: aws.String(trust)}))
	c := o.idp.claims("user-1", oidcClientID)
	c["iss"] = nopin
	_, err := o.assume("nopin", o.idp.Sign(t, "rsa1", c))
	wantCode(t, err, "IDPCommunicationError")

	// Pinned provider, keys not cached yet, then the IdP hangs.
	o.idp.Hang()
	start := time.Now()
	_, err = o.assume("web", o.idp.Sign(t, "rsa1", o.idp.claims("user-1", oidcClientID)))
	wantCode(t, err, "IDPCommunicationError")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hanging provider held the request %v (bound 2s)", d)
	}
	// Within the refresh interval the failure is answered without waiting.
	start = time.Now()
	_, err = o.assume("web", o.idp.Sign(t, "rsa1", o.idp.claims("user-1", oidcClientID)))
	wantCode(t, err, "IDPCommunicationError")
	if d := time.Since(start); d > time.Second {
		t.Errorf("second request after a failed fetch took %v", d)
	}
}

// TestOIDCClients: the SDK's web identity credential path (AWS_ROLE_ARN,
// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ENDPOINT_URL), the AWS CLI and boto3.
// aws-sdk-go-v2 resolves credentials before AWS_ENDPOINT_URL, so the STS
// client of its web identity provider finds the endpoint only through the
// service-specific AWS_ENDPOINT_URL_STS; both are set, as a user must.
func TestOIDCClients(t *testing.T) {
	o := startOIDC(t, time.Second, 3*time.Second)
	ctx := context.Background()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(o.idp.Sign(t, "ec1", o.idp.claims("user-1", oidcClientID))), 0o600); err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/web/"

	t.Run("aws-sdk-go-v2 web identity env", func(t *testing.T) {
		env := map[string]string{"AWS_ROLE_ARN": o.roleARN("web"), "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_SESSION_NAME": "sdkenv",
			"AWS_ENDPOINT_URL": o.endpoint, "AWS_ENDPOINT_URL_STS": o.endpoint, "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
			"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""}
		for k, v := range env {
			t.Setenv(k, v)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Arn) != wantARN+"sdkenv" {
			t.Errorf("caller %s", aws.ToString(id.Arn))
		}
	})

	c := newCLIEnv(t, o.endpoint)
	t.Run("aws cli", func(t *testing.T) {
		out, errOut, code := c.run(t, nil, awsCLIPath(), "sts", "assume-role-with-web-identity", "--endpoint-url", o.endpoint,
			"--role-arn", o.roleARN("web"), "--role-session-name", "cli", "--web-identity-token", "file://"+tokenFile, "--output", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		var res struct {
			Credentials     struct{ AccessKeyId string }
			AssumedRoleUser struct{ Arn string }
			Provider        string
			Audience        string
			Subject         string `json:"SubjectFromWebIdentityToken"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if res.AssumedRoleUser.Arn != wantARN+"cli" || res.Provider != o.idp.URL || res.Audience != oidcClientID || res.Subject != "user-1" {
			t.Errorf("%+v", res)
		}
		expired := o.idp.claims("user-1", oidcClientID)
		expired["exp"] = time.Now().Add(-time.Hour).Unix()
		_, errOut, code = c.run(t, nil, awsCLIPath(), "sts", "assume-role-with-web-identity", "--endpoint-url", o.endpoint,
			"--role-arn", o.roleARN("web"), "--role-session-name", "cli", "--web-identity-token", o.idp.Sign(t, "rsa1", expired))
		if code == 0 || !strings.Contains(errOut, "ExpiredTokenException") {
			t.Errorf("expired token: exit %d, %s", code, errOut)
		}
	})

	// The CLI's own web identity credential provider: from the
	// environment, and from a profile's web_identity_token_file.
	t.Run("aws cli web identity env and profile", func(t *testing.T) {
		c.write(t, "config", "[profile webid]\nrole_arn = "+o.roleARN("web")+"\nweb_identity_token_file = "+tokenFile+
			"\nrole_session_name = cliprofile\nregion = us-east-1\n")
		for _, tc := range []struct {
			name  string
			extra []string
			args  []string
		}{
			{"clienv", []string{"AWS_ROLE_ARN=" + o.roleARN("web"), "AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile, "AWS_ROLE_SESSION_NAME=clienv"}, nil},
			{"cliprofile", nil, []string{"--profile", "webid"}},
		} {
			args := append([]string{"sts", "get-caller-identity", "--endpoint-url", o.endpoint, "--output", "json"}, tc.args...)
			out, errOut, code := c.run(t, tc.extra, awsCLIPath(), args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s %s", tc.name, code, out, errOut)
			}
			var id struct{ Arn string }
			if err := json.Unmarshal([]byte(out), &id); err != nil || id.Arn != wantARN+tc.name {
				t.Errorf("%s: caller %q (%v)", tc.name, id.Arn, err)
			}
		}
	})

	t.Run("boto3", func(t *testing.T) {
		script := c.write(t, "webid.py", `import json, os, sys, boto3, botocore
endpoint, role, token_file = sys.argv[1:4]
out = {}
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
r = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="boto", WebIdentityToken=open(token_file).read())
out["direct"] = r["AssumedRoleUser"]["Arn"]
out["audience"] = r["Audience"]
try:
    sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="boto", WebIdentityToken="x.y.z")
except botocore.exceptions.ClientError as e:
    out["bad"] = e.response["Error"]["Code"]
os.environ["AWS_ROLE_ARN"] = role
os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token_file
os.environ["AWS_ROLE_SESSION_NAME"] = "botoenv"
s = boto3.Session(region_name="us-east-1")
out["env"] = s.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]
print(json.dumps(out))
`)
		out, errOut, code := c.run(t, []string{"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull}, pythonPath(), script, o.endpoint, o.roleARN("web"), tokenFile)
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want := map[string]string{"direct": wantARN + "boto", "audience": oidcClientID, "bad": "InvalidIdentityToken", "env": wantARN + "botoenv"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
	})
}

// TestOIDCSessionAndSecrecy: a web identity session is a role session (the
// role's permission policies decide its calls, aws:FederatedProvider is
// set); :amr and :oaud are usable in trust policies; and no token reaches
// the log, the error or what observers (audit) see.
func TestOIDCSessionAndSecrecy(t *testing.T) {
	t.Parallel()
	var logBuf syncBuffer
	var seen []string
	var mu sync.Mutex
	obs := pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%+v %+v %v", pipeline.Redact(x.Input), pipeline.Redact(x.Output), x.Err))
	})
	e := start(t, withOIDC(time.Second, 2*time.Second), func(_ *config.Config, o *server.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Observers = append(o.Observers, obs)
	})
	idp := newTestIdP(t)
	idp.AddKey(t, "rsa1", "RS256")
	ctx := context.Background()
	out := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(idp.URL), ClientIDList: []string{oidcClientID}, ThumbprintList: []string{idp.Thumbprint}}))
	o := &oidcEnv{env: e, idp: idp, providerARN: aws.ToString(out.OpenIDConnectProviderArn), prefix: strings.TrimPrefix(idp.URL, "https://"),
		anon: sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.endpoint), RetryMaxAttempts: 1})}
	trust := trustDoc(`{"Effect":"Allow","Principal":{"Federated":"` + o.providerARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` +
		`"ForAnyValue:StringEquals":{"` + o.prefix + `:amr":"mfa"},"StringEquals":{"` + o.prefix + `:oaud":"` + oidcClientID + `"}}}`)
	must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("mfa"), AssumeRolePolicyDocument: aws.String(trust)}))
	perm := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:FederatedProvider":"` + o.providerARN + `"}}}]}`
	must[*iam.PutRolePolicyOutput](t)(e.rootIAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("mfa"), PolicyName: aws.String("list"), PolicyDocument: aws.String(perm)}))

	c := idp.claims("user-1", oidcClientID)
	c["amr"] = []string{"pwd", "mfa"}
	token := idp.Sign(t, "rsa1", c)
	res, err := o.assume("mfa", token)
	if err != nil {
		t.Fatal(err)
	}
	cr := res.Credentials
	sess := o.iam(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	if _, err := sess.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("role policy not applied to the web identity session: %v", err)
	}
	_, err = sess.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")

	c["amr"] = "pwd"
	noMFA := idp.Sign(t, "rsa1", c)
	_, err = o.assume("mfa", noMFA)
	wantCode(t, err, "AccessDenied")
	expired := idp.claims("user-1", oidcClientID)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	expiredTok := idp.Sign(t, "rsa1", expired)
	_, err = o.assume("mfa", expiredTok)
	wantCode(t, err, "ExpiredTokenException")

	mu.Lock()
	defer mu.Unlock()
	all := logBuf.String() + strings.Join(seen, "\n")
	for _, tok := range []string{token, noMFA, expiredTok} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		payload := strings.Split(tok, ".")[1]
		if strings.Contains(all, sig) || strings.Contains(all, payload) {
			t.Fatalf("a web identity token reached the log or the observers")
		}
	}
	if len(seen) < 3 {
		t.Fatalf("observers saw %d requests", len(seen))
	}

	// The audit trail: no token in any form; the web identity session's
	// calls carry webIdFederationData naming the provider.
	if err := e.srv.Trail().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(e.dataDir, "audit", "audit-*.jsonl"))
	var trail strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		trail.Write(b)
	}
	for _, tok := range []string{token, noMFA, expiredTok} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(trail.String(), part) {
				t.Fatalf("a web identity token's part is in the audit trail")
			}
		}
	}
	if strings.Contains(trail.String(), aws.ToString(cr.SecretAccessKey)) || strings.Contains(trail.String(), aws.ToString(cr.SessionToken)) {
		t.Fatal("the session's secret or token is in the audit trail")
	}
	fed := 0
	for _, line := range strings.Split(strings.TrimSpace(trail.String()), "\n") {
		var r struct {
			EventName    string
			ErrorCode    string
			UserIdentity struct {
				AccessKeyID         string `json:"accessKeyId"`
				WebIDFederationData *struct {
					FederatedProvider string            `json:"federatedProvider"`
					Attributes        map[string]string `json:"attributes"`
				} `json:"webIdFederationData"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.UserIdentity.AccessKeyID != aws.ToString(cr.AccessKeyId) {
			continue
		}
		w := r.UserIdentity.WebIDFederationData
		if w == nil || w.FederatedProvider != o.providerARN || w.Attributes == nil {
			t.Errorf("%s by the web identity session: webIdFederationData %+v", r.EventName, w)
		}
		if r.EventName == "ListUsers" && r.ErrorCode != "AccessDenied" {
			t.Errorf("denied ListUsers recorded with %q", r.ErrorCode)
		}
		fed++
	}
	if fed != 2 {
		t.Errorf("%d events by the web identity session, want 2 (ListRoles, ListUsers)", fed)
	}
}

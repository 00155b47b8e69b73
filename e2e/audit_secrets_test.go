package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestAuditHoldsNoSecret runs one scenario that handles every kind of
// secret OpenSTS sees — access keys, session credentials of every STS
// flow, an MFA seed and its codes, an OIDC token, a signed SAML
// assertion, a directory's bind password and a user's password, right and
// wrong — and then scans every audit event for each of them, raw and in
// the forms an event could carry them (JSON-escaped, base64, URL-encoded).
func TestAuditHoldsNoSecret(t *testing.T) {
	t.Parallel()
	d := directory(t)
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	ldapARN := "arn:aws:iam::" + testAccount + ":ldap-provider/corp"
	e := start(t, withStrictAudit(), withClock(clk), withOIDC(time.Second, 3*time.Second), withLDAPDefault(ldapARN))
	ctx := context.Background()
	root := e.rootIAM()
	secrets := map[string]string{"root secret": testRootSecret, "master key": testMasterKey}
	session := func(name string, id, secret, token *string) {
		t.Helper()
		secrets[name+" secret"], secrets[name+" token"] = aws.ToString(secret), aws.ToString(token)
		if _, err := e.sts(aws.ToString(id), aws.ToString(secret), aws.ToString(token)).GetCallerIdentity(ctx, nil); err != nil {
			t.Fatalf("%s session: GetCallerIdentity: %v", name, err)
		}
	}

	// A user, its key, an MFA device and a role that needs MFA.
	must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	k := must[*iam.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	aliceID, aliceSecret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	secrets["alice secret"] = aliceSecret
	must[*iam.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:GetFederationToken"],"Resource":"*"}]}`)}))
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone")}))
	serial, seed := aws.ToString(dev.VirtualMFADevice.SerialNumber), string(dev.VirtualMFADevice.Base32StringSeed)
	secrets["MFA seed"] = seed
	code := func(steps int) string {
		c, err := totp.GenerateCodeCustom(seed, clk.Now().Add(time.Duration(steps)*30*time.Second), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := code(-1), code(0)
	must[*iam.EnableMFADeviceOutput](t)(root.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(c1), AuthenticationCode2: aws.String(c2)}))
	clk.Advance(90 * time.Second)
	c3 := code(0)
	must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)}))
	alice := e.sts(aliceID, aliceSecret, "")
	ar := must[*sts.AssumeRoleOutput](t)(alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/ops"),
		RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(serial), TokenCode: aws.String(c3)}))
	session("AssumeRole", ar.Credentials.AccessKeyId, ar.Credentials.SecretAccessKey, ar.Credentials.SessionToken)
	// The same code again is a replay, refused, and still not recorded.
	_, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/ops"),
		RoleSessionName: aws.String("again"), SerialNumber: aws.String(serial), TokenCode: aws.String(c3)})
	wantCode(t, err, "AccessDenied")
	for i, c := range []string{c1, c2, c3} {
		secrets["MFA code "+string(rune('1'+i))] = c
	}
	st := must[*sts.GetSessionTokenOutput](t)(alice.GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
	session("GetSessionToken", st.Credentials.AccessKeyId, st.Credentials.SecretAccessKey, st.Credentials.SessionToken)
	ft := must[*sts.GetFederationTokenOutput](t)(alice.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("fed"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`)}))
	session("GetFederationToken", ft.Credentials.AccessKeyId, ft.Credentials.SecretAccessKey, ft.Credentials.SessionToken)

	// OIDC: a signed token for a web identity role.
	idp := newTestIdP(t)
	idp.AddKey(t, "rsa1", "RS256")
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(root.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(idp.URL), ClientIDList: []string{oidcClientID}, ThumbprintList: []string{idp.Thumbprint}}))
	prefix := strings.TrimPrefix(idp.URL, "https://")
	must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(trustDoc(
		`{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(prov.OpenIDConnectProviderArn) + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + prefix + `:sub":"user-1"}}}`))}))
	claims := idp.claims("user-1", oidcClientID)
	now := clk.Now().Unix()
	claims["iat"], claims["nbf"], claims["exp"] = now, now-5, now+600
	jwt := idp.Sign(t, "rsa1", claims)
	secrets["JWT"] = jwt
	secrets["JWT signature"] = jwt[strings.LastIndexByte(jwt, '.')+1:]
	anon := e.sts("", "", "")
	web := must[*sts.AssumeRoleWithWebIdentityOutput](t)(anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/web"), RoleSessionName: aws.String("web"), WebIdentityToken: aws.String(jwt)}))
	session("web identity", web.Credentials.AccessKeyId, web.Credentials.SecretAccessKey, web.Credentials.SessionToken)

	// SAML: an assertion signed by xmlsec1.
	sidp := newSAMLIdP(t, "idp")
	setupSAML(t, root, sidp)
	assertion := b64std(sidp.signedAssertionResponse(t, sidp.claims(testAccount, "SAMLRole", clk.Now())))
	secrets["SAML assertion"] = assertion
	saml, err := assumeSAML(ctx, e, "SAMLRole", assertion)
	if err != nil {
		t.Fatalf("AssumeRoleWithSAML: %v", err)
	}
	session("SAML", saml.Credentials.AccessKeyId, saml.Credentials.SecretAccessKey, saml.Credentials.SessionToken)

	// The directory: its bind password, a user's password, a wrong one.
	p := sambaProvider(t, d, "corp")
	secrets["bind password"] = p["BindPassword"]
	createLDAPProvider(t, e, p)
	createRole(t, e, "S3Readers", ldapTrust("corp", `{"ForAnyValue:StringEquals":{"ldap:groups":"`+sambaGroupDN+`"}}`))
	status, body, r := e.assumeLDAP(t, map[string]string{"LDAPUsername": "alice", "LDAPPassword": alicePassword, "RoleArn": "arn:aws:iam::" + testAccount + ":role/S3Readers"})
	if status != http.StatusOK {
		t.Fatalf("AssumeRoleWithLDAPIdentity: %d %s", status, body)
	}
	secrets["alice's password"] = alicePassword
	c := r.Result.Credentials
	session("LDAP", &c.AccessKeyID, &c.SecretAccessKey, &c.SessionToken)
	const wrong = "Wr0ng-Passw0rd-4-audit"
	secrets["a wrong password"] = wrong
	if status, body, _ := e.assumeLDAP(t, map[string]string{"LDAPUsername": "alice", "LDAPPassword": wrong, "RoleArn": "arn:aws:iam::" + testAccount + ":role/S3Readers"}); errCode(body) != "AccessDenied" {
		t.Fatalf("wrong password: %d %s", status, body)
	}

	// A service-specific password (created, then reset) and a server
	// certificate's private key.
	ssc := must[*iam.CreateServiceSpecificCredentialOutput](t)(root.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceName: aws.String("codecommit.amazonaws.com")}))
	secrets["service-specific password"] = aws.ToString(ssc.ServiceSpecificCredential.ServicePassword)
	reset := must[*iam.ResetServiceSpecificCredentialOutput](t)(root.ResetServiceSpecificCredential(ctx, &iam.ResetServiceSpecificCredentialInput{
		UserName: aws.String("alice"), ServiceSpecificCredentialId: ssc.ServiceSpecificCredential.ServiceSpecificCredentialId}))
	secrets["reset service-specific password"] = aws.ToString(reset.ServiceSpecificCredential.ServicePassword)
	certFile, keyFile, _ := selfSigned(t)
	certPEM, keyPEM := readPEMs(t, certFile, keyFile)
	must[*iam.UploadServerCertificateOutput](t)(root.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("audit"),
		CertificateBody: aws.String(certPEM), PrivateKey: aws.String(keyPEM)}))
	secrets["server certificate private key"] = keyPEM
	secrets["server certificate private key's base64"] = strings.Split(keyPEM, "\n")[1]

	// The identity providers' requests are counted, never their secrets.
	text, fams := e.scrape(t)
	for _, c := range []struct{ kind, outcome string }{{"oidc_discovery", "ok"}, {"oidc_jwks", "ok"}, {"ldap", "ok"}, {"ldap", "denied"}} {
		if counter(fams, "opensts_idp_requests_total", map[string]string{"kind": c.kind, "outcome": c.outcome}) < 1 {
			t.Errorf("opensts_idp_requests_total{kind=%q,outcome=%q} not counted", c.kind, c.outcome)
		}
	}
	if histogramCount(fams, "opensts_idp_request_duration_seconds", map[string]string{"kind": "ldap"}) < 2 {
		t.Error("opensts_idp_request_duration_seconds{kind=\"ldap\"} missing")
	}
	for what, s := range secrets {
		if len(s) >= 8 && strings.Contains(text, s) {
			t.Errorf("/metrics holds the %s", what)
		}
	}

	trail := e.trail(t)
	for _, name := range []string{"CreateAccessKey", "CreateVirtualMFADevice", "EnableMFADevice", "AssumeRole", "GetSessionToken", "GetFederationToken",
		"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "AssumeRoleWithLDAPIdentity", "CreateLDAPProvider", "GetCallerIdentity",
		"CreateServiceSpecificCredential", "ResetServiceSpecificCredential", "UploadServerCertificate"} {
		if !strings.Contains(trail, `"eventName":"`+name+`"`) {
			t.Errorf("no %s event in the trail", name)
		}
	}
	for what, s := range secrets {
		if strings.HasPrefix(what, "MFA code") {
			// Six digits occur in ids and times; a code would be a value.
			if strings.Contains(trail, `"`+s+`"`) {
				t.Errorf("the trail holds %s as a value", what)
			}
			continue
		}
		if len(s) < 6 {
			t.Fatalf("%s is too short to look for: %q", what, s)
		}
		quoted, _ := json.Marshal(s)
		for form, v := range map[string]string{
			"raw": s, "JSON-escaped": string(quoted[1 : len(quoted)-1]), "base64": base64.StdEncoding.EncodeToString([]byte(s)),
			"base64url": base64.RawURLEncoding.EncodeToString([]byte(s)), "URL-encoded": url.QueryEscape(s),
		} {
			if strings.Contains(trail, v) {
				t.Errorf("the trail holds the %s (%s)", what, form)
			}
		}
	}
}

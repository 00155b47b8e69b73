package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // AWS's NameQualifier
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// SAML end to end: responses are signed by xmlsec1 (the XML Security
// Library's command-line tool, Debian package xmlsec1), never by the
// project's code, and sent with aws-sdk-go-v2, the AWS CLI and boto3.
// A missing xmlsec1 fails the test (scripts/test-deps installs it).

const (
	samlIssuer    = "https://idp.example.test/saml"
	samlProvider  = "ExampleIdP"
	samlAudience  = "urn:amazon:webservices"
	samlRecipient = "https://signin.aws.amazon.com/saml"
)

func xmlsec1Path() string {
	if p := os.Getenv("OPENSTS_TEST_XMLSEC1"); p != "" {
		return p
	}
	return "/usr/bin/xmlsec1"
}

// samlIdP is an identity provider: a key, its certificate, and files for
// xmlsec1.
type samlIdP struct {
	dir      string
	keyFile  string
	certFile string
	certB64  string
}

func newSAMLIdP(t *testing.T, name string) *samlIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	idp := &samlIdP{dir: dir, keyFile: filepath.Join(dir, "key.pem"), certFile: filepath.Join(dir, "cert.pem"), certB64: base64.StdEncoding.EncodeToString(der)}
	kb := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cb := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(idp.keyFile, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(idp.certFile, cb, 0o600); err != nil {
		t.Fatal(err)
	}
	return idp
}

func (idp *samlIdP) metadata() string {
	return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + samlIssuer + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` + idp.certB64 + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
}

// sign signs the first ds:Signature template of doc with xmlsec1.
func (idp *samlIdP) sign(t *testing.T, doc string) string {
	t.Helper()
	in := filepath.Join(idp.dir, fmt.Sprintf("in-%d.xml", seq.Add(1)))
	out := in + ".signed"
	if err := os.WriteFile(in, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xmlsec1Path(), "--sign", "--privkey-pem", idp.keyFile+","+idp.certFile,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--output", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the XML declaration so the result can be embedded.
	s := string(b)
	if strings.HasPrefix(s, "<?xml") {
		s = s[strings.Index(s, "?>")+2:]
	}
	return strings.TrimSpace(s)
}

var seq atomic.Int64

func sigTemplate(id string) string {
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI="#` + id + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`
}

// samlClaims is what one assertion says.
type samlClaims struct {
	ID           string
	NameID       string
	Format       string
	Roles        []string // Role attribute values
	SessionName  string   // "" leaves the attribute out
	Audience     string
	Recipient    string
	Issued       time.Time
	NotOnOrAfter time.Time
	Extra        map[string][]string // more attributes
	Status       string
}

func (idp *samlIdP) claims(account, role string, now time.Time) samlClaims {
	return samlClaims{
		ID:           fmt.Sprintf("_a%d%d", now.UnixNano(), seq.Add(1)),
		NameID:       "alice@example.com",
		Format:       "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		Roles:        []string{"arn:aws:iam::" + account + ":role/" + role + ",arn:aws:iam::" + account + ":saml-provider/" + samlProvider},
		SessionName:  "alice",
		Audience:     samlAudience,
		Recipient:    samlRecipient,
		Issued:       now,
		NotOnOrAfter: now.Add(5 * time.Minute),
		Status:       "urn:oasis:names:tc:SAML:2.0:status:Success",
	}
}

func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func attr(name string, values ...string) string {
	var b strings.Builder
	b.WriteString(`<saml:Attribute Name="` + name + `">`)
	for _, v := range values {
		b.WriteString(`<saml:AttributeValue>` + v + `</saml:AttributeValue>`)
	}
	b.WriteString(`</saml:Attribute>`)
	return b.String()
}

// assertion returns the Assertion XML, with a signature template when
// signed is true (to be signed by xmlsec1).
func (c samlClaims) assertion(signed bool) string {
	var attrs strings.Builder
	attrs.WriteString(attr("https://aws.amazon.com/SAML/Attributes/Role", c.Roles...))
	if c.SessionName != "" {
		attrs.WriteString(attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", c.SessionName))
	}
	for k, v := range c.Extra {
		attrs.WriteString(attr(k, v...))
	}
	sig := ""
	if signed {
		sig = sigTemplate(c.ID)
	}
	return `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + c.ID + `" Version="2.0" IssueInstant="` + xmlTime(c.Issued) + `">` +
		`<saml:Issuer>` + samlIssuer + `</saml:Issuer>` + sig +
		`<saml:Subject><saml:NameID Format="` + c.Format + `">` + c.NameID + `</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="` + xmlTime(c.NotOnOrAfter) + `" Recipient="` + c.Recipient + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + xmlTime(c.Issued.Add(-time.Minute)) + `" NotOnOrAfter="` + xmlTime(c.NotOnOrAfter) + `"><saml:AudienceRestriction><saml:Audience>` + c.Audience + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="` + xmlTime(c.Issued) + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
		`<saml:AttributeStatement>` + attrs.String() + `</saml:AttributeStatement></saml:Assertion>`
}

// response wraps assertion XML (signed or not) in a Response, with a
// signature template when signed is true.
func (c samlClaims) response(assertion string, signed bool) string {
	id := "_r" + c.ID
	sig := ""
	if signed {
		sig = sigTemplate(id)
	}
	return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="` + id + `" Version="2.0" IssueInstant="` + xmlTime(c.Issued) + `" Destination="` + samlRecipient + `">` +
		`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">` + samlIssuer + `</saml:Issuer>` + sig +
		`<samlp:Status><samlp:StatusCode Value="` + c.Status + `"/></samlp:Status>` + assertion + `</samlp:Response>`
}

// signedAssertionResponse is the common shape: the assertion signed, the
// response not.
func (idp *samlIdP) signedAssertionResponse(t *testing.T, c samlClaims) string {
	return c.response(idp.sign(t, c.assertion(true)), false)
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const samlTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::%s:saml-provider/` + samlProvider + `"},
"Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"saml:aud":"` + samlRecipient + `"}}}]}`

// samlStrictTrust allows only alice, staff, with no session tags.
const samlStrictTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::%s:saml-provider/` + samlProvider + `"},
"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"saml:sub":"alice@example.com","saml:iss":"` + samlIssuer + `","saml:sub_type":"persistent"},
"ForAnyValue:StringEquals":{"saml:edupersonaffiliation":"staff"}}}]}`

// setupSAML creates the provider and the roles "SAMLRole" and "Strict".
func setupSAML(t *testing.T, client *iam.Client, idp *samlIdP) string {
	t.Helper()
	ctx := context.Background()
	out := must[*iam.CreateSAMLProviderOutput](t)(client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name: aws.String(samlProvider), SAMLMetadataDocument: aws.String(idp.metadata()),
	}))
	for role, trust := range map[string]string{"SAMLRole": samlTrust, "Strict": samlStrictTrust} {
		must[*iam.CreateRoleOutput](t)(client.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(fmt.Sprintf(trust, testAccount)),
		}))
	}
	return aws.ToString(out.SAMLProviderArn)
}

func TestSAMLProviderIAM(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	c := e.rootIAM()
	idp := newSAMLIdP(t, "idp")
	a := setupSAML(t, c, idp)
	if want := "arn:aws:iam::" + testAccount + ":saml-provider/" + samlProvider; a != want {
		t.Fatalf("arn %s, want %s", a, want)
	}
	_, err := c.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String(samlProvider), SAMLMetadataDocument: aws.String(idp.metadata())})
	wantCode(t, err, "EntityAlreadyExists")
	_, err = c.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("bad"), SAMLMetadataDocument: aws.String(strings.Repeat("<x/>", 300))})
	wantCode(t, err, "InvalidInput")
	got := must[*iam.GetSAMLProviderOutput](t)(c.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(a)}))
	if aws.ToString(got.SAMLMetadataDocument) != idp.metadata() || got.CreateDate == nil || got.ValidUntil == nil {
		t.Errorf("get: %+v", got)
	}
	list := must[*iam.ListSAMLProvidersOutput](t)(c.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{}))
	if len(list.SAMLProviderList) != 1 || aws.ToString(list.SAMLProviderList[0].Arn) != a {
		t.Errorf("list: %+v", list.SAMLProviderList)
	}
	must[*iam.TagSAMLProviderOutput](t)(c.TagSAMLProvider(ctx, &iam.TagSAMLProviderInput{SAMLProviderArn: aws.String(a), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("id")}, {Key: aws.String("env"), Value: aws.String("prod")}}}))
	must[*iam.UntagSAMLProviderOutput](t)(c.UntagSAMLProvider(ctx, &iam.UntagSAMLProviderInput{SAMLProviderArn: aws.String(a), TagKeys: []string{"ENV"}}))
	tags := must[*iam.ListSAMLProviderTagsOutput](t)(c.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(a)}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("tags: %+v", tags.Tags)
	}
	// Key rotation: the new metadata replaces the old.
	idp2 := newSAMLIdP(t, "idp2")
	must[*iam.UpdateSAMLProviderOutput](t)(c.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(a), SAMLMetadataDocument: aws.String(idp2.metadata())}))
	got = must[*iam.GetSAMLProviderOutput](t)(c.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(a)}))
	if aws.ToString(got.SAMLMetadataDocument) != idp2.metadata() {
		t.Error("update did not replace the metadata")
	}
	// A user without permissions is denied every action.
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nobody")}))
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")}))
	nobody := e.iam(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")
	_, err = nobody.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(a)})
	wantCode(t, err, "AccessDenied")
	_, err = nobody.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{})
	wantCode(t, err, "AccessDenied")

	must[*iam.DeleteSAMLProviderOutput](t)(c.DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(a)}))
	_, err = c.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(a)})
	wantCode(t, err, "NoSuchEntity")
}

func assumeSAML(ctx context.Context, e *env, role, assertion string, mod ...func(*sts.AssumeRoleWithSAMLInput)) (*sts.AssumeRoleWithSAMLOutput, error) {
	in := &sts.AssumeRoleWithSAMLInput{
		RoleArn:       aws.String("arn:aws:iam::" + testAccount + ":role/" + role),
		PrincipalArn:  aws.String("arn:aws:iam::" + testAccount + ":saml-provider/" + samlProvider),
		SAMLAssertion: aws.String(assertion),
	}
	for _, m := range mod {
		m(in)
	}
	// The SDK sends AssumeRoleWithSAML unsigned (the model's auth: none).
	return e.sts("", "", "").AssumeRoleWithSAML(ctx, in)
}

func TestSAMLAssumeRole(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	ctx := context.Background()
	idp := newSAMLIdP(t, "idp")
	setupSAML(t, e.rootIAM(), idp)

	t.Run("signed assertion", func(t *testing.T) {
		c := idp.claims(testAccount, "SAMLRole", clk.Now())
		c.Extra = map[string][]string{
			"https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team": {"blue"},
			"https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys": {"Team"},
			"https://aws.amazon.com/SAML/Attributes/SourceIdentity":    {"alice-src"},
			"https://aws.amazon.com/SAML/Attributes/SessionDuration":   {"1800"},
		}
		out, err := assumeSAML(ctx, e, "SAMLRole", b64std(idp.signedAssertionResponse(t, c)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha1.Sum([]byte(samlIssuer + testAccount + "/" + samlProvider)) //nolint:gosec // AWS's formula
		want := map[string]string{
			"Subject": "alice@example.com", "SubjectType": "persistent", "Issuer": samlIssuer, "Audience": samlRecipient,
			"NameQualifier": base64.StdEncoding.EncodeToString(sum[:]), "SourceIdentity": "alice-src",
			"Arn": "arn:aws:sts::" + testAccount + ":assumed-role/SAMLRole/alice",
		}
		got := map[string]string{
			"Subject": aws.ToString(out.Subject), "SubjectType": aws.ToString(out.SubjectType), "Issuer": aws.ToString(out.Issuer),
			"Audience": aws.ToString(out.Audience), "NameQualifier": aws.ToString(out.NameQualifier), "SourceIdentity": aws.ToString(out.SourceIdentity),
			"Arn": aws.ToString(out.AssumedRoleUser.Arn),
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		if d := out.Credentials.Expiration.Sub(clk.Now()); d != 30*time.Minute {
			t.Errorf("session lasts %v, want 30m (SessionDuration)", d)
		}
		if out.PackedPolicySize == nil {
			t.Error("PackedPolicySize missing with session tags")
		}
		cr := out.Credentials
		id := must[*sts.GetCallerIdentityOutput](t)(e.sts(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
		if aws.ToString(id.Arn) != want["Arn"] {
			t.Errorf("caller %s", aws.ToString(id.Arn))
		}
	})

	t.Run("signed response, unsigned assertion", func(t *testing.T) {
		c := idp.claims(testAccount, "SAMLRole", clk.Now())
		if _, err := assumeSAML(ctx, e, "SAMLRole", b64std(idp.sign(t, c.response(c.assertion(false), true)))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("both signed", func(t *testing.T) {
		c := idp.claims(testAccount, "SAMLRole", clk.Now())
		if _, err := assumeSAML(ctx, e, "SAMLRole", b64std(idp.sign(t, c.response(idp.sign(t, c.assertion(true)), true)))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("trust policy conditions on saml keys", func(t *testing.T) {
		c := idp.claims(testAccount, "Strict", clk.Now())
		c.Extra = map[string][]string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"member", "staff"}}
		if _, err := assumeSAML(ctx, e, "Strict", b64std(idp.signedAssertionResponse(t, c))); err != nil {
			t.Fatal(err)
		}
		c = idp.claims(testAccount, "Strict", clk.Now())
		c.Extra = map[string][]string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"student"}}
		_, err := assumeSAML(ctx, e, "Strict", b64std(idp.signedAssertionResponse(t, c)))
		wantCode(t, err, "AccessDenied")
		// Tags need sts:TagSession, which Strict does not allow.
		c = idp.claims(testAccount, "Strict", clk.Now())
		c.Extra = map[string][]string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"staff"}, "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team": {"blue"}}
		_, err = assumeSAML(ctx, e, "Strict", b64std(idp.signedAssertionResponse(t, c)))
		wantCode(t, err, "AccessDenied")
		// Source identity needs sts:SetSourceIdentity.
		c = idp.claims(testAccount, "Strict", clk.Now())
		c.Extra = map[string][]string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"staff"}, "https://aws.amazon.com/SAML/Attributes/SourceIdentity": {"alice"}}
		_, err = assumeSAML(ctx, e, "Strict", b64std(idp.signedAssertionResponse(t, c)))
		wantCode(t, err, "AccessDenied")
	})

	t.Run("errors", func(t *testing.T) {
		other := newSAMLIdP(t, "attacker")
		tests := []struct {
			name string
			make func() string
			mod  func(*sts.AssumeRoleWithSAMLInput)
			code string
		}{
			{"unsigned", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				return c.response(c.assertion(false), false)
			}, nil, "InvalidIdentityToken"},
			{"re-signed with another key", func() string { return other.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", clk.Now())) }, nil, "InvalidIdentityToken"},
			{"expired", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now().Add(-time.Hour))
				return idp.signedAssertionResponse(t, c)
			}, nil, "ExpiredTokenException"},
			{"wrong audience", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.Audience = "https://other.example/sp"
				return idp.signedAssertionResponse(t, c)
			}, nil, "InvalidIdentityToken"},
			{"wrong recipient", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.Recipient = "https://other.example/acs"
				return idp.signedAssertionResponse(t, c)
			}, nil, "InvalidIdentityToken"},
			{"idp reports failure", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.Status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
				return idp.signedAssertionResponse(t, c)
			}, nil, "IDPRejectedClaim"},
			{"no RoleSessionName", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.SessionName = ""
				return idp.signedAssertionResponse(t, c)
			}, nil, "InvalidIdentityToken"},
			{"role not in the Role attribute", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/Other,arn:aws:iam::" + testAccount + ":saml-provider/" + samlProvider}
				return idp.signedAssertionResponse(t, c)
			}, nil, "AccessDenied"},
			{"malformed session policy", func() string { return idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", clk.Now())) },
				func(in *sts.AssumeRoleWithSAMLInput) {
					in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`)
				}, "MalformedPolicyDocument"},
			{"packed policy too large", func() string {
				c := idp.claims(testAccount, "SAMLRole", clk.Now())
				c.Extra = map[string][]string{}
				for i := range 40 {
					c.Extra[fmt.Sprintf("https://aws.amazon.com/SAML/Attributes/PrincipalTag:k%02d", i)] = []string{strings.Repeat("v", 250)}
				}
				return idp.signedAssertionResponse(t, c)
			}, nil, "PackedPolicyTooLarge"},
			{"duration over the role maximum", func() string { return idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", clk.Now())) },
				func(in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(7200) }, "ValidationError"},
			{"unknown provider", func() string { return idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", clk.Now())) },
				func(in *sts.AssumeRoleWithSAMLInput) {
					in.PrincipalArn = aws.String("arn:aws:iam::" + testAccount + ":saml-provider/Nope")
				}, "InvalidIdentityToken"},
			{"not base64", func() string { return "" }, func(in *sts.AssumeRoleWithSAMLInput) { in.SAMLAssertion = aws.String("%%%%not-base64") }, "InvalidIdentityToken"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var mods []func(*sts.AssumeRoleWithSAMLInput)
				if tc.mod != nil {
					mods = append(mods, tc.mod)
				}
				_, err := assumeSAML(ctx, e, "SAMLRole", b64std(tc.make()), mods...)
				wantCode(t, err, tc.code)
				t.Log(err)
			})
		}
	})

	t.Run("replay", func(t *testing.T) {
		resp := b64std(idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", clk.Now())))
		if _, err := assumeSAML(ctx, e, "SAMLRole", resp); err != nil {
			t.Fatal(err)
		}
		_, err := assumeSAML(ctx, e, "SAMLRole", resp)
		wantCode(t, err, "InvalidIdentityToken")
		// Still refused when the same assertion is re-wrapped in a new Response.
		_, err = assumeSAML(ctx, e, "SAMLRole", b64std(strings.Replace(mustB64Decode(t, resp), `ID="_r`, `ID="_x`, 1)))
		wantCode(t, err, "InvalidIdentityToken")
	})

	t.Run("signature wrapping", func(t *testing.T) {
		good := idp.claims(testAccount, "SAMLRole", clk.Now())
		signed := idp.sign(t, good.assertion(true))
		evil := idp.claims(testAccount, "SAMLRole", clk.Now())
		evil.NameID, evil.SessionName = "admin@example.com", "admin"
		cases := map[string]string{
			// A second, unsigned Assertion beside the signed one.
			"second assertion after":  good.response(signed+evil.assertion(false), false),
			"second assertion before": good.response(evil.assertion(false)+signed, false),
			// The signed Assertion moved into Extensions, an evil one in its place.
			"moved into extensions": strings.Replace(good.response(evil.assertion(false), false), `<samlp:Status>`,
				`<samlp:Extensions>`+signed+`</samlp:Extensions><samlp:Status>`, 1),
			// The evil Assertion reusing the signed one's ID, with its signature.
			"evil with copied signature": good.response(strings.Replace(evil.assertion(false), `</saml:Issuer>`,
				`</saml:Issuer>`+signed[strings.Index(signed, "<ds:Signature"):strings.Index(signed, "</ds:Signature>")+len("</ds:Signature>")], 1), false),
		}
		// A signed Response wrapped in an unsigned outer Response with an evil assertion.
		sr := idp.sign(t, good.response(good.assertion(false), true))
		cases["signed response wrapped"] = evil.response(evil.assertion(false), false)[:0] +
			`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_outer" Version="2.0" IssueInstant="` + xmlTime(clk.Now()) + `">` +
			`<samlp:Extensions>` + sr + `</samlp:Extensions><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` + evil.assertion(false) + `</samlp:Response>`
		for name, doc := range cases {
			t.Run(name, func(t *testing.T) {
				_, err := assumeSAML(ctx, e, "SAMLRole", b64std(doc))
				wantCode(t, err, "InvalidIdentityToken")
				t.Log(err)
			})
		}
	})

	t.Run("comment injection in NameID", func(t *testing.T) {
		// The IdP signs a subject the attacker controls; a comment makes a
		// naive reader see a prefix of it (CVE-2018-7340).
		c := idp.claims(testAccount, "SAMLRole", clk.Now())
		c.NameID = "alice@example.com.attacker.test"
		signed := idp.sign(t, c.assertion(true))
		injected := strings.Replace(signed, "alice@example.com.attacker.test", "alice@example.com<!---->.attacker.test", 1)
		out, err := assumeSAML(ctx, e, "SAMLRole", b64std(c.response(injected, false)))
		if err == nil && aws.ToString(out.Subject) != "alice@example.com.attacker.test" {
			t.Fatalf("accepted with Subject %q", aws.ToString(out.Subject))
		}
		// The strict role (saml:sub == alice@example.com) must not be reachable.
		c = idp.claims(testAccount, "Strict", clk.Now())
		c.NameID = "alice@example.com.attacker.test"
		c.Extra = map[string][]string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": {"staff"}}
		signed = idp.sign(t, c.assertion(true))
		injected = strings.Replace(signed, "alice@example.com.attacker.test", "alice@example.com<!---->.attacker.test", 1)
		_, err = assumeSAML(ctx, e, "Strict", b64std(c.response(injected, false)))
		wantCode(t, err, "AccessDenied")
	})
}

func mustB64Decode(t *testing.T, s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSAMLClients drives AssumeRoleWithSAML with the real AWS CLI and boto3
// against the opensts binary.
func TestSAMLClients(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	e := &env{endpoint: p.endpoint}
	idp := newSAMLIdP(t, "idp")
	setupSAML(t, e.rootIAM(), idp)
	c := newCLIEnv(t, p.endpoint)
	roleARN := "arn:aws:iam::" + testAccount + ":role/SAMLRole"
	providerARN := "arn:aws:iam::" + testAccount + ":saml-provider/" + samlProvider

	t.Run("aws cli", func(t *testing.T) {
		file := c.write(t, "assertion.b64", b64std(idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", time.Now()))))
		out, errOut, code := c.run(t, nil, awsCLIPath(), "sts", "assume-role-with-saml", "--role-arn", roleARN, "--principal-arn", providerARN,
			"--saml-assertion", "file://"+file, "--endpoint-url", p.endpoint, "--output", "json")
		if code != 0 {
			t.Fatalf("aws sts assume-role-with-saml: exit %d\n%s\n%s", code, out, errOut)
		}
		var res struct {
			Credentials     struct{ AccessKeyId, SessionToken string }
			AssumedRoleUser struct{ Arn string }
			Subject         string
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Credentials.AccessKeyId, "ASIA") || res.AssumedRoleUser.Arn != "arn:aws:sts::"+testAccount+":assumed-role/SAMLRole/alice" || res.Subject != "alice@example.com" {
			t.Errorf("result %s", out)
		}
		// The same assertion again: refused.
		_, errOut, code = c.run(t, nil, awsCLIPath(), "sts", "assume-role-with-saml", "--role-arn", roleARN, "--principal-arn", providerARN,
			"--saml-assertion", "file://"+file, "--endpoint-url", p.endpoint, "--output", "json")
		if code == 0 || !strings.Contains(errOut, "InvalidIdentityToken") {
			t.Errorf("replay: exit %d %s", code, errOut)
		}
	})

	t.Run("boto3", func(t *testing.T) {
		file := c.write(t, "assertion2.b64", b64std(idp.signedAssertionResponse(t, idp.claims(testAccount, "SAMLRole", time.Now()))))
		script := c.write(t, "saml.py", `
import sys, boto3, botocore
endpoint, role, provider, path = sys.argv[1:5]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", config=botocore.config.Config(signature_version=botocore.UNSIGNED))
r = sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=open(path).read())
assert r["AssumedRoleUser"]["Arn"].endswith(":assumed-role/SAMLRole/alice"), r
assert r["SubjectType"] == "persistent", r
c = r["Credentials"]
who = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"]).get_caller_identity()
assert who["Arn"] == r["AssumedRoleUser"]["Arn"], who
try:
    sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=open(path).read())
    raise SystemExit("replay accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidIdentityToken", e.response
print("ok")
`)
		out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, roleARN, providerARN, file)
		if code != 0 || !strings.Contains(out, "ok") {
			t.Fatalf("boto3: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}

// TestSAMLAssertionNeverKept: the assertion is neither logged nor stored;
// the replay cache keeps only a hash of its issuer and id.
func TestSAMLAssertionNeverKept(t *testing.T) {
	t.Parallel()
	var logBuf syncBuffer
	dir := t.TempDir()
	e := startIn(t, dir, func(_ *config.Config, o *server.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	idp := newSAMLIdP(t, "idp")
	setupSAML(t, e.rootIAM(), idp)
	c := idp.claims(testAccount, "SAMLRole", time.Now())
	resp := b64std(idp.signedAssertionResponse(t, c))
	if _, err := assumeSAML(ctx, e, "SAMLRole", resp); err != nil {
		t.Fatal(err)
	}
	_, err := assumeSAML(ctx, e, "SAMLRole", resp) // a replay, logged as a failure
	wantCode(t, err, "InvalidIdentityToken")
	e.stop()
	if strings.Contains(logBuf.String(), "alice@example.com") {
		t.Error("log contains the subject")
	}
	// (The subject is in the database: the Strict role's trust policy names it.)
	for _, secret := range []string{resp[:64], resp[len(resp)/2 : len(resp)/2+64], c.ID} {
		if strings.Contains(logBuf.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
		err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q", path, secret)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

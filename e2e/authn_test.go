package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/internal/sigv4"
)

func withRegion(region string) envOption {
	return func(c *config.Config, _ *server.Options) { c.Region = region }
}

// stsIn and iamIn are SDK clients configured for region: with a custom
// endpoint the SDK signs with the client's region.
func (e *env) stsIn(region, akid, secret, token string) *sts.Client {
	cfg := e.awsConfig(akid, secret, token)
	cfg.Region = region
	return sts.NewFromConfig(cfg)
}

func (e *env) iamIn(region, akid, secret, token string) *iam.Client {
	cfg := e.awsConfig(akid, secret, token)
	cfg.Region = region
	return iam.NewFromConfig(cfg)
}

// wantWrongRegion checks AWS's answer to a credential scope for a region
// the endpoint does not serve.
func wantWrongRegion(t *testing.T, err error, region string) {
	t.Helper()
	wantCode(t, err, "SignatureDoesNotMatch")
	var ae smithy.APIError
	errors.As(err, &ae)
	if want := "Credential should be scoped to a valid region, not '" + region + "'. "; ae.ErrorMessage() != want {
		t.Fatalf("message %q, want %q", ae.ErrorMessage(), want)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("status of %v, want 403", err)
	}
}

// TestCredentialScopeRegion: a signature scoped to a region the endpoint
// does not serve is refused, so it can neither choose aws:RequestedRegion
// (and slip past a region Deny) nor be recorded as the key's last-used
// region.
func TestCredentialScopeRegion(t *testing.T) {
	t.Parallel()
	e := start(t) // serves us-east-1
	akid, secret := e.user(t, "region-user")
	roleARN := e.role(t, "region-role", "", trustAccount)
	e.userPolicy(t, "region-user", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["sts:AssumeRole","iam:ListUsers"],"Resource":"*"},
		{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`)
	assume := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ss")}

	// The Deny applies in the region the endpoint serves...
	_, err := e.stsIn("us-east-1", akid, secret, "").AssumeRole(ctx, assume)
	wantCode(t, err, "AccessDenied")
	// ...and another region's signature does not get around it.
	for _, region := range []string{"eu-west-1", "not-a-region"} {
		_, err := e.stsIn(region, akid, secret, "").AssumeRole(ctx, assume)
		wantWrongRegion(t, err, region)
		_, err = e.stsIn(region, akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantWrongRegion(t, err, region)
		_, err = e.iamIn(region, akid, secret, "").ListUsers(ctx, &iam.ListUsersInput{})
		wantWrongRegion(t, err, region)
		cfg := e.awsConfig(testRootKeyID, testRootSecret, "")
		cfg.Region = region
		// Organizations, an AWS JSON service, says it as those do.
		_, err = organizations.NewFromConfig(cfg).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		wantCode(t, err, "InvalidSignatureException")
	}
	// Nothing from the refused requests was recorded.
	used := must[*iam.GetAccessKeyLastUsedOutput](t)(e.rootIAM().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(akid)}))
	if r := aws.ToString(used.AccessKeyLastUsed.Region); r != "us-east-1" {
		t.Fatalf("last used region %q, want us-east-1", r)
	}
	// A raw request too: the scope is checked before the key, so even an
	// unknown key gets the region answer.
	resp, body := e.raw(t, "POST", "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, false, func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err := sigv4.Sign(r, b, "AKIAUNKNOWNKEY000000", "secret", "", "mars-north-1", "sts", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	})
	var we wireError
	if err := xml.Unmarshal(body, &we); err != nil || resp.StatusCode != 403 || we.Code != "SignatureDoesNotMatch" || we.Type != "Sender" {
		t.Fatalf("raw: %d %s", resp.StatusCode, body)
	}
}

// TestServedRegions runs a server for eu-west-1: clients configured for
// it (which sign STS and IAM with eu-west-1 against a custom endpoint) and
// for the us-east-1 of the global endpoints both work; aws:RequestedRegion
// is the STS request's region, and us-east-1 for IAM, a global service.
func TestServedRegions(t *testing.T) {
	t.Parallel()
	e := start(t, withRegion("eu-west-1"))
	akid, secret := e.user(t, "eu-user")
	roleARN := e.role(t, "eu-role", "", trustAccount)
	e.userPolicy(t, "eu-user", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},
		{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`)
	assume := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ss")}

	if _, err := e.stsIn("eu-west-1", akid, secret, "").AssumeRole(ctx, assume); err != nil {
		t.Fatalf("AssumeRole signed for eu-west-1: %v", err)
	}
	_, err := e.stsIn("us-east-1", akid, secret, "").AssumeRole(ctx, assume)
	wantCode(t, err, "AccessDenied") // made at the global endpoint, in us-east-1
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		if _, err := e.stsIn(region, akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("GetCallerIdentity signed for %s: %v", region, err)
		}
		if _, err := e.iamIn(region, akid, secret, "").ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
			t.Fatalf("ListUsers signed for %s: %v", region, err)
		}
		used := must[*iam.GetAccessKeyLastUsedOutput](t)(e.rootIAM().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(akid)}))
		if r := aws.ToString(used.AccessKeyLastUsed.Region); r != "us-east-1" {
			t.Fatalf("last used region after an IAM call signed for %s: %q, want us-east-1", region, r)
		}
	}
	_, err = e.stsIn("ap-south-1", akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantWrongRegion(t, err, "ap-south-1")
}

// unsignedPayloadClient makes the SDK sign UNSIGNED-PAYLOAD and send it in
// X-Amz-Content-Sha256, as it does for S3.
func unsignedPayloadClient(o *iam.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware, v4.AddContentSHA256HeaderMiddleware)
}

// TestUnsignedPayloadRefused: AWS takes X-Amz-Content-Sha256:
// UNSIGNED-PAYLOAD from S3 only. For STS and IAM the body carries the
// Action, so a signature that does not cover it would let anyone who sees
// one signed request replay it with another Action and parameters.
func TestUnsignedPayloadRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	unsigned := iam.NewFromConfig(e.awsConfig(testRootKeyID, testRootSecret, ""), unsignedPayloadClient)
	_, err := unsigned.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sdk-unsigned")})
	wantCode(t, err, "SignatureDoesNotMatch")

	send := func(r *http.Request) (int, wireError) {
		t.Helper()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var we wireError
		if err := xml.Unmarshal(b, &we); err != nil && resp.StatusCode != http.StatusOK {
			t.Fatalf("error response %q: %v", b, err)
		}
		return resp.StatusCode, we
	}
	form := func(method, rawURL, body string) *http.Request {
		r, _ := http.NewRequest(method, rawURL, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		return r
	}

	// Header form: a harmless request signed over UNSIGNED-PAYLOAD, sent
	// with another body.
	for _, tc := range []struct{ svc, signed, sent string }{
		{"iam", "Action=ListUsers&Version=2010-05-08", "Action=CreateUser&Version=2010-05-08&UserName=swapped"},
		{"sts", "Action=GetCallerIdentity&Version=2011-06-15", "Action=GetSessionToken&Version=2011-06-15"},
	} {
		r := form("POST", e.endpoint+"/", tc.sent)
		r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
		if err := sigv4.Sign(r, []byte(tc.signed), testRootKeyID, testRootSecret, "", "us-east-1", tc.svc, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if status, we := send(r); status != 403 || we.Code != "SignatureDoesNotMatch" {
			t.Fatalf("%s header form: %d %+v", tc.svc, status, we)
		}
	}

	// Query form: a URL presigned over UNSIGNED-PAYLOAD with no Action in
	// it; whoever holds the URL must not pick the Action in a body.
	pr, _ := http.NewRequest("POST", e.endpoint+"/?X-Amz-Expires=300", nil)
	uri, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: testRootKeyID, SecretAccessKey: testRootSecret}, pr, sigv4.UnsignedPayload, "iam", "us-east-1", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	r := form("POST", uri, "Action=CreateUser&Version=2010-05-08&UserName=presigned")
	r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
	if status, we := send(r); status != 403 || we.Code != "SignatureDoesNotMatch" {
		t.Fatalf("presigned: %d %+v", status, we)
	}

	users := must[*iam.ListUsersOutput](t)(e.rootIAM().ListUsers(ctx, &iam.ListUsersInput{}))
	if len(users.Users) != 0 {
		t.Fatalf("users created through unsigned bodies: %v", aws.ToString(users.Users[0].UserName))
	}
	// The same presigned form with the body signed still works.
	pr, _ = http.NewRequest("POST", e.endpoint+"/?X-Amz-Expires=300", nil)
	body := "Action=ListUsers&Version=2010-05-08"
	uri, _, err = v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: testRootKeyID, SecretAccessKey: testRootSecret}, pr, hashHex(body), "iam", "us-east-1", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if status, we := send(form("POST", uri, body)); status != 200 {
		t.Fatalf("presigned with a signed body: %d %+v", status, we)
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestAWSCLIServedRegion: the AWS CLI configured for the server's region
// signs STS and IAM with that region against --endpoint-url, and works; a
// region the server does not serve gets AWS's answer.
func TestAWSCLIServedRegion(t *testing.T) {
	t.Parallel()
	e := start(t, withRegion("eu-west-1"))
	c := newCLIEnv(t, e.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		for _, args := range [][]string{{"sts", "get-caller-identity"}, {"iam", "list-users"}} {
			out, errOut, code := c.run(t, root, awsCLIPath(), append(args, "--region", region, "--endpoint-url", e.endpoint, "--output", "json")...)
			if code != 0 {
				t.Fatalf("aws %v --region %s: exit %d: %s %s", args, region, code, out, errOut)
			}
		}
	}
	_, errOut, code := c.run(t, root, awsCLIPath(), "iam", "list-users", "--region", "ap-south-1", "--endpoint-url", e.endpoint)
	if code == 0 || !strings.Contains(errOut, "(SignatureDoesNotMatch)") || !strings.Contains(errOut, "Credential should be scoped to a valid region, not 'ap-south-1'.") {
		t.Fatalf("aws iam list-users --region ap-south-1: exit %d: %s", code, errOut)
	}
}

package verifier_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/opensts/opensts/verifier"
)

const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// A resource server checks one request it received: who signed it, and
// whether that principal may read the object.
func ExampleVerifier_Authorize() {
	// The resource server's own identity, allowed opensts:Authorize.
	self, _ := newUser("example-server", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	// A client allowed to read one prefix.
	alice, _ := newUser("example-alice", `{"Version":"2012-10-17","Statement":[{"Sid":"ReadReports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/reports/*"}]}`)

	v, err := verifier.New(verifier.Config{
		Endpoint:    openstsEndpoint,
		Credentials: credentials.StaticCredentialsProvider{Value: self},
	})
	if err != nil {
		panic(err)
	}

	// The client signs a GET as any S3 client does.
	signed, _ := http.NewRequest("GET", "http://data.s3.example.test/reports/2026.csv", nil)
	signed.Header.Set("X-Amz-Content-Sha256", emptyHash)
	_ = v4.NewSigner().SignHTTP(context.Background(), alice, signed, emptyHash, "s3", "us-east-1", time.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	// ... and the resource server receives it.
	r := httptest.NewRequest(signed.Method, signed.URL.String(), nil)
	r.Header = signed.Header

	for _, key := range []string{"reports/2026.csv", "payroll/2026.csv"} {
		d, err := v.Authorize(context.Background(), r, emptyHash, "s3:GetObject", "arn:aws:s3:::data/"+key, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(key, d.Decision, d.Reason, d.Principal.ARN)
	}
	// Output:
	// reports/2026.csv Allow Allowed arn:aws:iam::123456789012:user/example-alice
	// payroll/2026.csv Deny ImplicitDeny arn:aws:iam::123456789012:user/example-alice
}

// Middleware puts an HTTP API behind OpenSTS credentials: each request is
// mapped to an action and a resource, and only allowed ones reach the
// handler.
func ExampleVerifier_Middleware() {
	self, _ := newUser("example-api", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	bob, _ := newUser("example-bob", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"notes:Read","Resource":"arn:aws:notes:::note/*"}]}`)

	v, _ := verifier.New(verifier.Config{Endpoint: openstsEndpoint, Credentials: credentials.StaticCredentialsProvider{Value: self}})
	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", verifier.FromContext(r.Context()).Principal.ARN)
	})
	api := httptest.NewServer(v.Middleware(func(r *http.Request) (verifier.Target, error) {
		action := "notes:Read"
		if r.Method != http.MethodGet {
			action = "notes:Write"
		}
		return verifier.Target{Action: action, Resource: "arn:aws:notes:::note" + r.URL.Path,
			Options: []verifier.Option{verifier.WithService("notes")}}, nil
	}, notes))
	defer api.Close()

	for _, method := range []string{"GET", "PUT"} {
		req, _ := http.NewRequest(method, api.URL+"/note/1", strings.NewReader(""))
		_ = v4.NewSigner().SignHTTP(context.Background(), bob, req, emptyHash, "notes", "us-east-1", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(method, resp.StatusCode, strings.Contains(string(body), "hello"), strings.Contains(string(body), "<Code>AccessDenied</Code>"))
	}
	// Output:
	// GET 200 true false
	// PUT 403 false true
}

var _ aws.CredentialsProvider = credentials.StaticCredentialsProvider{}

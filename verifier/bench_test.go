package verifier_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/verifier"
)

// BenchmarkAuthorize is one remote decision through the verifier over
// loopback: the signed call to OpenSTS, its authentication of an S3 GET
// signed with a user's long-term key, the decision and the audit event.
//
//	go test ./verifier -run '^$' -bench Authorize -benchmem
func BenchmarkAuthorize(b *testing.B) {
	self, err := newUser("bench-server", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	if err != nil {
		b.Fatal(err)
	}
	client, err := newUser("bench-client", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`)
	if err != nil {
		b.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{Endpoint: openstsEndpoint, Credentials: credentials.StaticCredentialsProvider{Value: self}})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://data.s3.test/data/a.txt", nil)
	r.Header.Set("X-Amz-Content-Sha256", emptyHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), client, r, emptyHash, "s3", "us-east-1", time.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		b.Fatal(err)
	}
	r.RequestURI = "/data/a.txt"
	decide := func() error {
		d, err := v.Authorize(context.Background(), r, emptyHash, "s3:GetObject", "arn:aws:s3:::data/a.txt", nil)
		if err == nil && !d.Allowed() {
			b.Fatalf("denied: %+v %+v", d, d.AuthenticationError)
		}
		return err
	}
	if err := decide(); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := decide(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := decide(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLocalDecision is one local-mode decision on a warm cache: the
// SigV4 check of an S3 GET signed with a role session's temporary
// credentials, the session token check (cached session, expiry,
// revocation set) and the policy evaluation (identity and session
// policies), with no call to OpenSTS.
//
//	go test ./verifier -run '^$' -bench LocalDecision -benchmem -cpu 2
func BenchmarkLocalDecision(b *testing.B) {
	localBench.once.Do(func() { localBench.v, localBench.r, localBench.err = setupLocalBench(b) })
	if localBench.err != nil {
		b.Fatal(localBench.err)
	}
	v, r := localBench.v, localBench.r
	decide := func() error {
		d, err := v.Authorize(bg, r, emptyHash, "s3:GetObject", "arn:aws:s3:::data/a.txt", nil)
		if err == nil && !d.Allowed() {
			return fmt.Errorf("denied: %+v %+v", d, d.AuthenticationError)
		}
		return err
	}
	if err := decide(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := decide(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// localBench is BenchmarkLocalDecision's verifier and request, made once
// (the benchmark function runs once per round).
var localBench struct {
	once sync.Once
	v    *verifier.Verifier
	r    *http.Request
	err  error
}

func setupLocalBench(b *testing.B) (*verifier.Verifier, *http.Request, error) {
	self, err := newUser("bench-local-server", verifierPolicy)
	if err != nil {
		return nil, nil, err
	}
	client, err := newUser("bench-local-client", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	if err != nil {
		return nil, nil, err
	}
	c := rootIAM()
	role := mustDo[*iam.CreateRoleOutput](b)(c.CreateRole(bg, &iam.CreateRoleInput{RoleName: aws.String("bench-local-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`)}))
	mustDo[*iam.PutRolePolicyOutput](b)(c.PutRolePolicy(bg, &iam.PutRolePolicyInput{RoleName: aws.String("bench-local-role"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]},
			{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/secret/*"}]}`)}))
	sess := sessionCreds(mustDo[*sts.AssumeRoleOutput](b)(stsClient(client).AssumeRole(bg, &sts.AssumeRoleInput{RoleArn: role.Role.Arn,
		RoleSessionName: aws.String("bench"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`)})).Credentials)
	v := newVerifier(b, verifier.Local, self, 0)
	r := signedRequest(b, sess, "http://data.s3.test/data/a.txt", "us-east-1", "s3")
	return v, r, nil
}

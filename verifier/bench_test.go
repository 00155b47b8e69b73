package verifier_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

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

package server

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authorize"
	"github.com/opensts/opensts/internal/sigv4"
)

// BenchmarkAuthorize is one Authorize decision in process: the call's own
// signature and opensts:Authorize check, the embedded S3 GET's signature
// (a user's long-term key) and the decision with the user's policy, the
// audit event (the default file sink) included.
//
//	go test ./internal/server -run '^$' -bench Authorize -benchmem
func BenchmarkAuthorize(b *testing.B) {
	s := benchServer(b)
	h := s.Handler()
	newUser := func(name, policy string) (id, secret string) {
		call(b, h, "iam", benchRootKey, benchRootSec, url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {name}})
		call(b, h, "iam", benchRootKey, benchRootSec, url.Values{"Action": {"PutUserPolicy"}, "Version": {"2010-05-08"}, "UserName": {name},
			"PolicyName": {"p"}, "PolicyDocument": {policy}})
		var k struct {
			ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
			Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
		}
		if err := xml.Unmarshal(call(b, h, "iam", benchRootKey, benchRootSec, url.Values{"Action": {"CreateAccessKey"}, "Version": {"2010-05-08"}, "UserName": {name}}), &k); err != nil {
			b.Fatal(err)
		}
		return k.ID, k.Secret
	}
	rsID, rsSecret := newUser("rs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	aliceID, aliceSecret := newUser("alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/public/*"}]}`)

	now := time.Now().UTC()
	embedded := httptest.NewRequest("GET", "http://data.s3.test/data/public/a.txt", nil)
	embedded.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	if err := sigv4.Sign(embedded, nil, aliceID, aliceSecret, "", "us-east-1", "s3", now); err != nil {
		b.Fatal(err)
	}
	headers := map[string][]string{"Host": {embedded.Host}}
	for k, v := range embedded.Header {
		headers[k] = v
	}
	in := authorize.AuthorizeInput{Action: "s3:GetObject", Resource: "arn:aws:s3:::data/public/a.txt",
		Request: &authorize.Request{Method: "GET", URL: "http://data.s3.test/data/public/a.txt", Headers: headers, SourceIP: "192.0.2.10"}}
	body, _ := json.Marshal(in)
	req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", authorize.Prefix+".Authorize")
	if err := sigv4.Sign(req, body, rsID, rsSecret, "", "us-east-1", authorize.ServiceName, now); err != nil {
		b.Fatal(err)
	}
	header := req.Header
	one := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		r.Header = header
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := one()
	var out authorize.AuthorizeOutput
	if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != http.StatusOK || err != nil || out.Decision != "Allow" {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rec := one(); rec.Code != http.StatusOK {
				b.Fatal(rec.Body)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rec := one(); rec.Code != http.StatusOK {
					b.Error(rec.Body)
					return
				}
			}
		})
	})
}

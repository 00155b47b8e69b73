package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/opensts/opensts/internal/apierr"
)

// s3Request signs a request to an S3-shaped resource with aws-sdk-go-v2's
// signer as the S3 client does (no path escaping), with the given
// X-Amz-Content-Sha256 ("" for none) and signed payload hash.
func s3Request(t *testing.T, method, path, contentSHA, signed string, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, "https://bucket.s3.example.test"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentSHA != "" {
		r.Header.Set("X-Amz-Content-Sha256", contentSHA)
	}
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}
	if err := sdkv4.NewSigner().SignHTTP(context.Background(), creds, r, signed, "s3", "us-east-1", signTime,
		func(o *sdkv4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	sr, _ := toServer(t, r)
	return sr
}

// s3Presigned presigns a request as the S3 presigner does (UNSIGNED-PAYLOAD).
func s3Presigned(t *testing.T, method, path string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, "https://bucket.s3.example.test"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := r.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(300))
	r.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}
	uri, _, err := sdkv4.NewSigner().PresignHTTP(context.Background(), creds, r, UnsignedPayload, "s3", "us-east-1", signTime,
		func(o *sdkv4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	pr, err := http.NewRequest(method, uri, strings.NewReader("any body"))
	if err != nil {
		t.Fatal(err)
	}
	sr, _ := toServer(t, pr)
	return sr
}

// TestParseHash checks ParseHashAt against requests signed by
// aws-sdk-go-v2: the payload hash stands for the body, and only a hash the
// signature covers verifies.
func TestParseHash(t *testing.T) {
	t.Parallel()
	body := "hello, world"
	sum := hashHex([]byte(body))
	tests := []struct {
		name    string
		build   func(t *testing.T) *http.Request
		hash    string
		wantErr error
		// unsigned is Request.UnsignedPayload after a successful parse.
		unsigned bool
	}{
		{name: "S3 PUT signed payload", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", sum, sum, body) }, hash: sum},
		{name: "S3 PUT signed payload, upper-case hash", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", sum, sum, body) }, hash: strings.ToUpper(sum)},
		{name: "S3 PUT other body", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", sum, sum, body) },
			hash: hashHex([]byte("other")), wantErr: codeErr(apierr.SignatureDoesNotMatch)},
		{name: "S3 PUT hash withheld", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", sum, sum, body) },
			hash: UnsignedPayload, wantErr: codeErr(apierr.SignatureDoesNotMatch)},
		{name: "S3 PUT unsigned payload", build: func(t *testing.T) *http.Request {
			return s3Request(t, "PUT", "/key", UnsignedPayload, UnsignedPayload, body)
		}, hash: sum, unsigned: true},
		{name: "S3 GET empty body", build: func(t *testing.T) *http.Request {
			return s3Request(t, "GET", "/a%20b/../c", emptySHA256, emptySHA256, "")
		}, hash: ""},
		{name: "S3 GET empty body by hash", build: func(t *testing.T) *http.Request { return s3Request(t, "GET", "/key", emptySHA256, emptySHA256, "") }, hash: emptySHA256},
		{name: "no content header, hash given", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", "", sum, body) }, hash: sum},
		{name: "no content header, wrong hash", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", "", sum, body) },
			hash: emptySHA256, wantErr: codeErr(apierr.SignatureDoesNotMatch)},
		{name: "no content header, malformed hash", build: func(t *testing.T) *http.Request { return s3Request(t, "PUT", "/key", "", sum, body) },
			hash: "zz" + sum[2:], wantErr: codeErr(apierr.SignatureDoesNotMatch)},
		{name: "presigned S3 GET signs UNSIGNED-PAYLOAD", build: func(t *testing.T) *http.Request { return s3Presigned(t, "GET", "/key") }, hash: sum, unsigned: true},
		{name: "presigned S3 PUT", build: func(t *testing.T) *http.Request { return s3Presigned(t, "PUT", "/key") }, hash: "", unsigned: true},
		{name: "UNSIGNED-PAYLOAD where the service signs bodies", build: func(t *testing.T) *http.Request {
			return unsignedPayloadReq(t, body, "execute-api")
		}, hash: UnsignedPayload, wantErr: codeErr(apierr.SignatureDoesNotMatch)},
		// A streaming seed parses only when the caller says so (the
		// literal as the hash): it then checks every chunk
		// (NewChunkReader, chunked_test.go). A caller that hashed the
		// framed body instead gets no decision.
		{name: "streaming payload", build: func(t *testing.T) *http.Request {
			return s3Request(t, "PUT", "/key", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body)
		}, hash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{name: "streaming payload hashed by the caller", build: func(t *testing.T) *http.Request {
			return s3Request(t, "PUT", "/key", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body)
		}, hash: hashHex([]byte(body)), wantErr: codeErr(apierr.IncompleteSignature)},
		{name: "header form STS body by hash", build: func(t *testing.T) *http.Request {
			r, _ := headerSigned("/", stsBody, "sts")(t)
			return r
		}, hash: hashHex([]byte(stsBody))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := NewVerifier(fixedClock(signTime))
			req, err := v.ParseHashAt(tc.build(t), tc.hash, signTime)
			if err == nil {
				err = v.Verify(req, []byte(testSecret))
			}
			if !errors.Is(err, tc.wantErr) && !(err != nil && tc.wantErr != nil && sameCode(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && req.UnsignedPayload != tc.unsigned {
				t.Errorf("UnsignedPayload = %v, want %v", req.UnsignedPayload, tc.unsigned)
			}
		})
	}
}

func sameCode(a, b error) bool {
	x, ok1 := apierr.As(a)
	y, ok2 := apierr.As(b)
	return ok1 && ok2 && x.Code == y.Code
}

func unsignedPayloadReq(t *testing.T, body, service string) *http.Request {
	r, _ := unsignedPayload(body, service)(t)
	return r
}

// TestIndexControl checks the word-at-a-time scan against a byte loop, at
// every position and with bytes on both sides of the bound (UTF-8 ones
// included).
func TestIndexControl(t *testing.T) {
	bytes := []byte{0, '\t', '\n', '\r', ' ', '!', 'a', 0x7f, 0x80, 0xc3, 0xff, 0x20, 0x21, 0x1f}
	slow := func(v string, i int) int {
		for ; i < len(v); i++ {
			if v[i] <= ' ' {
				return i
			}
		}
		return len(v)
	}
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range bytes {
				b := []byte(strings.Repeat("x\xc3\xa9", 9))[:n]
				b[pos] = c
				v := string(b)
				for i := 0; i <= n; i++ {
					if got, want := indexControl(v, i), slow(v, i); got != want {
						t.Fatalf("indexControl(%q, %d) = %d, want %d", v, i, got, want)
					}
				}
			}
		}
	}
}

package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
)

// The chunked upload example of the S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in
// Multiple Chunks"): its seed and chunk signatures are known answers.
const (
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
)

var exampleChunks = []struct {
	size int
	sig  string
}{
	{65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
	{1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
	{0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
}

func exampleBody() []byte {
	var b bytes.Buffer
	for _, c := range exampleChunks {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", c.size, c.sig)
		b.Write(bytes.Repeat([]byte{'a'}, c.size))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func exampleSeedRequest(t *testing.T) (*Verifier, *Request) {
	t.Helper()
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	v := NewVerifier(func() time.Time { return at })
	body := exampleBody()
	r, err := http.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", fmt.Sprint(len(body)))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
		"Signature="+exampleSeed)
	req, err := v.ParseHashAt(r, StreamingPayload, at)
	if err != nil {
		t.Fatal(err)
	}
	if !req.StreamingPayload {
		t.Fatal("StreamingPayload not set")
	}
	if err := v.Verify(req, []byte(exampleSecret)); err != nil {
		t.Fatalf("seed signature: %v", err)
	}
	return v, req
}

func TestChunkReaderKnownAnswer(t *testing.T) {
	v, req := exampleSeedRequest(t)
	cr := NewChunkReader(bytes.NewReader(exampleBody()), req, v.SigningKey(req, []byte(exampleSecret)))
	got, err := io.ReadAll(cr)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) || cr.Decoded() != 66560 {
		t.Fatalf("decoded %d bytes", len(got))
	}
}

func TestChunkReaderRefuses(t *testing.T) {
	v, req := exampleSeedRequest(t)
	key := v.SigningKey(req, []byte(exampleSecret))
	body := exampleBody()
	firstSig := bytes.Index(body, []byte(exampleChunks[0].sig))
	for name, tc := range map[string]struct {
		body []byte
		code apierr.Code
	}{
		"data byte":          {mutate(body, func(b []byte) { b[100] = 'b' }), apierr.SignatureDoesNotMatch},
		"second chunk data":  {mutate(body, func(b []byte) { b[len(b)-300] = 'b' }), apierr.SignatureDoesNotMatch},
		"chunk signature":    {mutate(body, func(b []byte) { b[firstSig] = '0' }), apierr.SignatureDoesNotMatch},
		"final chunk gone":   {body[:bytes.LastIndex(body, []byte("0;chunk"))], apierr.IncompleteSignature},
		"truncated in data":  {body[:1000], apierr.IncompleteSignature},
		"data after final":   {append(append([]byte{}, body...), 'x'), apierr.IncompleteSignature},
		"reordered chunks":   {reorder(body), apierr.SignatureDoesNotMatch},
		"no signature":       {[]byte("10000\r\n"), apierr.IncompleteSignature},
		"huge size":          {[]byte("fffffffffff;chunk-signature=" + exampleChunks[0].sig + "\r\n"), apierr.IncompleteSignature},
		"header without end": {[]byte(strings.Repeat("1", MaxChunkHeader+100)), apierr.IncompleteSignature},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := io.ReadAll(NewChunkReader(bytes.NewReader(tc.body), req, key))
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code.Name)
			}
		})
	}
	// The wrong key (another secret) fails on the first chunk.
	other := v.SigningKey(req, []byte("another secret"))
	if _, err := io.ReadAll(NewChunkReader(bytes.NewReader(body), req, other)); err == nil {
		t.Fatal("a chunked body verified with another key")
	}
}

func mutate(b []byte, f func([]byte)) []byte {
	c := append([]byte{}, b...)
	f(c)
	return c
}

// reorder swaps the two data chunks, each with its own valid signature.
func reorder(body []byte) []byte {
	i := bytes.Index(body, []byte("400;chunk"))
	j := bytes.LastIndex(body, []byte("0;chunk"))
	out := append([]byte{}, body[i:j]...)
	out = append(out, body[:i]...)
	return append(out, body[j:]...)
}

// A streaming seed is accepted only where the claimed hash says so and
// the service allows unsigned payloads (S3).
func TestStreamingSeedOnlyForS3(t *testing.T) {
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	v := NewVerifier(func() time.Time { return at })
	r, _ := http.NewRequest(http.MethodPost, "http://sts.amazonaws.com/", nil)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/sts/aws4_request,SignedHeaders=host;x-amz-date,Signature="+exampleSeed)
	if _, err := v.ParseHashAt(r, StreamingPayload, at); err == nil {
		t.Fatal("a streaming seed was accepted for sts")
	}
}

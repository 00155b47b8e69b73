package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	cr := mustChunkReader(t, bytes.NewReader(exampleBody()), req, v.SigningKey(req, []byte(exampleSecret)))
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
			_, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(tc.body), req, key))
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code.Name)
			}
		})
	}
	// The wrong key (another secret) fails on the first chunk.
	other := v.SigningKey(req, []byte("another secret"))
	if _, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(body), req, other)); err == nil {
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

func mustChunkReader(t testing.TB, body io.Reader, req *Request, key [32]byte) *ChunkReader {
	t.Helper()
	cr, err := NewChunkReader(body, req, key)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

// The signed trailer example of the S3 documentation ("Signature
// calculations for trailing headers"): the same 66,560 bytes of 'a', a
// CRC32C trailer, and known seed, chunk and trailer signatures.
const (
	trailerSeed    = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	trailerSum     = "sOO8/Q=="
	trailerSigWant = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
)

var trailerChunks = []struct {
	size int
	sig  string
}{
	{65536, "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"},
	{1024, "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"},
	{0, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"},
}

func trailerBody() []byte {
	var b bytes.Buffer
	for _, c := range trailerChunks {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", c.size, c.sig)
		if c.size > 0 {
			b.Write(bytes.Repeat([]byte{'a'}, c.size))
			b.WriteString("\r\n")
		}
	}
	b.WriteString("x-amz-checksum-crc32c:" + trailerSum + "\r\n")
	b.WriteString("x-amz-trailer-signature:" + trailerSigWant + "\r\n")
	b.WriteString("\r\n")
	return b.Bytes()
}

func trailerSeedRequest(t *testing.T, declared string) (*Verifier, *Request) {
	t.Helper()
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	v := NewVerifier(func() time.Time { return at })
	r, err := http.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayloadTrailer)
	r.Header.Set("X-Amz-Trailer", declared)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,"+
		"Signature="+trailerSeed)
	req, err := v.ParseHashAt(r, StreamingPayloadTrailer, at)
	if err != nil {
		t.Fatal(err)
	}
	if !req.StreamingPayload || !req.StreamingTrailer || req.Trailer != declared {
		t.Fatalf("StreamingPayload %v, StreamingTrailer %v, Trailer %q", req.StreamingPayload, req.StreamingTrailer, req.Trailer)
	}
	if declared == "x-amz-checksum-crc32c" {
		if err := v.Verify(req, []byte(exampleSecret)); err != nil {
			t.Fatalf("seed signature: %v", err)
		}
	}
	return v, req
}

func TestChunkReaderTrailerKnownAnswer(t *testing.T) {
	v, req := trailerSeedRequest(t, "x-amz-checksum-crc32c")
	cr := mustChunkReader(t, bytes.NewReader(trailerBody()), req, v.SigningKey(req, []byte(exampleSecret)))
	got, err := io.ReadAll(cr)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) || cr.Decoded() != 66560 {
		t.Fatalf("decoded %d bytes", len(got))
	}
	// Whitespace around a trailer's name and value is not part of what
	// is signed (the canonical form is "name:value\n").
	spaced := bytes.Replace(trailerBody(), []byte("x-amz-checksum-crc32c:"), []byte("X-Amz-Checksum-Crc32c: "), 1)
	if _, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(spaced), req, v.SigningKey(req, []byte(exampleSecret)))); err != nil {
		t.Fatalf("spaced trailer: %v", err)
	}
}

// resignTrailer replaces the trailer of body with lines, signed as a
// client holding key would sign them after the final chunk.
func resignTrailer(req *Request, key [32]byte, body []byte, checksum string) []byte {
	i := bytes.Index(body, []byte("x-amz-checksum-crc32c:"))
	canonical := "x-amz-checksum-crc32c:" + checksum + "\n"
	h := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256-TRAILER\n20130524T000000Z\n" + req.Scope() + "\n" + trailerChunks[2].sig + "\n" + hex.EncodeToString(h[:])
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(sts))
	out := append([]byte{}, body[:i]...)
	out = append(out, "x-amz-checksum-crc32c:"+checksum+"\r\nx-amz-trailer-signature:"+hex.EncodeToString(mac.Sum(nil))+"\r\n\r\n"...)
	return out
}

func TestChunkReaderTrailerRefuses(t *testing.T) {
	v, req := trailerSeedRequest(t, "x-amz-checksum-crc32c")
	key := v.SigningKey(req, []byte(exampleSecret))
	body := trailerBody()
	sigAt := bytes.Index(body, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:")
	sumAt := bytes.Index(body, []byte(trailerSum))
	final := bytes.Index(body, []byte("0;chunk-signature="))
	other := v.SigningKey(req, []byte("another secret"))
	checksum := func(err error) bool {
		var ce *ChecksumError
		return errors.As(err, &ce) && ce.Name == "x-amz-checksum-crc32c"
	}
	code := func(c apierr.Code) func(error) bool {
		return func(err error) bool {
			var ae *apierr.Error
			return errors.As(err, &ae) && ae.Code == c
		}
	}
	for name, tc := range map[string]struct {
		body []byte
		want func(error) bool
	}{
		"chunk data":       {mutate(body, func(b []byte) { b[100] = 'b' }), code(apierr.SignatureDoesNotMatch)},
		"trailer value":    {mutate(body, func(b []byte) { b[sumAt] = 'X' }), code(apierr.SignatureDoesNotMatch)},
		"trailer sig":      {mutate(body, func(b []byte) { b[sigAt] = '0' + 'd' - b[sigAt] }), code(apierr.SignatureDoesNotMatch)},
		"trailer sig zero": {bytes.Replace(body, []byte(trailerSigWant), bytes.Repeat([]byte{'0'}, 64), 1), code(apierr.SignatureDoesNotMatch)},
		// A wrong checksum signed with the right key: the signature holds,
		// the data does not match.
		"checksum signed":    {resignTrailer(req, key, body, "AAAAAA=="), checksum},
		"resigned other key": {resignTrailer(req, other, body, trailerSum), code(apierr.SignatureDoesNotMatch)},
		"no trailer sig":     {append(append([]byte{}, body[:sigAt-len("x-amz-trailer-signature:")]...), "\r\n"...), code(apierr.IncompleteSignature)},
		"no trailer":         {append(append([]byte{}, body[:bytes.Index(body, []byte("x-amz-checksum"))]...), "\r\n"...), code(apierr.IncompleteSignature)},
		"final chunk gone":   {body[:final], code(apierr.IncompleteSignature)},
		"truncated in data":  {body[:1000], code(apierr.IncompleteSignature)},
		"truncated trailer":  {body[:len(body)-2], code(apierr.IncompleteSignature)},
		"data after end":     {append(append([]byte{}, body...), 'x'), code(apierr.IncompleteSignature)},
		"undeclared trailer": {bytes.Replace(body, []byte("x-amz-checksum-crc32c:"), []byte("x-amz-checksum-crc32:"), 1), code(apierr.IncompleteSignature)},
		"extra trailer": {bytes.Replace(body, []byte("x-amz-trailer-signature:"), []byte("x-amz-meta-a:b\r\nx-amz-trailer-signature:"), 1),
			code(apierr.IncompleteSignature)},
		"checksum twice": {bytes.Replace(body, []byte("x-amz-trailer-signature:"), []byte("x-amz-checksum-crc32c:"+trailerSum+"\r\nx-amz-trailer-signature:"), 1),
			code(apierr.IncompleteSignature)},
		"oversized chunk header": {append([]byte("10000;chunk-signature="+strings.Repeat("0", MaxChunkHeader)+"\r\n"), body...), code(apierr.IncompleteSignature)},
		"oversized trailer line": {append(append([]byte{}, body[:final+len("0;chunk-signature=")+66]...),
			"x-amz-checksum-crc32c:"+strings.Repeat("A", MaxChunkHeader)+"\r\n"...), code(apierr.IncompleteSignature)},
		"huge chunk size": {[]byte("fffffffff;chunk-signature=" + trailerChunks[0].sig + "\r\n"), code(apierr.IncompleteSignature)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(tc.body), req, key))
			if !tc.want(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
		})
	}
	// The body's trailer is the checksum X-Amz-Trailer declared, and only
	// it: a request that declared another checksum refuses it.
	_, req32 := trailerSeedRequest(t, "x-amz-checksum-crc32")
	if _, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(body), req32, key)); !code(apierr.IncompleteSignature)(err) {
		t.Fatalf("trailer other than the declared one: %v", err)
	}
	_, reqBad := trailerSeedRequest(t, "x-amz-checksum-md5")
	if _, err := NewChunkReader(bytes.NewReader(body), reqBad, key); !errors.Is(err, ErrUnknownTrailer) {
		t.Fatalf("unknown declared trailer: %v", err)
	}
}

func TestUnsignedChunkReader(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("hello world"))
	good := base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"good", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\n", true},
		{"wrong sum", "5\r\nhello\r\n6\r\n worle\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\n", false},
		{"other trailer", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", false},
		{"signature trailer", "b\r\nhello world\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\nx-amz-trailer-signature:" + strings.Repeat("0", 64) + "\r\n\r\n", false},
		{"no trailer", "b\r\nhello world\r\n0\r\n", false},
		{"data after", "b\r\nhello world\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\nmore", false},
		{"short chunk", "c\r\nhello world\r\n0\r\n", false},
		{"bad size", "zz\r\nhello\r\n", false},
		{"huge size", "fffffffffff\r\n", false},
		{"no crlf", "b\nhello world", false},
		{"long line", strings.Repeat("1", 5000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr, err := NewUnsignedChunkReader(strings.NewReader(tc.body), "X-Amz-Checksum-Sha256")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(cr)
			if tc.ok != (err == nil) || tc.ok && string(got) != "hello world" {
				t.Fatalf("got %q, err %v", got, err)
			}
		})
	}
	if _, err := NewUnsignedChunkReader(strings.NewReader(""), "x-amz-checksum-md5"); !errors.Is(err, ErrUnknownTrailer) {
		t.Fatalf("md5 trailer: %v", err)
	}
}

// FuzzChunkReader: the framing parser, signed (with and without a
// trailer) and unsigned, never panics, never returns more data than the
// body holds, and ends (io.EOF or an error) on every input.
func FuzzChunkReader(f *testing.F) {
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	v := NewVerifier(func() time.Time { return at })
	mk := func(hash string) *Request {
		r, _ := http.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", nil)
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Content-Sha256", hash)
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
			"SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-trailer,Signature="+trailerSeed)
		req, err := v.ParseHashAt(r, hash, at)
		if err != nil {
			f.Fatal(err)
		}
		return req
	}
	plain, trailer := mk(StreamingPayload), mk(StreamingPayloadTrailer)
	key := v.SigningKey(plain, []byte(exampleSecret))
	// Small valid bodies (large seeds make the engine spend its time
	// minimizing), signed as a client would sign them.
	f.Add(signChunks(plain, key, []string{"hello", " world"}, ""), uint8(0))
	f.Add(signChunks(trailer, key, []string{"hello", " world"}, "x-amz-checksum-crc32c:yZRlqg=="), uint8(1))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(2))
	f.Add([]byte("0;chunk-signature="+strings.Repeat("a", 64)+"\r\n\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		var cr *ChunkReader
		var err error
		switch mode % 3 {
		case 0:
			cr, err = NewChunkReader(bytes.NewReader(body), plain, key)
		case 1:
			cr, err = NewChunkReader(bytes.NewReader(body), trailer, key)
		default:
			cr, err = NewUnsignedChunkReader(bytes.NewReader(body), "x-amz-checksum-crc32")
		}
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 7)
		var n int64
		for i := 0; ; i++ {
			m, err := cr.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
			if i > len(body)+10 {
				t.Fatal("Read neither ends nor fails")
			}
		}
		if n > int64(len(body)) || n != cr.Decoded() {
			t.Fatalf("decoded %d bytes (Decoded %d) of a %d-byte body", n, cr.Decoded(), len(body))
		}
	})
}

// signChunks encodes chunks signed from req's seed with key, the final
// empty chunk, and the trailer line (signed) when set.
func signChunks(req *Request, key [32]byte, chunks []string, trailer string) []byte {
	prev := req.Signature()
	sign := func(sts string) string {
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte(sts))
		prev = hex.EncodeToString(m.Sum(nil))
		return prev
	}
	head := req.Time.UTC().Format("20060102T150405Z") + "\n" + req.Scope() + "\n"
	var b bytes.Buffer
	for _, c := range append(chunks, "") {
		h := sha256.Sum256([]byte(c))
		sig := sign("AWS4-HMAC-SHA256-PAYLOAD\n" + head + prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(h[:]))
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), sig)
		if c != "" || trailer == "" {
			b.WriteString(c + "\r\n")
		}
	}
	if trailer != "" {
		h := sha256.Sum256([]byte(trailer + "\n"))
		sig := sign("AWS4-HMAC-SHA256-TRAILER\n" + head + prev + "\n" + hex.EncodeToString(h[:]))
		b.WriteString(trailer + "\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n")
	}
	return b.Bytes()
}

// The fuzz target's seeds decode: a trailer-signed body signed here
// verifies, so the fuzzer starts from bodies that pass every check.
func TestSignChunksSeeds(t *testing.T) {
	v, req := trailerSeedRequest(t, "x-amz-checksum-crc32c")
	key := v.SigningKey(req, []byte(exampleSecret))
	got, err := io.ReadAll(mustChunkReader(t, bytes.NewReader(signChunks(req, key, []string{"hello", " world"}, "x-amz-checksum-crc32c:yZRlqg==")), req, key))
	if err != nil || string(got) != "hello world" {
		t.Fatalf("got %q, %v", got, err)
	}
}

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensts/opensts/internal/gateway"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// keysFor creates a user with an inline policy (benchmarks and tests).
func keysFor(tb testing.TB, e *env, name, policy string) aws.Credentials {
	tb.Helper()
	c := e.rootIAM()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		tb.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		tb.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: *k.AccessKey.AccessKeyId, SecretAccessKey: *k.AccessKey.SecretAccessKey}
}

// inProcessGateway serves a gateway.Gateway in front of upstream, its
// identity gw, deciding through e.
func inProcessGateway(tb testing.TB, e *env, upstream string, gw aws.Credentials) string {
	tb.Helper()
	v, err := verifier.New(verifier.Config{Endpoint: e.endpoint, Credentials: credentials.StaticCredentialsProvider{Value: gw}})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{Upstream: upstream, Authorizer: v,
		UpstreamCredentials: credentials.NewStaticCredentialsProvider(upstreamKeyID, upstreamSecret, "")})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(g)
	tb.Cleanup(srv.Close)
	return srv.URL
}

var benchSigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })

func signedGet(tb testing.TB, url string, k aws.Credentials) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptyHash)
	if err := benchSigner.SignHTTP(ctx, k, req, emptyHash, "s3", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	return req
}

const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// BenchmarkGatewayGetObject1KiB: one 1 KiB GetObject at a time, signed
// anew each time, straight to the upstream (versitygw behind its SigV4
// check) and through the gateway (authorize API round trip, re-signing,
// forwarding). The difference of the two is the gateway's added latency:
//
//	go test ./e2e -run '^$' -bench GatewayGetObject1KiB -benchtime 3s
func BenchmarkGatewayGetObject1KiB(b *testing.B) {
	e := startB(b)
	up := startUpstream(b, "data")
	up.put(b, "data", "obj", strings.Repeat("x", 1024))
	gw := keysFor(b, e, "gateway", gatewayIdentity)
	alice := keysFor(b, e, "alice", alicePolicy)
	up.put(b, "data", "home/obj", strings.Repeat("x", 1024))
	gwURL := inProcessGateway(b, e, up.url, gw)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	run := func(b *testing.B, url string, k aws.Credentials) {
		for b.Loop() {
			resp, err := client.Do(signedGet(b, url, k))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != 1024 {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		run(b, up.url+"/data/home/obj", aws.Credentials{AccessKeyID: upstreamKeyID, SecretAccessKey: upstreamSecret})
	})
	b.Run("gateway", func(b *testing.B) { run(b, gwURL+"/data/home/obj", alice) })
}

// pattern is a deterministic body of n bytes produced without a buffer
// of its size: patternBlock repeated.
type pattern struct{ off, n int64 }

// patternBlock is 1 MiB + 7 bytes, so that no two MiB of a body are alike.
var patternBlock = func() []byte {
	b := make([]byte, 1<<20+7)
	for i := range b {
		b[i] = byte(i ^ i>>11)
	}
	return b
}()

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	n := 0
	for n < len(b) {
		n += copy(b[n:], patternBlock[(p.off+int64(n))%int64(len(patternBlock)):])
	}
	p.off += int64(n)
	return n, nil
}

// chunkEncoder is a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body of src,
// produced chunk by chunk.
type chunkEncoder struct {
	src          io.Reader
	key          []byte
	prefix, prev string
	buf, out     []byte
	pos          int // read position in out
	done         bool
}

func newChunkEncoder(src io.Reader, k aws.Credentials, at time.Time, seed string, chunkSize int) *chunkEncoder {
	key := hmacOf([]byte("AWS4"+k.SecretAccessKey), at.Format("20060102"))
	for _, s := range []string{"us-east-1", "s3", "aws4_request"} {
		key = hmacOf(key, s)
	}
	scope := at.Format("20060102") + "/us-east-1/s3/aws4_request"
	return &chunkEncoder{src: src, key: key, prefix: "AWS4-HMAC-SHA256-PAYLOAD\n" + at.Format("20060102T150405Z") + "\n" + scope + "\n",
		prev: seed, buf: make([]byte, chunkSize), out: make([]byte, 0, chunkSize+256)}
}

func (c *chunkEncoder) Read(p []byte) (int, error) {
	for c.pos == len(c.out) {
		if c.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(c.src, c.buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
		chunk := c.buf[:n]
		h := sha256.Sum256(chunk)
		c.prev = hex.EncodeToString(hmacOf(c.key, c.prefix+c.prev+"\n"+emptyHash+"\n"+hex.EncodeToString(h[:])))
		c.out = fmt.Appendf(c.out[:0], "%x;chunk-signature=%s\r\n", n, c.prev)
		c.out = append(c.out, chunk...)
		c.out = append(c.out, "\r\n"...)
		c.pos = 0
		if n == 0 {
			c.done = true
		}
	}
	n := copy(p, c.out[c.pos:])
	c.pos += n
	return n, nil
}

func encodedLength(n int64, chunk int) int64 {
	sigLen := int64(len(";chunk-signature=") + 64 + 4)
	full := n / int64(chunk)
	total := full * (int64(len(fmt.Sprintf("%x", chunk))) + sigLen + int64(chunk))
	if rest := n % int64(chunk); rest > 0 {
		total += int64(len(fmt.Sprintf("%x", rest))) + sigLen + rest
	}
	return total + 1 + sigLen
}

// TestGatewayMemory uploads 256 MiB through the gateway twice, once with
// a signed payload hash and once chunk-signed, and samples the live heap
// (after a collection) while it streams: the gateway keeps a fixed buffer
// per upload, so the heap must not grow with the body. The upstream is a
// sink that hashes what it receives.
func TestGatewayMemory(t *testing.T) {
	const size = 256 << 20
	e := start(t)
	gw := keysFor(t, e, "gateway", gatewayIdentity)
	alice := keysFor(t, e, "alice", alicePolicy)
	var received atomic.Int64
	var sinkSum atomic.Value
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+upstreamKeyID+"/") {
			http.Error(w, "not re-signed", http.StatusForbidden)
			return
		}
		h := sha256.New()
		var (
			n   int64
			err error
		)
		if r.Header.Get("Content-Encoding") == "aws-chunked" {
			// The gateway re-frames a chunk-signed upload (64 KiB chunks
			// and a trailing checksum): count and hash the data only.
			n, err = dechunk(h, r.Body)
			if err == nil && fmt.Sprint(n) != r.Header.Get("X-Amz-Decoded-Content-Length") {
				err = errors.New("short body")
			}
		} else if n, err = io.Copy(h, r.Body); err == nil && n != r.ContentLength {
			err = errors.New("short body")
		}
		if err != nil {
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		received.Store(n)
		sinkSum.Store(hex.EncodeToString(h.Sum(nil)))
	}))
	t.Cleanup(sink.Close)
	gwURL := inProcessGateway(t, e, sink.URL, gw)
	h := sha256.New()
	if _, err := io.Copy(h, &pattern{n: size}); err != nil {
		t.Fatal(err)
	}
	sum := hex.EncodeToString(h.Sum(nil))

	for _, mode := range []string{"signed", "chunked"} {
		t.Run(mode, func(t *testing.T) {
			received.Store(0)
			now := time.Now().UTC()
			req, _ := http.NewRequest(http.MethodPut, gwURL+"/data/home/big-"+mode, nil)
			var body io.Reader
			switch mode {
			case "signed":
				req.Header.Set("X-Amz-Content-Sha256", sum)
				if err := benchSigner.SignHTTP(ctx, alice, req, sum, "s3", "us-east-1", now); err != nil {
					t.Fatal(err)
				}
				body, req.ContentLength = &pattern{n: size}, size
			case "chunked":
				req.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingPayload)
				req.Header.Set("Content-Encoding", "aws-chunked")
				req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(size))
				req.ContentLength = encodedLength(size, 64<<10)
				if err := benchSigner.SignHTTP(ctx, alice, req, sigv4.StreamingPayload, "s3", "us-east-1", now); err != nil {
					t.Fatal(err)
				}
				auth := req.Header.Get("Authorization")
				body = newChunkEncoder(&pattern{n: size}, alice, now, auth[strings.Index(auth, "Signature=")+len("Signature="):], 64<<10)
			}
			req.Body = io.NopCloser(body)

			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapAlloc, ms.HeapAlloc
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
				}
			}()
			resp, err := http.DefaultClient.Do(req)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("upload: %d %s", resp.StatusCode, b)
			}
			if received.Load() != size || sinkSum.Load() != sum {
				t.Fatalf("the upstream received %d bytes", received.Load())
			}
			growth := int64(peak) - int64(base)
			t.Logf("%s: 256 MiB upload, live heap %.1f MiB before, peak growth %.2f MiB", mode, float64(base)/(1<<20), float64(growth)/(1<<20))
			if growth > 8<<20 {
				t.Fatalf("the live heap grew by %d bytes during a %d-byte upload", growth, size)
			}
		})
	}
}

// dechunk writes the data of an aws-chunked body (no chunk signatures,
// a trailer) to w.
func dechunk(w io.Writer, body io.Reader) (int64, error) {
	br := bufio.NewReader(body)
	buf := make([]byte, 32<<10) // one buffer: the heap is what the test measures
	var total int64
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return total, err
		}
		size, err := strconv.ParseInt(strings.TrimSuffix(line, "\r\n"), 16, 64)
		if err != nil {
			return total, err
		}
		if size == 0 {
			_, err := io.Copy(io.Discard, br) // the trailer
			return total, err
		}
		if n, err := io.CopyBuffer(w, io.LimitReader(br, size), buf); err != nil || n != size {
			return total, errors.New("short chunk")
		}
		total += size
		if _, err := br.Discard(2); err != nil {
			return total, err
		}
	}
}

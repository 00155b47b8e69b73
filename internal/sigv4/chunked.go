package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
)

// StreamingPayload is the X-Amz-Content-Sha256 value of an S3 upload sent
// in aws-chunked encoding with a signature on every chunk.
const StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

// StreamingUnsignedTrailer is the X-Amz-Content-Sha256 value of an S3
// upload sent in aws-chunked encoding without chunk signatures, with a
// checksum in a trailer (the SDKs' default over https).
const StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

// Limits of the aws-chunked framing a ChunkReader accepts.
const (
	// MaxChunkHeader bounds one chunk's header line ("hex-size;chunk-signature=...\r\n").
	MaxChunkHeader = 4096
	// MaxChunkSize bounds one chunk's declared size (S3 accepts chunks of
	// at most a few MiB; this only rejects absurd sizes early).
	MaxChunkSize = 1 << 32
)

const chunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD"

// SigningKey returns the SigV4 signing key of req's credential scope
// (date, region, service) for secret. It signs nothing outside that scope,
// but within it, it signs anything as the key's owner: hand it only to a
// party trusted with the scope, and only after Verify accepted req.
func (v *Verifier) SigningKey(req *Request, secret []byte) [sha256.Size]byte {
	return v.signingKey(secret, req.Date, req.Region, req.Service)
}

// ChunkReader decodes an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
// and checks every chunk signature, chained from the seed signature of the
// request's Authorization header. Read returns a chunk's data as it arrives,
// before the chunk's signature can be checked (the signature covers the
// whole chunk); the chunk's signature is checked when its data ends, and
// io.EOF comes only after the final, empty chunk verified. A consumer that
// must not act on unverified data therefore acts only on io.EOF (the
// gateway withholds the body's last byte until then, so that an upstream
// never receives a complete body that did not verify).
//
// Errors are *apierr.Error: SignatureDoesNotMatch for a chunk whose
// signature does not match, IncompleteSignature for malformed framing, a
// body that ends early, or data past the final chunk.
type ChunkReader struct {
	r       *bufio.Reader
	key     [sha256.Size]byte
	prefix  string // "AWS4-HMAC-SHA256-PAYLOAD\n<amz date>\n<scope>\n"
	prev    string // the previous signature, hex
	claimed [sha256.Size]byte
	left    int64 // data left in the current chunk
	inChunk bool
	h       hash.Hash
	total   int64
	err     error
}

// NewChunkReader returns a reader of body's decoded data. req is the
// request as Parse read it (StreamingPayload set, its seed signature
// verified); key is SigningKey(req, secret).
func NewChunkReader(body io.Reader, req *Request, key [sha256.Size]byte) *ChunkReader {
	amzDate := req.Time.UTC().Format(timeFormat)
	return &ChunkReader{
		r:      bufio.NewReaderSize(body, MaxChunkHeader+16),
		key:    key,
		prefix: chunkAlgorithm + "\n" + amzDate + "\n" + req.Scope() + "\n",
		prev:   hex.EncodeToString(req.signature[:]),
		h:      sha256.New(),
	}
}

// Decoded returns how many data bytes were read so far.
func (c *ChunkReader) Decoded() int64 { return c.total }

func malformedChunk(what string) error {
	return apierr.New(apierr.IncompleteSignature, "The aws-chunked body is malformed: %s.", what)
}

// Read implements io.Reader.
func (c *ChunkReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if c.inChunk && c.left > 0 {
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.r.Read(p)
			c.h.Write(p[:n])
			c.left -= int64(n)
			c.total += int64(n)
			if err == io.EOF {
				err = malformedChunk("the body ended inside a chunk")
			}
			if err != nil {
				c.err = err
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if c.inChunk {
			// The chunk's data ended: its CRLF, then its signature.
			if err := c.crlf(); err != nil {
				c.err = err
				continue
			}
			c.inChunk = false
			if err := c.verify(); err != nil {
				c.err = err
				continue
			}
		}
		final, err := c.header()
		if err != nil {
			c.err = err
			continue
		}
		if final {
			if err := c.verify(); err != nil {
				c.err = err
				continue
			}
			// The final chunk ends with its own CRLF; nothing may follow
			// (this encoding has no trailer).
			if err := c.crlf(); err != nil {
				c.err = err
				continue
			}
			if _, err := c.r.ReadByte(); err != io.EOF {
				c.err = malformedChunk("data follows the final chunk")
				continue
			}
			c.err = io.EOF
			continue
		}
		c.inChunk = true
	}
}

func (c *ChunkReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return malformedChunk("a chunk does not end with CRLF")
	}
	return nil
}

// header reads "hex-size;chunk-signature=SIG\r\n" and starts the chunk;
// final is true for the empty chunk.
func (c *ChunkReader) header() (final bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return false, malformedChunk("a chunk header is too long")
	}
	if err == io.EOF && len(line) == 0 {
		return false, malformedChunk("the body ended before the final chunk")
	}
	if err != nil {
		return false, malformedChunk("a chunk header is cut short")
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	sizeHex, ext, ok := strings.Cut(s, ";")
	if !ok || len(sizeHex) == 0 || len(sizeHex) > 16 {
		return false, malformedChunk("a chunk header has no size or no signature")
	}
	size, perr := strconv.ParseUint(sizeHex, 16, 64)
	if perr != nil || size > MaxChunkSize {
		return false, malformedChunk("a chunk size is not a hex number of at most 4 GiB")
	}
	sig, ok := strings.CutPrefix(ext, "chunk-signature=")
	if !ok || !decodeSignature(&c.claimed, sig) {
		return false, malformedChunk("a chunk signature is not 64 hex digits")
	}
	c.left = int64(size)
	c.h.Reset()
	return size == 0, nil
}

// verify checks the current chunk's signature over its data hash.
func (c *ChunkReader) verify() error {
	mac := hmac.New(sha256.New, c.key[:])
	mac.Write([]byte(c.prefix))
	mac.Write([]byte(c.prev))
	mac.Write([]byte("\n" + emptySHA256 + "\n"))
	var sum [sha256.Size]byte
	mac.Write(hex.AppendEncode(nil, c.h.Sum(sum[:0])))
	got := mac.Sum(nil)
	if subtle.ConstantTimeCompare(got, c.claimed[:]) != 1 {
		return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch)
	}
	c.prev = hex.EncodeToString(got)
	return nil
}

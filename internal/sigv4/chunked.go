package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // x-amz-checksum-sha1 is S3's, checked as S3 checks it
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
)

// StreamingPayload is the X-Amz-Content-Sha256 value of an S3 upload sent
// in aws-chunked encoding with a signature on every chunk.
const StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

// StreamingPayloadTrailer is the X-Amz-Content-Sha256 value of an S3
// upload sent in aws-chunked encoding with a signature on every chunk and
// a signed trailer (a checksum and x-amz-trailer-signature) after the
// final chunk.
const StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

// StreamingUnsignedTrailer is the X-Amz-Content-Sha256 value of an S3
// upload sent in aws-chunked encoding without chunk signatures, with a
// checksum in a trailer (the SDKs' default over https).
const StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

// Limits of the aws-chunked framing a ChunkReader accepts.
const (
	// MaxChunkHeader bounds one chunk's header line ("hex-size;chunk-signature=...\r\n")
	// and one trailer line.
	MaxChunkHeader = 4096
	// MaxChunkSize bounds one chunk's declared size (S3 accepts chunks of
	// at most a few MiB; this only rejects absurd sizes early).
	MaxChunkSize = 1 << 32
	// maxTrailerLines bounds the trailer: the declared checksum and the
	// trailer signature; more lines are refused.
	maxTrailerLines = 2
)

const (
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
	trailerSignature = "x-amz-trailer-signature"
)

// checksums are the trailing checksums S3 accepts, by trailer name.
var checksums = map[string]func() hash.Hash{
	"x-amz-checksum-crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"x-amz-checksum-crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"x-amz-checksum-crc64nvme": func() hash.Hash { return crc64.New(crc64NVME) },
	"x-amz-checksum-sha1":      sha1.New,
	"x-amz-checksum-sha256":    sha256.New,
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5) // CRC-64/NVME, reflected

// ErrUnknownTrailer is NewChunkReader's and NewUnsignedChunkReader's error
// for an X-Amz-Trailer that does not name one checksum S3 knows
// (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256).
var ErrUnknownTrailer = errors.New("x-amz-trailer names no checksum s3 knows")

// ChecksumError is a ChunkReader's error for a trailing checksum that does
// not match the data (S3 answers BadDigest).
type ChecksumError struct {
	Name string // the trailer, e.g. "x-amz-checksum-crc32c"
}

func (e *ChecksumError) Error() string {
	return "the " + e.Name + " trailer does not match the data"
}

// SigningKey returns the SigV4 signing key of req's credential scope
// (date, region, service) for secret. It signs nothing outside that scope,
// but within it, it signs anything as the key's owner: hand it only to a
// party trusted with the scope, and only after Verify accepted req.
func (v *Verifier) SigningKey(req *Request, secret []byte) [sha256.Size]byte {
	return v.signingKey(secret, req.Date, req.Region, req.Service)
}

// ChunkReader decodes an aws-chunked body, the one framing parser of
// OpenSTS for the three encodings S3 clients send:
//
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: "SIZE;chunk-signature=SIG\r\nDATA\r\n"
//     chunks, the last one empty, then "\r\n"; every chunk signature is
//     checked, chained from the seed signature of the Authorization header.
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same chunks, then after
//     the final chunk the checksum X-Amz-Trailer declared
//     ("x-amz-checksum-ALG:BASE64\r\n"), "x-amz-trailer-signature:SIG\r\n"
//     and "\r\n". The trailer signature signs, with the string to sign
//     "AWS4-HMAC-SHA256-TRAILER\n<amz date>\n<scope>\n<final chunk's
//     signature>\n<hex SHA-256 of "name:value\n">", and the checksum must
//     match the decoded data.
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER (NewUnsignedChunkReader):
//     "SIZE\r\nDATA\r\n" chunks, "0\r\n", the declared checksum and "\r\n".
//
// Read returns a chunk's data as it arrives, before the chunk's signature
// can be checked (the signature covers the whole chunk); the signature is
// checked when the chunk's data ends, and io.EOF comes only after the
// final chunk, the trailer and the checksum verified and nothing followed.
// A consumer that must not act on unverified data therefore acts only on
// io.EOF (the gateway withholds the body's last byte until then, so that
// an upstream never receives a complete body that did not verify).
//
// Errors: *apierr.Error SignatureDoesNotMatch for a chunk or trailer
// signature that does not match, IncompleteSignature for malformed framing
// (a header or trailer line longer than MaxChunkHeader, a chunk larger
// than MaxChunkSize, a body that ends early, a trailer X-Amz-Trailer did
// not declare, data past the end); *ChecksumError for a trailing checksum
// that does not match; the body's own read errors otherwise. Memory is
// bounded by MaxChunkHeader whatever the body. Not safe for concurrent use.
type ChunkReader struct {
	r      *bufio.Reader
	signed bool
	key    [sha256.Size]byte
	prefix string // "<amz date>\n<scope>\n"
	prev   string // the previous signature, hex
	h      hash.Hash

	trailer string    // the declared checksum trailer, "" for none
	sum     hash.Hash // the checksum of the decoded data

	claimed [sha256.Size]byte
	left    int64 // data left in the current chunk
	inChunk bool
	total   int64
	err     error
}

// NewChunkReader returns a reader of body's decoded data, for a request
// Parse read with StreamingPayload set (its seed signature verified); key
// is SigningKey(req, secret). When req.StreamingTrailer is set, the body
// ends with the signed trailer req.Trailer names (ErrUnknownTrailer when
// it names no checksum S3 knows).
func NewChunkReader(body io.Reader, req *Request, key [sha256.Size]byte) (*ChunkReader, error) {
	c := &ChunkReader{
		r:      bufio.NewReaderSize(body, MaxChunkHeader+16),
		signed: true,
		key:    key,
		prefix: req.Time.UTC().Format(timeFormat) + "\n" + req.Scope() + "\n",
		prev:   hex.EncodeToString(req.signature[:]),
		h:      sha256.New(),
	}
	if req.StreamingTrailer {
		if err := c.declare(req.Trailer); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewUnsignedChunkReader returns a reader of body's decoded data for a
// STREAMING-UNSIGNED-PAYLOAD-TRAILER upload whose X-Amz-Trailer is
// trailer (ErrUnknownTrailer when it names no checksum S3 knows).
func NewUnsignedChunkReader(body io.Reader, trailer string) (*ChunkReader, error) {
	c := &ChunkReader{r: bufio.NewReaderSize(body, MaxChunkHeader+16)}
	if err := c.declare(trailer); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *ChunkReader) declare(trailer string) error {
	name := strings.ToLower(strings.TrimSpace(trailer))
	newHash, ok := checksums[name]
	if !ok {
		return ErrUnknownTrailer
	}
	c.trailer, c.sum = name, newHash()
	return nil
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
			if c.signed {
				c.h.Write(p[:n])
			}
			if c.sum != nil {
				c.sum.Write(p[:n])
			}
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
		if !final {
			c.inChunk = true
			continue
		}
		if err := c.verify(); err != nil {
			c.err = err
			continue
		}
		if c.trailer != "" {
			err = c.trailers()
		} else {
			// Without a trailer, the final chunk ends with its own CRLF.
			err = c.crlf()
		}
		if err != nil {
			c.err = err
			continue
		}
		if _, err := c.r.ReadByte(); err != io.EOF {
			c.err = malformedChunk("data follows the final chunk")
			continue
		}
		c.err = io.EOF
	}
}

func (c *ChunkReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return malformedChunk("a chunk does not end with CRLF")
	}
	return nil
}

// line reads one CRLF-terminated line of at most MaxChunkHeader bytes,
// without its CRLF.
func (c *ChunkReader) line(what string) (string, error) {
	b, err := c.r.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", malformedChunk(what + " is too long")
	case err == io.EOF && len(b) == 0:
		return "", malformedChunk("the body ended before " + what)
	case err != nil:
		return "", malformedChunk(what + " is cut short")
	}
	s, ok := strings.CutSuffix(string(b), "\r\n")
	if !ok {
		return "", malformedChunk(what + " does not end with CRLF")
	}
	return s, nil
}

// header reads a chunk header and starts the chunk; final is true for the
// empty chunk. Signed: "hex-size;chunk-signature=SIG"; unsigned:
// "hex-size" with optional extensions, which are ignored.
func (c *ChunkReader) header() (final bool, err error) {
	s, err := c.line("a chunk header")
	if err != nil {
		return false, err
	}
	sizeHex, ext, hasExt := strings.Cut(s, ";")
	if len(sizeHex) == 0 || len(sizeHex) > 16 {
		return false, malformedChunk("a chunk header has no size")
	}
	size, perr := strconv.ParseUint(sizeHex, 16, 64)
	if perr != nil || size > MaxChunkSize {
		return false, malformedChunk("a chunk size is not a hex number of at most 4 GiB")
	}
	if c.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !hasExt || !ok || !decodeSignature(&c.claimed, sig) {
			return false, malformedChunk("a chunk signature is not 64 hex digits")
		}
		c.h.Reset()
	}
	c.left = int64(size)
	return size == 0, nil
}

// verify checks the current chunk's signature over its data hash.
func (c *ChunkReader) verify() error {
	if !c.signed {
		return nil
	}
	var sum [sha256.Size]byte
	return c.check(chunkAlgorithm, emptySHA256+"\n"+hex.EncodeToString(c.h.Sum(sum[:0])))
}

// check compares the claimed signature with the one of
// "ALGORITHM\n<amz date>\n<scope>\n<previous signature>\n" + tail and
// chains it.
func (c *ChunkReader) check(algorithm, tail string) error {
	mac := hmac.New(sha256.New, c.key[:])
	mac.Write([]byte(algorithm + "\n"))
	mac.Write([]byte(c.prefix))
	mac.Write([]byte(c.prev + "\n"))
	mac.Write([]byte(tail))
	got := mac.Sum(nil)
	if subtle.ConstantTimeCompare(got, c.claimed[:]) != 1 {
		return apierr.New(apierr.SignatureDoesNotMatch, msgMismatch)
	}
	c.prev = hex.EncodeToString(got)
	return nil
}

// trailers reads what follows the final chunk: the declared checksum,
// the trailer signature when signed, and the empty line that ends the
// body; then checks the signature and the checksum.
func (c *ChunkReader) trailers() error {
	var (
		value, sig string
		seen       bool
		canonical  strings.Builder
	)
	for i := 0; ; i++ {
		l, err := c.line("the trailer")
		if err != nil {
			return err
		}
		if l == "" {
			break
		}
		if i == maxTrailerLines {
			return malformedChunk("the trailer has more lines than X-Amz-Trailer declared")
		}
		name, v, ok := strings.Cut(l, ":")
		name, v = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(v)
		switch {
		case !ok:
			return malformedChunk("a trailer line is not name:value")
		case c.signed && name == trailerSignature && sig == "":
			sig = v
		case name == c.trailer && !seen && sig == "":
			value, seen = v, true
			canonical.WriteString(name + ":" + v + "\n")
		default:
			return malformedChunk("the trailer is not the checksum X-Amz-Trailer declared")
		}
	}
	if !seen {
		return malformedChunk("the checksum X-Amz-Trailer declared is missing")
	}
	if c.signed {
		if sig == "" {
			return malformedChunk("the trailer signature is missing")
		}
		if !decodeSignature(&c.claimed, sig) {
			return malformedChunk("the trailer signature is not 64 hex digits")
		}
		h := sha256.Sum256([]byte(canonical.String()))
		if err := c.check(trailerAlgorithm, hex.EncodeToString(h[:])); err != nil {
			return err
		}
	}
	want, err := base64.StdEncoding.DecodeString(value)
	if err != nil || subtle.ConstantTimeCompare(want, c.sum.Sum(nil)) != 1 {
		return &ChecksumError{Name: c.trailer}
	}
	return nil
}

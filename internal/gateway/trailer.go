package gateway

import (
	"bufio"
	"crypto/sha1" //nolint:gosec // x-amz-checksum-sha1 is S3's, checked as S3 checks it
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
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

func badDigest(name string) *Error {
	return s3err(http.StatusBadRequest, "BadDigest", "The "+strings.ToUpper(strings.TrimPrefix(name, "x-amz-checksum-"))+" you specified did not match the calculated checksum.")
}

// trailerReader decodes an aws-chunked body without chunk signatures
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER): "SIZE\r\nDATA\r\n" chunks, then
// "0\r\n", the one trailer "x-amz-checksum-ALG:BASE64\r\n" that
// X-Amz-Trailer announced, and "\r\n". The checksum is computed on the way
// and compared when the trailer arrives; io.EOF comes only after it
// matched.
type trailerReader struct {
	r       *bufio.Reader
	name    string
	h       hash.Hash
	left    int64
	inChunk bool
	total   int64
	err     error
}

const maxTrailerLine = 4096

func newTrailerReader(body io.Reader, trailer string) (*trailerReader, *Error) {
	name := strings.ToLower(strings.TrimSpace(trailer))
	newHash, ok := checksums[name]
	if !ok {
		return nil, invalidRequest("X-Amz-Trailer must name one checksum: x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 or -sha256.")
	}
	return &trailerReader{r: bufio.NewReaderSize(body, maxTrailerLine+16), name: name, h: newHash()}, nil
}

func malformedTrailer(what string) *Error {
	return s3err(http.StatusBadRequest, "IncompleteBody", "The aws-chunked body is malformed: "+what+".")
}

func (c *trailerReader) line() (string, *Error) {
	b, err := c.r.ReadSlice('\n')
	if err != nil {
		return "", malformedTrailer("a line is cut short or too long")
	}
	s, ok := strings.CutSuffix(string(b), "\r\n")
	if !ok {
		return "", malformedTrailer("a line does not end with CRLF")
	}
	return s, nil
}

func (c *trailerReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if c.inChunk && c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.r.Read(p)
			c.h.Write(p[:n])
			c.left -= int64(n)
			c.total += int64(n)
			if err == io.EOF {
				err = malformedTrailer("the body ended inside a chunk")
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
			if l, e := c.line(); e != nil || l != "" {
				c.err = malformedTrailer("a chunk does not end with CRLF")
				continue
			}
			c.inChunk = false
		}
		l, e := c.line()
		if e != nil {
			c.err = e
			continue
		}
		sizeHex, _, _ := strings.Cut(l, ";")
		size, err := strconv.ParseUint(sizeHex, 16, 64)
		if err != nil || len(sizeHex) > 16 || size > 1<<32 {
			c.err = malformedTrailer("a chunk size is not a hex number of at most 4 GiB")
			continue
		}
		if size > 0 {
			c.left, c.inChunk = int64(size), true
			continue
		}
		c.err = c.trailer()
	}
}

// trailer reads the trailer after the final chunk and checks it.
func (c *trailerReader) trailer() error {
	l, e := c.line()
	if e != nil {
		return e
	}
	name, value, ok := strings.Cut(l, ":")
	if !ok || strings.ToLower(strings.TrimSpace(name)) != c.name {
		return malformedTrailer("the trailer is not the checksum X-Amz-Trailer announced")
	}
	if end, e := c.line(); e != nil || end != "" {
		return malformedTrailer("the trailer does not end with an empty line")
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		return malformedTrailer("data follows the trailer")
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil || subtle.ConstantTimeCompare(want, c.h.Sum(nil)) != 1 {
		return badDigest(c.name)
	}
	return io.EOF
}

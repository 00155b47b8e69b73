package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// bufSize is the read buffer of one streamed body: the gateway's memory
// per upload does not depend on the upload's size.
const bufSize = 32 << 10

// holdback streams src to the upstream but withholds the body's last byte
// until src has ended and finish (the body's verification: its hash, its
// chunk signatures, its length) accepted it. A body that fails never
// reaches the upstream whole, so the upstream, which needs every byte the
// Content-Length promised, stores nothing; the connection is dropped
// instead. The first error is kept (Err) so that the gateway can answer
// the client with it.
type holdback struct {
	src    io.Reader
	finish func() error
	buf    []byte
	r, w   int
	eof    atomic.Bool

	mu  sync.Mutex
	err error
}

func newHoldback(src io.Reader, finish func() error) *holdback {
	return &holdback{src: src, finish: finish, buf: make([]byte, bufSize)}
}

// Err returns the error that stopped the body, if any.
func (h *holdback) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *holdback) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
}

// Read implements io.Reader.
func (h *holdback) Read(p []byte) (int, error) {
	for {
		if err := h.Err(); err != nil {
			return 0, err
		}
		avail := h.w - h.r
		if h.eof.Load() {
			if avail == 0 {
				return 0, io.EOF
			}
			n := copy(p, h.buf[h.r:h.w])
			h.r += n
			return n, nil
		}
		if avail > 1 {
			n := copy(p, h.buf[h.r:h.w-1])
			h.r += n
			return n, nil
		}
		// At most the withheld byte is left: keep it at the front and
		// read more behind it.
		if avail == 1 {
			h.buf[0] = h.buf[h.r]
		}
		h.r, h.w = 0, avail
		n, err := h.src.Read(h.buf[h.w:])
		h.w += n
		switch {
		case err == io.EOF:
			if ferr := h.finish(); ferr != nil {
				h.fail(ferr)
				continue
			}
			h.eof.Store(true)
		case err != nil:
			h.fail(err)
		}
	}
}

// counter counts and, when h is set, hashes what passes.
type counter struct {
	src io.Reader
	n   int64
	h   hash.Hash
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.src.Read(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}

// hashedBody is the body of a request whose signature covers the hex
// SHA-256 claimed in X-Amz-Content-Sha256: the body must hash to it and be
// length bytes long (-1: any).
func hashedBody(src io.Reader, claimed string, length int64) *holdback {
	c := &counter{src: src, h: sha256.New()}
	return newHoldback(c, func() error {
		if length >= 0 && c.n != length {
			return errIncompleteBody
		}
		var sum [sha256.Size]byte
		got := hex.AppendEncode(nil, c.h.Sum(sum[:0]))
		want := []byte(lowerHex(claimed))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return errContentSHA
		}
		return nil
	})
}

// lengthBody is an unsigned body that must be length bytes long (-1: any).
func lengthBody(src io.Reader, length int64) *holdback {
	c := &counter{src: src}
	return newHoldback(c, func() error {
		if length >= 0 && c.n != length {
			return errIncompleteBody
		}
		return nil
	})
}

func lowerHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'F' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

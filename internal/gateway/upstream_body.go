package gateway

import (
	"encoding/base64"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
)

// framedBody is the upstream's body for an upload whose verification ends
// with the body (every chunk signature, a trailing checksum): aws-chunked
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) in chunks of a fixed size, so that
// its length is known before it is sent, with a trailing
// x-amz-checksum-crc32c of what the gateway sent. When the client's body
// fails its verification, the trailer carries a checksum that cannot match
// (the true one, its bits flipped): the store refuses the object whatever
// it makes of a connection that ends early. Withholding the last byte
// (holdback) is not enough alone: versitygw v1.8.0 stores a body cut one
// byte short of its Content-Length.
type framedBody struct {
	src    io.Reader
	finish func() error // the client body's verification, once src ended
	size   int64        // the decoded length the client promised
	crc    hash.Hash32
	chunk  []byte
	outBuf []byte // out's storage, reused: no allocation per chunk
	out    []byte
	sent   int64
	done   bool

	mu  sync.Mutex
	err error
}

const (
	upstreamChunk   = 64 << 10
	upstreamTrailer = "x-amz-checksum-crc32c"
)

func newFramedBody(src io.Reader, size int64, finish func() error) *framedBody {
	return &framedBody{src: src, finish: finish, size: size, crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)),
		chunk: make([]byte, upstreamChunk), outBuf: make([]byte, 0, upstreamChunk+128)}
}

// framedLength is the length of the framed body of decoded bytes.
func framedLength(decoded int64) int64 {
	frame := func(n int64) int64 { return int64(len(strconv.FormatInt(n, 16))) + 2 + n + 2 }
	l := decoded / upstreamChunk * frame(upstreamChunk)
	if rem := decoded % upstreamChunk; rem > 0 {
		l += frame(rem)
	}
	// "0\r\n", "x-amz-checksum-crc32c:" + 8 base64 characters + "\r\n", "\r\n".
	return l + 3 + int64(len(upstreamTrailer)) + 1 + 8 + 2 + 2
}

// Err returns the client body's verification error, if any.
func (f *framedBody) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// terminate ends the framing: the final chunk and the trailer, whose
// checksum is wrong when err is set.
func (f *framedBody) terminate(err error) {
	sum := f.crc.Sum(nil)
	if err != nil {
		f.mu.Lock()
		if f.err == nil {
			f.err = err
		}
		f.mu.Unlock()
		for i := range sum {
			sum[i] ^= 0xff
		}
	}
	f.out = append(f.out, "0\r\n"+upstreamTrailer+":"+base64.StdEncoding.EncodeToString(sum)+"\r\n\r\n"...)
	f.done = true
}

// Read implements io.Reader.
func (f *framedBody) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.done {
			return 0, io.EOF
		}
		want := int64(upstreamChunk)
		if left := f.size - f.sent; left < want {
			want = left
		}
		n, err := io.ReadFull(f.src, f.chunk[:want])
		f.out = f.outBuf[:0]
		if n > 0 {
			f.crc.Write(f.chunk[:n])
			f.out = strconv.AppendInt(f.out, int64(n), 16)
			f.out = append(f.out, "\r\n"...)
			f.out = append(f.out, f.chunk[:n]...)
			f.out = append(f.out, "\r\n"...)
			f.sent += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			// Shorter than promised (the source verified what it had, or
			// says why not).
			if ferr := f.finish(); ferr != nil {
				f.terminate(ferr)
			} else {
				f.terminate(errIncompleteBody)
			}
		case err != nil:
			f.terminate(err)
		case f.sent == f.size:
			// Every promised byte: the source must end here, verified.
			var one [1]byte
			m, rerr := io.ReadFull(f.src, one[:])
			switch {
			case m > 0:
				f.terminate(errIncompleteBody) // longer than promised
			case rerr != io.EOF && rerr != io.ErrUnexpectedEOF:
				f.terminate(rerr)
			default:
				f.terminate(f.finish())
			}
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

//go:build unix

package audit

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// iovMax is the most buffers one writev takes (Linux's and the BSDs'
// IOV_MAX).
const iovMax = 1024

// batchWriter writes a batch's lines, in order, at its writer's offset. To
// a file it hands them to the kernel with writev, without copying them
// into a buffer first; anything else (a test's failing writer) gets them
// one by one. It allocates nothing per batch.
type batchWriter struct {
	w     io.Writer
	rc    syscall.RawConn // of w when it is a file
	do    func(fd uintptr) bool
	lines [][]byte
	err   error
}

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w}
	if f, ok := w.(*os.File); ok {
		if rc, err := f.SyscallConn(); err == nil {
			b.rc = rc
			b.do = func(fd uintptr) bool {
				b.err = writev(int(fd), b.lines)
				return true
			}
		}
	}
	return b
}

func (b *batchWriter) write(lines [][]byte) error {
	if b.rc == nil {
		return writeEach(b.w, lines)
	}
	b.lines, b.err = lines, nil
	err := b.rc.Write(b.do)
	b.lines = nil
	if err != nil {
		return err
	}
	return b.err
}

// writev writes all of lines to fd, going on after a short write (a full
// disk answers the next call with its error).
func writev(fd int, lines [][]byte) error {
	for len(lines) > 0 {
		n, err := unix.Writev(fd, lines[:min(len(lines), iovMax)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "writev", Path: "audit", Err: err}
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		for n > 0 {
			if n < len(lines[0]) {
				lines[0] = lines[0][n:]
				break
			}
			n -= len(lines[0])
			lines = lines[1:]
		}
		for len(lines) > 0 && len(lines[0]) == 0 {
			lines = lines[1:]
		}
	}
	return nil
}

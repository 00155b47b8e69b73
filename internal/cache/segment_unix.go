//go:build unix

package cache

import "syscall"

// newSegment returns n bytes of anonymous memory mapped outside the Go
// heap: the second tier's records count toward neither the heap the
// collector paces itself by nor the soft memory limit, and pages never
// written cost no resident memory. It falls back to the heap.
func newSegment(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// freeSegment gives a segment newSegment mapped back to the system; the
// caller holds no other reference to it. (syscall.Munmap refuses, and does
// not unmap, a slice it did not map: a heap fallback is left to the
// collector.)
func freeSegment(b []byte) { _ = syscall.Munmap(b) }

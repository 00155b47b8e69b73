//go:build unix

package offheap

import "syscall"

// Bytes returns n zeroed bytes of anonymous memory mapped outside the Go
// heap: they count toward neither the heap the collector paces itself by
// nor the soft memory limit, the collector never scans them (so they must
// hold no Go pointers), and pages never written cost no resident memory. It
// falls back to the heap. Give them back with Free once nothing refers to
// them: a use after Free is a use after free.
func Bytes(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// Free gives bytes Bytes mapped back to the system; the caller holds no
// other reference to them. (syscall.Munmap refuses, and does not unmap, a
// slice it did not map: a heap fallback is left to the collector.)
func Free(b []byte) {
	if len(b) > 0 {
		_ = syscall.Munmap(b)
	}
}

//go:build unix

package offheap

import (
	"os"
	"syscall"
)

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

// MapFile maps the first n bytes of f read-only and shared: a read of the
// mapping sees what writes to f put there, without a system call once its
// page is mapped, and the pages are the kernel's page cache, which counts
// toward the process's resident memory once read through the mapping. A
// read past the end of f faults (see CopyMapped). It returns nil when f
// cannot be mapped; Unmap gives the mapping back.
func MapFile(f *os.File, n int) []byte {
	if n <= 0 {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

// Unmap gives back a mapping MapFile made; nothing may read it afterwards.
func Unmap(b []byte) {
	if len(b) > 0 {
		_ = syscall.Munmap(b)
	}
}

// DropMapped drops a file mapping's pages from the process's resident
// memory (they stay in the kernel's page cache, and a read maps them
// again).
func DropMapped(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}

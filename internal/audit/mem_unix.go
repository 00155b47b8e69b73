//go:build unix

package audit

import "syscall"

// mapMem returns n bytes of zeroed memory outside the Go heap (an
// anonymous mapping): the collector neither scans it nor counts it toward
// its goal, so the index costs resident memory once, not once more as
// heap headroom.
func mapMem(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// unmapMem returns memory from mapMem.
func unmapMem(b []byte) {
	_ = syscall.Munmap(b) // fails only for memory make returned, which the collector frees
}

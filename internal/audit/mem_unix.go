//go:build unix

package audit

import "syscall"

// mapMem returns n bytes of zeroed memory outside the Go heap (an
// anonymous mapping): the collector neither scans it nor counts it toward
// its goal, so the index costs resident memory once, not once more as
// heap headroom. Where the system can, its pages are made resident by the
// mapping itself (mapPopulate): a segment is filled to its end before the
// next is mapped, and one system call costs the writer far less than a
// page fault for every 4 KiB it appends.
func mapMem(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE|mapPopulate)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// unmapMem returns memory from mapMem.
func unmapMem(b []byte) {
	_ = syscall.Munmap(b) // fails only for memory make returned, which the collector frees
}

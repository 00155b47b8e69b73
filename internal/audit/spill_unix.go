//go:build unix

package audit

import (
	"fmt"
	"syscall"

	"github.com/opensts/opensts/internal/offheap"
)

// openSpill makes the index's spill file in dir, unlinked at once; nil
// when it cannot (the index then stays in memory).
func openSpill(dir string) *spillFile {
	f := offheap.ScratchFile(dir, ".index-*")
	if f == nil {
		return nil
	}
	return &spillFile{f: f, free: map[int][]int64{}}
}

// view maps size bytes at off (a multiple of the page size: segments are
// whole pages) for reading, their pages faulted in by the mapping itself
// where the system can; done unmaps them. Where the mapping fails, the
// bytes are read into memory instead.
func (sp *spillFile) view(off int64, size int) (mem []byte, done func(), err error) {
	if mem, err := syscall.Mmap(int(sp.f.Fd()), off, size, syscall.PROT_READ, syscall.MAP_SHARED|mapPopulate); err == nil {
		return mem, func() { _ = syscall.Munmap(mem) }, nil
	}
	mem = make([]byte, size)
	if _, err := sp.f.ReadAt(mem, off); err != nil {
		return nil, nil, fmt.Errorf("audit: read the index back: %w", err)
	}
	return mem, func() {}, nil
}

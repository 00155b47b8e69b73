package audit

import (
	"os"
	"sync"
)

// spillFile holds the index's segments other than the newest, so that the
// index costs the process two segments of resident memory, not IndexBytes:
// the rest is file data, cached by the kernel while memory allows and read
// back only by lookups. The file is a scratch file, unlinked as soon as it
// is made (the index is rebuilt from the trail at Open), and a place freed
// by a segment dropped is used again, so it grows to about IndexBytes.
type spillFile struct {
	f    *os.File
	mu   sync.Mutex
	free map[int][]int64 // places freed, by size
	end  int64
}

// put writes mem to a free place of the file and returns where, or false
// when the write failed (the caller keeps mem).
func (sp *spillFile) put(mem []byte) (int64, bool) {
	sp.mu.Lock()
	var off int64
	if fs := sp.free[len(mem)]; len(fs) > 0 {
		off = fs[len(fs)-1]
		sp.free[len(mem)] = fs[:len(fs)-1]
	} else {
		off = sp.end
		sp.end += int64(len(mem))
	}
	sp.mu.Unlock()
	if _, err := sp.f.WriteAt(mem, off); err != nil {
		sp.release(off, len(mem))
		return 0, false
	}
	return off, true
}

// release frees the place of size bytes at off.
func (sp *spillFile) release(off int64, size int) {
	sp.mu.Lock()
	sp.free[size] = append(sp.free[size], off)
	sp.mu.Unlock()
}

func (sp *spillFile) close() {
	if sp != nil {
		_ = sp.f.Close()
	}
}

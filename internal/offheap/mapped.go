package offheap

import "runtime/debug"

// CopyMapped copies src, bytes of a file's mapping (MapFile), to dst, and
// reports whether it could: a read of a page past the file's end (a file
// cut short under the mapping by someone else) faults, which here fails
// the copy instead of the process.
func CopyMapped(dst, src []byte) (n int, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	return copy(dst, src), true
}

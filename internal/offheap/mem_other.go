//go:build !unix

package offheap

// Bytes returns n zeroed bytes; without mmap, on the Go heap.
func Bytes(n int) []byte { return make([]byte, n) }

// Free does nothing: the collector frees what Bytes allocated.
func Free([]byte) {}

//go:build !unix

package offheap

import "os"

// Bytes returns n zeroed bytes; without mmap, on the Go heap.
func Bytes(n int) []byte { return make([]byte, n) }

// Free does nothing: the collector frees what Bytes allocated.
func Free([]byte) {}

// MapFile cannot map a file here: nil.
func MapFile(*os.File, int) []byte { return nil }

// Unmap does nothing.
func Unmap([]byte) {}

// DropMapped does nothing.
func DropMapped([]byte) {}

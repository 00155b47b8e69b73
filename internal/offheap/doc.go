// Package offheap holds memory mapped outside the Go heap for large,
// pointer-free structures that live as long as their owner: the caches'
// second tier, its index, the revocation set. The collector neither scans
// such memory nor counts it toward its pacing or the soft memory limit, so
// a structure of tens of MiB no longer makes it run more often; in
// exchange its owner frees it explicitly (a runtime cleanup of the owner),
// and nothing may keep a reference into it past that.
package offheap

import "unsafe"

// Slice returns n zeroed values of T in memory from Bytes, and that memory
// (for Free). T must hold no Go pointers (no strings, slices, maps,
// interfaces or pointers): the collector does not see them there.
func Slice[T any](n int) ([]T, []byte) {
	if n == 0 {
		return nil, nil
	}
	var zero T
	mem := Bytes(n * int(unsafe.Sizeof(zero)))
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), mem
}

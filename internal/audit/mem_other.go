//go:build !unix

package audit

func mapMem(n int) []byte { return make([]byte, n) }

func unmapMem([]byte) {}

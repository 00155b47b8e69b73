package cache

import (
	"fmt"
	"testing"
)

func TestTier(t *testing.T) {
	tr := NewTier(16 * 1024)
	if _, ok := tr.Get(nil, []byte("a")); ok {
		t.Fatal("empty tier holds a")
	}
	tr.Put([]byte("a"), []byte("one"))
	tr.Put([]byte("a"), []byte("two"))
	if v, ok := tr.Get([]byte("x:"), []byte("a")); !ok || string(v) != "x:two" {
		t.Fatalf("Get(a) = %q, %v; want the value appended, replaced", v, ok)
	}
	tr.Delete([]byte("a"))
	if _, ok := tr.Get(nil, []byte("a")); ok {
		t.Fatal("deleted a still held")
	}
	// Past its bound it drops the oldest, and stays within it.
	for i := range 2000 {
		tr.Put(fmt.Appendf(nil, "k%d", i), make([]byte, 40))
	}
	n, b, alloc := tr.Stats()
	if alloc > 16*1024 || b > alloc || n == 0 {
		t.Fatalf("%d records of %d bytes in %d allocated, bound %d", n, b, alloc, 16*1024)
	}
	if _, ok := tr.Get(nil, []byte("k1999")); !ok {
		t.Fatal("newest record dropped")
	}
	if _, ok := tr.Get(nil, []byte("k0")); ok {
		t.Fatal("oldest record kept past the bound")
	}
}

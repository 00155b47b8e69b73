package policy

import (
	"fmt"
	"slices"
	"testing"
)

// TestContextCopyFrom checks that a copy and its source share nothing a
// Set or Reset writes: inline and spilled keys, one and many values.
func TestContextCopyFrom(t *testing.T) {
	var src Context
	for i := range inlineKeys + 4 {
		src.Set(fmt.Sprintf("k:%d", i), "a", "b")
	}
	src.Set("k:one", "x")
	var c Context
	c.Set("old:key", "gone")
	c.CopyFrom(&src)
	if c.Len() != src.Len() {
		t.Fatalf("Len %d, want %d", c.Len(), src.Len())
	}
	if _, ok := c.Get("old:key"); ok {
		t.Error("a key of the copy's past survived")
	}
	for i := range inlineKeys + 4 {
		k := fmt.Sprintf("k:%d", i)
		c.Set(k, "c", "d")
	}
	c.Set("k:new", "n")
	for i := range inlineKeys + 4 {
		k := fmt.Sprintf("k:%d", i)
		if vs, _ := src.Get(k); !slices.Equal(vs, []string{"a", "b"}) {
			t.Errorf("source %s = %v after the copy's Set", k, vs)
		}
		if vs, _ := c.Get(k); !slices.Equal(vs, []string{"c", "d"}) {
			t.Errorf("copy %s = %v", k, vs)
		}
	}
	if _, ok := src.Get("k:new"); ok || src.Len() != inlineKeys+5 {
		t.Error("the copy's new key reached the source")
	}
	c.Reset()
	if vs, _ := src.Get("k:one"); !slices.Equal(vs, []string{"x"}) {
		t.Errorf("source k:one = %v after the copy's Reset", vs)
	}
}

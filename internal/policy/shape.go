package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"runtime"
	"sync"
	"weak"
)

// shapes interns the shapes of live policies: Parse hands out the shape a
// live policy already has rather than the equal one it compiled. It holds
// them weakly, so it holds no more than the policies that use them, which
// their own caches bound.
var shapes = shapeTable{m: map[[sha256.Size]byte]weak.Pointer[shape]{}}

type shapeTable struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]weak.Pointer[shape]
}

// intern returns the live shape under key, or sh, which it records.
func (t *shapeTable) intern(key [sha256.Size]byte, sh *shape) *shape {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.m[key].Value(); old != nil {
		return old
	}
	t.m[key] = weak.Make(sh)
	runtime.AddCleanup(sh, t.forget, key)
	return sh
}

// lookup returns the live shape under key, or nil.
func (t *shapeTable) lookup(key [sha256.Size]byte) *shape {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[key].Value()
}

// forget drops key once its shape is collected, unless another took its place.
func (t *shapeTable) forget(key [sha256.Size]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.m[key]; ok && w.Value() == nil {
		delete(t.m, key)
	}
}

// len returns how many shapes are recorded (tests).
func (t *shapeTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// shapeKey digests what a compiled policy's shape is made of: its kind and
// the document's structure (object keys in order, values), with the values
// of the statements' Principal and NotPrincipal elements left out. Two
// documents with one key compile to the same statements but for their
// principals (compileStatement reads nothing else of them).
func shapeKey(kind Kind, root *node, stmts []*node) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte{'k', byte(kind)})
	writeShape(h, root, stmts, false)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func writeShape(h hash.Hash, n *node, stmts []*node, isStmt bool) {
	var b [binary.MaxVarintLen64 + 1]byte
	str := func(tag byte, s string) {
		b[0] = tag
		h.Write(b[:1+binary.PutUvarint(b[1:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	switch n.kind {
	case 'o':
		str('o', "")
		h.Write(b[1 : binary.PutUvarint(b[1:], uint64(len(n.keys)))+1])
		for i, k := range n.keys {
			str('K', k)
			if isStmt && (k == "Principal" || k == "NotPrincipal") {
				str('P', "")
				continue
			}
			v := n.vals[i]
			writeShape(h, v, stmts, isStatement(v, stmts))
		}
	case 'a':
		str('a', "")
		h.Write(b[1 : binary.PutUvarint(b[1:], uint64(len(n.arr)))+1])
		for _, v := range n.arr {
			writeShape(h, v, stmts, isStatement(v, stmts))
		}
	default:
		str(n.kind, n.str)
	}
}

func isStatement(n *node, stmts []*node) bool {
	for _, s := range stmts {
		if s == n {
			return true
		}
	}
	return false
}

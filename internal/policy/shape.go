package policy

import (
	"crypto/sha256"
	"encoding/binary"
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
//
// The structure is written to a buffer and digested once (the same digest
// as writing it piece by piece to the hash, which cost two allocations a
// value).
func shapeKey(kind Kind, root *node, stmts []*node) [sha256.Size]byte {
	var buf [1024]byte
	b := appendShape(append(buf[:0], 'k', byte(kind)), root, stmts, false)
	return sha256.Sum256(b)
}

func appendShape(b []byte, n *node, stmts []*node, isStmt bool) []byte {
	str := func(b []byte, tag byte, s string) []byte {
		return append(binary.AppendUvarint(append(b, tag), uint64(len(s))), s...)
	}
	switch n.kind {
	case 'o':
		b = binary.AppendUvarint(str(b, 'o', ""), uint64(len(n.keys)))
		for i, k := range n.keys {
			b = str(b, 'K', k)
			if isStmt && (k == "Principal" || k == "NotPrincipal") {
				b = str(b, 'P', "")
				continue
			}
			v := n.vals[i]
			b = appendShape(b, v, stmts, isStatement(v, stmts))
		}
	case 'a':
		b = binary.AppendUvarint(str(b, 'a', ""), uint64(len(n.arr)))
		for _, v := range n.arr {
			b = appendShape(b, v, stmts, isStatement(v, stmts))
		}
	default:
		b = str(b, n.kind, n.str)
	}
	return b
}

func isStatement(n *node, stmts []*node) bool {
	for _, s := range stmts {
		if s == n {
			return true
		}
	}
	return false
}

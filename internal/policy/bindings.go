package policy

import (
	"encoding/binary"
	"strings"
)

// AppendBindings appends to b what p holds beside its shape (see Policy):
// each statement's compiled Principal or NotPrincipal, and where its
// statements sit in its document when that differs from the shape's.
// Rebind, given a policy of p's shape, makes a policy equal to p from it
// without the document: a cache that keeps many policies of few shapes
// (the trust policies of roles that each trust their own user) keeps them
// in a few dozen bytes each and brings them back without parsing.
func (p *Policy) AppendBindings(b []byte) []byte {
	flags := uint64(0)
	if p.princ != nil {
		flags |= 1
	}
	if p.spans != nil {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)
	if p.princ != nil {
		b = binary.AppendUvarint(b, uint64(len(p.princ)))
		for _, ps := range p.princ {
			if ps == nil {
				b = append(b, 0)
				continue
			}
			if ps.any {
				b = append(b, 2)
			} else {
				b = append(b, 1)
			}
			for _, e := range ps.end {
				b = binary.AppendUvarint(b, uint64(e))
			}
			for _, v := range ps.vals {
				b = append(binary.AppendUvarint(b, uint64(len(v))), v...)
			}
		}
	}
	if p.spans != nil {
		b = binary.AppendUvarint(b, uint64(len(p.spans)))
		for _, s := range p.spans {
			for _, n := range [...]int{s.Start.Offset, s.Start.Line, s.Start.Column, s.End.Offset, s.End.Line, s.End.Column} {
				b = binary.AppendUvarint(b, uint64(n))
			}
		}
	}
	return b
}

// Rebind returns the policy of shape's shape whose bindings AppendBindings
// wrote to b, and false when b is not such bindings (malformed, or of a
// policy whose statements do not match the shape's).
func Rebind(shape *Policy, b []byte) (*Policy, bool) {
	r := bindReader{b: b}
	flags := r.uint(3)
	p := &Policy{shape: shape.shape}
	n := len(p.stmts)
	if flags&1 != 0 {
		if r.uint(uint64(n)) != uint64(n) || r.bad {
			return nil, false
		}
		p.princ = make([]*principalSet, n)
		for i := range p.princ {
			tag := r.byte()
			if tag == 0 {
				continue
			}
			ps := &principalSet{any: tag == 2}
			if tag > 2 {
				r.bad = true
			}
			last := uint64(0)
			for k := range ps.end {
				e := r.uint(1 << 16)
				if e < last || e > uint64(len(r.b)) { // each value takes a byte at least
					r.bad = true
					break
				}
				ps.end[k], last = uint16(e), e
			}
			if r.bad {
				return nil, false
			}
			if last > 0 {
				// One string holds the values, which are its substrings: one
				// allocation, and none of them pins b.
				lens := make([]int, last)
				total := 0
				save := r.b
				for j := range lens {
					lens[j] = int(r.uint(uint64(len(r.b))))
					total += lens[j]
					r.skip(lens[j])
				}
				if r.bad {
					return nil, false
				}
				var sb strings.Builder
				sb.Grow(total)
				r.b = save
				for j := range lens {
					r.uint(uint64(len(r.b)))
					sb.Write(r.b[:lens[j]])
					r.skip(lens[j])
				}
				all := sb.String()
				ps.vals = make([]string, last)
				off := 0
				for j, l := range lens {
					ps.vals[j] = all[off : off+l]
					off += l
				}
			}
			p.princ[i] = ps
		}
	}
	// A statement has a compiled principal exactly when the shape says it
	// has a Principal or NotPrincipal element.
	for i := range p.stmts {
		if p.stmts[i].hasPrinc != (p.princ != nil && p.princ[i] != nil) {
			return nil, false
		}
	}
	if flags&2 != 0 {
		if r.uint(uint64(n)) != uint64(n) || r.bad {
			return nil, false
		}
		p.spans = make([]Span, n)
		for i := range p.spans {
			s := &p.spans[i]
			for _, f := range [...]*int{&s.Start.Offset, &s.Start.Line, &s.Start.Column, &s.End.Offset, &s.End.Line, &s.End.Column} {
				*f = int(r.uint(1 << 31))
			}
		}
	}
	if r.bad || len(r.b) != 0 {
		return nil, false
	}
	p.measure()
	return p, true
}

// bindReader reads what AppendBindings wrote; a read past the end or of a
// value over its bound sets bad, after which reads return zero.
type bindReader struct {
	b   []byte
	bad bool
}

func (r *bindReader) uint(max uint64) uint64 {
	if r.bad {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 || v > max {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *bindReader) byte() byte {
	if r.bad || len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *bindReader) skip(n int) {
	if r.bad || n > len(r.b) {
		r.bad = true
		return
	}
	r.b = r.b[n:]
}

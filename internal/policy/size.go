package policy

import "unsafe"

// Size estimates the memory a compiled policy retains, in bytes: its
// structs and slices at their capacities (unsafe.Sizeof), the bytes of every
// string it holds (strings that share memory, such as a pattern and its
// parts, are counted once each, so shared memory is counted twice), each
// heap object rounded up to a whole word, and a word of allocator overhead
// per object. Parse computes it once. TestSizeEstimate checks it against the
// heap compiled policies of very different shapes actually keep: the
// estimate is within a few percent of it or above, and within twice it. The
// retained size is not a
// fixed multiple of the document's length (a 4-byte "*" entry of a Resource
// list compiles to a few hundred bytes).
//
// Size counts what p holds of its own (its Principal elements and
// positions); its shape, which policies of the same structure share, is
// counted by Shape().Size(), and a cache of policies counts each shape once.
func (p *Policy) Size() int { return p.size }

// Shape returns the part of p that policies of the same kind and structure
// share (see Policy), for a cache to count once however many of its
// policies share it: a pointer, whose Size estimates what it retains as
// Policy.Size does.
func (p *Policy) Shape() interface{ Size() int } { return p.shape }

// Size estimates the memory the shape retains, as Policy.Size does.
func (sh *shape) Size() int { return sh.size }

// Work bounds the matching work of evaluating a policy once: each term (an
// Action, NotAction, Resource, NotResource or Principal entry) is matched
// against one request value, and each condition value against every value
// of its key, at a cost of O(len(term) + len(value)) a match (arn.Glob), so
// one evaluation costs O(Bytes + Terms·v + Values·V) for v the longest
// request value and V the total length of the context's values.
type Work struct {
	Statements int // statements
	Conditions int // condition clauses (a key under an operator)
	Terms      int // Action, NotAction, Resource, NotResource and Principal entries
	Values     int // condition values
	Bytes      int // total length of the terms and values
}

// Work returns p's matching work bound.
func (p *Policy) Work() Work {
	w := p.shape.work
	for _, ps := range p.princ {
		if ps == nil {
			continue
		}
		for _, l := range ps.lists() {
			w.Terms += len(l)
			for _, s := range l {
				w.Bytes += len(s)
			}
		}
	}
	return w
}

const (
	wordSize    = int(unsafe.Sizeof(uintptr(0)))
	objOverhead = wordSize // per heap object, on average
)

// obj is the estimated heap cost of one object of n bytes: rounded up to a
// word, plus an eighth (Go's size classes waste at most that) and a word,
// or, past 32 KiB, rounded up to whole 8 KiB pages.
func obj(n int) int {
	switch {
	case n == 0:
		return 0
	case n > 32<<10:
		return (n + 8<<10 - 1) &^ (8<<10 - 1)
	}
	n = (n + wordSize - 1) &^ (wordSize - 1)
	return n + n/8 + objOverhead
}

func strBytes(s string) int { return obj(len(s)) }

func strsBytes(ss []string) int {
	n := obj(cap(ss) * int(unsafe.Sizeof("")))
	for _, s := range ss {
		n += strBytes(s)
	}
	return n
}

// measure computes p.size.
func (p *Policy) measure() {
	n := obj(int(unsafe.Sizeof(*p)))
	n += obj(cap(p.spans) * int(unsafe.Sizeof(Span{})))
	n += obj(cap(p.princ) * wordSize)
	for _, ps := range p.princ {
		if ps != nil {
			n += obj(int(unsafe.Sizeof(*ps))) + strsBytes(ps.vals)
		}
	}
	p.size = n
}

// measure computes sh.size and sh.work.
func (sh *shape) measure() {
	p := sh
	n := obj(int(unsafe.Sizeof(*p))) + strBytes(p.version) + strBytes(p.id)
	n += obj(cap(p.stmts) * int(unsafe.Sizeof(statement{})))
	n += obj(cap(p.shapeSpan) * int(unsafe.Sizeof(Span{})))
	var w Work
	w.Statements = len(p.stmts)
	for i := range p.stmts {
		st := &p.stmts[i]
		n += strBytes(st.sid) + strsBytes(st.services)
		n += obj(cap(st.actions) * int(unsafe.Sizeof(actionPat{})))
		for _, a := range st.actions {
			n += strBytes(a.s) + strsBytes(a.star)
			w.Terms++
			w.Bytes += (&segPat{kind: a.kind, s: a.s}).patternLen()
		}
		n += obj(cap(st.resources) * int(unsafe.Sizeof(resPat{})))
		for j := range st.resources {
			r := &st.resources[j]
			n += strBytes(r.lead) + tmplBytes(&r.rest) + segBytes(&r.fast)
			for k := range r.seg {
				n += segBytes(&r.seg[k])
			}
			w.Terms++
			w.Bytes += r.patternLen()
		}
		n += obj(cap(st.conds) * int(unsafe.Sizeof(clause{})))
		for j := range st.conds {
			cl := &st.conds[j]
			n += strBytes(cl.key) + obj(cap(cl.ip4)*int(unsafe.Sizeof(ip4Prefix{})))
			n += obj(cap(cl.vals) * int(unsafe.Sizeof(cvalue{})))
			w.Conditions++
			for k := range cl.vals {
				v := &cl.vals[k]
				n += strBytes(v.lit) + tmplBytes(&v.t)
				w.Values++
				w.Bytes += len(v.lit)
			}
		}
	}
	n += obj(cap(p.idx.slots)*int(unsafe.Sizeof(svcSlot{}))) + obj(cap(p.idx.wild)*4)
	for i := range p.idx.slots {
		sl := &p.idx.slots[i]
		n += strBytes(sl.svc) + obj(cap(sl.stmts)*4)
	}
	p.size, p.work = n, w
}

func segBytes(g *segPat) int { return strBytes(g.s) + strsBytes(g.star) }

func tmplBytes(t *tmpl) int {
	n := strBytes(t.lit) + obj(cap(t.toks)*int(unsafe.Sizeof(tok{})))
	for i := range t.toks {
		n += strBytes(t.toks[i].s) + strBytes(t.toks[i].def)
	}
	return n
}

// patternLen is about the length of the pattern r was compiled from.
func (p *resPat) patternLen() int {
	switch {
	case p.all:
		return 1
	case !p.arn:
		return p.fast.patternLen()
	}
	n := 5 // the colons
	for k := range p.seg {
		n += p.seg[k].patternLen()
	}
	if !p.rest.hasVars() {
		return n + len(p.rest.lit)
	}
	for _, tk := range p.rest.toks {
		switch tk.kind {
		case 'l':
			n += len(tk.s)
		case 'v':
			n += len("${}") + len(tk.s) + len(tk.def)
		default:
			n++
		}
	}
	return n
}

// patternLen is the length of the pattern g was compiled from.
func (p *segPat) patternLen() int {
	switch p.kind {
	case '*', 'p':
		return len(p.s) + 1
	}
	return len(p.s)
}

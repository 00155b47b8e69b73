package policy

import (
	"math/bits"
	"strings"
	"unsafe"

	"github.com/opensts/opensts/internal/arn"
)

// tok is one piece of a pattern that contains policy variables.
type tok struct {
	kind byte   // 'l' literal, '*' any run, '?' one character, 'v' variable
	s    string // literal text, or the variable's key
	hash uint64 // foldHash of the variable key
	def  string // default value
	hasD bool
	vi   uint8 // index of a variable's value in the resolved array
}

// tmpl is a string with policy variables and escapes, compiled once.
// A tmpl without variables has toks == nil and the text in lit.
type tmpl struct {
	lit  string
	toks []tok
}

// maxVars bounds the variables one pattern may hold (values are resolved
// into a fixed-size array on the stack).
const maxVars = 8

// compileTmpl splits s into literals, wildcards (when wild) and variables
// (when vars, i.e. Version 2012-10-17). It reports false for a pattern with
// more than maxVars variables.
func compileTmpl(s string, wild, vars bool) (tmpl, bool) {
	if !vars || !strings.Contains(s, "${") {
		return tmpl{lit: s}, true
	}
	var toks []tok
	lit := func(t string) {
		if !wild {
			if t != "" {
				toks = append(toks, tok{kind: 'l', s: t})
			}
			return
		}
		for t != "" {
			i := strings.IndexAny(t, "*?")
			if i < 0 {
				toks = append(toks, tok{kind: 'l', s: t})
				return
			}
			if i > 0 {
				toks = append(toks, tok{kind: 'l', s: t[:i]})
			}
			toks = append(toks, tok{kind: t[i]})
			t = t[i+1:]
		}
	}
	nv := 0
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			lit(s)
			break
		}
		lit(s[:i])
		body := s[i+2 : i+j]
		s = s[i+j+1:]
		switch body {
		case "*", "?", "$":
			toks = append(toks, tok{kind: 'l', s: body})
			continue
		}
		t := tok{kind: 'v'}
		if k, d, ok := strings.Cut(body, ","); ok {
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				t.def, t.hasD = d[1:len(d)-1], true
			}
			body = k
		}
		t.s = strings.TrimSpace(body)
		t.hash = foldHash(t.s)
		t.vi = uint8(min(nv, maxVars-1))
		toks = append(toks, t)
		nv++
	}
	if nv > maxVars {
		return tmpl{}, false
	}
	return tmpl{toks: toks}, true
}

func (t *tmpl) hasVars() bool { return t.toks != nil }

// resolve fills vals with the values of t's variables and reports false when
// one is unresolvable (absent, multivalued, and without default).
func (t *tmpl) resolve(ev *evalState) (vals [maxVars]string, ok bool) {
	n := 0
	for i := range t.toks {
		tk := &t.toks[i]
		if tk.kind != 'v' {
			continue
		}
		v, ok := ev.scalar(tk.s, tk.hash)
		if !ok {
			if !tk.hasD {
				return vals, false
			}
			v = tk.def
		}
		vals[n] = v
		n++
	}
	return vals, true
}

// render concatenates t with resolved variable values (allocates).
func (t *tmpl) render(vals *[maxVars]string) string {
	var b strings.Builder
	n := 0
	for _, tk := range t.toks {
		switch tk.kind {
		case 'v':
			b.WriteString(vals[n])
			n++
		case 'l':
			b.WriteString(tk.s)
		default:
			b.WriteByte(tk.kind)
		}
	}
	return b.String()
}

// actionPat is a compiled Action/NotAction entry, lowercased.
type actionPat struct {
	kind byte // '*' all, 'e' exact, 'p' prefix, 's' star-only glob, 'g' glob
	s    string
	star []string // kind 's': the pattern split at '*'
}

func compileAction(a string) actionPat {
	a = strings.ToLower(a)
	if a == "*" {
		return actionPat{kind: '*'}
	}
	return actionPat(compileSeg(a))
}

// match matches the ASCII-lowercased request action (see lowerAction): the
// pattern is lowercase, so comparing bytes exactly is the case-insensitive
// comparison.
func (p *actionPat) match(action string) bool {
	switch p.kind {
	case '*':
		return true
	case 'e':
		return eqStr(action, p.s)
	case 'p':
		return hasPrefix(action, p.s)
	case 's':
		return matchStars(p.star, action)
	}
	return arn.Glob(p.s, action)
}

// segPat is a glob compiled for a fast path: '*' matches anything, 'e' is a
// literal, 'p' a literal prefix (the pattern's one wildcard is a trailing
// '*'), 's' a pattern whose wildcards are all '*', 'g' any other glob.
type segPat struct {
	kind byte
	s    string
	star []string // kind 's': the pattern split at '*'
}

func compileSeg(s string) segPat {
	switch i := strings.IndexAny(s, "*?"); {
	case s == "*":
		return segPat{kind: '*'}
	case i < 0:
		return segPat{kind: 'e', s: s}
	case i == len(s)-1 && s[i] == '*':
		return segPat{kind: 'p', s: s[:i]}
	case strings.IndexByte(s, '?') < 0:
		return segPat{kind: 's', s: s, star: strings.Split(s, "*")}
	}
	return segPat{kind: 'g', s: s}
}

// match is arn.Glob(p's pattern, s).
func (p *segPat) match(s string) bool {
	switch p.kind {
	case '*':
		return true
	case 'e':
		return eqStr(s, p.s)
	case 'p':
		return hasPrefix(s, p.s)
	case 's':
		return matchStars(p.star, s)
	}
	return arn.Glob(p.s, s)
}

// matchStars is arn.Glob for a pattern without '?', given as its parts
// between '*'s (at least two): the first part is a prefix, the last a
// suffix, and each middle part matches at its leftmost position, which
// never loses a match when every wildcard is '*'.
func matchStars(parts []string, s string) bool {
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !eqStr(s[:len(first)], first) || !eqStr(s[len(s)-len(last):], last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, m := range parts[1 : len(parts)-1] {
		i := shortIndex(s, m)
		if i < 0 {
			return false
		}
		s = s[i+len(m):]
	}
	return true
}

// shortIndex is strings.Index for the short texts of action and resource
// matching, where a plain scan beats the vectorised search's setup.
func shortIndex(s, m string) int {
	if len(s) > 32 || len(m) == 0 {
		return strings.Index(s, m)
	}
	c := m[0]
	for i := 0; i+len(m) <= len(s); i++ {
		if s[i] == c && eqSame(s[i:i+len(m)], m) {
			return i
		}
	}
	return -1
}

// resPat is a compiled Resource/NotResource entry: the first five ARN
// segments as globs and the resource part as a template (variables are
// allowed only there).
type resPat struct {
	all bool
	arn bool
	// lead is the pattern's leading literal segments, each with its ':'
	// ("arn:aws:s3:::" when all five are literal), compared with the
	// request's in one go; check has bit i set for each later segment i
	// that is not "*" (the others match anything).
	lead  string
	check uint8
	seg   [5]segPat
	rest  tmpl
	fast  segPat // rest without variables, or a non-ARN pattern matched whole
	// simple: rest's tokens are literals and variables, optionally followed
	// by one '*' (star), so matching needs no backtracking.
	simple, star bool
}

func compileResource(r string, vars bool) (resPat, bool) {
	if r == "*" {
		return resPat{all: true}, true
	}
	var seg [6]string
	if !arn.Split(r, &seg) {
		return resPat{fast: compileSeg(r)}, true
	}
	p := resPat{arn: true}
	lit := true
	for i := range p.seg {
		p.seg[i] = compileSeg(seg[i])
		switch {
		case lit && p.seg[i].kind == 'e':
			p.lead = r[:len(p.lead)+len(seg[i])+1] // a substring: no allocation
		case p.seg[i].kind == '*':
			lit = false
		default:
			lit = false
			p.check |= 1 << i
		}
	}
	t, ok := compileTmpl(seg[5], true, vars)
	p.rest = t
	if !t.hasVars() {
		p.fast = compileSeg(t.lit)
	} else {
		p.simple = true
		for i, tk := range t.toks {
			switch {
			case tk.kind == '*' && i == len(t.toks)-1:
				p.star = true
			case tk.kind != 'l' && tk.kind != 'v':
				p.simple = false
			}
		}
	}
	return p, ok
}

func (p *resPat) match(ev *evalState) bool {
	if p.all {
		return true
	}
	if !p.arn {
		return !ev.resIsARN && p.fast.match(ev.res)
	}
	if !ev.resIsARN {
		return false
	}
	// ev.resPre ends at the request's fifth ':', and lead's segments hold
	// no ':', so a prefix match is a match of each leading segment.
	if !hasPrefix(ev.resPre, p.lead) {
		return false
	}
	for m := p.check; m != 0; m &= m - 1 {
		i := bits.TrailingZeros8(m)
		if !p.seg[i].match(ev.resSeg[i]) {
			return false
		}
	}
	if !p.rest.hasVars() {
		return p.fast.match(ev.resSeg[5])
	}
	if p.simple {
		return ev.matchSimple(p.rest.toks, ev.resSeg[5], p.star)
	}
	vals, ok := p.rest.resolve(ev)
	if !ok {
		return false // an unresolvable variable matches nothing
	}
	return matchToks(p.rest.toks, &vals, ev.resSeg[5])
}

// matchSimple is resolve followed by matchToks for tokens that are literals
// and variables, followed by one '*' token when star is set. It resolves
// each variable as it reaches it: an unresolvable variable matches nothing,
// like a mismatch, so stopping at the first of either gives the same answer.
func (ev *evalState) matchSimple(toks []tok, s string, star bool) bool {
	for i := range toks {
		tk := &toks[i]
		t := tk.s
		switch tk.kind {
		case 'v':
			v, ok := ev.scalar(tk.s, tk.hash)
			if !ok {
				if !tk.hasD {
					return false
				}
				v = tk.def
			}
			t = v
		case '*':
			return true // the last token
		}
		if !hasPrefix(s, t) {
			return false
		}
		s = s[len(t):]
	}
	return s == "" || star
}

// matchToks matches s against tokens (with resolved variables) as a glob:
// '*' and '?' tokens are wildcards, literal and variable text is literal. It
// lays the tokens out as one pattern with its wildcards marked, on the stack
// when it is at most tokBuf bytes, and matches it with arn.GlobMarked.
func matchToks(toks []tok, vals *[maxVars]string, s string) bool {
	n := 0
	for i := range toks {
		switch tk := &toks[i]; tk.kind {
		case 'v':
			n += len(vals[tk.vi])
		case 'l':
			n += len(tk.s)
		default:
			n++
		}
	}
	if n == 0 {
		return s == ""
	}
	var pb, wb [tokBuf]byte
	p, w := pb[:], wb[:]
	if n > tokBuf {
		p, w = make([]byte, n), make([]byte, n)
	}
	p, w = p[:n], w[:n]
	at := 0
	for i := range toks {
		switch tk := &toks[i]; tk.kind {
		case 'v':
			at += copy(p[at:], vals[tk.vi])
		case 'l':
			at += copy(p[at:], tk.s)
		default:
			p[at], w[at] = tk.kind, tk.kind
			at++
		}
	}
	return arn.GlobMarked(unsafe.String(&p[0], n), w, s)
}

// tokBuf is the size of matchToks's stack buffers.
const tokBuf = 256

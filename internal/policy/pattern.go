package policy

import (
	"strings"

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
func (t *tmpl) resolve(ev *evalState, vals *[maxVars]string) bool {
	n := 0
	for i := range t.toks {
		tk := &t.toks[i]
		if tk.kind != 'v' {
			continue
		}
		v, ok := ev.scalar(tk.s, tk.hash)
		if !ok {
			if !tk.hasD {
				return false
			}
			v = tk.def
		}
		vals[n] = v
		n++
	}
	return true
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

// matchToks matches s against tokens (with resolved variables) as a glob:
// '*' and '?' tokens are wildcards, literal and variable text is literal.
// fold compares ASCII case-insensitively.
func matchToks(toks []tok, vals *[maxVars]string, s string, fold bool) bool {
	// Flatten positions: (ti, ci) is the next pattern character.
	text := func(ti int) string {
		if tk := &toks[ti]; tk.kind == 'v' {
			return vals[tk.vi]
		}
		return toks[ti].s
	}
	ti, ci, si := 0, 0, 0
	starTi, starSi := -1, 0
	for {
		// Skip exhausted literal tokens.
		for ti < len(toks) && (toks[ti].kind == 'l' || toks[ti].kind == 'v') && ci >= len(text(ti)) {
			ti, ci = ti+1, 0
		}
		if ti == len(toks) && si == len(s) {
			return true
		}
		if ti < len(toks) {
			switch toks[ti].kind {
			case '*':
				starTi, starSi = ti+1, si
				ti, ci = ti+1, 0
				continue
			case '?':
				if si < len(s) {
					si += runeLen(s, si)
					ti, ci = ti+1, 0
					continue
				}
			default:
				if si < len(s) && byteEq(text(ti)[ci], s[si], fold) {
					ci++
					si++
					continue
				}
			}
		}
		if starTi >= 0 && starSi < len(s) {
			starSi++
			ti, ci, si = starTi, 0, starSi
			continue
		}
		return false
	}
}

func byteEq(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

func runeLen(s string, i int) int {
	c := s[i]
	n := 1
	switch {
	case c >= 0xF0:
		n = 4
	case c >= 0xE0:
		n = 3
	case c >= 0xC0:
		n = 2
	}
	if i+n > len(s) {
		return 1
	}
	return n
}

// glob matches s against pattern with * and ?, ASCII case-insensitively when
// fold is set (pattern must then be lowercase).
func glob(pattern, s string, fold bool) bool {
	if !fold {
		return arn.Glob(pattern, s)
	}
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx += runeLen(s, sx)
					continue
				}
			default:
				if sx < len(s) && byteEq(c, s[sx], true) {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// actionPat is a compiled Action/NotAction entry, lowercased.
type actionPat struct {
	kind byte // '*' all, 'e' exact, 'p' prefix, 'g' glob
	s    string
}

func compileAction(a string) actionPat {
	a = strings.ToLower(a)
	switch {
	case a == "*":
		return actionPat{kind: '*'}
	case !strings.ContainsAny(a, "*?"):
		return actionPat{kind: 'e', s: a}
	case strings.IndexAny(a, "*?") == len(a)-1 && a[len(a)-1] == '*':
		return actionPat{kind: 'p', s: a[:len(a)-1]}
	}
	return actionPat{kind: 'g', s: a}
}

func (p *actionPat) match(action string) bool {
	switch p.kind {
	case '*':
		return true
	case 'e':
		return len(action) == len(p.s) && equalFold(p.s, action)
	case 'p':
		return len(action) >= len(p.s) && equalFold(p.s, action[:len(p.s)])
	}
	return glob(p.s, action, true)
}

// resPat is a compiled Resource/NotResource entry: the first five ARN
// segments as globs and the resource part as a template (variables are
// allowed only there).
type resPat struct {
	all  bool
	arn  bool
	seg  [5]string
	rest tmpl
	lit  string // a non-ARN pattern, matched whole
}

func compileResource(r string, vars bool) (resPat, bool) {
	if r == "*" {
		return resPat{all: true}, true
	}
	var seg [6]string
	if !arn.Split(r, &seg) {
		return resPat{lit: r}, true
	}
	p := resPat{arn: true}
	copy(p.seg[:], seg[:5])
	t, ok := compileTmpl(seg[5], true, vars)
	p.rest = t
	return p, ok
}

func (p *resPat) match(ev *evalState) bool {
	if p.all {
		return true
	}
	if !p.arn {
		return !ev.resIsARN && arn.Glob(p.lit, ev.req.Resource)
	}
	if !ev.resIsARN {
		return false
	}
	for i := 0; i < 5; i++ {
		if s := p.seg[i]; !(s == "*" || s == ev.resSeg[i] || arn.Glob(s, ev.resSeg[i])) {
			return false
		}
	}
	if !p.rest.hasVars() {
		return arn.Glob(p.rest.lit, ev.resSeg[5])
	}
	var vals [maxVars]string
	if !p.rest.resolve(ev, &vals) {
		return false // an unresolvable variable matches nothing
	}
	return matchToks(p.rest.toks, &vals, ev.resSeg[5], false)
}

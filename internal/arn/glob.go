package arn

import "strings"

// Glob reports whether s matches pattern, where * matches any run of bytes
// and ? matches exactly one character (see RuneLen). It is case-sensitive.
//
// The answer is that of the classic matcher that backtracks to the last *
// only: the part of the pattern before the first * matches at the start of
// s, each run between two *s at the leftmost place after the previous one
// where it matches, and the run after the last * at the end of s. (Where ?
// meets a multi-byte character the leftmost place is not always the best
// one, and this answer can differ from "some way to match exists"; it is the
// answer OpenSTS has always given.)
//
// Glob does not backtrack, so its cost does not depend on how the pattern's
// runs overlap with s: runs without ? are found with strings.Index and those
// with ? by a bit-parallel scan, 64 pattern bytes a machine word. The work
// is O(len(pattern) + len(s)·⌈r/64⌉) for r the longest run between two *s
// that holds a ?, so linear in both lengths for runs under 64 bytes and
// never more than O(len(pattern)·len(s)). It does not allocate, except for a
// table of 2 KiB per 64 bytes of a run with ? of more than 63 bytes.
func Glob(pattern, s string) bool {
	ok, _ := glob(pattern, nil, s)
	return ok
}

// GlobMarked is Glob for a pattern whose wildcards are marked apart: byte i
// of pattern is the wildcard * or ? when wild[i] is '*' or '?', whatever
// the byte, and a literal byte otherwise, so that a pattern can hold a
// literal * or ? (the value of a policy variable). len(wild) must be
// len(pattern).
func GlobMarked(pattern string, wild []byte, s string) bool {
	if len(wild) != len(pattern) {
		panic("arn: GlobMarked: len(wild) != len(pattern)")
	}
	ok, _ := glob(pattern, wild, s)
	return ok
}

// GlobWork is Glob also returning the work it did, in steps of about one
// byte compared or one machine word of a bit-parallel scan: a measure of
// the cost for tests and for callers that budget work.
func GlobWork(pattern, s string) (match bool, work int) {
	return glob(pattern, nil, s)
}

// gpat is a pattern with its wildcards: the bytes '*' and '?' when wild is
// nil, else those marked in wild.
type gpat struct {
	p    string
	wild []byte
}

func (g *gpat) kind(i int) byte {
	if g.wild != nil {
		switch k := g.wild[i]; k {
		case '*', '?':
			return k
		}
		return 0
	}
	switch c := g.p[i]; c {
	case '*', '?':
		return c
	}
	return 0
}

func (g *gpat) sub(i, j int) gpat {
	if g.wild == nil {
		return gpat{p: g.p[i:j]}
	}
	return gpat{p: g.p[i:j], wild: g.wild[i:j]}
}

func glob(pattern string, wild []byte, s string) (bool, int) {
	g := gpat{p: pattern, wild: wild}
	// The part before the first '*' matches at the start of s.
	i, j := 0, 0
	for ; i < len(pattern); i++ {
		k := g.kind(i)
		if k == '*' {
			break
		}
		if j >= len(s) {
			return false, i + 1
		}
		switch {
		case k == '?':
			j += RuneLen(s, j)
		case pattern[i] != s[j]:
			return false, i + 1
		default:
			j++
		}
	}
	work := i
	if i == len(pattern) {
		return j == len(s), work
	}
	for {
		for i < len(pattern) && g.kind(i) == '*' {
			i++
		}
		if i == len(pattern) {
			return true, work // a trailing '*' matches the rest
		}
		// The run up to the next '*' (or the end).
		k, q := i, false
		for ; k < len(pattern); k++ {
			switch g.kind(k) {
			case '*':
				goto found
			case '?':
				q = true
			}
		}
	found:
		r := run{gpat: g.sub(i, k), q: q}
		work += k - i
		if k == len(pattern) {
			ok, w := r.matchEnd(s, j)
			return ok, work + w
		}
		e, w := r.find(s, j)
		work += w
		if e < 0 {
			return false, work
		}
		i, j = k, e
	}
}

// run is a part of a pattern between two '*'s (or after the last one):
// literal bytes and '?'s. Matching a run from a given start is
// deterministic: each literal byte matches itself, each '?' the character at
// that point (RuneLen bytes).
type run struct {
	gpat
	q bool // the run holds a '?'
}

// naiveWork bounds the work (starts tried times run length) below which
// runs with '?' are matched start by start rather than by the bit-parallel
// scan, whose table costs 256 words to set up.
const naiveWork = 512

// at matches r at s[q:] and returns the end of the match, or -1.
func (r *run) at(s string, q int) int {
	for t := 0; t < len(r.p); t++ {
		if q >= len(s) {
			return -1
		}
		switch {
		case r.kind(t) == '?':
			q += RuneLen(s, q)
		case r.p[t] != s[q]:
			return -1
		default:
			q++
		}
	}
	return q
}

// find returns the end of r's match at the leftmost start q >= j, or -1.
func (r *run) find(s string, j int) (int, int) {
	if !r.q {
		x := strings.Index(s[j:], r.p)
		if x < 0 {
			return -1, len(s) - j
		}
		return j + x + len(r.p), x + len(r.p)
	}
	// Each byte of the run takes at least one byte of s.
	n := len(r.p)
	last := len(s) - n // the last possible start
	if last < j {
		return -1, 1
	}
	if (last-j+1)*n <= naiveWork || n <= 4 {
		// Cheap enough start by start: for runs of at most 4 bytes, every
		// start costs at most 4 steps and the starts tried by successive
		// runs do not overlap, so the whole match stays linear.
		work := 0
		for q := j; q <= last; q++ {
			e := r.at(s, q)
			work += min(n, len(s)-q) // an upper bound of the bytes compared
			if e >= 0 {
				return e, work
			}
		}
		return -1, work
	}
	var small [scanWords]uint64
	sc, work := newScan(r, small[:])
	// Scan windows of starts [a, a+win): a match from a start q ends by
	// q+4n, so states up to there decide the window; beyond it, they are
	// taken as "accepting" only, which no state the window reads depends on.
	// Windows double from 4n, so that the scan past the leftmost match, and
	// the states computed twice where windows overlap, cost at most about
	// as much again as the scan up to it.
	win := max(4*n, 64)
	for a := j; a <= last; win *= 2 {
		end := min(a+win, last+1)
		top := min(len(s), end-1+4*n)
		best := sc.window(s, a, top, end, true)
		work += (top - a + 1) * sc.words
		if best >= 0 {
			return r.at(s, best), work + n
		}
		a = end
	}
	return -1, work
}

// matchEnd reports whether r matches some s[q:] with q >= j exactly to the
// end of s.
func (r *run) matchEnd(s string, j int) (bool, int) {
	n := len(r.p)
	if !r.q {
		q := len(s) - n
		return q >= j && s[q:] == r.p, n
	}
	// The literal bytes after the run's last '?' end s.
	t := n
	for r.kind(t-1) != '?' {
		t--
	}
	if tail := r.p[t:]; !strings.HasSuffix(s, tail) {
		return false, len(tail) + 1
	}
	// A start that reaches the end is within 4n bytes of it (RuneLen is at
	// most 4) and n bytes from it at least.
	lo, hi := max(j, len(s)-4*n), len(s)-n
	if lo > hi {
		return false, n
	}
	if !hasLead(s[lo:]) {
		// Every '?' from these starts takes one byte: only the start n
		// bytes from the end can reach it.
		return r.at(s, hi) == len(s), len(s) - lo + n
	}
	if (hi-lo+1)*n <= naiveWork {
		work := 0
		for q := lo; q <= hi; q++ {
			work += n
			if r.at(s, q) == len(s) {
				return true, work
			}
		}
		return false, work
	}
	var small [scanWords]uint64
	sc, work := newScan(r, small[:])
	found := sc.window(s, lo, len(s), hi+1, false) >= 0
	return found, work + (len(s)-lo+1)*sc.words
}

// hasLead reports whether s holds a byte that starts a multi-byte
// character (RuneLen above 1 for it is possible).
func hasLead(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xC0 {
			return true
		}
	}
	return false
}

// scan matches a run at every start at once, from the end of s backwards
// (Shift-And run in reverse, which handles the variable width of '?'). The
// state at position p has bit t (t < n) set when the run's bytes t..n-1
// match s from p to an accepting position, and bit n set when p itself is
// accepting; positions are processed from high to low, and the states of
// the four positions above p are kept in a ring.
type scan struct {
	n, words int
	lit      []uint64 // lit[c*words:][:words]: bits t where the run's byte t is the literal c
	q        []uint64 // bits t where the run's byte t is '?'
	ring     []uint64 // 8 states of words words: position p in slot p&7
}

// scanWords is the size of the tables of a scan of a run of under 64 bytes.
const scanWords = 256 + 1 + 8

// newScan builds the tables for r, in small when they fit (runs under 64
// bytes), and returns them with the work it took.
func newScan(r *run, small []uint64) (scan, int) {
	sc := scan{n: len(r.p)}
	sc.words = (sc.n + 1 + 63) / 64
	w := sc.words
	buf := small
	if w > 1 {
		buf = make([]uint64, scanWords*w)
	}
	sc.lit, sc.q, sc.ring = buf[:256*w], buf[256*w:257*w], buf[257*w:]
	for t := 0; t < sc.n; t++ {
		if r.kind(t) == '?' {
			sc.q[t/64] |= 1 << (t % 64)
		} else {
			sc.lit[int(r.p[t])*w+t/64] |= 1 << (t % 64)
		}
	}
	return sc, 256*w + sc.n
}

// window computes the states from position top down to lo and returns the
// lowest position below end where the run matches, or -1. When anywhere,
// every position is accepting (a run followed by a '*') and so are the
// positions above top, which must be within s; otherwise only len(s) is
// (the pattern's last run), top is len(s), and window returns the first
// match it finds.
func (sc *scan) window(s string, lo, top, end int, anywhere bool) int {
	if sc.words == 1 {
		return sc.window1(s, lo, top, end, anywhere)
	}
	sc.reset(anywhere && top < len(s))
	best := -1
	for p := top; p >= lo; p-- {
		if sc.step(s, p, anywhere || p == len(s)) && p < end {
			if best = p; !anywhere {
				break
			}
		}
	}
	return best
}

// window1 is window for runs of under 64 bytes, with the states above p
// in registers.
func (sc *scan) window1(s string, lo, top, end int, anywhere bool) int {
	fin := uint64(1) << sc.n
	lit, q := (*[256]uint64)(sc.lit), sc.q[0]
	var acc uint64 // or-ed into every state
	if anywhere {
		acc = fin
	}
	// s1..s4: the states at p+1..p+4.
	var s1, s2, s3, s4 uint64
	if top < len(s) {
		s1, s2, s3, s4 = acc, acc, acc, acc
	}
	best := -1
	p := top
	if p == len(s) {
		s1, s2, s3, s4 = fin, s1, s2, s3
		if p < end && fin&1 != 0 {
			return p // an empty run (not reached: runs hold a '?')
		}
		p--
	}
	for ; p >= lo; p-- {
		c := s[p]
		far := s1
		if c >= 0xC0 {
			switch RuneLen(s, p) {
			case 2:
				far = s2
			case 3:
				far = s3
			case 4:
				far = s4
			}
		}
		cur := lit[c]&(s1>>1) | q&(far>>1) | acc
		s1, s2, s3, s4 = cur, s1, s2, s3
		if cur&1 != 0 && p < end {
			if best = p; !anywhere {
				break
			}
		}
	}
	return best
}

// reset sets the states above the first position processed: "accepting"
// when accept (positions past a window, inside s), else none.
func (sc *scan) reset(accept bool) {
	clear(sc.ring)
	if accept {
		for slot := range 8 {
			sc.ring[slot*sc.words+sc.n/64] = 1 << (sc.n % 64)
		}
	}
}

// step computes the state at p from those above it, where accept says
// whether p is accepting, and reports whether the run matches from p.
func (sc *scan) step(s string, p int, accept bool) bool {
	w := sc.words
	cur := sc.ring[(p&7)*w:][:w]
	if p == len(s) {
		clear(cur)
	} else {
		// Read the states above p before overwriting slot p&7 (which held
		// position p+8, never read).
		next := sc.ring[((p+1)&7)*w:][:w]
		far := sc.ring[((p+RuneLen(s, p))&7)*w:][:w]
		lit := sc.lit[int(s[p])*w:][:w]
		for i := range w {
			// Shift right by one across words: bit t+1 of the state above
			// becomes bit t.
			nx := next[i] >> 1
			fr := far[i] >> 1
			if i+1 < w {
				nx |= next[i+1] << 63
				fr |= far[i+1] << 63
			}
			cur[i] = lit[i]&nx | sc.q[i]&fr
		}
	}
	if accept {
		cur[sc.n/64] |= 1 << (sc.n % 64)
	}
	return cur[0]&1 != 0
}

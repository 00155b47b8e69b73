package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/arn"
)

// The wildcard matchers as they were before arn.Glob stopped backtracking:
// the reference the new ones are checked against. oldGlob also counts its
// loop iterations.

func oldGlob(pattern, s string) (bool, int) {
	steps := 0
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		steps++
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx += arn.RuneLen(s, sx)
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
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
		return false, steps
	}
	return true, steps
}

func oldMatchToks(toks []tok, vals *[maxVars]string, s string, fold bool) bool {
	text := func(ti int) string {
		if tk := &toks[ti]; tk.kind == 'v' {
			return vals[tk.vi]
		}
		return toks[ti].s
	}
	ti, ci, si := 0, 0, 0
	starTi, starSi := -1, 0
	for {
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
					si += arn.RuneLen(s, si)
					ti, ci = ti+1, 0
					continue
				}
			default:
				if si < len(s) && oldByteEq(text(ti)[ci], s[si], fold) {
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

func oldByteEq(a, b byte, fold bool) bool {
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

// globUnits are what random patterns and values are made of: the pattern
// alphabet is that of the values plus the wildcards. Multi-byte characters
// and stray lead and continuation bytes exercise the width of '?'.
var globUnits = []string{"a", "a", "a", "a", "b", "/", "é", "€", "𝄞", "\xc3", "\xf0", "\x80"}

func randGlob(rng *rand.Rand, maxLen int, wild bool) string {
	var b strings.Builder
	n := rng.IntN(maxLen + 1)
	for b.Len() < n {
		if wild && rng.IntN(5) == 0 {
			b.WriteByte("*?"[rng.IntN(2)])
			continue
		}
		b.WriteString(globUnits[rng.IntN(len(globUnits))])
	}
	return b.String()
}

// randRun is n bytes of 'a', 'b' and '?'.
func randRun(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "aaab?"[rng.IntN(5)]
	}
	return string(b)
}

// TestGlobDifferential checks arn.Glob (and through it arn.Match and the
// compiled fast paths) against the backtracking matcher it replaced, on
// random patterns and values short and long: long runs with '?' take the
// bit-parallel scan.
func TestGlobDifferential(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for i := range n {
		plen, slen := 12, 16
		if i%4 == 0 {
			plen, slen = 150, 700
		}
		p, s := randGlob(rng, plen, true), randGlob(rng, slen, false)
		if i%40 == 1 {
			// Long runs with '?' between '*'s over long values of few
			// letters: the bit-parallel scan, its windows, and partial
			// matches everywhere.
			var pb, sb strings.Builder
			for range 1 + rng.IntN(3) {
				pb.WriteString("*" + randRun(rng, 5+rng.IntN(80)))
			}
			if rng.IntN(2) == 0 {
				pb.WriteString("*")
			}
			for range rng.IntN(2000) {
				sb.WriteString([]string{"a", "a", "a", "b", "é", "\xf0"}[rng.IntN(6)])
			}
			p, s = pb.String(), sb.String()
		}
		if i%3 == 0 && len(p) > 0 {
			// Make a match likely: a value derived from the pattern.
			s = strings.NewReplacer("*", randGlob(rng, 20, false), "?", globUnits[rng.IntN(len(globUnits))]).Replace(p)
		}
		want, _ := oldGlob(p, s)
		if got := arn.Glob(p, s); got != want {
			t.Fatalf("arn.Glob(%q, %q) = %v, want %v", p, s, got, want)
		}
		g := compileSeg(p)
		if got := g.match(s); got != want {
			t.Fatalf("segPat(%q).match(%q) = %v, want %v", p, s, got, want)
		}
	}
}

// TestMatchToksDifferential checks matchToks against the token matcher it
// replaced, with variable values that hold wildcard characters (literal
// there).
func TestMatchToksDifferential(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 14))
	values := []string{"", "a", "*", "a?b", "é", "aaaa"}
	for range 50000 {
		var toks []tok
		var vals [maxVars]string
		nv := 0
		for j := rng.IntN(8); j >= 0; j-- {
			switch r := rng.IntN(6); {
			case r == 0:
				toks = append(toks, tok{kind: '*'})
			case r == 1:
				toks = append(toks, tok{kind: '?'})
			case r == 2 && nv < maxVars:
				vals[nv] = values[rng.IntN(len(values))]
				toks = append(toks, tok{kind: 'v', vi: uint8(nv)})
				nv++
			default:
				toks = append(toks, tok{kind: 'l', s: randGlob(rng, 4, false)})
			}
		}
		s := randGlob(rng, 14, false)
		if rng.IntN(2) == 0 {
			s = strings.ReplaceAll(s, "b", "*")
		}
		want := oldMatchToks(toks, &vals, s, false)
		if got := matchToks(toks, &vals, s); got != want {
			t.Fatalf("matchToks(%v, %q, %q) = %v, want %v", toks, vals[:nv], s, got, want)
		}
	}
}

// FuzzMatch checks the wildcard matchers against the ones they replaced:
// arn.Glob against the backtracking glob, and matchToks (arn.GlobMarked)
// against the token matcher, with the pattern cut into tokens at '$', where
// the variable value v goes.
func FuzzMatch(f *testing.F) {
	f.Add("*aaaa?b", "aaaaaaaab", "")
	f.Add("arn:aws:s3:::b/$/*", "arn:aws:s3:::b/a*b/k", "a*b")
	f.Add("*?é*", "\xf0abcé", "?")
	f.Add("a*b?c*d", "axxbéc-d", "")
	f.Fuzz(func(t *testing.T, pattern, s, v string) {
		want, _ := oldGlob(pattern, s)
		if got := arn.Glob(pattern, s); got != want {
			t.Fatalf("arn.Glob(%q, %q) = %v, want %v", pattern, s, got, want)
		}
		var toks []tok
		vals := [maxVars]string{v}
		lit := func(x string) {
			for x != "" {
				i := strings.IndexAny(x, "*?")
				if i < 0 {
					toks = append(toks, tok{kind: 'l', s: x})
					return
				}
				if i > 0 {
					toks = append(toks, tok{kind: 'l', s: x[:i]})
				}
				toks = append(toks, tok{kind: x[i]})
				x = x[i+1:]
			}
		}
		for i, part := range strings.Split(pattern, "$") {
			if i > 0 {
				toks = append(toks, tok{kind: 'v'})
			}
			lit(part)
		}
		if got, want := matchToks(toks, &vals, s), oldMatchToks(toks, &vals, s, false); got != want {
			t.Fatalf("matchToks(%q with $=%q, %q) = %v, want %v", pattern, v, s, got, want)
		}
	})
}

// TestGlobWorkLinear checks that patterns that made the backtracking
// matcher quadratic cost arn.Glob work linear in the lengths (times the
// words of its longest run with '?'), counting steps, not time.
func TestGlobWorkLinear(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	tests := []struct {
		name, p, s string
	}{
		{"suffix missing", "*" + a("a", 40) + "?b", a("a", 2048)},
		{"suffix present", "*" + a("a", 40) + "?b", a("a", 2047) + "b"},
		{"middle run", "*" + a("a", 40) + "?b*", a("a", 2048)},
		{"middle run found late", "*" + a("a", 40) + "?b*", a("a", 4000) + "b" + a("a", 40) + "xb"},
		{"multi-byte text", "*" + a("a", 40) + "?b*", a("aé", 1500)},
		{"4-byte characters", "*" + a("?", 30) + "b*", a("𝄞", 1000)},
		{"long run", "*" + a("a", 300) + "?b*", a("a", 8000)},
		{"long run at the end", "*" + a("a", 300) + "?b", a("a", 7999) + "b"},
		{"many runs", a("*a?", 200) + "*b", a("a", 4000)},
		{"many literal runs", a("*aaaab", 100), a("a", 4000)},
		{"arn segments", "arn:aws:s3:::*" + a("a", 40) + "?b", "arn:aws:s3:::" + a("a", 2035)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, work := arn.GlobWork(tt.p, tt.s)
			want, oldSteps := oldGlob(tt.p, tt.s)
			if got != want {
				t.Fatalf("GlobWork = %v, want %v", got, want)
			}
			// The longest run with '?' sets the words of the scan.
			words := 1
			for _, r := range strings.Split(tt.p, "*") {
				if strings.Contains(r, "?") {
					words = max(words, (len(r)+64)/64)
				}
			}
			n := len(tt.p) + len(tt.s)
			if bound := 8*n*words + 512*words; work > bound {
				t.Errorf("work %d for lengths %d+%d, want at most %d (the old matcher took %d steps)", work, len(tt.p), len(tt.s), bound, oldSteps)
			}
			t.Logf("work %d, old matcher %d steps", work, oldSteps)
		})
	}
}

// TestPathologicalResources evaluates a policy with the review's wildcard
// against 2,048-character resource ARNs: it is decided, the same way as by
// the linear evaluator, and without a quadratic amount of matching (see
// TestGlobWorkLinear for the count).
func TestPathologicalResources(t *testing.T) {
	t.Parallel()
	var st []string
	for i := range 20 {
		st = append(st, fmt.Sprintf(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*%s?b"}`, strings.Repeat("a", 40+i)))
	}
	p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(st, ",")+`]}`)
	set := &Set{Identity: []Named{{ID: "p", Policy: p}}}
	for i := range 400 {
		tail := "a"
		if i%2 == 1 {
			tail = "xb"
		}
		res := "arn:aws:s3:::" + strings.Repeat("a", 2048-13-len(tail)) + tail
		req := &Request{Principal: sess, Action: "s3:GetObject", Resource: res, Context: &Context{}}
		d := Evaluate(set, req)
		want := ImplicitDeny
		if i%2 == 1 {
			want = Allow
		}
		if d.Effect != want {
			t.Fatalf("resource %d: %v, want %v", i, d.Effect, want)
		}
	}
}

// BenchmarkGlob measures arn.Glob on a typical pattern and on the review's
// pathological ones against a 2,048-byte value (per byte of the value: the
// bit-parallel scan's speed).
func BenchmarkGlob(b *testing.B) {
	long := strings.Repeat("a", 2048)
	for _, bm := range []struct{ name, p, s string }{
		{"typical", "arn:aws:s3:::bucket/*/key?", "arn:aws:s3:::bucket/some/prefix/key1"},
		{"last run", "*" + strings.Repeat("a", 40) + "?b", long[:2047] + "b"},
		{"middle run", "*" + strings.Repeat("a", 40) + "?b*", long},
		{"middle run, multi-byte", "*" + strings.Repeat("a", 40) + "?b*", strings.Repeat("aé", 683)},
		{"middle run of 100", "*" + strings.Repeat("a", 100) + "?b*", long},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.s)))
			for b.Loop() {
				arn.Glob(bm.p, bm.s)
			}
		})
	}
}

package awsquery

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// patternsInUse returns the pattern tags of every struct in the module's Go
// files, tests included.
func patternsInUse(tb testing.TB) []string {
	tb.Helper()
	var pats []string
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fl, ok := n.(*ast.Field); ok && fl.Tag != nil {
				tag, err := strconv.Unquote(fl.Tag.Value)
				if err != nil {
					tb.Fatalf("%s: tag %s: %v", fset.Position(fl.Pos()), fl.Tag.Value, err)
				}
				if p, ok := reflect.StructTag(tag).Lookup("pattern"); ok && !slices.Contains(pats, p) {
					pats = append(pats, p)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return pats
}

// morePatterns try classes the services do not use yet (negated, case
// folded, all of Unicode, U+FFFD, which invalid UTF-8 reads as) and
// expressions that must fall back to regexp.
var morePatterns = []string{
	`[^a-z]*`, `(?i)[a-k]+`, `[\x{80}-\x{10FFFF}]+`, `[\x{FFFD}a]*`, `\pL*`, `[\s\S]*`, `.*`, `.+`, `[^\n]*`,
	`[a]*`, `a|b`, `[ab]{2}`, `[ab]*c`, `x[ab]*`, `[ab]?`, `(?:[ab]*)`, `([ab]*)`, `[ab]*[cd]*`, ``,
}

// classPatterns are in use and must take the table path.
var classPatterns = []string{
	`[\w+=,.@-]*`, `[\w+=,.@-]+`, `[\w+=/:,.@-]+`, `[\d]*`, `[\u0020-\u00FF]+`,
	`[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`,
}

func compileAll(tb testing.TB) []*pattern {
	tb.Helper()
	var ps []*pattern
	for _, src := range append(patternsInUse(tb), morePatterns...) {
		p, err := compilePattern(src)
		if err != nil {
			tb.Fatalf("pattern %q: %v", src, err)
		}
		ps = append(ps, p)
	}
	return ps
}

func checkMatch(t *testing.T, p *pattern, s string) {
	t.Helper()
	if got, want := p.match(s), p.re.MatchString(s); got != want {
		t.Fatalf("pattern %q on %q: match = %v, regexp says %v", p.src, s, got, want)
	}
}

// TestPatternClassMatchesRegexp checks that the table answers exactly as the
// regular expression would, for every pattern in use: on each ASCII byte
// and every other byte (invalid UTF-8 alone), the runes around each range
// boundary of the class, a sample of all runes, and random mixtures.
func TestPatternClassMatchesRegexp(t *testing.T) {
	t.Parallel()
	ps := compileAll(t)
	for _, src := range classPatterns {
		if !slices.ContainsFunc(ps, func(p *pattern) bool { return p.src == src && p.class != nil }) {
			t.Errorf("pattern %q is not in use or not compiled to a table", src)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range ps {
		if p.class == nil {
			if !slices.Contains(morePatterns, p.src) {
				t.Logf("pattern %q uses regexp", p.src)
			}
			continue
		}
		// A character in the class, to surround the one under test.
		var in string
		for r := range rune(utf8.MaxRune + 1) {
			if p.class.match(string(r)) && r != utf8.RuneError {
				in = string(r)
				break
			}
		}
		runes := []rune{-1, utf8.RuneError, utf8.MaxRune, utf8.MaxRune + 1, 0xD800, 0xDFFF}
		for r := range rune(0x3000) {
			runes = append(runes, r)
		}
		for _, rg := range p.class.ranges {
			runes = append(runes, rg[0]-1, rg[0], rg[0]+1, rg[1]-1, rg[1], rg[1]+1)
		}
		for range 20000 {
			runes = append(runes, rng.Int32N(utf8.MaxRune+1))
		}
		for _, r := range runes {
			s := string(r)
			checkMatch(t, p, s)
			checkMatch(t, p, in+s+in)
			checkMatch(t, p, s+s)
		}
		for b := range 256 {
			s := string([]byte{byte(b)})
			checkMatch(t, p, s)
			checkMatch(t, p, in+s+in)
			checkMatch(t, p, in+s[:1]+"\xa9"+in) // a lone continuation byte
		}
		checkMatch(t, p, "")
		checkMatch(t, p, in)
		checkMatch(t, p, "\xf0\x9f\x98")     // truncated 4-byte sequence
		checkMatch(t, p, "\xc0\xaf")         // overlong '/'
		checkMatch(t, p, "\xed\xa0\x80")     // encoded surrogate
		checkMatch(t, p, "\xf4\x90\x80\x80") // beyond U+10FFFF
		alphabet := []string{in, "a", "Z", "0", "_", "-", " ", "\t", "\n", "/", "é", "ÿ", "Ā", "日", "😀", "\xff", "\xc3", "\u2028", "\u00a0"}
		for range 2000 {
			var b strings.Builder
			for range rng.IntN(8) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			checkMatch(t, p, b.String())
		}
	}
}

func FuzzPatternClass(f *testing.F) {
	ps := compileAll(f)
	for _, s := range []string{"", "abc", "a b", "arn:aws:iam::123456789012:role/x", "Jöhn\xff", "日本語😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range ps {
			checkMatch(t, p, s)
		}
	})
}

package awsquery

import (
	"cmp"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// pattern is a compiled pattern tag: its regular expression must match the
// whole value.
type pattern struct {
	src string // as written in the tag, for messages
	re  *regexp.Regexp
	// class, when not nil, matches exactly what re does, without the
	// regexp machinery. Most AWS patterns are one character class repeated
	// ([\w+=,.@-]+), which a table checks several times faster.
	class *charClass
}

func compilePattern(src string) (*pattern, error) {
	expr := `^(?:` + javaToGoRegexp(src) + `)$`
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	return &pattern{src: src, re: re, class: repeatedClass(expr)}, nil
}

func (p *pattern) match(s string) bool {
	if p.class != nil {
		return p.class.match(s)
	}
	return p.re.MatchString(s)
}

// charClass matches strings made only of the characters of one class, as
// ^(?:[class]*)$ or, when nonEmpty, ^(?:[class]+)$ do.
type charClass struct {
	ascii    [utf8.RuneSelf]bool // the ASCII characters in the class
	ranges   [][2]rune           // the others: sorted, disjoint, inclusive ranges
	nonEmpty bool
}

// repeatedClass returns the charClass equivalent to expr, the anchored
// expression compilePattern compiles, or nil when expr is anything but
// ^(?:C*)$ or ^(?:C+)$ for a character class C. It parses expr exactly as
// regexp.Compile does, so the class holds the runes regexp would match,
// escapes, Unicode groups and case folding already resolved.
func repeatedClass(expr string) *charClass {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return nil
	}
	rep := re.Sub[1]
	if (rep.Op != syntax.OpStar && rep.Op != syntax.OpPlus) || rep.Sub[0].Op != syntax.OpCharClass {
		return nil
	}
	c := &charClass{nonEmpty: rep.Op == syntax.OpPlus}
	rs := rep.Sub[0].Rune // lo, hi pairs, sorted and disjoint
	for i := 0; i+1 < len(rs); i += 2 {
		lo, hi := rs[i], rs[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			c.ascii[r] = true
		}
		if hi >= utf8.RuneSelf {
			c.ranges = append(c.ranges, [2]rune{max(lo, utf8.RuneSelf), hi})
		}
	}
	return c
}

// match reports whether every character of s is in the class, decoding s as
// regexp does: a byte that is not valid UTF-8 reads as U+FFFD.
func (c *charClass) match(s string) bool {
	if c.nonEmpty && s == "" {
		return false
	}
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if !c.ascii[b] {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !c.containsNonASCII(r) {
			return false
		}
		i += n
	}
	return true
}

func (c *charClass) containsNonASCII(r rune) bool {
	// The first range that does not end before r holds r if any does.
	i, _ := slices.BinarySearchFunc(c.ranges, r, func(rg [2]rune, r rune) int { return cmp.Compare(rg[1], r) })
	return i < len(c.ranges) && c.ranges[i][0] <= r
}

// javaToGoRegexp rewrites the Java escapes AWS models use (\uXXXX) into RE2's \x{XXXX}.
func javaToGoRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			if p[i+1] == 'u' && i+5 < len(p) {
				b.WriteString(`\x{` + p[i+2:i+6] + `}`)
				i += 5
				continue
			}
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// PatternMatches reports whether s matches the whole of an AWS model
// pattern (Java syntax), as the decoder checks a pattern tag. It is for
// tests that hold the models against the server.
func PatternMatches(src, s string) (bool, error) {
	p, err := compilePattern(src)
	if err != nil {
		return false, err
	}
	return p.match(s), nil
}

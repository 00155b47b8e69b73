package policy

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// node is one JSON value with object keys in document order, so that
// validation can reject duplicate keys (encoding/json keeps the last one).
// Objects keep where they are in the document, so that statements can say
// where they came from.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	str   string
	keys  []string
	vals  []*node
	arr   []*node
	start int // objects: the byte offset of the opening brace
	end   int // objects: the byte offset just past the closing brace
}

func (n *node) get(key string) (*node, bool) {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i], true
		}
	}
	return nil, false
}

func (n *node) has(key string) bool {
	_, ok := n.get(key)
	return ok
}

var (
	errDuplicateKey = errors.New("duplicate key")
	errSyntax       = errors.New("invalid JSON")
	errDepth        = errors.New("nesting too deep")
)

// decodeJSON parses doc into a node tree. It fails on trailing data and on
// duplicate keys in one object.
//
// It is written by hand rather than with encoding/json's Decoder.Token, which
// cost a policy document about a hundred allocations (a role's trust policy
// is parsed whenever the role is loaded); it accepts exactly what
// encoding/json does and decodes strings as it does (FuzzDecodeJSON compares
// the two).
func decodeJSON(doc string) (*node, error) {
	d := jsonDecoder{s: doc}
	n, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.s) {
		return nil, errors.New("trailing data")
	}
	return n, nil
}

const maxDepth = 64

type jsonDecoder struct {
	s string
	i int
	// slab is where nodes are allocated, a chunk at a time (8, then
	// twice as many up to 64): a trust policy's eight nodes cost one
	// allocation, not eight. Nothing keeps a node past Parse.
	slab []node
}

// node returns a new node holding n.
func (d *jsonDecoder) node(n node) *node {
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]node, 0, min(max(2*cap(d.slab), 8), 64))
	}
	d.slab = append(d.slab, n)
	return &d.slab[len(d.slab)-1]
}

func (d *jsonDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips space and returns the next byte (0 at the end).
func (d *jsonDecoder) next() byte {
	d.space()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *jsonDecoder) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	switch c := d.next(); {
	case c == '{':
		n := d.node(node{kind: 'o', start: d.i})
		d.i++
		if d.next() == '}' {
			d.i++
			n.end = d.i
			return n, nil
		}
		for {
			if d.next() != '"' {
				return nil, errSyntax
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if n.has(k) {
				return nil, errDuplicateKey
			}
			if d.next() != ':' {
				return nil, errSyntax
			}
			d.i++
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if n.keys == nil {
				// Most objects of a policy have four keys or fewer.
				n.keys, n.vals = make([]string, 0, 4), make([]*node, 0, 4)
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, v)
			switch d.next() {
			case ',':
				d.i++
			case '}':
				d.i++
				n.end = d.i
				return n, nil
			default:
				return nil, errSyntax
			}
		}
	case c == '[':
		n := d.node(node{kind: 'a'})
		d.i++
		if d.next() == ']' {
			d.i++
			return n, nil
		}
		for {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, v)
			switch d.next() {
			case ',':
				d.i++
			case ']':
				d.i++
				return n, nil
			default:
				return nil, errSyntax
			}
		}
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.node(node{kind: 's', str: s}), nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return d.literal("true", d.node(node{kind: 'b', str: "true"}))
	case c == 'f':
		return d.literal("false", d.node(node{kind: 'b', str: "false"}))
	case c == 'n':
		return d.literal("null", d.node(node{kind: 'z'}))
	}
	return nil, errSyntax
}

func (d *jsonDecoder) literal(lit string, n *node) (*node, error) {
	if !strings.HasPrefix(d.s[d.i:], lit) {
		return nil, errSyntax
	}
	d.i += len(lit)
	return n, nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its
// text, as json.Number does.
func (d *jsonDecoder) number() (*node, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case digits() == 0:
		return nil, errSyntax
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, errSyntax
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, errSyntax
		}
	}
	return d.node(node{kind: 'n', str: strings.Clone(d.s[start:d.i])}), nil
}

// str reads a string at d.i (its opening quote). A string with no escape,
// control character or invalid UTF-8 is copied once (a well-known key is not
// copied at all); others are unescaped as encoding/json does: invalid UTF-8
// and unpaired surrogates become U+FFFD.
func (d *jsonDecoder) str() (string, error) {
	d.i++
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			if k, ok := wellKnownKeys[s]; ok {
				return k, nil
			}
			return strings.Clone(s), nil
		case c == '\\' || c < ' ':
			return d.slowStr(start)
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.slowStr(start)
			}
			d.i += size
		}
	}
	return "", errSyntax
}

// slowStr finishes a string that needs unescaping, from its start.
func (d *jsonDecoder) slowStr(start int) (string, error) {
	b := make([]byte, 0, d.i-start+16)
	b = append(b, d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < ' ':
			return "", errSyntax
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", errSyntax
			}
			switch e := d.s[d.i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(d.s[d.i+2:])
				if r < 0 {
					return "", errSyntax
				}
				d.i += 6
				if utf16.IsSurrogate(r) {
					if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
						r2 := hex4(d.s[d.i+2:])
						if r2 < 0 {
							return "", errSyntax // not a valid escape: the string is invalid
						}
						if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
							d.i += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", errSyntax
			}
			d.i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			b = utf8.AppendRune(b, r) // RuneError for invalid UTF-8, as encoding/json
			d.i += size
		}
	}
	return "", errSyntax
}

// hex4 decodes the four hex digits of a \u escape at the start of s; -1
// when they are not.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// wellKnownKeys are the object keys of policy documents, returned without a
// copy.
var wellKnownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Version", "Id", "Statement", "Sid", "Effect", "Allow", "Deny", "Action", "NotAction",
		"Resource", "NotResource", "Principal", "NotPrincipal", "Condition", "AWS", "Federated", "Service",
		"CanonicalUser", "2012-10-17", "2008-10-17", "*", "sts:AssumeRole", "sts:AssumeRoleWithWebIdentity",
		"sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity", "StringEquals", "StringLike"} {
		m[k] = k
	}
	return m
}()

// strings returns the string elements of a string-or-array node, skipping
// nulls; scalars (numbers, bools) are returned as their text.
func (n *node) strs() []string {
	switch n.kind {
	case 's', 'n', 'b':
		return []string{n.str}
	case 'a':
		out := make([]string, 0, len(n.arr))
		for _, e := range n.arr {
			if e.kind == 's' || e.kind == 'n' || e.kind == 'b' {
				out = append(out, e.str)
			}
		}
		return out
	}
	return nil
}

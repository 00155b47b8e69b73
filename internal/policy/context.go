package policy

// Context holds condition keys: case-insensitive names, each with one or
// more string values. The zero value is empty and ready to use. A Context is
// reusable: Reset keeps its capacity. Building one with up to inlineKeys keys
// of one value each allocates nothing beyond the Context itself. Not safe for
// concurrent mutation; concurrent reads are safe.
type Context struct {
	n     int
	fixed [inlineKeys]ctxEntry
	extra []ctxEntry
}

const inlineKeys = 16

type ctxEntry struct {
	key  string
	hash uint64
	vals []string // nil when the key has exactly one value (one[0])
	one  [1]string
	list bool // multivalued key, even with one value
}

// Set sets key to values, replacing any earlier values of the same key
// (compared case-insensitively). Set with no values records the key as
// present with an empty value set.
func (c *Context) Set(key string, values ...string) {
	c.set(key, false, values)
}

// SetList sets a multivalued key (a list type such as aws:TagKeys or
// aws:CalledVia): it is multivalued even with one value, so only
// ForAllValues:/ForAnyValue: operators match it.
func (c *Context) SetList(key string, values ...string) {
	c.set(key, true, values)
}

func (c *Context) set(key string, list bool, values []string) {
	h := foldHash(key)
	e := c.find(key, h)
	if e == nil {
		if c.n < inlineKeys {
			e = &c.fixed[c.n]
		} else {
			c.extra = append(c.extra, ctxEntry{})
			e = &c.extra[len(c.extra)-1]
		}
		c.n++
	}
	e.key, e.hash, e.list = key, h, list
	switch len(values) {
	case 1:
		e.one[0], e.vals = values[0], nil
	default:
		e.one[0] = ""
		vals := e.vals[:0]
		if vals == nil {
			vals = make([]string, 0, len(values))
		}
		e.vals = append(vals, values...)
	}
}

// Get returns the values of key (case-insensitive). The returned slice must
// not be modified; it is valid until the next Set or Reset.
func (c *Context) Get(key string) ([]string, bool) {
	e := c.lookup(key, foldHash(key))
	if e == nil {
		return nil, false
	}
	if e.vals == nil {
		return e.one[:], true
	}
	return e.vals, true
}

// Len returns the number of keys set.
func (c *Context) Len() int {
	if c == nil {
		return 0
	}
	return c.n
}

// Keys returns the keys in the order they were first set.
func (c *Context) Keys() []string {
	out := make([]string, 0, c.Len())
	for i := 0; i < c.Len(); i++ {
		out = append(out, c.at(i).key)
	}
	return out
}

// Reset removes every key and keeps the capacity.
func (c *Context) Reset() {
	for i := range c.fixed[:min(c.n, inlineKeys)] {
		e := &c.fixed[i]
		*e = ctxEntry{vals: e.vals[:0:cap(e.vals)]}
		if cap(e.vals) == 0 {
			e.vals = nil
		}
	}
	c.extra = c.extra[:0]
	c.n = 0
}

// CopyFrom makes c a copy of src that shares no memory a later Set or
// Reset of either writes to, so that a Context built once (the keys of a
// principal) starts many.
func (c *Context) CopyFrom(src *Context) {
	c.n, c.fixed = src.n, src.fixed
	for i := range c.fixed[:min(c.n, inlineKeys)] {
		if e := &c.fixed[i]; e.vals != nil {
			e.vals = append([]string(nil), e.vals...)
		}
	}
	c.extra = append(c.extra[:0], src.extra...)
	for i := range c.extra {
		if e := &c.extra[i]; e.vals != nil {
			e.vals = append([]string(nil), e.vals...)
		}
	}
}

func (c *Context) at(i int) *ctxEntry {
	if i < inlineKeys {
		return &c.fixed[i]
	}
	return &c.extra[i-inlineKeys]
}

func (c *Context) find(key string, h uint64) *ctxEntry {
	for i := range c.fixed[:min(c.n, inlineKeys)] {
		if e := &c.fixed[i]; e.hash == h && equalFold(e.key, key) {
			return e
		}
	}
	for i := range c.extra {
		if e := &c.extra[i]; e.hash == h && equalFold(e.key, key) {
			return e
		}
	}
	return nil
}

// lookup is find for a nil-safe read.
func (c *Context) lookup(key string, h uint64) *ctxEntry {
	if c == nil {
		return nil
	}
	return c.find(key, h)
}

// count and value give allocation-free access to an entry's values.
func (e *ctxEntry) count() int {
	if e.vals == nil {
		return 1
	}
	return len(e.vals)
}

const hashPrime = 0x9e3779b97f4a7c15

// foldHash hashes the ASCII-lowercased bytes of s, eight at a time: strings
// that are equal under equalFold hash equal. Hashes are only compared
// within one process (never stored), so the function may change.
func foldHash(s string) uint64 {
	const prime = hashPrime
	h := uint64(len(s)) * prime
	for len(s) > 0 {
		var w uint64
		if len(s) >= 8 {
			w = load64(s)
			s = s[8:]
		} else {
			for i := len(s) - 1; i >= 0; i-- {
				w = w<<8 | uint64(s[i])
			}
			s = ""
		}
		w = foldWord(w)
		h = (h ^ w) * prime
		h ^= h >> 32
	}
	return h
}

// equalFold compares ASCII case-insensitively (condition key names are ASCII;
// non-ASCII bytes must match exactly). It compares eight bytes at a time.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if n := len(a); n >= 8 {
		// Whole words, then the last eight bytes (overlapping the words).
		for i := 0; i+8 <= n; i += 8 {
			x, y := load64(a[i:]), load64(b[i:])
			if x != y && foldWord(x) != foldWord(y) {
				return false
			}
		}
		x, y := load64(a[n-8:]), load64(b[n-8:])
		return x == y || foldWord(x) == foldWord(y)
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// load64 reads s's first eight bytes, little-endian (len(s) >= 8).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// foldWord lowercases the ASCII letters among w's eight bytes: a byte
// b < 0x80 is upper case when b+0x3f reaches 0x80 ('A') but b+0x25 does not
// ('Z'+1); no sum carries into the next byte.
func foldWord(w uint64) uint64 {
	const (
		lsb = 0x0101010101010101
		msb = 0x8080808080808080
	)
	low7 := w &^ msb
	upper := (low7 + (0x80-'A')*lsb) &^ (low7 + (0x80-'Z'-1)*lsb) &^ w & msb
	return w | upper>>2
}

// load32 reads s's first four bytes, little-endian (len(s) >= 4).
func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// eqStr is a == b for the short strings of the hot path (action names,
// resource segments, key names). It inlines the length test, which decides
// most mismatches, and compares equal lengths with eqSame.
func eqStr(a, b string) bool {
	return len(a) == len(b) && eqSame(a, b)
}

// eqSame compares strings of equal length: up to sixteen bytes with two
// possibly overlapping loads of eight (or four) bytes, without the call to
// the runtime's general comparison.
func eqSame(a, b string) bool {
	n := len(a)
	switch {
	case n > 16:
		return a == b
	case n >= 8:
		return load64(a) == load64(b) && load64(a[n-8:]) == load64(b[n-8:])
	case n >= 4:
		return load32(a) == load32(b) && load32(a[n-4:]) == load32(b[n-4:])
	}
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasPrefix is strings.HasPrefix by eqStr.
func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && eqSame(s[:len(prefix)], prefix)
}

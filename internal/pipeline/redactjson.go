package pipeline

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

type fieldPlan struct {
	index     []int
	key       []byte // "name":
	sensitive bool
	typ       reflect.Type
}

// structPlan is one struct type's fields as Redact sees them (embedded
// structs flattened), sorted by wire name.
type structPlan struct {
	fields []fieldPlan
	byName map[string]int
}

var plans sync.Map // reflect.Type → *structPlan

func planOf(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	var fields []fieldPlan
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			index := append(slices.Clone(prefix), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, index)
				continue
			}
			name := wireName(f)
			if name == "" {
				continue
			}
			// A later field of the same name replaces an earlier one, as
			// in Redact's map.
			fields = slices.DeleteFunc(fields, func(p fieldPlan) bool { return string(p.key) == string(appendKey(nil, name)) })
			fields = append(fields, fieldPlan{index: index, key: appendKey(nil, name), sensitive: f.Tag.Get("sensitive") == "true", typ: f.Type})
		}
	}
	walk(t, nil)
	slices.SortStableFunc(fields, func(a, b fieldPlan) int { return compareBytes(a.key, b.key) })
	p := &structPlan{fields: fields, byName: make(map[string]int, len(fields))}
	for i, f := range fields {
		k := string(f.key)
		p.byName[k[1:len(k)-2]] = i // wire names need no escaping
	}
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*structPlan)
}

func compareBytes(a, b []byte) int {
	switch {
	case string(a) < string(b):
		return -1
	case string(a) > string(b):
		return 1
	}
	return 0
}

func appendKey(dst []byte, name string) []byte {
	dst = appendJSONString(dst, name)
	return append(dst, ':')
}

// appendFloat writes f as encoding/json does (null for what JSON cannot
// hold).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// safeJSON holds the ASCII bytes a JSON string (HTML-safe) carries as is.
var safeJSON = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// needsEscape reports whether any of the eight bytes in x is one
// appendJSONString does not copy as is: a control character, '"', '\\',
// '<', '>', '&', or a byte of a multi-byte (or invalid) UTF-8 sequence.
// x's own high bits are the bytes from 0x80; x-0x20*lo sets the high bit of
// each byte under 0x20; q, a and bs have a zero byte where x has '"' or '&'
// (which differ only in bit 2), '<' or '>' (bit 1), and '\\', and
// subtracting one sets that byte's high bit. A subtraction borrows from a
// byte only where that byte is itself one of these, so the answer is exact:
// false means every byte is safe.
func needsEscape(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := (x | 0x04*lo) ^ 0x26*lo
	a := (x | 0x02*lo) ^ 0x3e*lo
	bs := x ^ 0x5c*lo
	return (x|(x-0x20*lo)|(q-lo)|(a-lo)|(bs-lo))&hi != 0
}

// word is the eight bytes of s at i, little-endian (one load).
func word(s string, i int) uint64 {
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// appendJSONString appends s quoted as encoding/json does by default:
// HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	i := 0
	// Eight bytes at a time while none needs a second look (the common
	// case: ids, ARNs, times); the last (up to) seven are checked as the
	// word that ends the string, which overlaps the one before.
	for i+8 <= len(s) && !needsEscape(word(s, i)) {
		i += 8
	}
	if i == len(s) || len(s) >= 8 && i > len(s)-8 && !needsEscape(word(s, len(s)-8)) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return appendJSONSlow(dst, s, i)
}

// appendJSONSlow appends s from i on byte by byte (s[:i] needs no escaping),
// and the closing quote.
func appendJSONSlow(dst []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if safeJSON[b] {
				i++
				// Words again after a byte that needed no escape.
				for i+8 <= len(s) && !needsEscape(word(s, i)) {
					i += 8
				}
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONString appends s as a JSON string, as encoding/json writes it.
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }

// HasField reports whether Redact shows a field of that wire name at the
// top of values of type t (a struct, or a pointer to one).
func HasField(t reflect.Type, name string) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || t == timeType {
		return false
	}
	_, ok := planOf(t).byName[name]
	return ok
}

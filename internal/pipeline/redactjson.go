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

// escaped is 1 for the bytes appendJSONString does not copy as is: control
// characters, '"', '\\', and '<', '>' and '&' (HTML-safe), and every byte
// from 0x80 (a multi-byte or invalid UTF-8 sequence, looked at as a rune).
var escaped = func() (t [256]uint8) {
	for b := range t {
		if b < 0x20 || b >= utf8.RuneSelf || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
			t[b] = 1
		}
	}
	return t
}()

// plainWord reports whether none of the eight bytes of s at i is escaped:
// eight loads from a table of four cache lines, and one branch (faster
// here than testing the word with arithmetic).
func plainWord(s string, i int) bool {
	w := s[i : i+8]
	return escaped[w[0]]|escaped[w[1]]|escaped[w[2]]|escaped[w[3]]|
		escaped[w[4]]|escaped[w[5]]|escaped[w[6]]|escaped[w[7]] == 0
}

// appendJSONString appends s quoted as encoding/json does by default:
// HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	i := 0
	// Eight bytes at a time while none needs a second look (the common
	// case: ids, ARNs, times); the last (up to) seven are checked as the
	// word that ends the string, which overlaps the one before.
	for i+8 <= len(s) && plainWord(s, i) {
		i += 8
	}
	if i == len(s) || len(s) >= 8 && i > len(s)-8 && plainWord(s, len(s)-8) {
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
			if escaped[b] == 0 {
				i++
				// Words again after a byte that needed no escape.
				for i+8 <= len(s) && plainWord(s, i) {
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

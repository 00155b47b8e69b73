package pipeline

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// AppendRedactedJSON appends the JSON of Redact(v) to dst, as
// json.Marshal(Redact(v)) would write it (object keys sorted, zero values
// left out, sensitive fields Hidden), without building the maps: the walk
// of each type is planned once and cached, so the request path pays
// neither tag parsing nor map allocations. A nil v, or one with nothing to
// show, appends null.
func AppendRedactedJSON(dst []byte, v any) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	rv := reflect.ValueOf(v)
	dst, _ = encoderOf(rv.Type())(dst, rv)
	return dst
}

// RedactedString returns the string Redact(v) holds at path (wire names,
// one per nesting level of structs), or "" when there is none: a field
// tagged sensitive reads as Hidden. It allocates nothing.
func RedactedString(v any, path ...string) string {
	if v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	for _, name := range path {
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				return ""
			}
			rv = rv.Elem()
		}
		if rv.Kind() != reflect.Struct || rv.Type() == timeType {
			return ""
		}
		p := planOf(rv.Type())
		i, ok := p.byName[name]
		if !ok {
			return ""
		}
		f := &p.fields[i]
		fv := rv.FieldByIndex(f.index)
		if f.sensitive {
			if fv.IsZero() {
				return ""
			}
			return Hidden
		}
		rv = fv
	}
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.String {
		return ""
	}
	return rv.String()
}

// encoder appends v's redacted JSON (null for what Redact leaves nil) and
// reports whether Redact would keep it as a field.
type encoder func(dst []byte, v reflect.Value) ([]byte, bool)

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

var (
	plans    sync.Map // reflect.Type → *structPlan
	encoders sync.Map // reflect.Type → encoder
)

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

func encoderOf(t reflect.Type) encoder {
	if e, ok := encoders.Load(t); ok {
		return e.(encoder)
	}
	// A recursive type meets its own forwarding encoder while it is built.
	var (
		wg sync.WaitGroup
		f  encoder
	)
	wg.Add(1)
	fwd, loaded := encoders.LoadOrStore(t, encoder(func(dst []byte, v reflect.Value) ([]byte, bool) {
		wg.Wait()
		return f(dst, v)
	}))
	if loaded {
		return fwd.(encoder)
	}
	f = newEncoder(t)
	wg.Done()
	encoders.Store(t, f)
	return f
}

func null(dst []byte, _ reflect.Value) ([]byte, bool) { return append(dst, "null"...), false }

func newEncoder(t reflect.Type) encoder {
	if t == timeType {
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			var tm time.Time
			if v.CanAddr() {
				tm = *(*time.Time)(v.Addr().UnsafePointer())
			} else {
				tm = v.Interface().(time.Time)
			}
			if tm.IsZero() {
				return append(dst, "null"...), false
			}
			dst = append(dst, '"')
			dst = tm.UTC().AppendFormat(dst, time.RFC3339)
			return append(dst, '"'), true
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			if v.IsNil() {
				return append(dst, "null"...), false
			}
			return elem(dst, v.Elem())
		}
	case reflect.Interface:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			if v.IsNil() {
				return append(dst, "null"...), false
			}
			e := v.Elem()
			return encoderOf(e.Type())(dst, e)
		}
	case reflect.Struct:
		p := planOf(t)
		encs := make([]encoder, len(p.fields))
		for i := range p.fields {
			encs[i] = encoderOf(p.fields[i].typ)
		}
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			dst = append(dst, '{')
			n := 0
			for i := range p.fields {
				f := &p.fields[i]
				fv := v.FieldByIndex(f.index)
				mark := len(dst)
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, f.key...)
				if f.sensitive {
					if fv.IsZero() {
						dst = dst[:mark]
						continue
					}
					dst = appendJSONString(dst, Hidden)
					n++
					continue
				}
				var ok bool
				if dst, ok = encs[i](dst, fv); !ok {
					dst = dst[:mark]
					continue
				}
				n++
			}
			return append(dst, '}'), n > 0
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return null // raw bytes are never shown
		}
		elem := encoderOf(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			if v.Len() == 0 {
				return append(dst, "null"...), false
			}
			dst = append(dst, '[')
			for i := 0; i < v.Len(); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst, _ = elem(dst, v.Index(i))
			}
			return append(dst, ']'), true
		}
	case reflect.Map:
		elem := encoderOf(t.Elem())
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			if v.Len() == 0 {
				return append(dst, "null"...), false
			}
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int {
				switch {
				case a.String() < b.String():
					return -1
				case a.String() > b.String():
					return 1
				}
				return 0
			})
			dst = append(dst, '{')
			n := 0
			for _, k := range keys {
				mark := len(dst)
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = appendKey(dst, k.String())
				var ok bool
				if dst, ok = elem(dst, v.MapIndex(k)); !ok {
					dst = dst[:mark]
					continue
				}
				n++
			}
			return append(dst, '}'), true
		}
	case reflect.String:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			s := v.String()
			return appendJSONString(dst, s), s != ""
		}
	case reflect.Bool:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			return strconv.AppendBool(dst, v.Bool()), v.Bool()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			return strconv.AppendInt(dst, v.Int(), 10), true
		}
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			return strconv.AppendUint(dst, v.Uint(), 10), true
		}
	case reflect.Float32, reflect.Float64:
		return func(dst []byte, v reflect.Value) ([]byte, bool) {
			return appendFloat(dst, v.Float()), true
		}
	}
	return null
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
// Each test is the exact "has a zero byte" / "has a byte less than n"
// word trick, so a false answer means every byte is safe.
func needsEscape(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, bs, lt, gt, amp := x^'"'*lo, x^'\\'*lo, x^'<'*lo, x^'>'*lo, x^'&'*lo
	return (x|(x-0x20*lo)&^x|(q-lo)&^q|(bs-lo)&^bs|(lt-lo)&^lt|(gt-lo)&^gt|(amp-lo)&^amp)&hi != 0
}

// appendJSONString appends s quoted as encoding/json does by default:
// HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a second look (the
		// common case: ids, ARNs, times), then byte by byte.
		for i+8 <= len(s) && !needsEscape(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			if safeJSON[b] {
				i++
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

// Package redacttest fills values of any type with random contents, for
// the differential tests of pipeline's redacting encoders (in pipeline and
// in server, over every route's input and output). Every string put in a
// field tagged sensitive, or anywhere below one, is a fresh secret the
// Filler remembers, so a test can check that none reaches the output.
//
// It imports only the standard library; only tests import it.
package redacttest

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// Filler fills values. It is not safe for concurrent use.
type Filler struct {
	R *rand.Rand
	// Data, when set, is drawn on for strings (a fuzzer's input).
	Data []byte
	// NoNaN leaves NaN and infinities out of floats (encoding/json, which
	// some references go through, refuses them).
	NoNaN bool
	// Interfaces are the values an interface field may get (one picked at
	// random, when it is assignable); nil leaves interfaces nil.
	Interfaces []func(f *Filler) any
	// MaxDepth bounds nesting (pointers, slices, maps, structs); 6 when 0.
	MaxDepth int
	// Secrets are the strings put in sensitive fields so far.
	Secrets []string

	// nested is the depth of the interface value being filled while an
	// Interfaces function runs: what it fills with New or Fill nests there,
	// so that values holding interfaces holding such values stay within
	// MaxDepth (from zero each time, a fuzzer's input once made the
	// recursion unbounded: a stack overflow).
	nested int
}

// New returns a new value of type t, filled.
func (f *Filler) New(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	f.Fill(v)
	return v
}

// Fill fills v, which must be settable (within an Interfaces function, at
// the depth of the interface value being filled).
func (f *Filler) Fill(v reflect.Value) { f.fill(v, f.nested, false) }

// strs are the strings an encoder must get right: escapes at every kind
// of position, unicode, invalid UTF-8, long runs for the word-at-a-time
// path.
var strs = []string{
	"", "", "a", "arn:aws:iam::123456789012:role/path/name", "ASIAQWERTYUIOPASDFGH", "<&>", `"quoted" \back\slash`,
	"line\nbreak\ttab\r\x00\x01\x1f\x7f", "\u2028\u2029", "é€😀", "\xff\xfe", "\xe2\x80", "abcdefgh<", "abcdefghijklmnop&q",
	"HIDDEN_DUE_TO_SECURITY_REASONS", "null", "{}", "2026-01-02T03:04:05Z",
}

func (f *Filler) str() string {
	switch f.R.IntN(4) {
	case 0:
		if len(f.Data) > 0 {
			i, j := f.R.IntN(len(f.Data)+1), f.R.IntN(len(f.Data)+1)
			return string(f.Data[min(i, j):max(i, j)])
		}
		fallthrough
	case 1:
		b := make([]byte, f.R.IntN(40))
		for i := range b {
			if f.R.IntN(4) == 0 {
				b[i] = byte(f.R.IntN(256))
			} else {
				b[i] = byte('a' + f.R.IntN(26))
			}
		}
		return string(b)
	}
	return strs[f.R.IntN(len(strs))]
}

// secret returns a fresh secret and remembers it.
func (f *Filler) secret() string {
	s := "s3cr3t-" + strconv.Itoa(len(f.Secrets)) + "-" + strconv.FormatUint(f.R.Uint64(), 36) + "!"
	f.Secrets = append(f.Secrets, s)
	return s
}

func (f *Filler) float() float64 {
	switch f.R.IntN(12) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		if !f.NoNaN {
			return math.NaN()
		}
	case 3:
		if !f.NoNaN {
			return math.Inf(1 - 2*f.R.IntN(2))
		}
	case 4:
		return 1e21
	case 5:
		return 1.5e-9
	case 6:
		return float64(f.R.Int64N(1 << 40))
	}
	return (f.R.Float64() - 0.5) * math.Pow(10, float64(f.R.IntN(40)-20))
}

func (f *Filler) fill(v reflect.Value, depth int, secret bool) {
	maxDepth := f.MaxDepth
	if maxDepth == 0 {
		maxDepth = 6
	}
	t := v.Type()
	if t == reflect.TypeFor[time.Time]() {
		if f.R.IntN(4) != 0 {
			tm := time.Unix(f.R.Int64N(1<<33)-1<<31, f.R.Int64N(1e9))
			v.Set(reflect.ValueOf(tm.In(time.FixedZone("z", (f.R.IntN(48)-24)*1800))))
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		switch {
		case secret:
			v.SetString(f.secret())
		default:
			v.SetString(f.str())
		}
	case reflect.Bool:
		v.SetBool(f.R.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if f.R.IntN(3) != 0 {
			v.SetInt(int64(f.R.Uint64()) >> (f.R.IntN(64)))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if f.R.IntN(3) != 0 {
			v.SetUint(f.R.Uint64() >> (f.R.IntN(64)))
		}
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f.float())
	case reflect.Complex64, reflect.Complex128:
		v.SetComplex(complex(f.float(), f.float()))
	case reflect.Pointer:
		if depth < maxDepth && f.R.IntN(5) != 0 {
			p := reflect.New(t.Elem())
			f.fill(p.Elem(), depth+1, secret)
			v.Set(p)
		}
	case reflect.Slice:
		if depth >= maxDepth {
			return
		}
		switch f.R.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(t, 0, f.R.IntN(2)))
		default:
			n := 1 + f.R.IntN(4)
			s := reflect.MakeSlice(t, n, n)
			for i := range n {
				f.fill(s.Index(i), depth+1, secret)
			}
			v.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), depth+1, secret)
		}
	case reflect.Map:
		if depth >= maxDepth {
			return
		}
		switch f.R.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeMap(t))
		default:
			m := reflect.MakeMap(t)
			for range 1 + f.R.IntN(4) {
				k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
				f.fill(k, depth+1, secret)
				f.fill(e, depth+1, secret)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Interface:
		if depth >= maxDepth || len(f.Interfaces) == 0 || f.R.IntN(4) == 0 {
			return
		}
		outer := f.nested
		defer func() { f.nested = outer }()
		for range 4 {
			f.nested = depth + 1
			x := f.Interfaces[f.R.IntN(len(f.Interfaces))](f)
			if x != nil && reflect.TypeOf(x).AssignableTo(t) {
				v.Set(reflect.ValueOf(x))
				return
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			fv := v.Field(i)
			sens := secret || sf.Tag.Get("sensitive") == "true"
			if !sf.IsExported() {
				// Unexported fields are never shown: a secret in each
				// string one shows a leak.
				if !v.CanAddr() || sf.Type.Kind() != reflect.String {
					continue
				}
				fv, sens = reflect.NewAt(sf.Type, unsafe.Pointer(fv.UnsafeAddr())).Elem(), true
			}
			if sens && sf.Type.Kind() == reflect.String && f.R.IntN(5) == 0 {
				continue // a sensitive field left empty
			}
			f.fill(fv, depth+1, sens)
		}
	}
}

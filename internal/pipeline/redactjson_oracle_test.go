package pipeline

import (
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
)

// oracleAppendRedactedJSON is the reflection encoder AppendRedactedJSON
// replaced, kept as the reference its compiled encoders must match byte
// for byte. It appends the JSON of Redact(v) to dst, as
// json.Marshal(Redact(v)) would write it (object keys sorted, zero values
// left out, sensitive fields Hidden), without building the maps: the walk
// of each type is planned once and cached, so the request path pays
// neither tag parsing nor map allocations. A nil v, or one with nothing to
// show, appends null.
func oracleAppendRedactedJSON(dst []byte, v any) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	rv := reflect.ValueOf(v)
	dst, _ = oracleEncoderOf(rv.Type())(dst, rv)
	return dst
}

// oracleRedactedString is RedactedString, which StringPath replaced (a
// reflection walk per call), kept as StringPath's reference. It returns
// the string Redact(v) holds at path (wire names, one per nesting level of
// structs), or "" when there is none: a field tagged sensitive reads as
// Hidden.
func oracleRedactedString(v any, path ...string) string {
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

// oracleEncoder appends v's redacted JSON (null for what Redact leaves nil) and
// reports whether Redact would keep it as a field.
type oracleEncoder func(dst []byte, v reflect.Value) ([]byte, bool)

var oracleEncoders sync.Map // reflect.Type → oracleEncoder

func oracleEncoderOf(t reflect.Type) oracleEncoder {
	if e, ok := oracleEncoders.Load(t); ok {
		return e.(oracleEncoder)
	}
	// A recursive type meets its own forwarding oracleEncoder while it is built.
	var (
		wg sync.WaitGroup
		f  oracleEncoder
	)
	wg.Add(1)
	fwd, loaded := oracleEncoders.LoadOrStore(t, oracleEncoder(func(dst []byte, v reflect.Value) ([]byte, bool) {
		wg.Wait()
		return f(dst, v)
	}))
	if loaded {
		return fwd.(oracleEncoder)
	}
	f = oracleNewEncoder(t)
	wg.Done()
	oracleEncoders.Store(t, f)
	return f
}

func oracleNull(dst []byte, _ reflect.Value) ([]byte, bool) { return append(dst, "null"...), false }

func oracleNewEncoder(t reflect.Type) oracleEncoder {
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
		elem := oracleEncoderOf(t.Elem())
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
			return oracleEncoderOf(e.Type())(dst, e)
		}
	case reflect.Struct:
		p := planOf(t)
		encs := make([]oracleEncoder, len(p.fields))
		for i := range p.fields {
			encs[i] = oracleEncoderOf(p.fields[i].typ)
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
			return oracleNull // raw bytes are never shown
		}
		elem := oracleEncoderOf(t.Elem())
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
		elem := oracleEncoderOf(t.Elem())
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
	return oracleNull
}

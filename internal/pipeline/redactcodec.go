package pipeline

import (
	"cmp"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// This file is the request path's view of Redact: each type is compiled
// once into a codec that reads values through unsafe.Pointer and field
// offsets, and the codecs are found by the type word of an interface value
// in a map that is never written once published (copied on insert). See
// the package doc for why unsafe is used and what it is trusted with.
//
// Bounds: one codec per distinct type met (the types of inputs, outputs
// and what they hold: a fixed set for a given program, about a thousand
// for the server's routes), compiled once and kept; each StringPath keeps
// one plan pointer per codec id (8 KiB for a thousand types).

// AppendRedactedJSON appends the JSON of Redact(v) to dst, as
// json.Marshal(Redact(v)) would write it (object keys sorted, zero values
// left out, sensitive fields Hidden, raw []byte left out, times RFC 3339 in
// UTC, strings escaped HTML-safe), without building the maps. A nil v, or
// one with nothing to show, appends null. It is safe to call concurrently;
// a type's first call compiles its codec (and those of the types it holds)
// under a lock, later calls take none and allocate nothing, except for
// maps and for a v that is a map, chan, func or a struct or array of one
// pointer (each copied to the heap).
func AppendRedactedJSON(dst []byte, v any) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	e := (*eface)(unsafe.Pointer(&v))
	c := codecOf(e.typ, v)
	switch {
	case !c.direct:
		dst, _ = c.enc(dst, e.data)
	case c.elem != nil: // a pointer: the interface holds it
		if e.data == nil {
			return append(dst, "null"...)
		}
		dst, _ = c.elem.enc(dst, e.data)
	default:
		dst, _ = c.enc(dst, heapCopy(c, v))
	}
	return dst
}

// StringAt returns the reader of the string Redact's view of a value holds
// at path: wire names, one per nesting level of structs (pointers and
// interfaces on the way are followed). Callers keep it (a package
// variable): it compiles the path once per type it meets.
func StringAt(path ...string) *StringPath {
	return &StringPath{path: slices.Clone(path)}
}

// BoolAt is StringAt for a path that may end in a bool (SetAsDefault, a
// *bool): Of reads it as "true" or "false" ("" for a nil pointer), and a
// string as StringAt does.
func BoolAt(path ...string) *StringPath {
	return &StringPath{path: slices.Clone(path), bools: true}
}

// StringPath reads one string of Redact's view of values (see StringAt).
// It is safe for concurrent use. It holds one compiled plan per type it has
// read, and there are only as many as the program has types.
type StringPath struct {
	path  []string
	bools bool                        // a bool at the end of the path reads as "true" or "false" (BoolAt)
	plans atomic.Pointer[[]*pathPlan] // by codec id; never written once published
	mu    sync.Mutex                  // held to compile a plan
}

// Of returns the string Redact(v) holds at the path, or "" when there is
// none (a nil on the way, a field the type does not have, a value that is
// not a string, a time, a map); a field tagged sensitive on the way reads
// as Hidden unless it is zero. Once v's type is compiled it allocates
// nothing, except for the values AppendRedactedJSON copies.
func (sp *StringPath) Of(v any) string {
	if v == nil {
		return ""
	}
	e := (*eface)(unsafe.Pointer(&v))
	c := codecOf(e.typ, v)
	switch {
	case !c.direct:
		return sp.at(c, e.data)
	case c.elem != nil:
		if e.data == nil {
			return ""
		}
		return sp.at(c.elem, e.data)
	}
	return sp.at(c, heapCopy(c, v))
}

// at reads the path in the value of c's type at p.
func (sp *StringPath) at(c *codec, p unsafe.Pointer) string {
	var pl *pathPlan
	if t := sp.plans.Load(); t != nil && c.id < len(*t) {
		pl = (*t)[c.id]
	}
	if pl == nil {
		pl = sp.compile(c)
	}
	for i := range pl.steps {
		s := &pl.steps[i]
		switch s.op {
		case opField:
			p = unsafe.Add(p, s.off)
		case opDeref:
			if p = *(*unsafe.Pointer)(p); p == nil {
				return ""
			}
		case opString:
			return *(*string)(p)
		case opBool:
			if *(*bool)(p) {
				return "true"
			}
			return "false"
		case opSensitive:
			if s.zero(p) {
				return ""
			}
			return Hidden
		case opInterface:
			c, p := ifaceValue(s.iface, p)
			if c == nil {
				return ""
			}
			return s.rest.at(c, p)
		default:
			return ""
		}
	}
	return ""
}

// pathPlan is a StringPath compiled for one type.
type pathPlan struct{ steps []pathStep }

type pathOp uint8

const (
	opNone      pathOp = iota // ""
	opField                   // p += off
	opDeref                   // p = *p, "" when nil
	opString                  // the string at p
	opSensitive               // Hidden unless the value at p is zero
	opInterface               // the rest of the path in the interface's value
	opBool                    // "true" or "false" for the bool at p (BoolAt)
)

type pathStep struct {
	op    pathOp
	off   uintptr
	zero  func(unsafe.Pointer) bool // opSensitive
	iface reflect.Type              // opInterface: the interface type
	rest  *StringPath               // opInterface: the rest of the path
}

func (sp *StringPath) compile(c *codec) *pathPlan {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var old []*pathPlan
	if t := sp.plans.Load(); t != nil {
		old = *t
		if c.id < len(old) && old[c.id] != nil {
			return old[c.id]
		}
	}
	pl := &pathPlan{steps: pathSteps(c.typ, sp.path, sp.bools)}
	next := make([]*pathPlan, max(len(old), c.id+1))
	copy(next, old)
	next[c.id] = pl
	sp.plans.Store(&next)
	return pl
}

// pathSteps follows RedactedString's old walk, once per type: pointers
// and interfaces are followed before each name and at the end, each name
// must be a field of a struct (not a time), a sensitive field ends the walk.
func pathSteps(t reflect.Type, path []string, bools bool) []pathStep {
	var steps []pathStep
	for k := 0; ; k++ {
		for t.Kind() == reflect.Pointer {
			steps = append(steps, pathStep{op: opDeref})
			t = t.Elem()
		}
		if t.Kind() == reflect.Interface {
			return append(steps, pathStep{op: opInterface, iface: t, rest: &StringPath{path: path[k:], bools: bools}})
		}
		if k == len(path) {
			if t.Kind() == reflect.String {
				return append(steps, pathStep{op: opString})
			}
			if bools && t.Kind() == reflect.Bool {
				return append(steps, pathStep{op: opBool})
			}
			return append(steps, pathStep{op: opNone})
		}
		if t.Kind() != reflect.Struct || t == timeType {
			return append(steps, pathStep{op: opNone})
		}
		p := planOf(t)
		i, ok := p.byName[path[k]]
		if !ok {
			return append(steps, pathStep{op: opNone})
		}
		f := &p.fields[i]
		off := offsetOf(t, f.index)
		if n := len(steps); n > 0 && steps[n-1].op == opField {
			steps[n-1].off += off
		} else {
			steps = append(steps, pathStep{op: opField, off: off})
		}
		if f.sensitive {
			return append(steps, pathStep{op: opSensitive, zero: zeroFunc(f.typ)})
		}
		t = f.typ
	}
}

// eface is the memory of an empty interface value (reflect and the
// runtime share it): the dynamic type's descriptor and a data word that is
// either the value itself (a pointer-shaped type: direct) or a pointer to
// it.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// sliceHeader is the memory of a slice value.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// encFunc appends the redacted JSON of the value at p (null for what
// Redact leaves nil) and reports whether Redact keeps it as a field.
type encFunc func(dst []byte, p unsafe.Pointer) ([]byte, bool)

// codec is one type, compiled.
type codec struct {
	typ    reflect.Type
	id     int            // index of the type's plan in each StringPath
	key    unsafe.Pointer // the type word of an interface holding the type (nil for interface types)
	direct bool           // an interface's data word is the value itself
	enc    encFunc        // set once the type's codecs are built; called through the codec, so recursive types work
	elem   *codec         // pointers: the pointee's codec
}

// codecs holds every compiled codec. Readers load byKey and never lock;
// writers compile under mu and publish a new map.
var codecs struct {
	byKey  atomic.Pointer[map[unsafe.Pointer]*codec]
	mu     sync.Mutex
	byType map[reflect.Type]*codec // guarded by mu
	n      int                     // guarded by mu
}

// codecOf returns the codec of the dynamic type whose type word is typ; v
// is a value of that type (used only the first time, to compile it).
func codecOf(typ unsafe.Pointer, v any) *codec {
	if m := codecs.byKey.Load(); m != nil {
		if c := (*m)[typ]; c != nil {
			return c
		}
	}
	return codecFor(reflect.TypeOf(v))
}

// codecFor compiles t (and every type it holds), publishes the codecs and
// returns t's.
func codecFor(t reflect.Type) *codec {
	codecs.mu.Lock()
	defer codecs.mu.Unlock()
	if codecs.byType == nil {
		codecs.byType = map[reflect.Type]*codec{}
	}
	var added []*codec
	c := compileType(t, &added)
	if len(added) > 0 {
		var old map[unsafe.Pointer]*codec
		if m := codecs.byKey.Load(); m != nil {
			old = *m
		}
		next := make(map[unsafe.Pointer]*codec, len(old)+len(added))
		for k, v := range old {
			next[k] = v
		}
		for _, a := range added {
			if a.key != nil {
				next[a.key] = a
			}
		}
		codecs.byKey.Store(&next)
	}
	return c
}

// compileType returns t's codec, building it (and adding it to *added) if
// it is new. codecs.mu is held.
func compileType(t reflect.Type, added *[]*codec) *codec {
	if c := codecs.byType[t]; c != nil {
		return c
	}
	c := &codec{typ: t, id: codecs.n}
	codecs.n++
	codecs.byType[t] = c
	*added = append(*added, c)
	if t.Kind() != reflect.Interface {
		// Ask the runtime how it stores t in an interface: a zero value of
		// a direct type has a nil data word; an indirect one never does.
		z := reflect.Zero(t).Interface()
		e := (*eface)(unsafe.Pointer(&z))
		c.key, c.direct = e.typ, e.data == nil
	}
	c.enc = buildEnc(c, added)
	return c
}

// heapCopy returns a pointer to a copy of v, a value of a direct type that
// is not a pointer (a map, a chan, a func, a struct or array of one
// pointer): the interface's data word is the value, and the codecs read
// values through pointers. It allocates.
func heapCopy(c *codec, v any) unsafe.Pointer {
	p := reflect.New(c.typ)
	p.Elem().Set(reflect.ValueOf(v))
	return p.UnsafePointer()
}

// ifaceValue returns the codec of the dynamic type of the interface (of
// type it) at p and a pointer to its value, or nil for a nil interface.
// The pointer points into the interface's memory when the type is direct.
func ifaceValue(it reflect.Type, p unsafe.Pointer) (*codec, unsafe.Pointer) {
	e := (*eface)(p)
	if it.NumMethod() == 0 {
		if e.typ == nil {
			return nil, nil
		}
		c := codecOf(e.typ, *(*any)(p))
		if c.direct {
			return c, unsafe.Pointer(&e.data)
		}
		return c, e.data
	}
	// A non-empty interface's first word is its method table, not the
	// type: let reflect turn it into an empty interface. The data word
	// is the second word of both.
	x := reflect.NewAt(it, p).Elem().Interface()
	if x == nil {
		return nil, nil
	}
	c := codecOf((*eface)(unsafe.Pointer(&x)).typ, x)
	if c.direct {
		return c, unsafe.Pointer(&e.data)
	}
	return c, e.data
}

func encNull(dst []byte, _ unsafe.Pointer) ([]byte, bool) { return append(dst, "null"...), false }

// hiddenJSON is Hidden as appendJSONString writes it.
const hiddenJSON = `"` + Hidden + `"`

// buildEnc builds c's encoder; it writes what the reflection encoder it
// replaced wrote (redactjson_oracle_test.go keeps it, and the tests hold
// the two to the same bytes).
func buildEnc(c *codec, added *[]*codec) encFunc {
	t := c.typ
	if t == timeType {
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			tm := *(*time.Time)(p)
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
		elem := compileType(t.Elem(), added)
		c.elem = elem
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return append(dst, "null"...), false
			}
			return elem.enc(dst, q)
		}
	case reflect.Interface:
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			c, q := ifaceValue(t, p)
			if c == nil {
				return append(dst, "null"...), false
			}
			return c.enc(dst, q)
		}
	case reflect.Struct:
		return structEnc(t, added)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return encNull // raw bytes are never shown
		}
		elem, size := compileType(t.Elem(), added), t.Elem().Size()
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			h := (*sliceHeader)(p)
			if h.len == 0 {
				return append(dst, "null"...), false
			}
			dst = append(dst, '[')
			for i := range h.len {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst, _ = elem.enc(dst, unsafe.Add(h.data, uintptr(i)*size))
			}
			return append(dst, ']'), true
		}
	case reflect.Array:
		n := t.Len()
		if n == 0 {
			return encNull
		}
		elem, size := compileType(t.Elem(), added), t.Elem().Size()
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			dst = append(dst, '[')
			for i := range n {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst, _ = elem.enc(dst, unsafe.Add(p, uintptr(i)*size))
			}
			return append(dst, ']'), true
		}
	case reflect.Map:
		return mapEnc(t, added)
	case reflect.String:
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			s := *(*string)(p)
			return appendJSONString(dst, s), s != ""
		}
	case reflect.Bool:
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			b := *(*bool)(p)
			return strconv.AppendBool(dst, b), b
		}
	case reflect.Int:
		return encInt[int]
	case reflect.Int8:
		return encInt[int8]
	case reflect.Int16:
		return encInt[int16]
	case reflect.Int32:
		return encInt[int32]
	case reflect.Int64:
		return encInt[int64]
	case reflect.Uint:
		return encUint[uint]
	case reflect.Uint16:
		return encUint[uint16]
	case reflect.Uint32:
		return encUint[uint32]
	case reflect.Uint64:
		return encUint[uint64]
	case reflect.Float32:
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			return appendFloat(dst, float64(*(*float32)(p))), true
		}
	case reflect.Float64:
		return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
			return appendFloat(dst, *(*float64)(p)), true
		}
	}
	// uint8, uintptr, complex numbers, chans, funcs, unsafe pointers:
	// Redact leaves them out.
	return encNull
}

func encInt[T int | int8 | int16 | int32 | int64](dst []byte, p unsafe.Pointer) ([]byte, bool) {
	return strconv.AppendInt(dst, int64(*(*T)(p)), 10), true
}

func encUint[T uint | uint16 | uint32 | uint64](dst []byte, p unsafe.Pointer) ([]byte, bool) {
	return strconv.AppendUint(dst, uint64(*(*T)(p)), 10), true
}

// fieldKind picks a struct field's inline fast path.
type fieldKind uint8

const (
	fieldAny       fieldKind = iota // through the codec
	fieldString                     // left out when ""
	fieldPointer                    // left out when nil, else the pointee's codec
	fieldSensitive                  // left out when zero, else Hidden
)

type fieldCodec struct {
	off   uintptr
	key   []byte // "name":
	comma []byte // ,"name":
	kind  fieldKind
	c     *codec
	zero  func(unsafe.Pointer) bool // fieldSensitive
}

func structEnc(t reflect.Type, added *[]*codec) encFunc {
	p := planOf(t)
	fs := make([]fieldCodec, 0, len(p.fields))
	for i := range p.fields {
		f := &p.fields[i]
		fc := fieldCodec{off: offsetOf(t, f.index), key: f.key, comma: append([]byte{','}, f.key...)}
		switch {
		case f.sensitive:
			fc.kind, fc.zero = fieldSensitive, zeroFunc(f.typ)
		case f.typ.Kind() == reflect.String:
			fc.kind = fieldString
		case f.typ.Kind() == reflect.Pointer:
			fc.kind, fc.c = fieldPointer, compileType(f.typ, added)
		default:
			fc.c = compileType(f.typ, added)
		}
		fs = append(fs, fc)
	}
	return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
		dst = append(dst, '{')
		n := 0
		for i := range fs {
			f := &fs[i]
			fp := unsafe.Add(p, f.off)
			switch f.kind {
			case fieldString:
				s := *(*string)(fp)
				if s == "" {
					continue
				}
				dst = appendKeyOf(dst, f, n)
				dst = appendJSONString(dst, s)
				n++
				continue
			case fieldSensitive:
				if f.zero(fp) {
					continue
				}
				dst = appendKeyOf(dst, f, n)
				dst = append(dst, hiddenJSON...)
				n++
				continue
			case fieldPointer:
				q := *(*unsafe.Pointer)(fp)
				if q == nil {
					continue
				}
				mark := len(dst)
				dst = appendKeyOf(dst, f, n)
				var ok bool
				if dst, ok = f.c.elem.enc(dst, q); !ok {
					dst = dst[:mark]
					continue
				}
				n++
				continue
			}
			mark := len(dst)
			dst = appendKeyOf(dst, f, n)
			var ok bool
			if dst, ok = f.c.enc(dst, fp); !ok {
				dst = dst[:mark]
				continue
			}
			n++
		}
		return append(dst, '}'), n > 0
	}
}

func appendKeyOf(dst []byte, f *fieldCodec, n int) []byte {
	if n > 0 {
		return append(dst, f.comma...)
	}
	return append(dst, f.key...)
}

// mapEnc encodes maps through reflect (the runtime's map layout is not
// something to read with unsafe), sorted by key as reflect.Value.String
// shows it. Maps are rare in inputs and outputs; this allocates.
func mapEnc(t reflect.Type, added *[]*codec) encFunc {
	elem := compileType(t.Elem(), added)
	size := t.Elem().Size()
	sliceType := reflect.SliceOf(t.Elem())
	return func(dst []byte, p unsafe.Pointer) ([]byte, bool) {
		m := reflect.NewAt(t, p).Elem()
		n := m.Len()
		if n == 0 {
			return append(dst, "null"...), false
		}
		keys := make([]string, 0, n)
		vals := reflect.MakeSlice(sliceType, n, n)
		k := reflect.New(t.Key()).Elem()
		for it := m.MapRange(); it.Next() && len(keys) < n; {
			k.SetIterKey(it)
			vals.Index(len(keys)).SetIterValue(it)
			keys = append(keys, k.String())
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
		base := vals.UnsafePointer()
		dst = append(dst, '{')
		written := 0
		for _, i := range order {
			mark := len(dst)
			if written > 0 {
				dst = append(dst, ',')
			}
			dst = appendKey(dst, keys[i])
			var ok bool
			if dst, ok = elem.enc(dst, unsafe.Add(base, uintptr(i)*size)); !ok {
				dst = dst[:mark]
				continue
			}
			written++
		}
		return append(dst, '}'), true
	}
}

// offsetOf is the offset of the field at index (embedded structs, never
// pointers, on the way) in t.
func offsetOf(t reflect.Type, index []int) uintptr {
	var off uintptr
	for _, i := range index {
		f := t.Field(i)
		off += f.Offset
		t = f.Type
	}
	return off
}

// zeroFunc returns what reflect.Value.IsZero answers for a value of type
// t at a pointer.
func zeroFunc(t reflect.Type) func(unsafe.Pointer) bool {
	switch t.Kind() {
	case reflect.String:
		return func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
	case reflect.Slice:
		return func(p unsafe.Pointer) bool { return (*sliceHeader)(p).data == nil }
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return func(p unsafe.Pointer) bool { return *(*unsafe.Pointer)(p) == nil }
	case reflect.Interface:
		return func(p unsafe.Pointer) bool { return (*eface)(p).typ == nil }
	case reflect.Bool:
		return func(p unsafe.Pointer) bool { return !*(*bool)(p) }
	}
	return func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Elem().IsZero() }
}

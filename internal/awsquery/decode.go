package awsquery

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/opensts/opensts/internal/apierr"
)

// maxListMembers bounds how many X.member.N entries Decode reads for one list,
// whatever the request claims.
const maxListMembers = 1000

// Decode fills dst, a pointer to a struct, from Query parameters and validates
// it against the struct tags. It is safe for concurrent use; decode plans are
// cached per type.
//
// A field's wire name is its Go name unless tagged `query:"Name"` (`query:"-"`
// skips it). Tags:
//
//	required:"true"   absent -> "Value null at 'x' failed to satisfy constraint: Member must not be null"
//	min:"2" max:"64"  length (in UTF-16 units, as AWS counts) for strings and lists; value for numbers
//	pattern:"re"      full match; the message quotes re as written (\uXXXX is accepted).
//	                  Tag values are Go-quoted: write `pattern:"[\\w+=,.@-]*"` for [\w+=,.@-]*
//	enum:"a,b"        a string must be one of the comma-separated values
//	sensitive:"true"  the value is left out of validation messages
//
// Types: string, *string, int/int32/int64 and pointers to them, bool and
// *bool, []string (Name.member.N), []Struct (Name.member.N.Field), and nested
// structs or pointers to them (Name.Field, e.g. TaskPolicyArn.arn). Lists are
// read from member 1 up to the first missing index; "Name=" is an empty list.
// The validation error names fields in camelCase and list members as
// 'tags.1.member.key', as AWS does. A value that does not parse as the field's
// type is a ValidationError too ("Member must be an integer" / "a boolean").
// Parameters with no matching field are ignored.
func Decode(params url.Values, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return apierr.Internal(fmt.Errorf("%w: %T", ErrNotPointer, dst))
	}
	p, err := planFor(rv.Elem().Type())
	if err != nil {
		return apierr.Internal(err)
	}
	d := decoder{params: params}
	// Parameter names are built in this buffer (extended by append, never
	// kept) and looked up without converting them to strings. Likewise the
	// paths that validation messages name, which become strings only in a
	// message.
	var key, path [128]byte
	d.decodeStruct(p, rv.Elem(), key[:0], path[:0])
	if len(d.violations) > 0 {
		return apierr.Validation(d.violations...)
	}
	return nil
}

type kind uint8

const (
	kString kind = iota
	kInt
	kBool
	kStringList
	kStructList
	kStruct
)

type field struct {
	index     int
	wire      string // wire name
	path      string // name in messages (camelCase)
	kind      kind
	ptr       bool // *string, *int, *bool, *Struct
	bits      int  // int size
	required  bool
	sensitive bool
	constraints
	sub  *plan        // for kStruct and kStructList
	elem reflect.Type // for ptr: the type pointed to
}

// constraints are what a field's tags bound its value to, in the Query
// and the JSON protocols alike.
type constraints struct {
	min, max *int64
	// memberMin and memberMax bound the length of each member of a
	// string list (tags memberMin, memberMax).
	memberMin, memberMax *int64
	pattern              *pattern
	enum                 []string // enum tag: the values a string may take
}

// readConstraints reads sf's min, max, memberMin, memberMax, pattern and
// enum tags.
func readConstraints(t reflect.Type, sf reflect.StructField) (constraints, error) {
	var c constraints
	var err error
	for _, tag := range []struct {
		name string
		dst  **int64
	}{{"min", &c.min}, {"max", &c.max}, {"memberMin", &c.memberMin}, {"memberMax", &c.memberMax}} {
		if *tag.dst, err = intTag(sf, tag.name); err != nil {
			return c, err
		}
	}
	if pat, ok := sf.Tag.Lookup("pattern"); ok {
		if c.pattern, err = compilePattern(pat); err != nil {
			return c, fmt.Errorf("awsquery: %s.%s: pattern: %w", t, sf.Name, err)
		}
	}
	if e, ok := sf.Tag.Lookup("enum"); ok {
		c.enum = strings.Split(e, ",")
	}
	return c, nil
}

type plan struct {
	fields []field
}

var plans sync.Map // reflect.Type -> planResult

type planResult struct {
	p   *plan
	err error
}

func planFor(t reflect.Type) (*plan, error) {
	if v, ok := plans.Load(t); ok {
		r := v.(planResult)
		return r.p, r.err
	}
	p, err := buildPlan(t, 0)
	plans.Store(t, planResult{p, err})
	return p, err
}

func buildPlan(t reflect.Type, depth int) (*plan, error) {
	if depth > 8 {
		return nil, fmt.Errorf("awsquery: %s nests too deeply", t)
	}
	p := &plan{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		wire := sf.Name
		if tag, ok := sf.Tag.Lookup("query"); ok {
			if tag == "-" {
				continue
			}
			if tag != "" {
				wire = tag
			}
		}
		f := field{index: i, wire: wire, path: lowerFirst(wire), required: sf.Tag.Get("required") == "true",
			sensitive: sf.Tag.Get("sensitive") == "true"}
		var err error
		if f.constraints, err = readConstraints(t, sf); err != nil {
			return nil, err
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			f.ptr = true
			ft = ft.Elem()
			f.elem = ft
		}
		switch ft.Kind() {
		case reflect.String:
			f.kind = kString
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.kind, f.bits = kInt, ft.Bits()
		case reflect.Bool:
			f.kind = kBool
		case reflect.Struct:
			f.kind = kStruct
			if f.sub, err = buildPlan(ft, depth+1); err != nil {
				return nil, err
			}
		case reflect.Slice:
			if f.ptr {
				return nil, fmt.Errorf("awsquery: %s.%s: pointer to slice is not supported", t, sf.Name)
			}
			switch et := ft.Elem(); et.Kind() {
			case reflect.String:
				f.kind = kStringList
			case reflect.Struct:
				f.kind = kStructList
				if f.sub, err = buildPlan(et, depth+1); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("awsquery: %s.%s: unsupported list element %s", t, sf.Name, et)
			}
		default:
			return nil, fmt.Errorf("awsquery: %s.%s: unsupported type %s", t, sf.Name, sf.Type)
		}
		p.fields = append(p.fields, f)
	}
	return p, nil
}

func intTag(sf reflect.StructField, name string) (*int64, error) {
	s, ok := sf.Tag.Lookup(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("awsquery: field %s: tag %s: %w", sf.Name, name, err)
	}
	return &n, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

type decoder struct {
	params     url.Values
	violations []string
}

func (d *decoder) lookup(key []byte) (string, bool) {
	vs, ok := d.params[string(key)]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// present reports whether any parameter of the plan exists under prefix.
func (d *decoder) present(p *plan, prefix []byte) bool {
	for i := range p.fields {
		f := &p.fields[i]
		key := append(prefix, f.wire...)
		if _, ok := d.params[string(key)]; ok {
			return true
		}
		switch f.kind {
		case kStruct:
			if d.present(f.sub, append(key, '.')) {
				return true
			}
		case kStringList, kStructList:
			m := append(key, ".member.1"...)
			if _, ok := d.params[string(m)]; ok {
				return true
			}
			if f.kind == kStructList && d.present(f.sub, append(m, '.')) {
				return true
			}
		}
	}
	return false
}

// violate records a violation at path. The path is copied into the message:
// the caller's buffer is reused.
func (d *decoder) violate(value string, quoted bool, f *field, path []byte, constraint string) {
	var v string
	switch {
	case f.sensitive:
		v = "Value"
	case quoted:
		v = "Value '" + apierr.Quote(value) + "'"
	default:
		v = "Value " + apierr.Quote(value)
	}
	d.violations = append(d.violations, v+" at '"+string(path)+"' failed to satisfy constraint: "+constraint)
}

// decodeStruct decodes the fields of p into sv. prefix is the parameter
// name prefix and pathPrefix the message path prefix of the struct, both
// extended in place by append as decodeStruct recurses.
func (d *decoder) decodeStruct(p *plan, sv reflect.Value, prefix, pathPrefix []byte) {
	for i := range p.fields {
		f := &p.fields[i]
		key := append(prefix, f.wire...)
		path := append(pathPrefix, f.path...)
		fv := sv.Field(f.index)
		switch f.kind {
		case kString, kInt, kBool:
			raw, ok := d.lookup(key)
			if !ok {
				if f.required {
					d.violate("null", false, f, path, "Member must not be null")
				}
				continue
			}
			d.scalar(f, fv, raw, path)
		case kStruct:
			if !d.present(f.sub, append(key, '.')) {
				if f.required {
					d.violate("null", false, f, path, "Member must not be null")
				}
				continue
			}
			if f.ptr {
				nv := reflect.New(f.elem)
				fv.Set(nv)
				fv = nv.Elem()
			}
			d.decodeStruct(f.sub, fv, append(key, '.'), append(path, '.'))
		case kStringList:
			d.stringList(f, fv, key, path)
		case kStructList:
			d.structList(f, fv, key, path)
		}
	}
}

func (d *decoder) scalar(f *field, fv reflect.Value, raw string, path []byte) {
	if f.ptr {
		nv := reflect.New(f.elem)
		fv.Set(nv)
		fv = nv.Elem()
	}
	switch f.kind {
	case kString:
		fv.SetString(raw)
		if f.min != nil || f.max != nil {
			d.checkLength(f, raw, int64(utf16Len(raw)), path)
		}
		if f.pattern != nil && !f.pattern.match(raw) {
			d.violate(raw, true, f, path, "Member must satisfy regular expression pattern: "+f.pattern.src)
		}
		if f.enum != nil && !slices.Contains(f.enum, raw) {
			d.violate(raw, true, f, path, "Member must satisfy enum value set: ["+strings.Join(f.enum, ", ")+"]")
		}
	case kInt:
		n, err := strconv.ParseInt(raw, 10, f.bits)
		if err != nil {
			d.violate(raw, true, f, path, "Member must be an integer")
			return
		}
		fv.SetInt(n)
		if f.min != nil && n < *f.min {
			d.violate(raw, true, f, path, "Member must have value greater than or equal to "+strconv.FormatInt(*f.min, 10))
		}
		if f.max != nil && n > *f.max {
			d.violate(raw, true, f, path, "Member must have value less than or equal to "+strconv.FormatInt(*f.max, 10))
		}
	case kBool:
		switch strings.ToLower(raw) {
		case "true":
			fv.SetBool(true)
		case "false":
			fv.SetBool(false)
		default:
			d.violate(raw, true, f, path, "Member must be a boolean")
		}
	}
}

// lengthOK reports whether n is within the field's min and max.
func (f *field) lengthOK(n int64) bool {
	return (f.min == nil || n >= *f.min) && (f.max == nil || n <= *f.max)
}

func (d *decoder) checkLength(f *field, shown string, n int64, path []byte) {
	if f.min != nil && n < *f.min {
		d.violate(shown, true, f, path, "Member must have length greater than or equal to "+strconv.FormatInt(*f.min, 10))
	}
	if f.max != nil && n > *f.max {
		d.violate(shown, true, f, path, "Member must have length less than or equal to "+strconv.FormatInt(*f.max, 10))
	}
}

func (d *decoder) stringList(f *field, fv reflect.Value, key, path []byte) {
	var list []string
	member := append(key, ".member."...)
	for i := 1; i <= maxListMembers; i++ {
		v, ok := d.lookup(strconv.AppendInt(member, int64(i), 10))
		if !ok {
			break
		}
		list = append(list, v)
	}
	if list == nil {
		if v, ok := d.lookup(key); ok && v == "" {
			list = []string{}
		} else {
			if f.required {
				d.violate("null", false, f, path, "Member must not be null")
			}
			return
		}
	}
	fv.Set(reflect.ValueOf(list))
	// The message shows the list, which is worth building only for it.
	if n := int64(len(list)); !f.lengthOK(n) {
		d.checkLength(f, "["+strings.Join(list, ", ")+"]", n, path)
	}
	for i, v := range list {
		n := int64(utf16Len(v))
		if f.memberMin != nil && n < *f.memberMin {
			d.violate(v, true, f, append(strconv.AppendInt(append(path, '.'), int64(i+1), 10), ".member"...),
				"Member must have length greater than or equal to "+strconv.FormatInt(*f.memberMin, 10))
		}
		if f.memberMax != nil && n > *f.memberMax {
			d.violate(v, true, f, append(strconv.AppendInt(append(path, '.'), int64(i+1), 10), ".member"...),
				"Member must have length less than or equal to "+strconv.FormatInt(*f.memberMax, 10))
		}
	}
	if f.pattern != nil {
		for i, v := range list {
			if !f.pattern.match(v) {
				d.violate(v, true, f, append(strconv.AppendInt(append(path, '.'), int64(i+1), 10), ".member"...),
					"Member must satisfy regular expression pattern: "+f.pattern.src)
			}
		}
	}
}

func (d *decoder) structList(f *field, fv reflect.Value, key, path []byte) {
	var n int
	member := append(key, ".member."...)
	for n < maxListMembers && d.present(f.sub, append(strconv.AppendInt(member, int64(n+1), 10), '.')) {
		n++
	}
	if n == 0 {
		if v, ok := d.lookup(key); ok && v == "" {
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
			d.checkLength(f, "[]", 0, path)
		} else if f.required {
			d.violate("null", false, f, path, "Member must not be null")
		}
		return
	}
	// A new slice, grown in place in the field: reflect.MakeSlice would
	// also allocate a slice header.
	fv.SetZero()
	fv.Grow(n)
	fv.SetLen(n)
	for i := range n {
		// key.member.N. and path.N.member.
		k := append(strconv.AppendInt(member, int64(i+1), 10), '.')
		p := append(strconv.AppendInt(append(path, '.'), int64(i+1), 10), ".member."...)
		d.decodeStruct(f.sub, fv.Index(i), k, p)
	}
	d.checkLength(f, "[...]", int64(n), path)
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	// An ASCII prefix, skipped eight bytes at a time, is one unit a byte.
	n := 0
	for ; n+8 <= len(s); n += 8 {
		w := uint64(s[n]) | uint64(s[n+1])<<8 | uint64(s[n+2])<<16 | uint64(s[n+3])<<24 |
			uint64(s[n+4])<<32 | uint64(s[n+5])<<40 | uint64(s[n+6])<<48 | uint64(s[n+7])<<56
		if w&0x8080808080808080 != 0 {
			break
		}
	}
	for _, r := range s[n:] {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// ErrNotPointer is the cause of the InternalFailure Decode returns when dst
// is not a pointer to a struct (a programming error, never a client's).
var ErrNotPointer = errors.New("awsquery: destination is not a pointer to a struct")

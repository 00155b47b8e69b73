package awsquery

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Violation is the first constraint a JSON input breaks (CheckJSON).
type Violation struct {
	// Path names the member as AWS's validation messages do: the JSON
	// member names in camelCase, list elements by position from 1
	// ("tags.1.member.key").
	Path string
	// Kind is what was broken: MinLength, MaxLength, MinValue, MaxValue,
	// Pattern or Enum.
	Kind ViolationKind
	// Constraint is the constraint as a ValidationError states it
	// ("Member must have length less than or equal to 128").
	Constraint string
}

// ViolationKind is the kind of constraint a Violation broke.
type ViolationKind uint8

// Kinds of constraint.
const (
	MinLength ViolationKind = iota + 1
	MaxLength
	MinValue
	MaxValue
	Pattern
	Enum
)

// CheckJSON checks body, a JSON object already decoded into a value of type
// t without error, against the constraint tags of t's fields (the tags
// Decode reads: min, max, pattern, enum, memberMin, memberMax), recursing into
// structures and lists of structures. Only members present in body are
// checked: an absent optional member breaks nothing, and a member sent
// empty ("Name": "") is held to its minimum length as AWS holds it. A
// field's member name is its json tag's. It returns the first violation
// in field order, or nil.
func CheckJSON(t reflect.Type, body []byte) (*Violation, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	raw, err := parseJSON(d)
	if err != nil {
		return nil, err
	}
	p, err := jsonPlanFor(t)
	if err != nil {
		return nil, err
	}
	return p.check(raw, ""), nil
}

// jsonObject is a JSON object with every member as sent, in order,
// duplicates included: encoding/json decodes a member named twice into
// the same field twice, and merges two objects into one structure (the
// second sets only the fields it names, in a structure, a pointer's or a
// list element's, that keeps the first one's others), so a field can end
// up with the value of any occurrence. Each is therefore checked; a map,
// which keeps only the last, would let the first through unchecked.
type jsonObject []jsonMember

type jsonMember struct {
	name  string
	value any
}

// parseJSON reads one JSON value: a jsonObject, []any, string,
// json.Number, bool or nil.
func parseJSON(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	var v any
	switch delim {
	case '{':
		obj := jsonObject{}
		for d.More() {
			name, err := d.Token()
			if err != nil {
				return nil, err
			}
			mv, err := parseJSON(d)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsonMember{name: name.(string), value: mv})
		}
		v = obj
	case '[':
		list := []any{}
		for d.More() {
			ev, err := parseJSON(d)
			if err != nil {
				return nil, err
			}
			list = append(list, ev)
		}
		v = list
	}
	if _, err := d.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	return v, nil
}

// jsonField is one checked field of a JSON input structure.
type jsonField struct {
	name, path   string
	list, number bool
	constraints            // enum: a string's (or a string list element's) values
	sub          *jsonPlan // a structure, or a list's structure element
}

type jsonPlan struct {
	fields []jsonField
	// names are the member names of every field of the structure, checked
	// or not: encoding/json fills a field from a member of another name
	// only when no field has that exact name.
	names map[string]bool
}

var jsonPlans sync.Map // reflect.Type -> *jsonPlan or error

func jsonPlanFor(t reflect.Type) (*jsonPlan, error) {
	if v, ok := jsonPlans.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*jsonPlan), nil
	}
	p, err := buildJSONPlan(t, 0)
	if err != nil {
		jsonPlans.Store(t, err)
		return nil, err
	}
	jsonPlans.Store(t, p)
	return p, nil
}

func buildJSONPlan(t reflect.Type, depth int) (*jsonPlan, error) {
	if depth > 8 {
		return nil, fmt.Errorf("awsquery: %s nests too deeply", t)
	}
	p := &jsonPlan{names: map[string]bool{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		p.names[name] = true
		f := jsonField{name: name, path: lowerFirst(name)}
		var err error
		if f.constraints, err = readConstraints(t, sf); err != nil {
			return nil, err
		}
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
			f.number = true
		case reflect.Struct:
			if ft.NumField() > 0 {
				if f.sub, err = buildJSONPlan(ft, depth+1); err != nil {
					return nil, err
				}
			}
		case reflect.Slice:
			f.list = true
			et := ft.Elem()
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if f.sub, err = buildJSONPlan(et, depth+1); err != nil {
					return nil, err
				}
			}
		}
		if f.min == nil && f.max == nil && f.memberMin == nil && f.memberMax == nil && f.pattern == nil && f.enum == nil && f.sub == nil {
			continue
		}
		p.fields = append(p.fields, f)
	}
	return p, nil
}

func (p *jsonPlan) check(raw any, prefix string) *Violation {
	obj, ok := raw.(jsonObject)
	if !ok {
		return nil // not an object: the decoder answered for it
	}
	for i := range p.fields {
		f := &p.fields[i]
		for _, v := range p.members(obj, f.name) {
			if viol := f.check(v, prefix); viol != nil {
				return viol
			}
		}
	}
	return nil
}

// members returns the values of obj that encoding/json decodes into the
// field named name, in the order sent: every member of that exact name,
// and every member whose name equals it under Unicode case folding (the
// decoder takes such a member for the field when no field has its exact
// name). The decoder may keep any of them, or merge them: each is checked.
func (p *jsonPlan) members(obj jsonObject, name string) []any {
	var out []any
	for _, m := range obj {
		if m.name == name || !p.names[m.name] && strings.EqualFold(m.name, name) {
			out = append(out, m.value)
		}
	}
	return out
}

// check checks v, the value of the member of f, below prefix.
func (f *jsonField) check(v any, prefix string) *Violation {
	if v == nil {
		return nil
	}
	path := prefix + f.path
	switch x := v.(type) {
	case string:
		if f.list || f.number {
			return nil
		}
		if viol := lengthViolation(f.min, f.max, int64(utf16Len(x)), path); viol != nil {
			return viol
		}
		if f.pattern != nil && !f.pattern.match(x) {
			return &Violation{Path: path, Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: " + f.pattern.src}
		}
		if viol := enumViolation(f.enum, x, path); viol != nil {
			return viol
		}
	case json.Number:
		if !f.number {
			return nil
		}
		n, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil {
			return nil
		}
		if f.min != nil && n < *f.min {
			return &Violation{Path: path, Kind: MinValue, Constraint: "Member must have value greater than or equal to " + strconv.FormatInt(*f.min, 10)}
		}
		if f.max != nil && n > *f.max {
			return &Violation{Path: path, Kind: MaxValue, Constraint: "Member must have value less than or equal to " + strconv.FormatInt(*f.max, 10)}
		}
	case []any:
		if !f.list {
			return nil
		}
		if viol := lengthViolation(f.min, f.max, int64(len(x)), path); viol != nil {
			return viol
		}
		for j, e := range x {
			at := path + "." + strconv.Itoa(j+1) + ".member"
			switch ev := e.(type) {
			case string:
				if viol := lengthViolation(f.memberMin, f.memberMax, int64(utf16Len(ev)), at); viol != nil {
					return viol
				}
				if f.pattern != nil && !f.pattern.match(ev) {
					return &Violation{Path: at, Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: " + f.pattern.src}
				}
				if viol := enumViolation(f.enum, ev, at); viol != nil {
					return viol
				}
			case jsonObject:
				if f.sub != nil {
					if viol := f.sub.check(ev, at+"."); viol != nil {
						return viol
					}
				}
			}
		}
	case jsonObject:
		if f.sub != nil && !f.list {
			if viol := f.sub.check(x, path+"."); viol != nil {
				return viol
			}
		}
	}
	return nil
}

func lengthViolation(lo, hi *int64, n int64, path string) *Violation {
	if lo != nil && n < *lo {
		return &Violation{Path: path, Kind: MinLength, Constraint: "Member must have length greater than or equal to " + strconv.FormatInt(*lo, 10)}
	}
	if hi != nil && n > *hi {
		return &Violation{Path: path, Kind: MaxLength, Constraint: "Member must have length less than or equal to " + strconv.FormatInt(*hi, 10)}
	}
	return nil
}

func enumViolation(enum []string, v, path string) *Violation {
	if enum == nil || slices.Contains(enum, v) {
		return nil
	}
	return &Violation{Path: path, Kind: Enum, Constraint: "Member must satisfy enum value set: [" + strings.Join(enum, ", ") + "]"}
}

package pipeline

import (
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Hidden replaces a sensitive value in what Redact returns (CloudTrail's
// own word for it).
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Redact returns a copy of an action's typed input or output as plain
// values for an observer (audit, logs): structs become maps keyed by their
// wire names (the json, xml or query tag's name, else the field name) in lower
// camel case (CloudTrail's requestParameters style: accessKeyId),
// zero values are left out, times are RFC 3339 strings, and every field
// tagged `sensitive:"true"` (MFA codes, secret keys, session tokens, MFA
// seeds, assertions) is Hidden, however deep it sits. Secrets therefore never
// reach an observer that uses it.
func Redact(v any) any {
	if v == nil {
		return nil
	}
	out, _ := redact(reflect.ValueOf(v))
	return out
}

var timeType = reflect.TypeFor[time.Time]()

func redact(v reflect.Value) (any, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return nil, false
		}
		return t.UTC().Format(time.RFC3339), true
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if f.Anonymous && fv.Kind() == reflect.Struct {
				if sub, ok := redact(fv); ok {
					for k, x := range sub.(map[string]any) {
						m[k] = x
					}
				}
				continue
			}
			name := wireName(f)
			if name == "" {
				continue
			}
			if f.Tag.Get("sensitive") == "true" {
				if !fv.IsZero() {
					m[name] = Hidden
				}
				continue
			}
			if x, ok := redact(fv); ok {
				m[name] = x
			}
		}
		return m, len(m) > 0
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil, false // raw bytes are never shown
		}
		if v.Len() == 0 {
			return nil, false
		}
		list := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			x, _ := redact(v.Index(i))
			list = append(list, x)
		}
		return list, true
	case reflect.Map:
		if v.Len() == 0 {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			if x, ok := redact(v.MapIndex(k)); ok {
				m[k.String()] = x
			}
		}
		return m, true
	case reflect.String:
		return v.String(), v.Len() > 0
	case reflect.Bool:
		return v.Bool(), v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

// wireName is the key of field f: its json, xml or query tag's name (the
// last element of an xml path) or its Go name, in lower camel case; "" for
// a field the wire leaves out ("-").
func wireName(f reflect.StructField) string {
	name := f.Name
	// query is the Query protocol's name of an input's parameter
	// (PolicyArn for a field PolicyARN): CloudTrail names it so
	// (policyArn), and so do the records' resources and detection.
	for _, key := range []string{"json", "xml", "query"} {
		tag, ok := f.Tag.Lookup(key)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if n == "-" {
			return ""
		}
		// A path names the element the value is in: its last step, or
		// for a list or map (Tags>member, SummaryMap>entry) the step
		// before the Query protocol's item element, as CloudTrail names
		// the member (tags, summaryMap).
		for {
			i := strings.LastIndexByte(n, '>')
			if i < 0 {
				break
			}
			if last := n[i+1:]; last != "member" && last != "entry" {
				n = last
				break
			}
			n = n[:i]
		}
		if n != "" {
			name = n
			break
		}
	}
	return lowerFirst(name)
}

// lowerFirst turns a Go field name into lower camel case, keeping
// initialisms readable: RoleARN → roleARN, MFA → mFA is avoided by
// lowering a leading run of capitals before the next word (MFASerial →
// mfaSerial, ARN → arn).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsUpper(r) {
			break
		}
		n += size
	}
	switch {
	case n == 0:
		return s
	case n == len(s):
		return strings.ToLower(s)
	case n > 1:
		// The last capital starts the next word.
		_, size := utf8.DecodeLastRuneInString(s[:n])
		n -= size
	}
	return strings.ToLower(s[:n]) + s[n:]
}

package policy

import (
	"encoding/json"
	"errors"
	"strings"
)

// MapAWSPrincipals calls f with every value of the "AWS" member of each
// statement's Principal and NotPrincipal, and returns doc with each value
// replaced by what f returns. Everything else in doc is kept byte for byte
// (white space, key order, escapes), so a stored policy reads back as it was
// written except for the values f changed. An error from f stops the walk
// and is returned as is.
//
// IAM uses it to bind the principals of stored trust policies to their
// unique ids when the policy is saved, and to show them as ARNs again when
// it is read, as AWS does. doc must be valid JSON (a policy that Parse
// accepted); anything else is an error.
func MapAWSPrincipals(doc string, f func(v string) (string, error)) (string, error) {
	w := &principalWalker{doc: doc, f: f}
	w.skipSpace()
	if err := w.value(0); err != nil {
		return "", err
	}
	w.skipSpace()
	if w.pos != len(doc) {
		return "", errors.New("map principals: trailing data")
	}
	if w.out == nil {
		return doc, nil
	}
	w.out.WriteString(doc[w.last:])
	return w.out.String(), nil
}

// principalWalker scans a JSON document and tracks where it is: level 0 is
// the policy object, 1 the Statement value (object or array), 2 a statement,
// 3 its Principal/NotPrincipal, 4 the AWS member (string or array).
type principalWalker struct {
	doc  string
	pos  int
	f    func(string) (string, error)
	out  *strings.Builder // nil until the first replacement
	last int              // doc[last:pos] is not yet copied to out
}

var errJSON = errors.New("map principals: invalid JSON")

func (w *principalWalker) skipSpace() {
	for w.pos < len(w.doc) {
		switch w.doc[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// value scans one value. state says what it is: 0 the document, 1 the
// Statement value, 2 a statement, 3 a principal element, 4 an AWS member
// value, 5 anything else.
func (w *principalWalker) value(state int) error {
	if w.pos >= len(w.doc) {
		return errJSON
	}
	switch w.doc[w.pos] {
	case '{':
		return w.object(state)
	case '[':
		return w.array(state)
	case '"':
		start := w.pos
		s, err := w.str()
		if err != nil {
			return err
		}
		if state == 4 {
			return w.replace(start, s)
		}
		return nil
	default:
		// number, true, false, null
		for w.pos < len(w.doc) && !strings.ContainsRune(",]} \t\n\r", rune(w.doc[w.pos])) {
			w.pos++
		}
		return nil
	}
}

func (w *principalWalker) object(state int) error {
	w.pos++ // {
	for {
		w.skipSpace()
		if w.pos < len(w.doc) && w.doc[w.pos] == '}' {
			w.pos++
			return nil
		}
		key, err := w.str()
		if err != nil {
			return err
		}
		w.skipSpace()
		if w.pos >= len(w.doc) || w.doc[w.pos] != ':' {
			return errJSON
		}
		w.pos++
		w.skipSpace()
		next := 5
		switch {
		case state == 0 && key == "Statement":
			next = 1
		case state == 1 || state == 2:
			// A statement (Statement as one object is state 1 itself).
			if key == "Principal" || key == "NotPrincipal" {
				next = 3
			}
		case state == 3 && key == "AWS":
			next = 4
		}
		if err := w.value(next); err != nil {
			return err
		}
		w.skipSpace()
		if w.pos >= len(w.doc) {
			return errJSON
		}
		switch w.doc[w.pos] {
		case ',':
			w.pos++
		case '}':
			w.pos++
			return nil
		default:
			return errJSON
		}
	}
}

func (w *principalWalker) array(state int) error {
	w.pos++ // [
	elem := 5
	switch state {
	case 1:
		elem = 2 // Statement: [statement, ...]
	case 4:
		elem = 4 // AWS: [principal, ...]
	}
	for {
		w.skipSpace()
		if w.pos < len(w.doc) && w.doc[w.pos] == ']' {
			w.pos++
			return nil
		}
		if err := w.value(elem); err != nil {
			return err
		}
		w.skipSpace()
		if w.pos >= len(w.doc) {
			return errJSON
		}
		switch w.doc[w.pos] {
		case ',':
			w.pos++
		case ']':
			w.pos++
			return nil
		default:
			return errJSON
		}
	}
}

// str scans a string token and returns its decoded value.
func (w *principalWalker) str() (string, error) {
	if w.pos >= len(w.doc) || w.doc[w.pos] != '"' {
		return "", errJSON
	}
	start := w.pos
	w.pos++
	escaped := false
	for w.pos < len(w.doc) {
		c := w.doc[w.pos]
		w.pos++
		switch c {
		case '\\':
			escaped = true
			w.pos++ // the escaped byte; \uXXXX's digits are plain bytes
		case '"':
			raw := w.doc[start:w.pos]
			if !escaped {
				return raw[1 : len(raw)-1], nil
			}
			var s string
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				return "", errJSON
			}
			return s, nil
		}
	}
	return "", errJSON
}

// replace swaps the string token at doc[start:w.pos] (whose value is v)
// for f(v) when that differs.
func (w *principalWalker) replace(start int, v string) error {
	nv, err := w.f(v)
	if err != nil {
		return err
	}
	if nv == v {
		return nil
	}
	if w.out == nil {
		w.out = &strings.Builder{}
		w.out.Grow(len(w.doc) + 64)
	}
	w.out.WriteString(w.doc[w.last:start])
	enc, err := json.Marshal(nv)
	if err != nil {
		return err
	}
	w.out.Write(enc)
	w.last = w.pos
	return nil
}

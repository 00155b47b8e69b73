package gateway

import (
	"io"
	"mime"
	"net/http"
)

// methodParam is the form field with which Rack (so Rails) and Symfony
// (so Laravel) let a POST name another method (Rack::MethodOverride,
// Request::getMethod with HTTP method parameter override on).
const methodParam = "_method"

// formBody reports whether a framework reads h's body as form fields: an
// application/x-www-form-urlencoded one, and (Rack's rule for a POST) one
// with no Content-Type, or one whose Content-Type does not parse.
func formBody(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err != nil || mt == "application/x-www-form-urlencoded"
}

// formScan passes a form-encoded body through and fails with gErrOverride
// when one of its keys names _method as a framework reads it: the gateway
// authorizes the request's own method, so a service that honoured the
// field would do what was not authorized (a DELETE sent as an allowed
// POST). Its memory is a few bytes whatever the body. Keys are separated
// by '&' or ';' (older Rack splits on both) and decoded as forms are ('+'
// is a space, %XX a byte), then as the frameworks name fields: PHP (so
// Symfony and Laravel) drops leading spaces and reads ' ' and '.' as '_'
// (".method" and " _method" are _method) and ends a name at a NUL, Rack 2
// drops leading brackets ("[_method]" is _method), and both read a key up
// to its first bracket as the field (an array or hash under _method is
// refused too).
type formScan struct {
	src io.Reader
	key formKey
	err error
}

func (f *formScan) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.src.Read(p)
	for _, c := range p[:n] {
		if f.key.feed(c) {
			f.err = gErrOverride
			return 0, f.err
		}
	}
	if err == io.EOF && f.key.end() {
		f.err = gErrOverride
		return 0, f.err
	}
	return n, err
}

// hasMethodField reports whether a form-encoded string (a query) has a key
// that names _method as formScan reads keys.
func hasMethodField(s string) bool {
	var k formKey
	for i := 0; i < len(s); i++ {
		if k.feed(s[i]) {
			return true
		}
	}
	return k.end()
}

// formKey follows the keys of a form-encoded stream, one raw byte at a
// time, decoding and normalizing each key as it comes.
type formKey struct {
	inValue bool // past the current field's '='
	pct     int  // bytes of a %XX escape seen: 0, 1 ('%') or 2 ('%X')
	hi      byte // the X of "%X"

	name    [len(methodParam)]byte // the normalized key so far
	n       int
	started bool // a byte other than a leading space or bracket came
	cut     bool // a bracket ended the field's name
	long    bool // the name is longer than _method
}

// feed takes one raw byte; it reports whether a key just ended as _method.
func (k *formKey) feed(c byte) bool {
	switch {
	case c == '&' || c == ';':
		hit := k.end()
		*k = formKey{}
		return hit
	case k.inValue:
		return false
	case c == '=':
		hit := k.end()
		k.inValue = true
		return hit
	}
	k.raw(c)
	return false
}

// raw decodes one raw byte of a key: '+' is a space, %XX a byte, a '%'
// not followed by two hex digits itself.
func (k *formKey) raw(c byte) {
	switch k.pct {
	case 1:
		if unhexDigit(c) >= 0 {
			k.hi, k.pct = c, 2
			return
		}
		k.pct = 0
		k.decoded('%')
	case 2:
		if unhexDigit(c) >= 0 {
			k.pct = 0
			k.decoded(byte(unhexDigit(k.hi)<<4 | unhexDigit(c)))
			return
		}
		k.pct = 0
		k.decoded('%')
		k.decoded(k.hi)
	}
	switch c {
	case '%':
		k.pct = 1
	case '+':
		k.decoded(' ')
	default:
		k.decoded(c)
	}
}

// decoded takes one decoded byte of a key and normalizes it.
func (k *formKey) decoded(c byte) {
	switch {
	case k.cut || k.long:
		return
	case !k.started && (c == ' ' || c == '[' || c == ']'):
		return
	case c == '[' || c == ']' || c == 0:
		// PHP also reads a name as a C string: a NUL ends it.
		k.cut = true
		return
	case c == ' ' || c == '.':
		c = '_'
	}
	k.started = true
	if k.n == len(k.name) {
		k.long = true
		return
	}
	k.name[k.n] = c
	k.n++
}

// end reports whether the current key (if not already judged) is _method.
func (k *formKey) end() bool {
	if k.inValue {
		return false
	}
	switch k.pct {
	case 1:
		k.decoded('%')
	case 2:
		k.decoded('%')
		k.decoded(k.hi)
	}
	k.pct = 0
	return !k.long && string(k.name[:k.n]) == methodParam
}

func unhexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

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

// maxFormKey bounds the raw bytes of a form key the scanner keeps: the
// longest spelling of "_method" is all of it percent-encoded (21 bytes);
// a longer key cannot decode to it.
const maxFormKey = 3 * len(methodParam)

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
// when one of its keys decodes to _method: the gateway authorizes the
// request's own method, so a service that honoured the field would do what
// was not authorized (a DELETE sent as an allowed POST). It keeps at most
// maxFormKey bytes whatever the body. Keys are separated by '&' or ';'
// (older Rack splits on both) and decoded as forms are: '+' is a space,
// %XX a byte.
type formScan struct {
	src     io.Reader
	key     [maxFormKey]byte
	n       int  // bytes of the current key kept
	inValue bool // past the current field's '='
	long    bool // the current key is longer than maxFormKey
	err     error
}

func (f *formScan) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.src.Read(p)
	for _, c := range p[:n] {
		if f.feed(c) {
			f.err = gErrOverride
			return 0, f.err
		}
	}
	if err == io.EOF && f.end() {
		f.err = gErrOverride
		return 0, f.err
	}
	return n, err
}

// feed takes one byte; it reports whether a key just ended as _method.
func (f *formScan) feed(c byte) bool {
	switch {
	case c == '&' || c == ';':
		hit := f.end()
		f.n, f.inValue, f.long = 0, false, false
		return hit
	case f.inValue:
		return false
	case c == '=':
		hit := f.end()
		f.inValue = true
		return hit
	case f.n < maxFormKey:
		f.key[f.n] = c
		f.n++
	default:
		f.long = true
	}
	return false
}

// end reports whether the current key (if not already judged) is _method.
func (f *formScan) end() bool {
	if f.inValue || f.long {
		return false
	}
	return isMethodKey(f.key[:f.n])
}

// isMethodKey reports whether raw decodes, as a form key, to _method.
func isMethodKey(raw []byte) bool {
	var out [len(methodParam) + 1]byte
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw) && unhexDigit(raw[i+1]) >= 0 && unhexDigit(raw[i+2]) >= 0:
			c = byte(unhexDigit(raw[i+1])<<4 | unhexDigit(raw[i+2]))
			i += 2
		}
		if n == len(out) {
			return false
		}
		out[n] = c
		n++
	}
	return string(out[:n]) == methodParam
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

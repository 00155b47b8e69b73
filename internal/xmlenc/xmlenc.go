// Package xmlenc holds the small XML text helpers that the Query-protocol
// encoder (internal/awsquery) and the hand-written result encoders of the
// services (internal/sts) share, so both produce the same bytes. It imports
// only the standard library (no net/http).
package xmlenc

import (
	"encoding/xml"
	"time"
)

// TimeFormat and TimeFormatMS are how time.Time values appear in results:
// ISO 8601 in UTC, with milliseconds only when they are not zero
// (2026-01-02T15:04:05Z, 2026-01-02T15:04:05.359Z).
const (
	TimeFormat   = "2006-01-02T15:04:05Z"
	TimeFormatMS = "2006-01-02T15:04:05.000Z"
)

// AppendTime appends t formatted as results carry it (see TimeFormat).
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()/int(time.Millisecond) == 0 {
		return t.AppendFormat(b, TimeFormat)
	}
	return t.AppendFormat(b, TimeFormatMS)
}

// needsEscape reports whether s holds a byte that encoding/xml.EscapeText
// may rewrite: markup characters, control characters and any non-ASCII byte
// (EscapeText replaces invalid UTF-8 and non-XML characters).
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if special[s[i]] {
			return true
		}
	}
	return false
}

// special marks the bytes needsEscape looks for.
var special = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' || c < 0x20 || c >= 0x80
	}
	return t
}()

// AppendEscaped appends s escaped exactly as encoding/xml.EscapeText escapes
// it. Text without markup, control or non-ASCII bytes is appended as is.
func AppendEscaped(b []byte, s string) []byte {
	if !needsEscape(s) {
		return append(b, s...)
	}
	w := appendWriter{b: b}
	_ = xml.EscapeText(&w, []byte(s))
	return w.b
}

// AppendElement appends <name>escaped text</name>.
func AppendElement(b []byte, name, text string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = AppendEscaped(b, text)
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

// AppendTimeElement appends <name>time</name> with t as AppendTime formats it.
func AppendTimeElement(b []byte, name string, t time.Time) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = AppendTime(b, t)
	b = append(b, '<', '/')
	b = append(b, name...)
	return append(b, '>')
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

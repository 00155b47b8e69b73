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
	year, month, day := t.Date()
	ms := t.Nanosecond() / int(time.Millisecond)
	if year < 0 || year > 9999 {
		// Signed or longer years, as time formats them.
		if ms == 0 {
			return t.AppendFormat(b, TimeFormat)
		}
		return t.AppendFormat(b, TimeFormatMS)
	}
	// What t.AppendFormat writes for the layouts, without parsing them.
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if ms != 0 {
		b = append(b, '.')
		b = appendDigits(b, ms, 3) // truncated, not rounded, as .000 is
	}
	return append(b, 'Z')
}

// appendDigits appends the width last decimal digits of v >= 0, zero-padded.
func appendDigits(b []byte, v, width int) []byte {
	b = append(b, make([]byte, width)...)
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// needsEscape reports whether s holds a byte that encoding/xml.EscapeText
// may rewrite: markup characters, control characters and any non-ASCII byte
// (EscapeText replaces invalid UTF-8 and non-XML characters).
func needsEscape(s string) bool {
	i := 0
	// Eight bytes to a branch: long values such as session tokens are
	// checked faster than a byte at a time.
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		if special[w[0]]|special[w[1]]|special[w[2]]|special[w[3]]|
			special[w[4]]|special[w[5]]|special[w[6]]|special[w[7]] != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if special[s[i]] != 0 {
			return true
		}
	}
	return false
}

// special is 1 for the bytes needsEscape looks for, 0 for the others.
var special = func() (t [256]uint8) {
	for c := range t {
		if c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' || c < 0x20 || c >= 0x80 {
			t[c] = 1
		}
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

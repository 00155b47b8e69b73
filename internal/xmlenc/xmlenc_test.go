package xmlenc

import (
	"bytes"
	"encoding/xml"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// escapeRef is AppendEscaped as encoding/xml defines it.
func escapeRef(b []byte, s string) []byte {
	buf := bytes.NewBuffer(b)
	_ = xml.EscapeText(buf, []byte(s))
	return buf.Bytes()
}

// needsEscapeRef is needsEscape as documented.
func needsEscapeRef(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return r == '<' || r == '>' || r == '&' || r == '"' || r == '\'' || r < 0x20 || r >= 0x80
	})
}

// TestNeedsEscape puts every byte value at every offset of strings long
// enough to take both the eight-byte loop and the byte loop, among
// neighbours of every kind.
func TestNeedsEscape(t *testing.T) {
	fills := []byte{'a', 0x00, 0x1f, 0x20, '!', '%', '(', ';', '=', '?', 0x7f, 0x80, 0xff}
	for _, fill := range fills {
		for n := 1; n <= 24; n++ {
			for pos := range n {
				for c := range 256 {
					b := bytes.Repeat([]byte{fill}, n)
					b[pos] = byte(c)
					s := string(b)
					if got, want := needsEscape(s), needsEscapeRef(s); got != want {
						t.Fatalf("needsEscape(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(0x80))
		}
		if got, want := needsEscape(string(b)), needsEscapeRef(string(b)); got != want {
			t.Fatalf("needsEscape(%q) = %v, want %v", b, got, want)
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	for _, s := range []string{
		"", "plain", strings.Repeat("AQoDYXdzEPT//////////wEXAMPLE", 5), `a&b<c>d'e"f`, "Jöhn-日本語-😀",
		"tab\there\nnl\rcr", "bad\xffutf8", "ctl\x01\x7f", "]]>", "\uFFFD", "\uFFFE", "\xed\xa0\x80", "12345678<",
	} {
		if got, want := string(AppendEscaped([]byte("x"), s)), string(escapeRef([]byte("x"), s)); got != want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", s, got, want)
		}
		if got, want := string(AppendElement(nil, "N", s)), "<N>"+string(escapeRef(nil, s))+"</N>"; got != want {
			t.Errorf("AppendElement(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendEscaped(f *testing.F) {
	f.Add("plain")
	f.Add(`a&b<c>d'e"f` + "\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendEscaped(nil, s), escapeRef(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendEscaped(%q) = %q, want %q", s, got, want)
		}
	})
}

// appendTimeRef is AppendTime by way of the layouts.
func appendTimeRef(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()/int(time.Millisecond) == 0 {
		return t.AppendFormat(b, TimeFormat)
	}
	return t.AppendFormat(b, TimeFormatMS)
}

func checkTime(t *testing.T, tm time.Time) {
	t.Helper()
	if got, want := string(AppendTime([]byte("x"), tm)), string(appendTimeRef([]byte("x"), tm)); got != want {
		t.Fatalf("AppendTime(%v) = %q, want %q", tm, got, want)
	}
	if got, want := string(AppendTimeElement(nil, "T", tm)), "<T>"+string(appendTimeRef(nil, tm))+"</T>"; got != want {
		t.Fatalf("AppendTimeElement(%v) = %q, want %q", tm, got, want)
	}
}

func TestAppendTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+1800), time.FixedZone("y", -7*3600)}
	for _, year := range []int{-10000, -1, 0, 1, 999, 1970, 2026, 9999, 10000, 123456} {
		for _, nsec := range []int{0, 1, 999_999, 1_000_000, 359_000_000, 999_999_999} {
			for _, z := range zones {
				checkTime(t, time.Date(year, 12, 31, 23, 59, 59, nsec, z))
				checkTime(t, time.Date(year, 1, 1, 0, 0, 0, nsec, z))
			}
		}
	}
	checkTime(t, time.Time{})
	checkTime(t, time.Unix(math.MaxInt64/2, 0))
	checkTime(t, time.Unix(math.MinInt64/2, 0))
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		checkTime(t, time.Unix(r.Int64N(600_000_000_000)-300_000_000_000, r.Int64N(1e9)).In(zones[r.IntN(len(zones))]))
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(1784157713), int64(359_000_000))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		checkTime(t, time.Unix(sec, nsec))
	})
}

func BenchmarkAppendElement(b *testing.B) {
	token := strings.Repeat("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW", 8)
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = AppendElement(buf[:0], "SessionToken", token)
	}
}

func BenchmarkAppendTimeElement(b *testing.B) {
	tm := time.Date(2026, 7, 15, 23, 28, 33, 359_000_000, time.UTC)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = AppendTimeElement(buf[:0], "Expiration", tm)
	}
}

package apierr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Quote keeps short values whole and cuts long ones at a whole UTF-8
// sequence, marked.
func TestQuote(t *testing.T) {
	if got := Quote("RoleArn"); got != "RoleArn" {
		t.Fatal(got)
	}
	exact := strings.Repeat("a", MaxQuoted)
	if Quote(exact) != exact {
		t.Fatal("a value of MaxQuoted bytes was cut")
	}
	for _, s := range []string{strings.Repeat("a", MaxQuoted+1), strings.Repeat("é", MaxQuoted), "a" + strings.Repeat("日", MaxQuoted)} {
		got := Quote(s)
		if !strings.HasSuffix(got, "...") || len(got) > MaxQuoted+3 || !utf8.ValidString(got) || !strings.HasPrefix(s, strings.TrimSuffix(got, "...")) {
			t.Errorf("Quote(%.10q...) = %q", s, got)
		}
	}
}

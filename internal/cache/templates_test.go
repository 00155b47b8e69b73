package cache

import (
	"fmt"
	"strings"
	"testing"
)

func TestTemplatesRoundTrip(t *testing.T) {
	tm := NewTemplates(2)
	doc := func(user string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + user + `"},"Action":"sts:AssumeRole"}]}`
	}
	texts := []struct {
		kind any
		s    string
	}{
		{"trust", doc("AIDAFIRST")},
		{"trust", doc("AIDASECOND")},
		{"trust", doc("")},
		{"trust", doc("AIDAFIRST")},
		{"trust", ""},
		{"trust", "x"},
		{"trust", doc("AIDAFIRST") + doc("AIDAFIRST")},
		{"other", `{"a":1}`},
		{"third", `{"kept":"whole"}`}, // past the bound
		{nil, "no kind"},
	}
	var recs [][]byte
	for _, x := range texts {
		recs = append(recs, Enc(nil).Text(tm, x.kind, x.s).String("after"))
	}
	if tm.Len() != 2 {
		t.Fatalf("%d templates, want 2", tm.Len())
	}
	if n := len(recs[1]); n > 30 {
		t.Fatalf("a document of a known kind takes %d bytes (whole: %d)", n, len(texts[1].s))
	}
	for i, x := range texts {
		d := NewDec(recs[i])
		if got, after := d.Text(tm), d.String(); got != x.s || after != "after" || !d.OK() {
			t.Fatalf("%d: read back %q, %q, ok %v; want %q", i, got, after, d.OK(), x.s)
		}
	}
	// A record of other Templates, or damaged, does not decode.
	if d := NewDec(recs[1]); d.Text(NewTemplates(2)) != "" || d.OK() {
		t.Fatal("a record decoded with Templates that lack its template")
	}
	for i := range recs[1] {
		for _, b := range []byte{0, 0x7f, 0xff} {
			r := append([]byte(nil), recs[1]...)
			r[i] = b
			d := NewDec(r)
			if s := d.Text(tm); d.OK() && !strings.Contains(s, "Statement") && s != "" {
				t.Logf("byte %d=%#x: %q", i, b, s) // decodes to something: fine, as long as it does not panic
			}
		}
	}
}

func FuzzTemplatesText(f *testing.F) {
	f.Add("AIDAONE", "AIDATWO", []byte{2, 10, 4, 2, 'x', 'y'})
	f.Fuzz(func(t *testing.T, a, b string, junk []byte) {
		tm := NewTemplates(1)
		ra := Enc(nil).Text(tm, 1, a)
		rb := Enc(nil).Text(tm, 1, b)
		for r, want := range map[string]string{string(ra): a, string(rb): b} {
			if d := NewDec([]byte(r)); d.Text(tm) != want || !d.OK() {
				t.Fatalf("%q does not read back", want)
			}
		}
		d := NewDec(junk)
		_ = d.Text(tm) // never panics
	})
}

func BenchmarkTemplatesText(b *testing.B) {
	tm := NewTemplates(8)
	docs := make([][]byte, 1000)
	for i := range docs {
		docs[i] = Enc(nil).Text(tm, "trust", fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AIDA%017d"},"Action":"sts:AssumeRole"}]}`, i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = NewDec(docs[i%len(docs)]).Text(tm)
	}
}

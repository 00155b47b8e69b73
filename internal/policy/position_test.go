package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestStatementSpans(t *testing.T) {
	t.Parallel()
	pos := func(off, line, col int) Position { return Position{Offset: off, Line: line, Column: col} }
	tests := []struct {
		name string
		kind Kind
		doc  string
		want []Span
	}{
		{"one statement object", Identity,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
			[]Span{{pos(36, 1, 37), pos(85, 1, 86)}}},
		{"statements over lines", Identity, "{\n" +
			"  \"Version\": \"2012-10-17\",\n" +
			"  \"Statement\": [\n" +
			"    {\"Effect\": \"Allow\", \"Action\": \"s3:*Object\", \"Resource\": \"*\"},\n" +
			"    {\"Sid\": \"NoDelete\", \"Effect\": \"Deny\", \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\"}\n" +
			"  ]\n" +
			"}",
			[]Span{{pos(50, 4, 5), pos(110, 4, 65)}, {pos(116, 5, 5), pos(199, 5, 88)}}},
		// Braces and escapes in strings are no statement boundaries; Latin-1
		// characters are two bytes and one column; a carriage return is a
		// column of its line.
		{"strings, escapes, characters", Identity,
			"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::é}{\\\"/*\"},\r\n" +
				"\t{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"s3:x\":\"ü{\"}}}]}",
			[]Span{{pos(37, 1, 38), pos(116, 1, 116)}, {pos(120, 2, 2), pos(212, 2, 93)}}},
		{"trust policy", Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			[]Span{{pos(37, 1, 38), pos(125, 1, 126)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.kind, tt.doc)
			var got []Span
			for i := range p.Len() {
				sp, ok := p.Span(i)
				if !ok {
					t.Fatalf("no span for statement %d of %d", i, p.Len())
				}
				got = append(got, sp)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			checkSpans(t, tt.doc, p)
			if _, ok := p.Span(p.Len()); ok {
				t.Error("a span past the last statement")
			}
			if _, ok := p.Span(-1); ok {
				t.Error("a span before the first statement")
			}
		})
	}
}

// checkSpans checks p's statement spans against doc: each is a JSON object
// holding an Effect, the spans are in order, and the lines and columns are
// those of their offsets.
func checkSpans(t *testing.T, doc string, p *Policy) {
	t.Helper()
	at := func(off int) Position {
		before := doc[:off]
		lineStart := strings.LastIndexByte(before, '\n') + 1
		return Position{Offset: off, Line: strings.Count(before, "\n") + 1, Column: utf8.RuneCountInString(before[lineStart:]) + 1}
	}
	prev := 0
	for i := range p.Len() {
		sp, ok := p.Span(i)
		if !ok {
			t.Fatalf("no span for statement %d", i)
		}
		if sp.Start.Offset < prev || sp.End.Offset <= sp.Start.Offset || sp.End.Offset > len(doc) {
			t.Fatalf("statement %d: span %+v out of order (previous end %d, document of %d bytes)", i, sp, prev, len(doc))
		}
		prev = sp.End.Offset
		var st map[string]any
		if err := json.Unmarshal([]byte(doc[sp.Start.Offset:sp.End.Offset]), &st); err != nil || st["Effect"] == nil {
			t.Fatalf("statement %d: %q is no statement (%v)", i, doc[sp.Start.Offset:sp.End.Offset], err)
		}
		if want := (Span{Start: at(sp.Start.Offset), End: at(sp.End.Offset)}); sp != want {
			t.Fatalf("statement %d: span %+v, want %+v", i, sp, want)
		}
	}
}

package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// referenceDecode is the decoder decodeJSON replaced, on encoding/json's
// Decoder.Token: the reference FuzzDecodeJSON compares it with.
func referenceDecode(doc string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	n, err := referenceValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return n, nil
}

func referenceValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o', start: int(dec.InputOffset()) - 1}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errSyntax
				}
				if n.has(k) {
					return nil, errDuplicateKey
				}
				v, err := referenceValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			n.end = int(dec.InputOffset())
			return n, nil
		case '[':
			n := &node{kind: 'a'}
			for dec.More() {
				v, err := referenceValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, errSyntax
	case string:
		return &node{kind: 's', str: t}, nil
	case json.Number:
		return &node{kind: 'n', str: t.String()}, nil
	case bool:
		if t {
			return &node{kind: 'b', str: "true"}, nil
		}
		return &node{kind: 'b', str: "false"}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, errSyntax
}

// sameNode reports where two trees differ ("" when they do not).
func sameNode(a, b *node) string {
	if a.kind != b.kind || a.str != b.str || a.start != b.start || a.end != b.end || len(a.keys) != len(b.keys) || len(a.arr) != len(b.arr) {
		return "node " + string(a.kind) + " " + a.str + " vs " + string(b.kind) + " " + b.str
	}
	for i := range a.keys {
		if a.keys[i] != b.keys[i] {
			return "key " + a.keys[i] + " vs " + b.keys[i]
		}
		if d := sameNode(a.vals[i], b.vals[i]); d != "" {
			return d
		}
	}
	for i := range a.arr {
		if d := sameNode(a.arr[i], b.arr[i]); d != "" {
			return d
		}
	}
	return ""
}

var jsonSeeds = []string{
	`{}`, `[]`, ` { "a" : [ 1 , -0.5e+3 , true , false , null , "x" ] } `, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1 "b":2}`,
	`{"a":1,"a":2}`, `{"a":{"b":{"c":[[[]]]}}}`, `"\u00e9\ud83d\ude00\ud800x\udc00\u0041"`, `"\ud800\u0041"`, `"\ud800\uzzzz"`,
	`"bad \x escape"`, "\"ctl \x01\"", "\"\xff\xfe invalid utf8\"", `"\"\\\/\b\f\n\r\t"`, `01`, `-`, `1.`, `.5`, `1e`, `1E+`, `-0`,
	`tru`, `nul`, `{"a":true}x`, `{} {}`, ``, `   `, `[` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 71),
	strings.Repeat(`[`, 64) + `"deep"` + strings.Repeat(`]`, 64), strings.Repeat(`[`, 65) + `"deep"` + strings.Repeat(`]`, 65),
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `"unterminated`, `{"a":"b\`,
}

// FuzzDecodeJSON: decodeJSON accepts exactly what the encoding/json decoder
// it replaced accepts, and builds the same tree (strings, numbers' text,
// object offsets).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range append(jsonSeeds, fuzzSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got, gerr := decodeJSON(doc)
		want, werr := referenceDecode(doc)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: decodeJSON error %v, encoding/json error %v", doc, gerr, werr)
		}
		if gerr == nil {
			if d := sameNode(got, want); d != "" {
				t.Fatalf("%q: trees differ: %s", doc, d)
			}
		}
	})
}

// The seeds, run as a test on every go test.
func TestDecodeJSONSeeds(t *testing.T) {
	for _, doc := range append(jsonSeeds, fuzzSeeds...) {
		got, gerr := decodeJSON(doc)
		want, werr := referenceDecode(doc)
		if (gerr == nil) != (werr == nil) {
			t.Errorf("%q: decodeJSON error %v, encoding/json error %v", doc, gerr, werr)
			continue
		}
		if gerr == nil {
			if d := sameNode(got, want); d != "" {
				t.Errorf("%q: trees differ: %s", doc, d)
			}
		}
	}
}

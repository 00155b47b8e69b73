package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// node is one JSON value with object keys in document order, so that
// validation can reject duplicate keys (encoding/json keeps the last one).
// Objects keep where they are in the document, so that statements can say
// where they came from.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	str   string
	keys  []string
	vals  []*node
	arr   []*node
	start int // objects: the byte offset of the opening brace
	end   int // objects: the byte offset just past the closing brace
}

func (n *node) get(key string) (*node, bool) {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i], true
		}
	}
	return nil, false
}

func (n *node) has(key string) bool {
	_, ok := n.get(key)
	return ok
}

var errDuplicateKey = errors.New("duplicate key")

// decodeJSON parses doc into a node tree. It fails on trailing data and on
// duplicate keys in one object.
func decodeJSON(doc string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	n, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return n, nil
}

const maxDepth = 64

func decodeValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			// The offset is just past the token (the brace) just read.
			n := &node{kind: 'o', start: int(dec.InputOffset()) - 1}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if n.has(k) {
					return nil, errDuplicateKey
				}
				v, err := decodeValue(dec, depth+1)
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
				v, err := decodeValue(dec, depth+1)
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
		return nil, errors.New("unexpected delimiter")
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
	return nil, errors.New("unexpected token")
}

// strings returns the string elements of a string-or-array node, skipping
// nulls; scalars (numbers, bools) are returned as their text.
func (n *node) strs() []string {
	switch n.kind {
	case 's', 'n', 'b':
		return []string{n.str}
	case 'a':
		out := make([]string, 0, len(n.arr))
		for _, e := range n.arr {
			if e.kind == 's' || e.kind == 'n' || e.kind == 'b' {
				out = append(out, e.str)
			}
		}
		return out
	}
	return nil
}

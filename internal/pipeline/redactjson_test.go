package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestAppendRedactedJSON checks that the planned encoder writes exactly
// what json.Marshal(Redact(v)) writes.
func TestAppendRedactedJSON(t *testing.T) {
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `sensitive:"true"`
		SessionToken    string `sensitive:"true"`
		Expiration      time.Time
	}
	type Embedded struct {
		Zeta  string
		Alpha int
	}
	type tree struct {
		Name     string `json:"name"`
		Children []*tree
	}
	type out struct {
		Embedded
		Credentials *creds
		RoleARN     string
		Tags        []struct{ Key, Value string }
		Size        *int
		Seed        []byte
		Skip        string `json:"-"`
		Path        string `xml:"A>B>LeafName"`
		Flag        bool
		Off         bool
		Ratio       float64
		Tiny        float32
		Attrs       map[string]string
		Empty       map[string]int
		Any         any
		List        []any
		Tree        *tree
		Code        string `sensitive:"true"`
		u           string
		U8          uint8
		U16         uint16
		Zero        struct{ A string }
		Structs     []struct{ A string }
		When        time.Time
	}
	n := 7
	vals := []any{
		nil,
		&out{},
		&out{Embedded: Embedded{"z", 3}, Credentials: &creds{AccessKeyID: "ASIA1", SecretAccessKey: "s3cr3t", SessionToken: "tok", Expiration: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			RoleARN: "arn:<&>\"\\\n\t\x01\u2028é\xff", Tags: []struct{ Key, Value string }{{"k", "v"}, {}}, Size: &n, Seed: []byte("seed"), Skip: "x", Path: "p",
			Flag: true, Ratio: 1.5e-9, Tiny: 2.5, Attrs: map[string]string{"b": "2", "a": "1", "c": ""}, Empty: map[string]int{}, Any: &creds{AccessKeyID: "A"},
			List: []any{nil, "s", 3, &creds{}}, Tree: &tree{Name: "r", Children: []*tree{{Name: "c"}, nil}}, Code: "123456", u: "hidden", U8: 9, U16: 10,
			Structs: []struct{ A string }{{}}, When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
		struct{ A string }{"a"},
		"plain",
		[]string{},
		map[string]any{"k": 1e21, "j": 123456789.0},
	}
	for i, v := range vals {
		want, err := json.Marshal(Redact(v))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendRedactedJSON(nil, v); string(got) != string(want) {
			t.Errorf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
	o := vals[2]
	for want, path := range map[string][]string{"ASIA1": {"credentials", "accessKeyId"}, Hidden: {"credentials", "secretAccessKey"}, "z": {"zeta"}, "": {"size"}, "p": {"leafName"}} {
		if got := StringAt(path...).Of(o); got != want {
			t.Errorf("StringAt(%v).Of = %q, want %q", path, got, want)
		}
	}
	if got := StringAt("credentials", "accessKeyId").Of(&out{}); got != "" {
		t.Errorf("nil path: %q", got)
	}
}

// AppendJSONString writes what encoding/json writes for every byte that
// needs a second look, at every position of a word (the eight-byte fast
// path must hand each one to the byte-by-byte path).
func TestAppendJSONStringEscapes(t *testing.T) {
	specials := []string{"\"", "\\", "<", ">", "&", "\x00", "\x1f", "\n", "\t", "\b", "\f", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "€", "😀"}
	for _, sp := range specials {
		for pos := range 20 {
			for _, tail := range []int{0, 1, 7, 8, 9} {
				s := strings.Repeat("a", pos) + sp + strings.Repeat("Z", tail)
				want, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				if got := AppendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
					t.Fatalf("%q: %s, want %s", s, got[1:], want)
				}
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/a<b>&\"c\"\\")
	f.Add("\x00\x1f\u2028é\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := "arn:aws:sts::123456789012:assumed-role/bench-role/bench-session-0123456789"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendJSONString(buf[:0], s)
	}
}

// The table of escaped bytes is encoding/json's: a byte is in it exactly
// when json.Marshal of a string of that byte alone (or, from 0x80, of a
// rune that starts with it) does not hold it as is.
func TestEscapedTable(t *testing.T) {
	for b := range 256 {
		s := string([]byte{byte(b)})
		if b >= utf8.RuneSelf {
			if escaped[b] != 1 {
				t.Fatalf("byte %#x: not looked at", b)
			}
			continue
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		plain := string(want) == `"`+s+`"`
		if plain != (escaped[b] == 0) {
			t.Fatalf("byte %#x: escaped %d, json.Marshal writes %s", b, escaped[b], want)
		}
	}
}

package iam

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeDocument(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": "b c"}`, "%7B%22a%22%3A%20%22b%20c%22%7D"},
		{"a+b/c*d~e_f.g-h", "a%2Bb%2Fc%2Ad~e_f.g-h"},
		{"é\n\t", "%C3%A9%0A%09"},
		{"", ""},
	}
	for _, tt := range tests {
		got := encodeDocument(tt.in)
		if got != tt.want {
			t.Errorf("encodeDocument(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// botocore decodes with urllib.parse.unquote: PathUnescape is the same.
		if back, err := url.PathUnescape(got); err != nil || back != tt.in {
			t.Errorf("PathUnescape(%q) = %q, %v", got, back, err)
		}
	}
}

func TestParsePolicyARN(t *testing.T) {
	type parts struct {
		Account, Path, Name string
		OK                  bool
	}
	tests := []struct {
		in   string
		want parts
	}{
		{"arn:aws:iam::aws:policy/ReadOnlyAccess", parts{"aws", "/", "ReadOnlyAccess", true}},
		{"arn:aws:iam::111122223333:policy/a/b/P", parts{"111122223333", "/a/b/", "P", true}},
		{"arn:aws:iam::111122223333:policy/", parts{}},
		{"arn:aws:iam::111122223333:role/R", parts{}},
		{"arn:aws:iam::11112222333:policy/P", parts{}},
		{"arn:aws:iam::111122223333:policy/a b", parts{}},
		{"arn:aws:s3:::bucket", parts{}},
	}
	for _, tt := range tests {
		var got parts
		got.Account, got.Path, got.Name, got.OK = parsePolicyARN(tt.in)
		if !got.OK {
			got = parts{}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parsePolicyARN(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestPolicySize(t *testing.T) {
	if got := policySize("{ \"a\" :\n\t\"b c\" }"); got != 10 {
		t.Errorf("policySize = %d, want 10", got)
	}
}

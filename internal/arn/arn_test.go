package arn

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ARN
		wantErr bool
	}{
		{in: "arn:aws:iam::111122223333:user/path/alice", want: ARN{"aws", "iam", "", "111122223333", "user/path/alice"}},
		{in: "arn:aws:s3:::bucket/key:with:colons", want: ARN{"aws", "s3", "", "", "bucket/key:with:colons"}},
		{in: "arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-1", want: ARN{"aws-cn", "ec2", "cn-north-1", "111122223333", "instance/i-1"}},
		{in: "arn:aws:iam::111122223333", wantErr: true},
		{in: "arx:aws:iam::1:user/a", wantErr: true},
		{in: "arn::iam::1:user/a", wantErr: true},
		{in: "arn:aws:::1:user/a", wantErr: true},
		{in: "arn:aws:iam::1:", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "anything", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", true}, // * spans /
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false},
		{"arn:aws:s3:::*", "arn:aws:s3:::bucket/key", true},
		{"arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::*", "arn:aws:iam::111122223333:user/alice", false}, // * does not span :
		{"arn:aws:*", "arn:aws:iam::111122223333:user/alice", false},
		{"arn:aws:*:*:*:*", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:ec2:us-east-?:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", true},
		{"arn:aws:ec2:us-east-?:*:instance/*", "arn:aws:ec2:us-east-10:1:instance/i-1", false},
		{"arn:aws:logs:*:*:log-group:*", "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s", true}, // resource part keeps colons
		{"arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/alice", false},     // case-sensitive
		{"arn:aws:s3:::b", "arn:aws:s3:::b", true},
		{"notarn*", "notarn-x", true},
		{"notarn*", "arn:aws:s3:::x", false},
		{"arn:aws:s3:::b", "*", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"*", "", true}, {"?", "", false}, {"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false}, {"*a", "bbba", true}, {"?é", "xé", true}, {"é?", "éx", true},
		{"a**", "a", true}, {"*?*", "", false},
		{"*aaaa?b", "aaaaaaab", true}, {"*aaaa?b", "aaaaaaaa", false}, {"*aa?b*", "xaaaab-aaxb", true},
		{"*" + strings.Repeat("a", 70) + "?b*", strings.Repeat("a", 500) + "xb", true},
		{"*" + strings.Repeat("a", 70) + "?b*", strings.Repeat("a", 500), false},
		{"*?b", "\xf0abcb", true}, {"*?*b*", "\xf0abcd", false}, // '?' takes the four bytes at the leftmost start
	}
	for _, tt := range tests {
		if got := Glob(tt.p, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

func TestGlobMarked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, wild, s string
		want       bool
	}{
		{"a*b", "\x00\x00\x00", "a*b", true}, // an unmarked '*' is literal
		{"a*b", "\x00\x00\x00", "axb", false},
		{"a*b", "\x00*\x00", "axxb", true},
		{"x?y", "\x00\x00\x00", "xzy", false},
		{"x.y", "\x00?\x00", "xzy", true},
		{"a*?*", "\x00**\x00", "a*?x", false}, // "*" then a literal '?'
		{"a*?*", "\x00*\x00\x00", "aq?*", true},
	}
	for _, tt := range tests {
		if got := GlobMarked(tt.p, []byte(tt.wild), tt.s); got != tt.want {
			t.Errorf("GlobMarked(%q, %q, %q) = %v, want %v", tt.p, tt.wild, tt.s, got, tt.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/key")
	f.Add("arn:aws:iam::*:user/?lice", "arn:aws:iam::1:user/alice")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		Match(pattern, s)
		if Match(s, s) != true && !containsWild(s) {
			t.Fatalf("Match(%q, itself) = false", s)
		}
		if a, err := Parse(s); err == nil {
			b, err := Parse(a.String())
			if err != nil || b != a {
				t.Fatalf("round trip %q: %v %v", s, b, err)
			}
		}
	})
}

func containsWild(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}

func TestSegmentsMatchesSplit(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", ":", "a:b:c:d:e:f", "arn:aws:s3:::b/k:x:y", "arn:aws:iam::1", "::::::", "a:b:c:d:e"} {
		var want [6]string
		okWant := Split(s, &want)
		got, ok := Segments(s)
		if ok != okWant || ok && got != want {
			t.Errorf("Segments(%q) = %q, %v; Split gives %q, %v", s, got, ok, want, okWant)
		}
	}
}

func TestParseIAM(t *testing.T) {
	tests := []struct {
		in, kind string
		want     IAMResource
		ok       bool
	}{
		{"arn:aws:iam::123456789012:role/R", "role", IAMResource{"123456789012", "role", "/", "R"}, true},
		{"arn:aws:iam::123456789012:role/a/b/R", "role", IAMResource{"123456789012", "role", "/a/b/", "R"}, true},
		{"arn:aws:iam::aws:policy/AdministratorAccess", "policy", IAMResource{"aws", "policy", "/", "AdministratorAccess"}, true},
		{"arn:aws:iam::aws:role/R", "role", IAMResource{}, false},
		{"arn:aws:iam::123456789012:role/", "role", IAMResource{}, false},
		{"arn:aws:iam::123456789012:role/a/", "role", IAMResource{}, false},
		{"arn:aws:iam::12345678901:role/R", "role", IAMResource{}, false},
		{"arn:aws:iam:us-east-1:123456789012:role/R", "role", IAMResource{}, false},
		{"arn:aws:iam::123456789012:user/R", "role", IAMResource{}, false},
		{"arn:aws:sts::123456789012:role/R", "role", IAMResource{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseIAM(tt.in, tt.kind)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseIAM(%q, %q) = %+v, %v; want %+v, %v", tt.in, tt.kind, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
	if User("1", "", "u") != "arn:aws:iam::1:user/u" || Role("1", "/p/", "r") != "arn:aws:iam::1:role/p/r" ||
		AssumedRole("1", "r", "s") != "arn:aws:sts::1:assumed-role/r/s" || Root("1") != "arn:aws:iam::1:root" {
		t.Error("constructors")
	}
}

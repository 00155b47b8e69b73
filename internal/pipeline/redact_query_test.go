package pipeline_test

import (
	"testing"

	"github.com/opensts/opensts/internal/pipeline"
)

// TestQueryParameterNames: a field named for Go (PolicyARN) with the
// Query protocol's name in its tag is recorded under that name, as
// CloudTrail records it (policyArn); StringAt reads it so.
func TestQueryParameterNames(t *testing.T) {
	in := &struct {
		PolicyARN   string `query:"PolicyArn" required:"true"`
		AccessKeyID string `query:"AccessKeyId"`
		Password    string `query:"LDAPPassword" sensitive:"true"`
		RoleARN     string
	}{"arn:aws:iam::1:policy/p", "AKIA1", "s3cret", "arn:aws:iam::1:role/r"}
	want := `{"accessKeyId":"AKIA1","ldapPassword":"` + pipeline.Hidden + `","policyArn":"arn:aws:iam::1:policy/p","roleARN":"arn:aws:iam::1:role/r"}`
	if got := string(pipeline.AppendRedactedJSON(nil, in)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := pipeline.StringAt("policyArn").Of(in); got != in.PolicyARN {
		t.Errorf("StringAt(policyArn) = %q", got)
	}
}

// TestBoolAt: BoolAt reads a bool (through pointers) as "true" or
// "false", a string as StringAt does, and anything else as "".
func TestBoolAt(t *testing.T) {
	type in struct {
		SetAsDefault *bool
		Flag         bool
		Name         string
		N            int
		Secret       bool `sensitive:"true"`
	}
	for _, tc := range []struct {
		v    any
		path string
		want string
	}{
		{&in{SetAsDefault: new(true)}, "setAsDefault", "true"},
		{&in{SetAsDefault: new(false)}, "setAsDefault", "false"},
		{&in{}, "setAsDefault", ""},
		{in{Flag: true}, "flag", "true"},
		{&in{}, "flag", "false"},
		{&in{Name: "n"}, "name", "n"},
		{&in{N: 3}, "n", ""},
		{&in{Secret: true}, "secret", pipeline.Hidden},
		{(*in)(nil), "flag", ""},
	} {
		if got := pipeline.BoolAt(tc.path).Of(tc.v); got != tc.want {
			t.Errorf("BoolAt(%q).Of(%+v) = %q, want %q", tc.path, tc.v, got, tc.want)
		}
		if got, want := pipeline.StringAt(tc.path).Of(tc.v), map[bool]string{true: tc.want, false: ""}[tc.path == "name" || tc.path == "secret"]; got != want {
			t.Errorf("StringAt(%q).Of(%+v) = %q, want %q", tc.path, tc.v, got, want)
		}
	}
}

package policy

import (
	"testing"
)

// TestParseValue checks ParseValue against the engine: each value it
// accepts is matched by a condition of its type, and a value it refuses is
// matched by none (a condition every readable value meets).
func TestParseValue(t *testing.T) {
	t.Parallel()
	catchAll := map[ValueType]string{
		NumericValue: `"NumericGreaterThanEquals":{"k:v":"-1e308"}`,
		BooleanValue: `"Bool":{"k:v":["true","false"]}`,
		DateValue:    `"DateGreaterThan":{"k:v":"1000-01-01T00:00:00Z"}`,
		IPValue:      `"IpAddress":{"k:v":["0.0.0.0/0","::/0"]}`,
	}
	tests := []struct {
		typ  ValueType
		v    string
		want string // "" when refused
		cond string // a condition the accepted value meets
	}{
		{StringValue, "anything at all", "anything at all", `"StringEquals":{"k:v":"anything at all"}`},
		{NumericValue, "120", "120", `"NumericEquals":{"k:v":"120"}`},
		{NumericValue, "2.5e1", "2.5e1", `"NumericEquals":{"k:v":"25"}`},
		{NumericValue, "-0.5", "-0.5", `"NumericLessThan":{"k:v":"0"}`},
		{NumericValue, "two", "", ""},
		{NumericValue, "1e400", "", ""},
		{BooleanValue, "true", "true", `"Bool":{"k:v":"true"}`},
		{BooleanValue, "FALSE", "false", `"Bool":{"k:v":"false"}`},
		{BooleanValue, "yes", "", ""},
		{DateValue, "2026-03-04T05:06:07Z", "2026-03-04T05:06:07Z", `"DateEquals":{"k:v":"2026-03-04T05:06:07Z"}`},
		{DateValue, "2026-03-04T05:06:07.5+01:00", "2026-03-04T05:06:07.5+01:00", `"DateEquals":{"k:v":"2026-03-04T04:06:07.5Z"}`},
		{DateValue, "2026-03-04T05:06:07", "2026-03-04T05:06:07", `"DateEquals":{"k:v":"2026-03-04T05:06:07Z"}`},
		{DateValue, "2026-03-04T05Z", "2026-03-04T05Z", `"DateEquals":{"k:v":"2026-03-04T05:00:00Z"}`},
		{DateValue, "2026-03-04t05:06:07z", "2026-03-04t05:06:07z", `"DateEquals":{"k:v":"2026-03-04T05:06:07Z"}`},
		{DateValue, "2026-03-04", "2026-03-04", `"DateEquals":{"k:v":"2026-03-04T00:00:00Z"}`},
		{DateValue, "1500000000", "1500000000", `"DateEquals":{"k:v":"2017-07-14T02:40:00Z"}`},
		{DateValue, "yesterday", "", ""},
		{DateValue, "99999999999999999999", "", ""},
		{DateValue, "2026-03-04T05:06", "", ""},
		{DateValue, "2026-13-04", "", ""},
		{IPValue, "10.1.2.3", "10.1.2.3", `"IpAddress":{"k:v":"10.0.0.0/8"}`},
		{IPValue, "2001:db8::1", "2001:db8::1", `"IpAddress":{"k:v":"2001:db8::/32"}`},
		{IPValue, "10.1.2.0/24", "10.1.2.0/24", `"IpAddress":{"k:v":"10.0.0.0/8"}`},
		{IPValue, "10.0.0.300", "", ""},
		{IPValue, "localhost", "", ""},
		{BinaryValue, "QmluYXJ5", "QmluYXJ5", `"BinaryEquals":{"k:v":"QmluYXJ5"}`},
		{BinaryValue, "%%%", "", ""},
	}
	for _, tt := range tests {
		got, ok := ParseValue(tt.typ, tt.v)
		if want := tt.want != ""; ok != want || (ok && got != tt.want) {
			t.Errorf("ParseValue(%d, %q) = %q, %v; want %q, %v", tt.typ, tt.v, got, ok, tt.want, want)
			continue
		}
		cond := tt.cond
		if !ok {
			if cond = catchAll[tt.typ]; cond == "" {
				continue
			}
		}
		p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{`+cond+`}}}`)
		d := Evaluate(&Set{Identity: []Named{{ID: "p", Policy: p}}}, &Request{Principal: alice, Action: "s3:GetObject", Resource: "*", Context: ctxOf(one("k:v", tt.v))})
		if (d.Effect == Allow) != ok {
			t.Errorf("%q (type %d): accepted %v, but the condition %s decides %v", tt.v, tt.typ, ok, cond, d.Effect)
		}
	}
	if _, ok := ParseValue(0, "x"); ok {
		t.Error("a value of no type accepted")
	}
}

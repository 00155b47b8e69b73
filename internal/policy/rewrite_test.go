package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMapAWSPrincipals(t *testing.T) {
	upper := func(v string) (string, error) { return strings.ToUpper(v), nil }
	tests := []struct {
		name, doc, want string
	}{
		{"one statement object, string principal",
			`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:a"},"Action":"sts:AssumeRole"}}`,
			`{"Statement":{"Effect":"Allow","Principal":{"AWS":"ARN:A"},"Action":"sts:AssumeRole"}}`},
		{"array of statements, list, NotPrincipal, white space kept",
			"{ \"Version\": \"2012-10-17\",\n \"Statement\": [ {\"Principal\": {\"AWS\": [ \"a\" ,\"b\"], \"Service\":\"s\"}},\n {\"NotPrincipal\":{\"AWS\":\"c\"}} ] }",
			"{ \"Version\": \"2012-10-17\",\n \"Statement\": [ {\"Principal\": {\"AWS\": [ \"A\" ,\"B\"], \"Service\":\"s\"}},\n {\"NotPrincipal\":{\"AWS\":\"C\"}} ] }"},
		{"other AWS keys untouched",
			`{"Statement":[{"Condition":{"StringEquals":{"AWS":"x"}},"Principal":"*","Resource":"r"}],"AWS":"y"}`,
			`{"Statement":[{"Condition":{"StringEquals":{"AWS":"x"}},"Principal":"*","Resource":"r"}],"AWS":"y"}`},
		{"escaped value decoded before mapping",
			`{"Statement":[{"Principal":{"AWS":"a\u0062\/c"}}]}`,
			`{"Statement":[{"Principal":{"AWS":"AB/C"}}]}`},
		{"numbers and literals",
			`{"Statement":[{"Sid":1,"X":[true,null,false,-1.5e3],"Principal":{"AWS":["z"]}}]}`,
			`{"Statement":[{"Sid":1,"X":[true,null,false,-1.5e3],"Principal":{"AWS":["Z"]}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MapAWSPrincipals(tt.doc, upper)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	stop := errors.New("stop")
	if _, err := MapAWSPrincipals(`{"Statement":[{"Principal":{"AWS":"a"}}]}`, func(string) (string, error) { return "", stop }); !errors.Is(err, stop) {
		t.Errorf("error from f: got %v", err)
	}
	for _, bad := range []string{``, `{`, `{"Statement":[}`, `{"a":1}x`, `{"Statement":[{"Principal":{"AWS":"a}]}`} {
		if _, err := MapAWSPrincipals(bad, upper); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// FuzzMapAWSPrincipals checks that the walker never panics, that the
// identity mapping returns the document unchanged, and that a mapping keeps
// valid JSON valid.
func FuzzMapAWSPrincipals(f *testing.F) {
	f.Add(`{"Statement":[{"Principal":{"AWS":["a","b"]}}]}`)
	f.Add(`{"Statement":{"NotPrincipal":{"AWS":"a\"b"}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		same, err := MapAWSPrincipals(doc, func(v string) (string, error) { return v, nil })
		if err != nil {
			return
		}
		if same != doc {
			t.Fatalf("identity mapping changed %q to %q", doc, same)
		}
		out, err := MapAWSPrincipals(doc, func(v string) (string, error) { return v + "<\"x\">", nil })
		if err != nil {
			t.Fatalf("second walk failed: %v", err)
		}
		if json.Valid([]byte(doc)) && !json.Valid([]byte(out)) {
			t.Fatalf("mapping broke JSON: %q -> %q", doc, out)
		}
	})
}

package gateway

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testRules = `service: petstore
rules:
  - method: GET
    path: /pets/{id}
    action: petstore:GetPet
    resource: arn:aws:petstore:::pet/{id}
  - method: "*"
    path: /owners/{owner}/files/{key+}
    action: petstore:File
    resource: arn:aws:petstore:::owner/{owner}/file/{key}
    context:
      petstore:Owner: "{owner}"
`

func TestRulesMatch(t *testing.T) {
	rs, err := ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		want         *Match
	}{
		{"GET", "/pets/7", &Match{Action: "petstore:GetPet", Resource: "arn:aws:petstore:::pet/7"}},
		{"GET", "/pets/a%20b", &Match{Action: "petstore:GetPet", Resource: "arn:aws:petstore:::pet/a b"}},
		{"PUT", "/pets/7", nil},
		{"GET", "/pets/7/x", nil},
		{"GET", "/pets/", nil},
		{"GET", "/pets", nil},
		{"DELETE", "/owners/al/files/a/b/c", &Match{Action: "petstore:File", Resource: "arn:aws:petstore:::owner/al/file/a/b/c",
			Context: map[string][]string{"petstore:Owner": {"al"}}}},
		{"DELETE", "/owners/al/files", nil},
		{"DELETE", "/owners/al/files/", nil},
		{"DELETE", "/owners/al/files/a//b", nil},
	} {
		segs, e := splitPath(tc.path)
		if e != nil {
			t.Fatalf("%s: %v", tc.path, e)
		}
		got, ok := rs.Match(tc.method, segs)
		if ok != (tc.want != nil) || tc.want != nil && !cmp.Equal(got, tc.want) {
			t.Errorf("%s %s = %+v %v, want %+v", tc.method, tc.path, got, ok, tc.want)
		}
	}
}

// TestSplitPathRefuses: what a server behind the gateway could read as
// another path than the policy saw.
func TestSplitPathRefuses(t *testing.T) {
	for _, p := range []string{"/a/../b", "/a/./b", "/a/%2e%2e/b", "/a/%2E/b", "/..", "/a/b%2Fc", "/a\\b", "/a/%5c", "/a%00", "/a/%zz", "/a/%ff", "a",
		// A dot segment with path parameters: servlet containers (Tomcat,
		// Jetty) drop ";..." from a segment before they resolve dot
		// segments, so /public/..;/admin is /admin to them.
		"/a/..;/b", "/a/.;x/b", "/a/%2e%2e;/b", "/a/..%3b/b", "/a/..;jsessionid=1/b"} {
		if _, e := splitPath(p); e == nil {
			t.Errorf("splitPath(%q) accepted", p)
		}
	}
	for _, p := range []string{"/", "/a..b", "/...", "/a/.b/c.", "/a;b", "/a/b;..", "/a/...;"} {
		if _, e := splitPath(p); e != nil {
			t.Errorf("splitPath(%q) refused", p)
		}
	}
}

func TestParseRulesRefuses(t *testing.T) {
	rule := func(s string) string {
		return "service: petstore\nrules:\n  - " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
	}
	for name, doc := range map[string]string{
		"no service":          "rules:\n  - {method: GET, path: /a, action: p:A, resource: '*'}\n",
		"reserved service":    "service: sts\nrules:\n  - {method: GET, path: /a, action: p:A, resource: '*'}\n",
		"no rules":            "service: petstore\n",
		"unknown field":       rule("method: GET\npath: /a\naction: p:A\nresource: '*'\nresources: x"),
		"lowercase method":    rule("method: get\npath: /a\naction: p:A\nresource: '*'"),
		"relative path":       rule("method: GET\npath: a\naction: p:A\nresource: '*'"),
		"dot segment":         rule("method: GET\npath: /a/../b\naction: p:A\nresource: '*'"),
		"greedy not last":     rule("method: GET\npath: /{a+}/b\naction: p:A\nresource: '*'"),
		"partial variable":    rule("method: GET\npath: /a{b}\naction: p:A\nresource: '*'"),
		"repeated variable":   rule("method: GET\npath: /{a}/{a}\naction: p:A\nresource: '*'"),
		"wildcard action":     rule("method: GET\npath: /a\naction: p:*\nresource: '*'"),
		"unknown variable":    rule("method: GET\npath: /{a}\naction: p:A\nresource: arn:aws:p:::x/{b}"),
		"variable in region":  rule("method: GET\npath: /{a}\naction: p:A\nresource: arn:aws:p:{a}::x"),
		"variable in account": rule("method: GET\npath: /{a}\naction: p:A\nresource: arn:aws:p::{a}:x"),
		"not an ARN":          rule("method: GET\npath: /{a}\naction: p:A\nresource: x/{a}"),
		"global context key":  rule("method: GET\npath: /{a}\naction: p:A\nresource: '*'\ncontext: {aws:SourceIp: '{a}'}"),
	} {
		if _, err := ParseRules([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseRules([]byte(`{"service":"petstore","rules":[{"method":"GET","path":"/a/{b}","action":"p:A","resource":"arn:aws:p:::a/{b}"}]}`)); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

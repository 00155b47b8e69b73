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
		segs, e := splitPath(tc.path, false)
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
		for _, semicolons := range []bool{false, true} {
			if _, e := splitPath(p, semicolons); e == nil {
				t.Errorf("splitPath(%q, %v) accepted", p, semicolons)
			}
		}
	}
	for _, p := range []string{"/", "/a..b", "/...", "/a/.b/c."} {
		if _, e := splitPath(p, false); e != nil {
			t.Errorf("splitPath(%q) refused", p)
		}
	}
	// Any other ";": path parameters to servlet containers, which drop
	// them (/pets/secret;x is /pets/secret), unless the rules say the
	// API reads ";" as part of a segment.
	for _, p := range []string{"/a;b", "/a/b;..", "/a/...;", "/pets/secret;x", "/pets/secret%3Bx", "/pets;x/1"} {
		if _, e := splitPath(p, false); e == nil {
			t.Errorf("splitPath(%q) accepted a path parameter", p)
		}
		if _, e := splitPath(p, true); e != nil {
			t.Errorf("splitPath(%q) refused with semicolons literal", p)
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

// TestRulesCase: a case-sensitive file sends /ADMIN/x past a rule for
// /admin/{x} to a later catch-all (what an API that reads paths in any
// case then serves as admin); caseInsensitive: true matches it to the
// admin rule and lower-cases variables, and the loader warns about the
// case-sensitive file.
func TestRulesCase(t *testing.T) {
	const doc = `service: petstore
%s
rules:
  - method: "*"
    path: /admin/{x+}
    action: petstore:Admin
    resource: arn:aws:petstore:::admin/{x}
  - method: GET
    path: /pets/{id}
    action: petstore:GetPet
    resource: arn:aws:petstore:::pet/{id}
  - method: "*"
    path: /{any+}
    action: petstore:Other
    resource: arn:aws:petstore:::other/{any}
`
	sensitive, err := ParseRules([]byte(strings.Replace(doc, "%s", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	insensitive, err := ParseRules([]byte(strings.Replace(doc, "%s", "caseInsensitive: true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := splitPath("/ADMIN/Secret", false)
	if m, ok := sensitive.Match("GET", segs); !ok || m.Action != "petstore:Other" {
		t.Fatalf("case-sensitive /ADMIN/Secret = %+v", m)
	}
	m, ok := insensitive.Match("GET", segs)
	if !ok || m.Action != "petstore:Admin" || m.Resource != "arn:aws:petstore:::admin/secret" {
		t.Fatalf("case-insensitive /ADMIN/Secret = %+v", m)
	}
	segs, _ = splitPath("/Pets/KEY", false)
	if m, ok := insensitive.Match("GET", segs); !ok || m.Resource != "arn:aws:petstore:::pet/key" {
		t.Fatalf("case-insensitive /Pets/KEY = %+v", m)
	}
	// Letters other servers read as ASCII ones in any case (Spring: İ as
	// i; Java's equalsIgnoreCase, .NET: ı as I), which simple folding
	// does not: /admİn/x misses the admin rule here, and would go to the
	// catch-all while such an API serves it as /admin/x. Refused.
	for _, p := range []string{"/adm%C4%B0n/x", "/adm%C4%B1n/x", "/ADM%C4%B0N/x", "/pets/x", "/%C5%BFecret/x"} {
		segs, e := splitPath(p, false)
		if e != nil {
			t.Fatalf("%s: %v", p, e)
		}
		m, ok := insensitive.Match("GET", segs)
		lookalike := strings.Contains(p, "%C4")
		if lookalike && (!ok || m.Action != "petstore:Other") {
			t.Fatalf("%s matched %+v %v: the case for refusing it is gone", p, m, ok)
		}
		if got := insensitive.Lookalike(segs); got != lookalike {
			t.Errorf("Lookalike(%s) = %v (matched %+v %v)", p, got, m, ok)
		}
		if sensitive.Lookalike(segs) {
			t.Errorf("case-sensitive file: Lookalike(%s)", p)
		}
	}
	// Variables may hold any letter.
	if segs, _ := splitPath("/pets/I%C5%9F%C4%B1k", false); insensitive.Lookalike(segs) {
		t.Error("Lookalike(/pets/Işık)")
	}
	w := sensitive.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "rule 3") || !strings.Contains(w[0], "caseInsensitive") {
		t.Fatalf("warnings = %q", w)
	}
	if w := insensitive.Warnings(); len(w) != 0 {
		t.Fatalf("case-insensitive file warned: %q", w)
	}
	// No warning where no later rule is wider than an earlier one.
	plain, err := ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	if w := plain.Warnings(); len(w) != 0 {
		t.Fatalf("warnings = %q", w)
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/admin/{x}", "/{a}/{b}", true},
		{"/admin", "/{a}/{b}", false},
		{"/{t}/admin", "/{u+}", true},
		{"/admin/{x}", "/admin/{y+}", false},
		{"/{x+}", "/admin", false},
		{"/pets/{id}", "/pets/{other}", false},
		{"/pets/{id}", "/dogs/{id}", false},
	} {
		a, b := Rule{Method: "*", Path: tc.a, Action: "p:A", Resource: "*"}, Rule{Method: "*", Path: tc.b, Action: "p:A", Resource: "*"}
		if err := a.compile(); err != nil {
			t.Fatal(err)
		}
		if err := b.compile(); err != nil {
			t.Fatal(err)
		}
		if got := shadowsCase(a.segs, b.segs); got != tc.want {
			t.Errorf("shadowsCase(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

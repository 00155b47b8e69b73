package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opensts/opensts/verifier"
)

// policyAuthorizer stands in for OpenSTS with a policy that allows
// petstore:GetPet on every pet but explicitly denies pet/secret.
type policyAuthorizer struct{ seen []string }

func (a *policyAuthorizer) Authorize(_ context.Context, _ *http.Request, _, action, resource string, _ map[string][]string, _ ...verifier.Option) (*verifier.Decision, error) {
	a.seen = append(a.seen, resource)
	if action == "petstore:GetPet" && resource != "arn:aws:petstore:::pet/secret" && strings.HasPrefix(resource, "arn:aws:petstore:::pet/") {
		return &verifier.Decision{Decision: "Allow", Reason: "Allowed"}, nil
	}
	return &verifier.Decision{Decision: "Deny", Reason: "ExplicitDeny"}, nil
}

// servletPath is how Tomcat, Jetty and Spring read a request path: each
// segment's ";params" is dropped before routing.
func servletPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return strings.Join(segs, "/")
}

// TestPathParametersCannotPassADeny: splitPath refused "..;" (the servlet
// reading of path parameters) but kept ";x" in any other segment, inside a
// variable. GET /pets/secret;x was authorized as pet/secret;x (the Deny on
// pet/secret did not match) and forwarded as is, and a servlet-style API
// behind the gateway served /pets/secret (found by a review as an
// attacker). A ";" is now refused, unless the rules say the API reads it
// as part of a segment.
func TestPathParametersCannotPassADeny(t *testing.T) {
	var served []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served = append(served, servletPath(r.URL.EscapedPath()))
		_, _ = w.Write([]byte("pet data"))
	}))
	defer up.Close()
	rs, err := ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	az := &policyAuthorizer{}
	g, err := NewGeneric(GenericConfig{Rules: rs, Upstream: up.URL, Authorizer: az})
	if err != nil {
		t.Fatal(err)
	}
	do := func(path string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/petstore/aws4_request, SignedHeaders=host, Signature=00")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		return w.Code
	}
	if c := do("/pets/secret"); c != http.StatusForbidden {
		t.Fatalf("GET /pets/secret = %d, want 403 (the deny)", c)
	}
	for _, p := range []string{"/pets/secret;x", "/pets/secret%3bx", "/pets/secret;jsessionid=1"} {
		c := do(p)
		for _, s := range served {
			if s == "/pets/secret" {
				t.Fatalf("GET %s = %d: authorized as %q, and the servlet upstream served %q despite the Deny on pet/secret", p, c, az.seen[len(az.seen)-1], s)
			}
		}
		if c != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400 (InvalidURI)", p, c)
		}
	}
	if c := do("/pets/7"); c != http.StatusOK {
		t.Fatalf("GET /pets/7 = %d", c)
	}

	// An API that reads ";" as part of a segment says so in its rules.
	literal := "semicolonsLiteral: true\n" + testRules
	if rs, err = ParseRules([]byte(literal)); err != nil || !rs.SemicolonsLiteral {
		t.Fatalf("%v %+v", err, rs)
	}
	if g, err = NewGeneric(GenericConfig{Rules: rs, Upstream: up.URL, Authorizer: az}); err != nil {
		t.Fatal(err)
	}
	if c := do("/pets/a;b"); c != http.StatusOK || az.seen[len(az.seen)-1] != "arn:aws:petstore:::pet/a;b" {
		t.Fatalf("GET /pets/a;b with semicolons literal = %d, authorized as %q", c, az.seen[len(az.seen)-1])
	}
}

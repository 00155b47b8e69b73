package verifier_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package what its documentation says: the standard
// library, aws-sdk-go-v2, and of OpenSTS's internal packages only those of
// the decision itself (local mode: the authorize API's wire types and
// rules, authentication, the policy engine, SigV4, the revocation set),
// never the server, the pipeline or a store backend, so that a resource
// server links only what it uses.
var allowedInternal = map[string]bool{
	"github.com/opensts/opensts/internal/apierr":    true,
	"github.com/opensts/opensts/internal/authn":     true,
	"github.com/opensts/opensts/internal/authorize": true,
	"github.com/opensts/opensts/internal/cache":     true,
	"github.com/opensts/opensts/internal/policy":    true,
	"github.com/opensts/opensts/internal/session":   true,
	"github.com/opensts/opensts/internal/sigv4":     true,
}

func TestImports(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		n++
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range f.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/") && !allowedInternal[imp] {
				t.Errorf("%s imports %s", name, imp)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source files")
	}
}

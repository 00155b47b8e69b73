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
// library and aws-sdk-go-v2, never OpenSTS's internal packages (the server,
// a store backend), so that a resource server links only what it uses.
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
			if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/") {
				t.Errorf("%s imports %s", name, imp)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source files")
	}
}

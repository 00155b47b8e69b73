package server

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportDirection enforces the layering DESIGN.md fixes: the services
// never import net/http, the protocol packages or a store backend, and the
// policy engine imports only the standard library and internal/arn.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/opensts/opensts/"
	forbidden := []string{"net/http", mod + "internal/awsquery", mod + "internal/awsjson", mod + "internal/store/sqlite", mod + "internal/store/postgres", mod + "internal/store/sqlstore", mod + "internal/server"}
	rules := map[string]func(imp string) bool{
		"sts": nil, "iam": nil, "org": nil, "authz": nil, "session": nil, "mfa": nil,
		"policy": func(imp string) bool { return !strings.Contains(imp, ".") || imp == mod+"internal/arn" },
		"arn":    func(imp string) bool { return !strings.Contains(imp, ".") },
	}
	for pkg, allowed := range rules {
		dir := filepath.Join("..", pkg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, is := range f.Imports {
				imp, _ := strconv.Unquote(is.Path.Value)
				for _, bad := range forbidden {
					if imp == bad {
						t.Errorf("internal/%s/%s imports %s", pkg, name, imp)
					}
				}
				if allowed != nil && !allowed(imp) {
					t.Errorf("internal/%s/%s imports %s", pkg, name, imp)
				}
			}
		}
	}
}

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

// TestImportDirection enforces the layering DESIGN.md fixes:
//   - the services (sts, iam, org) and what they build on never import
//     net/http, the protocol packages, the pipeline or a store backend;
//   - authn (authentication, shared with the verifier and the gateway)
//     imports no server, pipeline, protocol package or store backend;
//   - the pipeline imports no service and no store;
//   - the policy engine imports only the standard library and internal/arn.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/opensts/opensts/"
	backends := []string{mod + "internal/store/sqlite", mod + "internal/store/postgres", mod + "internal/store/sqlstore", mod + "internal/server"}
	services := append([]string{"net/http", mod + "internal/awsquery", mod + "internal/awsjson", mod + "internal/pipeline", mod + "internal/authn"}, backends...)
	forbid := func(list ...string) func(string) bool {
		return func(imp string) bool {
			for _, bad := range list {
				if imp == bad {
					return false
				}
			}
			return true
		}
	}
	rules := map[string]func(imp string) bool{
		"sts": forbid(services...), "iam": forbid(services...), "org": forbid(services...),
		"authz": forbid(services...), "session": forbid(services...), "mfa": forbid(services...),
		"authn":    forbid(append([]string{mod + "internal/pipeline", mod + "internal/awsquery", mod + "internal/awsjson", mod + "internal/store"}, backends...)...),
		"pipeline": forbid(append([]string{mod + "internal/sts", mod + "internal/iam", mod + "internal/org", mod + "internal/store"}, backends...)...),
		"policy":   func(imp string) bool { return !strings.Contains(imp, ".") || imp == mod+"internal/arn" },
		"arn":      func(imp string) bool { return !strings.Contains(imp, ".") },
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
				if !allowed(imp) {
					t.Errorf("internal/%s/%s imports %s", pkg, name, imp)
				}
			}
		}
	}
}

package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/pipeline/redacttest"
	"github.com/opensts/opensts/internal/server"
)

// routeTypes lists the input and output types of every route a server
// registers, each once.
func routeTypes(t *testing.T) []reflect.Type {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "123456789012", "AKIAOPENSTSTEST00001", "testRootSecretForTestsOnly0123456789abcd"
	s, err := server.New(context.Background(), cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seen := map[reflect.Type]bool{}
	var types []reflect.Type
	for _, api := range s.APIs() {
		for _, action := range slices.Sorted(maps.Keys(api.Routes)) {
			r := api.Routes[action]
			if r.Input == nil || r.Output == nil {
				t.Errorf("%s %s: the route does not name its input and output types", api.Name, action)
				continue
			}
			for _, typ := range []reflect.Type{r.Input, r.Output} {
				if !seen[typ] {
					seen[typ] = true
					types = append(types, typ)
				}
			}
		}
	}
	if len(types) < 300 {
		t.Fatalf("only %d route types", len(types))
	}
	return types
}

// TestRedactedJSONOfEveryRoute fills the input and output of every route
// the server registers with random values (sensitive fields with secrets)
// and holds what the audit trail writes of them (AppendRedactedJSON, and
// StringPath for the fields records and detection read) to the
// reflection encoder it replaced; no secret may appear.
func TestRedactedJSONOfEveryRoute(t *testing.T) {
	t.Parallel()
	types := routeTypes(t)
	rounds := 20
	if testing.Short() {
		rounds = 4
	}
	f := &redacttest.Filler{R: rand.New(rand.NewPCG(11, 12))}
	// Interface fields (if any) get one of the route types' values.
	f.Interfaces = []func(*redacttest.Filler) any{
		func(*redacttest.Filler) any { return "str" },
		func(f *redacttest.Filler) any { return f.New(types[f.R.IntN(len(types))]).Interface() },
	}
	hidden := 0
	for _, typ := range types {
		for range rounds {
			v := f.New(typ).Interface()
			got := pipeline.AppendRedactedJSON(nil, v)
			if want := pipeline.OracleAppendRedactedJSON(nil, v); string(got) != string(want) {
				t.Fatalf("%v:\n got %s\nwant %s", typ, got, want)
			}
			if !json.Valid(got) {
				t.Fatalf("%v: not JSON: %s", typ, got)
			}
			for _, s := range f.Secrets {
				if strings.Contains(string(got), s) {
					t.Fatalf("%v: secret %q in %s", typ, s, got)
				}
			}
			hidden += strings.Count(string(got), `"`+pipeline.Hidden+`"`)
			checkStringPaths(t, typ, v, pipeline.Redact(v), nil, f.Secrets)
		}
	}
	if len(f.Secrets) == 0 || hidden == 0 {
		t.Errorf("no sensitive field met (%d secrets, %d Hidden)", len(f.Secrets), hidden)
	}
	t.Logf("%d route types, %d values each, %d secrets, %d Hidden", len(types), rounds, len(f.Secrets), hidden)
}

// checkStringPaths reads every path of Redact's view of v with a
// StringPath and with the reference walk.
func checkStringPaths(t *testing.T, typ reflect.Type, v, view any, prefix []string, secrets []string) {
	t.Helper()
	m, ok := view.(map[string]any)
	if !ok || len(prefix) > 3 {
		return
	}
	for k, x := range m {
		path := append(slices.Clone(prefix), k)
		got, want := pipeline.StringAt(path...).Of(v), pipeline.OracleRedactedString(v, path...)
		if got != want {
			t.Fatalf("%v: StringAt(%q).Of = %q, want %q", typ, path, got, want)
		}
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Fatalf("%v: StringAt(%q).Of is a secret", typ, path)
			}
		}
		checkStringPaths(t, typ, v, x, path, secrets)
	}
}

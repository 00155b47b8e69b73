// Package sharedtest locates the shared test suites that live beside the
// repository (../shared/testdata), for tests only. A missing folder fails the
// test: these suites are never skipped.
package sharedtest

import (
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns the absolute path of ../shared/testdata/name relative to the
// module root, failing t if it does not exist. OPENSTS_SHARED_TESTDATA
// overrides the testdata folder.
func Dir(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("OPENSTS_SHARED_TESTDATA")
	if base == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("shared testdata: %v", err)
		}
		base = filepath.Join(root, "..", "shared", "testdata")
	}
	dir := filepath.Join(base, name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared testdata %s: %v (expected beside the repository, see README)", name, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// ParseRawRequest builds a server-side *http.Request from a raw HTTP/1.1
// request as the suites ship it. It is lenient where net/http is strict
// (spaces and raw UTF-8 in the request target, folded header lines), so that
// every vector reaches the verifier; RequestURI carries the target as sent.
func ParseRawRequest(t testing.TB, raw string) (*http.Request, []byte) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	method, rest, ok := strings.Cut(lines[0], " ")
	if !ok {
		t.Fatalf("bad request line %q", lines[0])
	}
	target := strings.TrimSuffix(rest, " HTTP/1.1")
	path, query, _ := strings.Cut(target, "?")
	r := &http.Request{
		Method:        method,
		RequestURI:    target,
		URL:           &url.URL{Path: path, RawQuery: query},
		Header:        make(http.Header),
		Proto:         "HTTP/1.1",
		ContentLength: int64(len(body)),
	}
	var last string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' { // folded continuation line
			vs := r.Header[last]
			vs[len(vs)-1] += "\n" + l
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		last = textproto.CanonicalMIMEHeaderKey(name)
		r.Header[last] = append(r.Header[last], value)
	}
	if h := r.Header["Host"]; len(h) > 0 {
		r.Host = strings.TrimSpace(h[0])
		delete(r.Header, "Host")
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return r, b
}

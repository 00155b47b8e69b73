package server

import (
	"net"
	"regexp"
	"testing"
)

func TestRequestIDs(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 100000 {
		id := newRequestID()
		if !uuid4.MatchString(id) {
			t.Fatalf("request id %q is not UUID-shaped", id)
		}
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestRemoteHost(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:443", "::1:80", "host:1", "noport", "", ":80", "[::1]", "a]b:1", "a[b:1", "1.2.3.4:"} {
		host, _, err := net.SplitHostPort(addr)
		got, ok := remoteHost(addr)
		if ok != (err == nil) || (ok && got != host) {
			t.Errorf("remoteHost(%q) = %q, %v; SplitHostPort: %q, %v", addr, got, ok, host, err)
		}
	}
}

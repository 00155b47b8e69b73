package authn

import (
	"net"
	"testing"
)

func TestRemoteHost(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:443", "::1:80", "host:1", "noport", "", ":80", "[::1]", "a]b:1", "a[b:1", "1.2.3.4:"} {
		host, _, err := net.SplitHostPort(addr)
		got, ok := remoteHost(addr)
		if ok != (err == nil) || (ok && got != host) {
			t.Errorf("remoteHost(%q) = %q, %v; SplitHostPort: %q, %v", addr, got, ok, host, err)
		}
	}
}

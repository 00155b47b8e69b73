package authn

import (
	"net/http"
	"time"

	"github.com/opensts/opensts/internal/authz"
)

// Environment returns a caller with only what the request itself says of
// its environment (source IP, user agent, TLS, time): the start of an
// unsigned action's caller, whose identity the action establishes.
func Environment(r *http.Request, now time.Time) *authz.Caller {
	c := &authz.Caller{Now: now, UserAgent: r.UserAgent(), SecureTransport: r.TLS != nil}
	if host, ok := remoteHost(r.RemoteAddr); ok {
		c.SourceIP = host
	}
	return c
}

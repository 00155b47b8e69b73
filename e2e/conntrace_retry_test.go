package e2e

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// cutFirstBody fails the first response body's reads with err.
type cutFirstBody struct {
	next  http.RoundTripper
	err   error
	calls atomic.Int32
}

func (c *cutFirstBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if c.calls.Add(1) == 1 && err == nil {
		resp.Body = failingBody{resp.Body, c.err}
	}
	return resp, err
}

type failingBody struct {
	io.ReadCloser
	err error
}

func (f failingBody) Read([]byte) (int, error) { return 0, f.err }

// The env clients try an operation again when, and only when, their own
// connection was closed under its response (clientRetryer): a response
// cut by net.ErrClosed is read again, one cut otherwise fails at once.
func TestClientRetriesOnlyItsOwnClose(t *testing.T) {
	t.Parallel()
	e := start(t)
	for _, c := range []struct {
		err   error
		calls int32
		ok    bool
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, 2, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: io.ErrUnexpectedEOF}, 1, false},
		{io.ErrUnexpectedEOF, 1, false},
	} {
		rt := &cutFirstBody{next: e.roundTripper(), err: c.err}
		cfg := e.awsConfig(testRootKeyID, testRootSecret, "")
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: rt}
		_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if (err == nil) != c.ok || rt.calls.Load() != c.calls {
			t.Errorf("body cut by %v: %d requests, error %v", c.err, rt.calls.Load(), err)
		}
	}
}

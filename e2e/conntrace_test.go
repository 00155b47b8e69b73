package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// In CI, under -race with the whole package running, an AssumeRole deep in
// a role chain twice had its response cut after the status line: "StatusCode:
// 200 … deserialization failed, read tcp …: use of closed network
// connection" (net.ErrClosed), with each env on a transport of its own
// and no test closing it. That error is a close of the client's own socket
// in this process (a close by the server reads as a reset or an EOF); some
// 1,700 local runs of the deep chain tests did not repeat it, and who
// closes it is not known. So the env clients' connections are traced (the
// stack of each Close is kept), an operation is tried a second time on
// that error alone (and on nothing else: every other error, the server's
// included, fails the test at once, as without retries), and the stack
// that closed the connection is printed to stderr, where a CI log keeps it.

// closers holds, for each connection the env transports opened, the stack
// that closed it.
var closers sync.Map // local address -> stack

type tracedConn struct{ net.Conn }

func (c tracedConn) Close() error {
	closers.Store(c.LocalAddr().String(), string(debug.Stack()))
	return c.Conn.Close()
}

func tracedDial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return tracedConn{c}, nil
}

var connErrRE = regexp.MustCompile(`(?:read|write) tcp ([0-9.:\[\]a-f]+)->`)

// closedBy says who closed the connection err names, when it is one the
// env transports opened.
func closedBy(err error) string {
	m := connErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	if s, ok := closers.Load(m[1]); ok {
		return "\nclosed by:\n" + s.(string)
	}
	return ""
}

// clientRetryer is the env clients' retryer: a second attempt, at once,
// only when the client's own connection was closed under the operation.
func clientRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if !errors.Is(err, net.ErrClosed) {
				return aws.FalseTernary
			}
			fmt.Fprintf(os.Stderr, "e2e: the client's connection was closed under an operation; trying it again: %v%s\n", err, closedBy(err))
			return aws.TrueTernary
		})}
	})
}

package server

import (
	"context"
	"net"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/pipeline"
)

// bindUnsigned is bind for an action whose request authenticates itself (a
// SAML assertion, a web identity token): the pipeline does not require
// SigV4 for it. When the request is unsigned, fn gets a caller that carries
// only the request environment (source address, user agent, transport,
// time) and no identity; the exchange's Caller stays nil, so observers see
// an unauthenticated request.
func bindUnsigned[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) handler {
	return handler{Unsigned: true, Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		if err := awsquery.Decode(x.Params, in); err != nil {
			return nil, err
		}
		x.Input = in
		c := x.Caller
		if c == nil {
			c = &authz.Caller{Now: x.Time}
			if x.HTTP != nil {
				c.UserAgent, c.SecureTransport = x.HTTP.UserAgent(), x.HTTP.TLS != nil
				if host, _, err := net.SplitHostPort(x.HTTP.RemoteAddr); err == nil {
					c.SourceIP = host
				}
			}
		}
		out, err := fn(ctx, c, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}}
}

package server

import (
	"context"
	"net/url"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsjson"
	"github.com/opensts/opensts/internal/awsquery"
)

// handler serves one Query-protocol action for an authenticated caller. The
// result is encoded inside {Action}Result; a nil result gives an empty one.
type handler func(ctx context.Context, c *authz.Caller, params url.Values) (any, error)

// bind adapts a typed service method to a handler: it decodes and validates
// the parameters into In with awsquery.Decode before calling fn.
func bind[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) handler {
	return func(ctx context.Context, c *authz.Caller, params url.Values) (any, error) {
		in := new(In)
		if err := awsquery.Decode(params, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	}
}

// jsonHandler serves one AWS JSON 1.1 action (Organizations).
type jsonHandler func(ctx context.Context, c *authz.Caller, body []byte) (any, error)

// bindJSON adapts a typed service method to a jsonHandler.
func bindJSON[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) jsonHandler {
	return func(ctx context.Context, c *authz.Caller, body []byte) (any, error) {
		in := new(In)
		if err := awsjson.Decode(body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return struct{}{}, nil
		}
		return out, nil
	}
}

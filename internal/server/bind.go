package server

import (
	"context"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsjson"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/pipeline"
)

// handler serves one action for an authenticated caller. For the Query
// protocol the result is encoded inside {Action}Result (a nil result gives an
// empty one); for AWS JSON it is the body ({} for nil).
type handler = pipeline.Route

// bind adapts a typed service method to a Query-protocol route: it decodes
// and validates the parameters into In with awsquery.Decode, records the
// typed input on the exchange for observers, and calls fn.
func bind[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) handler {
	return handler{Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		if err := awsquery.Decode(x.Params, in); err != nil {
			return nil, err
		}
		x.Input = in
		out, err := fn(ctx, x.Caller, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}}
}

// jsonHandler serves one AWS JSON 1.1 action (Organizations).
type jsonHandler = pipeline.Route

// bindJSON adapts a typed service method to an AWS JSON 1.1 route.
func bindJSON[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) jsonHandler {
	return jsonHandler{Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		if err := awsjson.Decode(x.Body, in); err != nil {
			return nil, err
		}
		x.Input = in
		out, err := fn(ctx, x.Caller, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}}
}

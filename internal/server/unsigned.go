package server

import (
	"context"
	"reflect"

	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/pipeline"
)

// bindUnsigned is bind for an action that authenticates itself (a web
// identity token): the route is Unsigned, and fn gets a caller with only the
// request's environment, whether or not the request was signed (AWS ignores
// a signature on these actions).
func bindUnsigned[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) handler {
	return handler{Unsigned: true, Input: reflect.TypeFor[*In](), Output: reflect.TypeFor[*Out](), Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		if err := awsquery.Decode(x.Params, in); err != nil {
			return nil, err
		}
		x.Input = in
		c := authn.Environment(x.HTTP, x.Time)
		if x.Caller != nil {
			c.Region = x.Caller.Region
		}
		out, err := fn(ctx, c, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}}
}

package server

import (
	"context"
	"reflect"

	"github.com/opensts/opensts/internal/apierr"
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
	return handler{Input: reflect.TypeFor[*In](), Output: reflect.TypeFor[*Out](), Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
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
	return jsonHandler{Input: reflect.TypeFor[*In](), Output: reflect.TypeFor[*Out](), Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		// CloudTrail's and OpenSTS's own JSON APIs: their models have no
		// code for a body that does not decode (Organizations' InvalidInput
		// was answered, which a CloudTrail client does not know).
		if err := awsjson.DecodeAs(x.Body, in, apierr.SerializationException); err != nil {
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

// bindOrg is bindJSON for Organizations: before anything else, the input
// is checked against its members' length, range and pattern constraints
// (the tags of In's fields, as the service model states them), and the
// first one broken is answered as Organizations answers it:
// InvalidInputException with the Reason that names the kind of
// constraint.
func bindOrg[In, Out any](fn func(context.Context, *authz.Caller, *In) (*Out, error)) jsonHandler {
	t := reflect.TypeFor[In]()
	return jsonHandler{Input: reflect.TypeFor[*In](), Output: reflect.TypeFor[*Out](), Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
		in := new(In)
		if err := awsjson.Decode(x.Body, in); err != nil {
			return nil, err
		}
		v, err := awsquery.CheckJSON(t, x.Body)
		if err != nil {
			return nil, apierr.Internal(err)
		}
		if v != nil {
			return nil, orgInvalidInput(v)
		}
		x.Input = in
		out, err := fn(ctx, x.Caller, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}}
}

// orgInvalidInput is Organizations' answer to a broken input constraint.
func orgInvalidInput(v *awsquery.Violation) *apierr.Error {
	var reason, msg string
	switch v.Kind {
	case awsquery.MinLength:
		reason, msg = "MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed."
	case awsquery.MaxLength:
		reason, msg = "MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed."
	case awsquery.MinValue:
		reason, msg = "MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed."
	case awsquery.MaxValue:
		reason, msg = "MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than allowed."
	case awsquery.Enum:
		reason, msg = "INVALID_ENUM", "You specified an invalid value."
	default:
		reason, msg = "INVALID_PATTERN", "You provided a value that does not match the required pattern."
	}
	e := apierr.New(apierr.OrgInvalidInputException, "%s", msg)
	e.Reason = reason
	return e
}

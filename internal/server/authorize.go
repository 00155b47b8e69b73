package server

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authorize"
	"github.com/opensts/opensts/internal/pipeline"
)

// authorizeAPI is the authorize API (internal/authorize) on the main
// listener.
func (s *Server) authorizeAPI() *pipeline.API {
	svc := &authorize.Service{Authn: s.authn, Authz: s.authz, SigV4: s.sigv4, Policies: s.policies, Now: s.now,
		Revocations: &s.revs.set, Region: s.cfg.Region}
	return &pipeline.API{Name: authorize.ServiceName, Protocol: pipeline.JSON, Prefix: authorize.Prefix, Routes: authorizeRoutes(svc)}
}

// authorizeRoutes binds Authorize. Unlike bindJSON, the exchange records
// the input's redacted copy: the embedded request's session token and
// signature live in a header map and a URL, which struct tags cannot mark.
func authorizeRoutes(svc *authorize.Service) map[string]pipeline.Route {
	return map[string]pipeline.Route{
		"Authorize": {Input: reflect.TypeFor[*authorize.AuthorizeInput](), Output: reflect.TypeFor[*authorize.AuthorizeOutput](), Handler: func(ctx context.Context, x *pipeline.Exchange) (any, error) {
			in := new(authorize.AuthorizeInput)
			if err := json.Unmarshal(x.Body, in); err != nil {
				return nil, apierr.New(apierr.ValidationException, "The request body is not valid JSON for Authorize.")
			}
			x.Input = in.Redacted()
			out, err := svc.Authorize(ctx, x.Caller, in)
			if err != nil {
				return nil, err
			}
			return out, nil
		}},
		// The public verifier's local mode; see authorize.VerificationAction.
		"GetVerificationData": bindJSON(svc.GetVerificationData),
		"GetRevocations":      bindJSON(svc.GetRevocations),
	}
}

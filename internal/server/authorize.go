package server

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authorize"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/pipeline"
)

// authorizeAPI is the authorize API (internal/authorize) on the main
// listener.
func (s *Server) authorizeAPI() *pipeline.API {
	svc := &authorize.Service{Authn: s.authn, Authz: s.authz, SigV4: s.sigv4, Policies: s.policies, Now: s.now,
		Revocations: &s.revs.set, Region: s.cfg.Region}
	observe := func(ev detect.Event) {
		if s.detect != nil {
			s.detect.Observe(ev)
		}
	}
	return &pipeline.API{Name: authorize.ServiceName, Protocol: pipeline.JSON, Prefix: authorize.Prefix, Routes: authorizeRoutes(svc, observe)}
}

// authorizeRoutes binds Authorize. Unlike bindJSON, the exchange records
// the input's redacted copy: the embedded request's session token and
// signature live in a header map and a URL, which struct tags cannot mark.
// observe, if set, is handed the detection event of each embedded request
// decided (authorizeEvent).
func authorizeRoutes(svc *authorize.Service, observe func(detect.Event)) map[string]pipeline.Route {
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
			if observe != nil {
				observe(authorizeEvent(x, in, out))
			}
			return out, nil
		}},
		// The public verifier's local mode; see authorize.VerificationAction.
		"GetVerificationData": bindJSON(svc.GetVerificationData),
		"GetRevocations":      bindJSON(svc.GetRevocations),
	}
}

// authorizeEvent is the detection event of the request a resource server
// asked about: its principal, what it asked to do, from where, and how it
// was answered (an authentication failure's code, AccessDenied for a
// Deny). Without it the rules saw only the resource server's own call, and
// a brute force or a burst of denials against a resource server behind
// the gateway or the verifier went unremarked (found by a review as an
// attacker).
func authorizeEvent(x *pipeline.Exchange, in *authorize.AuthorizeInput, out *authorize.AuthorizeOutput) detect.Event {
	service, name, _ := strings.Cut(in.Action, ":")
	ev := detect.Event{Time: x.Time, ID: x.EventID, Name: name, Source: service + ".amazonaws.com", Type: "Unknown", Relayed: true}
	if ev.ID == "" {
		ev.ID = x.RequestID
	}
	if r := in.Request; r != nil {
		ev.SourceIP = r.SourceIP
		if ua := headerValue(r.Headers, "User-Agent"); ua != "" {
			ev.UserAgent = ua
		}
	}
	if ae := out.AuthenticationError; ae != nil {
		ev.ErrorCode, ev.ErrorMessage, ev.RealCredential, ev.AccessKeyID = ae.Code, ae.Message, ae.RealCredential(), ae.ClaimedKeyID()
		return ev
	}
	if p := out.Principal; p != nil {
		ev.Account, ev.ARN, ev.AccessKeyID, ev.PrincipalID, ev.UserName = p.AccountID, p.ARN, p.AccessKeyID, p.UserID, p.UserName
		ev.Type = p.Type
		if p.Type == "AssumedRole" {
			ev.IssuerARN = p.RoleARN
		}
	}
	if out.Decision != "Allow" {
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "not authorized to perform "+in.Action
	}
	return ev
}

// headerValue is the first value of header name in h, whatever its case.
func headerValue(h map[string][]string, name string) string {
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

package server

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync/atomic"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsjson"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sts"
)

// Handler returns the HTTP handler: /healthz and the Query-protocol endpoint
// that STS and IAM share (the SigV4 credential scope names the service).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/", s.serveQuery)
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// service describes one Query-protocol API on the shared listener.
type service struct {
	name      string
	namespace string
	version   string
	routes    map[string]handler
}

// service returns the API that a credential scope's service name routes to
// (STS for anything but IAM; the caller rejects other names).
func (s *Server) service(name string) *service {
	if name == "iam" {
		return s.iamService
	}
	return s.stsService
}

// Request ids are UUID-shaped (version 4 and variant bits set): 60 random
// bits chosen once per process, then 62 bits that are a per-process
// bijection of a counter (multiplication by an odd constant and a random
// mask, modulo 2^62). They are unique within a process for 2^62 requests
// and across processes with overwhelming probability, and consecutive ids
// do not look consecutive; they are not secrets. This costs no system call
// per request, unlike reading crypto/rand.
var (
	reqIDPrefix, reqIDMask = reqIDSeed()
	reqIDCounter           atomic.Uint64
)

// reqIDSeed draws the process's request id prefix (with the UUID version 4
// nibble) and counter mask.
func reqIDSeed() ([8]byte, uint64) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: no randomness for request ids: " + err.Error())
	}
	var prefix [8]byte
	copy(prefix[:], b[:8])
	prefix[6] = prefix[6]&0x0f | 0x40
	return prefix, binary.BigEndian.Uint64(b[8:])
}

func newRequestID() string {
	const low62 = 1<<62 - 1
	n := reqIDCounter.Add(1)
	x := (n*0x9e3779b97f4a7c15 ^ reqIDMask) & low62
	var b [16]byte
	copy(b[:8], reqIDPrefix[:])
	binary.BigEndian.PutUint64(b[8:], x|0x80<<56)
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// serveQuery handles one STS or IAM request: read, authenticate, dispatch,
// answer. Nothing from a panic or an internal error reaches the client.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	now := s.now()
	svc := s.service("sts")
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic serving request", "requestId", reqID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			awsquery.WriteError(w, svc.namespace, reqID, apierr.Internal(fmt.Errorf("panic: %v", v)))
		}
	}()
	if r.Header.Get("X-Amz-Target") != "" {
		s.serveJSON(w, r, reqID)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		awsquery.WriteError(w, svc.namespace, reqID, apierr.New(apierr.InvalidAction, "Unsupported HTTP method %s", r.Method))
		return
	}
	q, err := awsquery.ReadRequest(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.fail(w, svc, reqID, err)
		return
	}
	sr, err := s.sigv4.ParseAt(r, q.Body, now)
	if sr != nil && sr.Service != "" {
		svc = s.service(sr.Service)
		if sr.Service != "sts" && sr.Service != "iam" {
			s.fail(w, svc, reqID, apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid."))
			return
		}
	}
	if q.Action == "" {
		s.fail(w, svc, reqID, apierr.New(apierr.MissingAction, "Missing Action"))
		return
	}
	h, ok := svc.routes[q.Action]
	if !ok || q.Version != svc.version {
		if q.Version == "" {
			s.fail(w, svc, reqID, apierr.New(apierr.MissingParameter, "The request must contain the parameter Version"))
			return
		}
		s.fail(w, svc, reqID, apierr.New(apierr.InvalidAction, "Could not find operation %s for version %s", q.Action, q.Version))
		return
	}
	if err != nil {
		s.fail(w, svc, reqID, err)
		return
	}
	caller, err := s.authenticate(r.Context(), r, sr, now)
	if err != nil {
		s.fail(w, svc, reqID, s.canceled(r, reqID, err))
		return
	}
	if err := s.callable(svc.name, q.Action, caller); err != nil {
		s.fail(w, svc, reqID, err)
		return
	}
	result, err := h(r.Context(), caller, q.Params)
	if err != nil {
		s.fail(w, svc, reqID, s.canceled(r, reqID, err))
		return
	}
	awsquery.WriteResult(w, svc.namespace, q.Action, reqID, result)
}

// callable applies what each credential type may call (reference §10.5).
func (s *Server) callable(svc, action string, c *authz.Caller) error {
	if svc == "sts" {
		return sts.Callable(c, action)
	}
	switch c.SessionType() {
	case session.FederatedUser:
		return apierr.New(apierr.AccessDenied, "Cannot call IAM APIs with session credentials from GetFederationToken")
	case session.SessionToken:
		if !c.MFA() {
			return apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid")
		}
	}
	return nil
}

// errCanceled answers a request whose context ended before its answer was
// ready: the client went away, so the answer is for the log, and it must
// not read as a decision or as a server fault.
var errCanceled = apierr.New(apierr.ServiceUnavailable, "The request was canceled before it completed.")

// canceled returns errCanceled, logged at Info, for an error that is the
// end of r's context (the client disconnected), and err otherwise.
func (s *Server) canceled(r *http.Request, reqID string, err error) error {
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		s.log.Info("request canceled", "requestId", reqID, "error", err)
		return errCanceled
	}
	return err
}

func (s *Server) fail(w http.ResponseWriter, svc *service, reqID string, err error) {
	if e, ok := apierr.As(err); !ok || e.Code.Receiver && e != errCanceled {
		s.log.Error("request failed", "requestId", reqID, "service", svc.name, "error", err)
	}
	awsquery.WriteError(w, svc.namespace, reqID, err)
}

// serveJSON handles one AWS JSON 1.1 request (Organizations).
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, reqID string) {
	q, err := awsjson.ReadRequest(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.failJSON(w, reqID, err)
		return
	}
	h, ok := s.orgRoutes[q.Action]
	if q.Prefix != awsjson.OrganizationsPrefix || !ok {
		s.failJSON(w, reqID, apierr.New(apierr.InvalidAction, "Could not find operation %s.%s", q.Prefix, q.Action))
		return
	}
	now := s.now()
	sr, err := s.sigv4.ParseAt(r, q.Body, now)
	if err != nil {
		s.failJSON(w, reqID, err)
		return
	}
	if sr.Service != "organizations" {
		s.failJSON(w, reqID, apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid."))
		return
	}
	caller, err := s.authenticate(r.Context(), r, sr, now)
	if err != nil {
		s.failJSON(w, reqID, s.canceled(r, reqID, err))
		return
	}
	if caller.SessionType() == session.FederatedUser {
		s.failJSON(w, reqID, apierr.New(apierr.OrgAccessDeniedException, "You don't have permissions to access this resource."))
		return
	}
	result, err := h(r.Context(), caller, q.Body)
	if err != nil {
		s.failJSON(w, reqID, s.canceled(r, reqID, err))
		return
	}
	awsjson.WriteResult(w, reqID, result)
}

func (s *Server) failJSON(w http.ResponseWriter, reqID string, err error) {
	if e, ok := apierr.As(err); !ok || e.Code.Receiver && e != errCanceled {
		s.log.Error("request failed", "requestId", reqID, "service", "organizations", "error", err)
	}
	awsjson.WriteError(w, reqID, err)
}

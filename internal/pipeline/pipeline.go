// Package pipeline is the request path of the API listener, as one explicit
// chain of small stages:
//
//	request id → recover → read and decode (AWS Query or AWS JSON 1.1)
//	→ authenticate (or mark an unsigned action, which authenticates itself)
//	→ credential-type rules (one table) → dispatch → record → answer → observe
//
// Every request, whatever its outcome, ends in exactly one call of each
// Recorder before its answer is written (a Recorder may still turn the
// answer into an error: an audit trail that must not lose an event) and one
// call of each Observer after it, with the Exchange: the request id, time, protocol, service,
// action, caller (when authenticated), typed input and output (when the
// request got that far) and the error. Audit sinks, metrics and detection
// plug in there, without any handler's help. Inputs and outputs mark their
// secret fields with the struct tag `sensitive:"true"`; Redact gives every
// observer the same view of them.
//
// Observers that write inputs and outputs (the audit trail, on every
// request) use AppendRedactedJSON and StringPath, which compile each type
// once into code that reads values through unsafe.Pointer and field
// offsets (redactcodec.go): reflect.Value per field, and a sync.Map lookup
// per value, cost more than the rest of an audit record. unsafe is used
// only there, only to read values of the type the codec was compiled for,
// and the codecs are held byte for byte to the reflection encoder they
// replaced (redactjson_oracle_test.go) over random types and over every
// route's input and output, under the race detector's pointer checks.
//
// It imports the protocol packages (awsquery, awsjson), sigv4, authn,
// authz (Caller) and apierr; never a service (sts, iam, org) or a store.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/awsjson"
	"github.com/opensts/opensts/internal/awsquery"
	"github.com/opensts/opensts/internal/sigv4"
)

// Protocol is the wire protocol of a request.
type Protocol uint8

// Protocols.
const (
	Query Protocol = iota + 1 // AWS Query (STS, IAM)
	JSON                      // AWS JSON 1.1 (Organizations, CloudTrail)
)

// Exchange is one request as it moves through the stages. Observers get it
// once the answer is written; they must not keep it (or anything it points
// to that they did not copy) after Observe returns: exchanges are reused.
type Exchange struct {
	RequestID string
	Time      time.Time // the request's time, read once
	HTTP      *http.Request
	Protocol  Protocol
	API       *API   // nil until the service is known
	Action    string // as requested (may be unknown)
	Params    url.Values
	Body      []byte // AWS JSON body
	// Size is the bytes of the request's body and query string as read
	// (what the audit trail's record of it can grow with).
	Size int
	// SigV4 is the parsed signature; nil for unsigned requests.
	SigV4 *sigv4.Request
	// Unsigned is set for actions that authenticate themselves (their
	// route says so); Caller is then nil unless the request was signed.
	Unsigned bool
	Caller   *authz.Caller
	Input    any // the typed input, once decoded
	Output   any // the typed output, on success
	Err      error
	Status   int // the HTTP status written
	// sig is where SigV4 is parsed: kept from request to request, as the
	// exchange is, so that parsing allocates nothing.
	sig *sigv4.Request
	// EventID is the audit event's id once the trail's recorder built it
	// (recorders after it, detection, join alerts to it).
	EventID string
}

// reset clears x for the next request, keeping the storage its signature
// is parsed into.
func (x *Exchange) reset() {
	sig := x.sig
	*x = Exchange{sig: sig}
}

// parseSig parses r's signature into x's own storage (sigv4.Verifier.ParseAtInto).
func (x *Exchange) parseSig(v *sigv4.Verifier, r *http.Request, body []byte) (*sigv4.Request, error) {
	if x.sig == nil {
		x.sig = new(sigv4.Request)
	}
	return v.ParseAtInto(x.sig, r, body, x.Time)
}

// Handler runs one action: it decodes x's parameters into its typed input
// (and sets x.Input), calls the service and returns the typed output.
type Handler func(ctx context.Context, x *Exchange) (any, error)

// Route is one action of an API.
type Route struct {
	Handler Handler
	// Unsigned actions carry their own proof of identity (a web identity
	// token, a SAML assertion): the pipeline does not require SigV4 for
	// them, and the handler authenticates the request itself.
	Unsigned bool
	// Input and Output are the types of the typed input the handler
	// records on the exchange and of the output it returns (pointers to
	// structs), so that tests can reach every type observers meet.
	Input, Output reflect.Type
}

// API is one service on the listener.
type API struct {
	Name      string // the SigV4 service name: sts, iam, organizations
	Protocol  Protocol
	Namespace string // Query: the XML namespace
	Version   string // Query: the API version
	Prefix    string // JSON: the X-Amz-Target prefix
	Routes    map[string]Route
	// AWSAuthErrors (JSON): authentication failures are answered with the
	// AWS JSON services' codes (UnrecognizedClientException and the
	// others, apierr.JSONAuth), as the AWS services the API is
	// (Organizations, CloudTrail) answer them; OpenSTS's own JSON APIs
	// keep the Query codes their clients know.
	AWSAuthErrors bool
}

// EventSource is the API's CloudTrail eventSource, Name + ".amazonaws.com",
// with no string made for the services OpenSTS serves.
func (a *API) EventSource() string {
	switch a.Name {
	case "sts":
		return "sts.amazonaws.com"
	case "iam":
		return "iam.amazonaws.com"
	case "organizations":
		return "organizations.amazonaws.com"
	case "cloudtrail":
		return "cloudtrail.amazonaws.com"
	case "opensts":
		return "opensts.amazonaws.com"
	}
	return a.Name + ".amazonaws.com"
}

// Observer sees every finished request once.
type Observer interface {
	Observe(ctx context.Context, x *Exchange)
}

// Recorder sees every request once, after its outcome is known and before
// its answer is written. A non-nil error replaces the outcome: the request
// fails with it (an audit trail that must record every answer it lets out).
// The same rule as for Observer holds: the Exchange must not be kept.
type Recorder interface {
	Record(ctx context.Context, x *Exchange) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(ctx context.Context, x *Exchange) error

// Record implements Recorder.
func (f RecorderFunc) Record(ctx context.Context, x *Exchange) error { return f(ctx, x) }

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, x *Exchange)

// Observe implements Observer.
func (f ObserverFunc) Observe(ctx context.Context, x *Exchange) { f(ctx, x) }

// Config configures a Pipeline.
type Config struct {
	// APIs: Query APIs are chosen by the credential scope's service name
	// (DefaultQuery when a request is unsigned); the JSON APIs by their
	// X-Amz-Target prefix.
	Query        map[string]*API
	DefaultQuery string
	JSON         []*API
	Authn        *authn.Authenticator
	// Resolve, if set, runs on every authenticated caller before the
	// credential rules (authz.Authorizer.Resolve: a session's user or role
	// as it is now).
	Resolve      func(ctx context.Context, c *authz.Caller) error
	SigV4        *sigv4.Verifier
	MaxBodyBytes int64
	Now          func() time.Time
	Log          *slog.Logger
	// Recorders run before the answer is written, Observers after it.
	Recorders []Recorder
	Observers []Observer
}

// Stage is one step of the request path; an error ends the request with
// that answer.
type Stage func(ctx context.Context, x *Exchange) error

// Pipeline serves the API listener. It is safe for concurrent use.
type Pipeline struct {
	cfg    Config
	stages []Stage
	pool   sync.Pool
}

// New returns a Pipeline.
func New(cfg Config) *Pipeline {
	p := &Pipeline{cfg: cfg}
	// The chain, in order. Request id, recover, answer and observe wrap it
	// in ServeHTTP.
	p.stages = []Stage{p.read, p.authenticate, p.credentialRules, p.dispatch}
	p.pool.New = func() any { return new(Exchange) }
	return p
}

// APIs returns the APIs the pipeline serves: the Query APIs, then the JSON
// APIs in their order.
func (p *Pipeline) APIs() []*API {
	apis := make([]*API, 0, len(p.cfg.Query)+len(p.cfg.JSON))
	for _, name := range slices.Sorted(maps.Keys(p.cfg.Query)) {
		apis = append(apis, p.cfg.Query[name])
	}
	return append(apis, p.cfg.JSON...)
}

// ServeHTTP runs the stages for one request and writes its answer. Nothing
// from a panic or an internal error reaches the client.
func (p *Pipeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := p.pool.Get().(*Exchange)
	x.RequestID = newRequestID()
	x.Time = p.cfg.Now()
	x.HTTP = r
	x.Protocol = Query
	if r.Header.Get("X-Amz-Target") != "" {
		x.Protocol = JSON
	}
	ctx := r.Context()
	answered, recorded := false, false
	defer func() {
		if v := recover(); v != nil {
			p.cfg.Log.Error("panic serving request", "requestId", x.RequestID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			x.Output = nil
			x.Err = apierr.Internal(fmt.Errorf("panic: %v", v))
			if !recorded {
				recorded = true
				p.record(ctx, x)
			}
			if !answered {
				p.answer(w, x)
			}
		}
		for _, o := range p.cfg.Observers {
			o.Observe(ctx, x)
		}
		x.reset()
		p.pool.Put(x)
	}()
	for _, stage := range p.stages {
		if x.Err = stage(ctx, x); x.Err != nil {
			if x.Protocol == JSON && x.API != nil && x.API.AWSAuthErrors {
				x.Err = apierr.JSONAuth(x.Err)
			}
			break
		}
	}
	recorded = true
	p.record(ctx, x)
	answered = true
	p.answer(w, x)
}

// record settles the outcome (a canceled request's error) and runs the
// recorders; the first error a recorder returns becomes the outcome.
func (p *Pipeline) record(ctx context.Context, x *Exchange) {
	if x.Err != nil {
		if ctxErr := x.HTTP.Context().Err(); ctxErr != nil && errors.Is(x.Err, ctxErr) {
			p.cfg.Log.Info("request canceled", "requestId", x.RequestID, "action", x.Action, "error", x.Err)
			x.Err = ErrCanceled
		}
	}
	for _, rec := range p.cfg.Recorders {
		if err := rec.Record(ctx, x); err != nil {
			x.Output, x.Err = nil, err
			return
		}
	}
}

// jsonAPI returns the JSON API with X-Amz-Target prefix prefix, or nil.
func (p *Pipeline) jsonAPI(prefix string) *API {
	for _, a := range p.cfg.JSON {
		if a.Prefix == prefix {
			return a
		}
	}
	return nil
}

// read reads and decodes the request (Query form or JSON body) and finds
// its API and route; the SigV4 header is parsed here too, because a Query
// request's service is named by its credential scope.
func (p *Pipeline) read(ctx context.Context, x *Exchange) error {
	r := x.HTTP
	if x.Protocol == JSON {
		// AWS JSON 1.1 is POST / only: a GET (which caches and proxies
		// take as safe to repeat) or any other method ran every action,
		// the mutating ones too (attack review).
		if r.Method != http.MethodPost {
			return errMethod(r.Method)
		}
		q, err := awsjson.ReadRequest(r, p.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		x.API, x.Action, x.Body = p.jsonAPI(q.Prefix), q.Action, q.Body
		x.Size = len(q.Body) + len(r.URL.RawQuery)
		known := x.API != nil
		if known {
			_, known = x.API.Routes[q.Action]
		}
		if !known {
			// An AWS JSON service's answer; OpenSTS's own JSON APIs
			// answer the Query code their clients know. A target of no
			// API's is a JSON request to no service OpenSTS has.
			c := apierr.InvalidAction
			if x.API == nil || x.API.AWSAuthErrors {
				c = apierr.UnknownOperationException
			}
			return apierr.New(c, "Could not find operation %s.%s", apierr.Quote(q.Prefix), apierr.Quote(q.Action))
		}
		sr, err := x.parseSig(p.cfg.SigV4, r, q.Body)
		if err != nil {
			return err
		}
		if sr.Service != x.API.Name {
			return authn.ErrInvalidToken
		}
		// The action is named by X-Amz-Target alone: unsigned, one signed
		// request (or presigned URL) was any other action its body fits,
		// DescribeOrganization replayed as DeleteOrganization (attack
		// review). The SDKs and the CLI sign it.
		if !slices.Contains(sr.SignedHeaders, "x-amz-target") {
			return apierr.New(apierr.IncompleteSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
		}
		x.SigV4 = sr
		return nil
	}
	x.API = p.cfg.Query[p.cfg.DefaultQuery]
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return errMethod(r.Method)
	}
	q, err := awsquery.ReadRequest(r, p.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	x.Action, x.Params = q.Action, q.Params
	x.Size = len(q.Body) + len(r.URL.RawQuery)
	sr, sigErr := x.parseSig(p.cfg.SigV4, r, q.Body)
	if sr != nil && sr.Service != "" {
		api, ok := p.cfg.Query[sr.Service]
		if !ok {
			return authn.ErrInvalidToken
		}
		x.API = api
	}
	if q.Action == "" {
		return apierr.New(apierr.MissingAction, "Missing Action")
	}
	route, ok := x.API.Routes[q.Action]
	if !ok || q.Version != x.API.Version {
		if e, isAPI := apierr.As(sigErr); sr == nil && isAPI && e.Code != apierr.MissingAuthenticationToken {
			// A signature that does not parse names no service: the action
			// was looked up in STS, the default, and an IAM action is not
			// there. What is wrong is the signature, as AWS answers.
			return sigErr
		}
		if q.Version == "" {
			return apierr.New(apierr.MissingParameter, "The request must contain the parameter Version")
		}
		return apierr.New(apierr.InvalidAction, "Could not find operation %s for version %s", apierr.Quote(q.Action), apierr.Quote(q.Version))
	}
	if route.Unsigned {
		// The action authenticates itself (a web identity token, a SAML
		// assertion, a directory password): a signature is neither needed
		// nor looked at, as in AWS, where an SDK holding some credentials
		// signs these requests too and a stale or foreign signature must
		// not fail them. The caller is only the request's environment.
		x.Unsigned = true
		return nil
	}
	if sigErr != nil {
		return sigErr
	}
	x.SigV4 = sr
	return nil
}

func errMethod(m string) error {
	return apierr.New(apierr.InvalidAction, "Unsupported HTTP method %s", apierr.Quote(m))
}

// authenticate verifies the signature and builds the caller; unsigned
// actions pass through to authenticate themselves.
func (p *Pipeline) authenticate(ctx context.Context, x *Exchange) error {
	if x.Unsigned {
		return nil
	}
	c, err := p.cfg.Authn.Authenticate(ctx, x.HTTP, x.SigV4, x.Time)
	if err != nil {
		return err
	}
	if p.cfg.Resolve != nil {
		if err := p.cfg.Resolve(ctx, c); err != nil {
			return err
		}
	}
	x.Caller = c
	return nil
}

// credentialRules applies what each credential type may call.
func (p *Pipeline) credentialRules(ctx context.Context, x *Exchange) error {
	if x.Caller == nil {
		return nil
	}
	return CredentialRule(x.API.Name, x.Action, x.Caller)
}

// dispatch runs the action's handler.
func (p *Pipeline) dispatch(ctx context.Context, x *Exchange) error {
	out, err := x.API.Routes[x.Action].Handler(ctx, x)
	if err != nil {
		return err
	}
	x.Output = out
	return nil
}

// ErrCanceled answers a request whose context ended before its answer was
// ready: the client went away, so the answer is for the log (at Info), and
// it must not read as a decision or as a server fault.
var ErrCanceled = apierr.New(apierr.ServiceUnavailable, "The request was canceled before it completed.")

// answer writes the result or the error in the request's protocol.
func (p *Pipeline) answer(w http.ResponseWriter, x *Exchange) {
	api := x.API
	if x.Err != nil {
		if e, ok := apierr.As(x.Err); !ok || e.Code.Receiver && e != ErrCanceled {
			name := ""
			if api != nil {
				name = api.Name
			}
			p.cfg.Log.Error("request failed", "requestId", x.RequestID, "service", name, "action", x.Action, "error", x.Err)
		}
		x.Status = apierr.StatusOf(x.Err)
		if x.Protocol == JSON {
			awsjson.WriteError(w, x.RequestID, x.Err)
			return
		}
		if e, ok := apierr.As(x.Err); ok && e.Code == apierr.InvalidAction && x.HTTP.Method != http.MethodPost && x.HTTP.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, POST")
		}
		if api == nil {
			api = p.cfg.Query[p.cfg.DefaultQuery]
		}
		awsquery.WriteError(w, api.Namespace, x.RequestID, x.Err)
		return
	}
	x.Status = http.StatusOK
	if x.Protocol == JSON {
		if x.Output == nil {
			x.Output = struct{}{}
		}
		awsjson.WriteResult(w, x.RequestID, x.Output)
		return
	}
	awsquery.WriteResult(w, api.Namespace, x.Action, x.RequestID, x.Output)
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
		panic("pipeline: no randomness for request ids: " + err.Error())
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

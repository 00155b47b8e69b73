package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/revoke"
	"github.com/opensts/opensts/internal/sigv4"
)

// unknownOpServer is a server with the audit trail on whose observer
// keeps the detection events of the requests it answers.
func unknownOpServer(t *testing.T) (*Server, *config.Config, func() []detect.Event) {
	t.Helper()
	var mu sync.Mutex
	var evs []detect.Event
	var cfg config.Config
	opt := Options{Observers: []pipeline.Observer{pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) {
		ev := detectEvent(x)
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
	})}}
	s := benchServerWith(t, opt, func(c *config.Config) { c.Audit, c.AuditStrict = true, true; cfg = *c })
	return s, &cfg, func() []detect.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]detect.Event(nil), evs...)
	}
}

func unknownOpSend(t *testing.T, s *Server, method, target string, sign bool) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://opensts.test/", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	if sign {
		if err := sigv4.Sign(r, []byte("{}"), benchRootKey, benchRootSec, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	return rec
}

// TestUnknownOperationReflectsSafely: an X-Amz-Target no API serves,
// whatever its bytes (a JSON breakout, control characters, bytes that are
// not UTF-8, 64 KiB of it), is answered UnknownOperationException, 400, in
// one well-formed JSON object whose message quotes a bounded, valid UTF-8
// cut of it; the same signed and unsigned; no handler runs (no Organizations
// state is made); the audit record carries the code and a bounded name.
func TestUnknownOperationReflectsSafely(t *testing.T) {
	s, cfg, _ := unknownOpServer(t)
	targets := []string{
		"AWSOrganizationsV20161128.CreateOrganizationX",
		"AWSOrganizationsV20161128.createorganization",
		`AWSOrganizationsV20161128.X","__type":"AccessDeniedException`,
		"AWSOrganizationsV20161128.A\x01\x7f\tB",
		"AWSOrganizationsV20161128.\xff\xfe\xc3",
		"AWSOrganizationsV20161128." + strings.Repeat("é", 32<<10),
		strings.Repeat("P", 64<<10) + ".CreateOrganization",
		"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.NoSuch",
		"DynamoDB_20120810.ListTables",
		"a.b.c.d",
	}
	for _, target := range targets {
		var bodies [2]string
		for i, sign := range []bool{false, true} {
			rec := unknownOpSend(t, s, http.MethodPost, target, sign)
			short := target[:min(len(target), 60)]
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%q (signed %v): status %d, want 400: %s", short, sign, rec.Code, rec.Body.String()[:min(rec.Body.Len(), 300)])
			}
			if h := rec.Header().Get("X-Amzn-Errortype"); h != "UnknownOperationException" {
				t.Errorf("%q: X-Amzn-Errortype %q", short, h)
			}
			dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
			var m map[string]any
			if err := dec.Decode(&m); err != nil || dec.More() {
				t.Fatalf("%q: body not one JSON object: %v: %s", short, err, rec.Body.String())
			}
			if len(m) != 2 || m["__type"] != "UnknownOperationException" {
				t.Errorf("%q: body %v", short, m)
			}
			msg, _ := m["message"].(string)
			if !utf8.ValidString(msg) || !strings.HasPrefix(msg, "Could not find operation ") {
				t.Errorf("%q: message %q", short, msg)
			}
			if n := len(msg); n > len("Could not find operation .")+2*(apierr.MaxQuoted+3)+2*len("\ufffd") {
				t.Errorf("%q: message of %d bytes", short, n)
			}
			bodies[i] = msg
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%q: signed and unsigned answers differ: %q, %q", target[:min(len(target), 60)], bodies[0], bodies[1])
		}
	}
	// OpenSTS's own APIs keep InvalidAction; a method other than POST is
	// answered before the target is looked at.
	if rec := unknownOpSend(t, s, http.MethodPost, revoke.Prefix+".Nope", false); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "InvalidAction") {
		t.Errorf("own API: %d %s", rec.Code, rec.Body)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		rec := unknownOpSend(t, s, m, "AWSOrganizationsV20161128.DescribeOrganization", true)
		if rec.Code == http.StatusOK || rec.Header().Get("X-Amzn-Errortype") == "UnknownOperationException" {
			t.Errorf("%s: %d %s", m, rec.Code, rec.Body)
		}
	}
	// No handler ran: no organization was made by CreateOrganizationX /
	// createorganization.
	rec := unknownOpSend(t, s, http.MethodPost, "AWSOrganizationsV20161128.DescribeOrganization", true)
	if !strings.Contains(rec.Body.String(), "AWSOrganizationsNotInUseException") {
		t.Errorf("after the unknown operations, DescribeOrganization: %d %s", rec.Code, rec.Body)
	}
	// The audit records: code, bounded event name, valid JSON lines.
	if err := s.Trail().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := audit.Query(AuditDir(*cfg), audit.Filter{}, func(line []byte) error {
		var r audit.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Errorf("audit line does not decode: %v", err)
			return nil
		}
		if r.ErrorCode != "UnknownOperationException" {
			return nil
		}
		n++
		if len(r.EventName) > 256 || len(r.ErrorMessage) > 2048 {
			t.Errorf("audit record: eventName of %d bytes, errorMessage of %d", len(r.EventName), len(r.ErrorMessage))
		}
		if r.UserIdentity.AccessKeyID != "" || r.UserIdentity.ARN != "" {
			t.Errorf("audit record of an unknown operation names a caller: %+v", r.UserIdentity)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2*len(targets) {
		t.Errorf("%d audit records of UnknownOperationException, want %d", n, 2*len(targets))
	}
}

// TestUnknownOperationNotCountedAsAuthFailure: an unauthenticated client
// picks an unknown operation's target freely; its answer (the target
// quoted) and its event name must not pass for an authentication failure
// to detection: five targets "MultiFactorAuthentication failed.X" must not
// raise mfa-failures ("a burst of failed MFA codes", high), ten
// "AWSOrganizationsV20161128.AssumeRoleX" must not raise
// assume-role-failures, nor any other rule.
func TestUnknownOperationNotCountedAsAuthFailure(t *testing.T) {
	s, _, events := unknownOpServer(t)
	for range 5 {
		unknownOpSend(t, s, http.MethodPost, "MultiFactorAuthentication failed.X", false)
	}
	for range 10 {
		unknownOpSend(t, s, http.MethodPost, "AWSOrganizationsV20161128.AssumeRoleX", false)
	}
	// The Query protocol's unknown actions, named as the rules look for.
	for _, action := range []string{"AssumeRoleX", "MultiFactorAuthentication failed"} {
		for range 10 {
			r := httptest.NewRequest(http.MethodPost, "http://opensts.test/", strings.NewReader("Action="+url.QueryEscape(action)+"&Version=2011-06-15"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, r)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "InvalidAction") {
				t.Fatalf("Action=%s: %d %s", action, rec.Code, rec.Body)
			}
		}
	}
	var mu sync.Mutex
	var fired []detect.Alert
	e, err := detect.New(detect.Options{Emit: func(a detect.Alert) { mu.Lock(); fired = append(fired, a); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	evs := events()
	if len(evs) != 35 {
		t.Fatalf("%d events observed, want 35", len(evs))
	}
	for _, ev := range evs {
		if ev.ErrorCode != "UnknownOperationException" && ev.ErrorCode != "InvalidAction" {
			t.Fatalf("event %+v", ev)
		}
		e.Process(context.Background(), ev)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range fired {
		t.Errorf("unknown operations raised %s (%s): %s", a.Rule, a.Severity, a.Detail)
	}
}

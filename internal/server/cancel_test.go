package server

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestCanceledRequest checks that a request whose client is gone (its
// context canceled) is answered ServiceUnavailable, not with a decision,
// and is not logged as a server failure.
func TestCanceledRequest(t *testing.T) {
	var logs lockedBuffer
	s := newTestServer(t, &logs)
	form := url.Values{"Action": {"SimulateCustomPolicy"}, "Version": {"2010-05-08"}, "ActionNames.member.1": {"s3:GetObject"},
		"PolicyInputList.member.1": {`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`}}
	for _, tt := range []struct {
		name     string
		canceled bool
		code     int
	}{{"live", false, 200}, {"canceled", true, 503}} {
		req, _ := signedRequest(t, "iam", benchRootKey, benchRootSec, form)
		if tt.canceled {
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		logs.Reset()
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("%s: status %d, want %d: %s", tt.name, rec.Code, tt.code, rec.Body)
		}
		if tt.canceled && !strings.Contains(rec.Body.String(), "<Code>ServiceUnavailable</Code>") {
			t.Errorf("%s: %s", tt.name, rec.Body)
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("%s: logged as an error:\n%s", tt.name, logs.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

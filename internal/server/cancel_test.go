package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/config"
)

// TestCanceledRequest checks that a request whose client is gone (its
// context canceled) is answered ServiceUnavailable, not with a decision,
// and is not logged as a server failure.
func TestCanceledRequest(t *testing.T) {
	var logs bytes.Buffer
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Stderr: &logs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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

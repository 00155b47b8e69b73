package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/config"
)

// TestUnsignedRequestsCannotInflateTheTrail: a client with no credentials
// sent a megabyte as the action's name (or as a value that fails
// validation) and the server quoted it whole into its answer and into the
// audit record's errorMessage, which no other bound covered: a megabyte of
// trail a request, twice that for a value every rule quoted (found by a
// review as an attacker). Answers and records now quote at most
// apierr.MaxQuoted bytes of a value.
func TestUnsignedRequestsCannotInflateTheTrail(t *testing.T) {
	t.Parallel()
	var dir string
	s := benchServer(t, func(c *config.Config) {
		c.Audit = true
		dir = AuditDir(*c)
	})
	h := s.Handler()
	big := strings.Repeat("A", 900_000)
	for _, tc := range []struct {
		name string
		body url.Values
		code string
	}{
		{"a megabyte action", url.Values{"Action": {big}, "Version": {"2011-06-15"}}, "InvalidAction"},
		{"a megabyte version", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {big}}, "InvalidAction"},
		{"a megabyte session name", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
			"RoleArn": {"arn:aws:iam::" + benchAccount + ":role/r"}, "RoleSessionName": {big + "!"}, "WebIdentityToken": {"x.y.z"}}, "ValidationError"},
	} {
		req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(tc.body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "<Code>"+tc.code+"</Code>") {
			t.Fatalf("%s: %d %.300s", tc.name, rec.Code, rec.Body)
		}
		if n := rec.Body.Len(); n > 4*apierr.MaxQuoted+1024 {
			t.Errorf("%s: a %d-byte answer", tc.name, n)
		}
	}
	if err := s.Trail().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := 0
	if err := audit.Query(dir, audit.Filter{}, func(line []byte) error {
		var r audit.Record
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.ErrorCode == "" {
			return nil
		}
		seen++
		if len(r.ErrorMessage) > 4*apierr.MaxQuoted || len(line) > 110<<10 {
			t.Errorf("%s: a %d-byte errorMessage in a %d-byte record", r.ErrorCode, len(r.ErrorMessage), len(line))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != 3 {
		t.Fatalf("%d failed requests recorded, want 3", seen)
	}
}

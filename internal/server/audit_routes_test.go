package server

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/sigv4"
)

// TestAuditOneEventPerRoute sends one request to every action of every API
// the server routes (STS, IAM, Organizations, CloudTrail, revocation,
// authorization) and checks that each left exactly one event, under its
// request id and action name, whether it succeeded or failed: no handler
// can be left out of the trail, and none records twice.
func TestAuditOneEventPerRoute(t *testing.T) {
	s := benchServer(t, func(c *config.Config) { c.Audit, c.AuditStrict = true, true })
	h := s.Handler()
	dir := filepath.Join(s.cfg.DataDir, "audit")
	events := func() string {
		var b strings.Builder
		files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	routes, ok := 0, 0
	for _, api := range s.pipeline.APIs() {
		for _, action := range slices.Sorted(maps.Keys(api.Routes)) {
			routes++
			var req *http.Request
			var body []byte
			if api.Protocol == pipeline.Query {
				body = []byte(url.Values{"Action": {action}, "Version": {api.Version}}.Encode())
				req = httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			} else {
				body = []byte(`{}`)
				req = httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
				req.Header.Set("X-Amz-Target", api.Prefix+"."+action)
			}
			if err := sigv4.Sign(req, body, benchRootKey, benchRootSec, "", "us-east-1", api.Name, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			id := rec.Header().Get("X-Amzn-Requestid")
			if id == "" {
				t.Errorf("%s %s: no request id (status %d)", api.Name, action, rec.Code)
				continue
			}
			var mine []string
			for _, line := range strings.Split(events(), "\n") {
				if strings.Contains(line, `"requestID":"`+id+`"`) {
					mine = append(mine, line)
				}
			}
			if len(mine) != 1 {
				t.Errorf("%s %s (status %d): %d events", api.Name, action, rec.Code, len(mine))
				continue
			}
			if !strings.Contains(mine[0], `"eventName":"`+action+`"`) {
				t.Errorf("%s %s: event %.300s", api.Name, action, mine[0])
				continue
			}
			if rec.Code == http.StatusOK {
				ok++
			}
		}
	}
	if routes < 140 { // the routes were found at all
		t.Fatalf("only %d routes", routes)
	}
	t.Logf("%d routes, %d answered 200 to an empty request, each recorded once", routes, ok)
}

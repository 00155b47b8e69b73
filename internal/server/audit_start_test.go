package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/sigv4"
)

// TestAuditStartWithALongTrail starts a server on a data directory whose
// trail already holds many files: it answers (IAM, AssumeRole) without
// reading them first (the index is built in the background; that nothing
// waits for it is TestOpenServesBeforeTheIndexIsBuilt in internal/audit),
// LookupEvents then pages through every event, the old ones and the new,
// newest first, and the trail, its chain continued from the last record on
// disk, verifies.
func TestAuditStartWithALongTrail(t *testing.T) {
	const old = 2000
	var dir string
	var pub ed25519.PublicKey
	s := benchServer(t, func(c *config.Config) {
		c.Audit, c.AuditStrict, c.AuditMaxBytes = true, true, 16<<10
		dir = filepath.Join(c.DataDir, "audit")
		key, err := audit.DeriveKey(c.MasterKey)
		if err != nil {
			t.Fatal(err)
		}
		pub = key.Public().(ed25519.PublicKey)
		tr, err := audit.Open(audit.Config{Dir: dir, MaxBytes: 16 << 10, Key: key, Strict: true, Build: audit.BuildConfig{Region: "us-east-1", Account: benchAccount}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range old {
			r := httptest.NewRequest("POST", "http://opensts.test/", nil)
			x := &pipeline.Exchange{RequestID: fmt.Sprintf("old-%d", i), Time: time.Now().Add(-time.Hour), HTTP: r,
				API: &pipeline.API{Name: "iam"}, Action: "CreateUser", Input: &struct{ UserName string }{fmt.Sprintf("old%d", i)}}
			if err := tr.Record(context.Background(), x); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
	})
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	if len(files) < 50 {
		t.Fatalf("only %d trail files", len(files))
	}
	h := s.Handler()
	do := func(service, key, secret string, form url.Values) []byte {
		t.Helper()
		req, _ := signedRequest(t, service, key, secret, form)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", form.Get("Action"), rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	iamCall := func(form url.Values) []byte {
		form.Set("Version", "2010-05-08")
		return do("iam", benchRootKey, benchRootSec, form)
	}
	iamCall(url.Values{"Action": {"CreateUser"}, "UserName": {"start"}})
	var key struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(iamCall(url.Values{"Action": {"CreateAccessKey"}, "UserName": {"start"}}), &key); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + benchAccount + `:user/start"},"Action":"sts:AssumeRole"}]}`
	iamCall(url.Values{"Action": {"CreateRole"}, "RoleName": {"start-role"}, "AssumeRolePolicyDocument": {trust}})
	out := do("sts", key.ID, key.Secret, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::" + benchAccount + ":role/start-role"}, "RoleSessionName": {"start"}})
	if !bytes.Contains(out, []byte("<SessionToken>")) {
		t.Fatalf("AssumeRole: %s", out)
	}

	// Every event, newest first, through CloudTrail's LookupEvents.
	lookup := func(in string) (ids []string, next string) {
		t.Helper()
		req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(in))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", CloudTrailPrefix+".LookupEvents")
		if err := sigv4.Sign(req, []byte(in), benchRootKey, benchRootSec, "", "us-east-1", "cloudtrail", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var o struct {
			Events []struct {
				EventName       string
				CloudTrailEvent string
			}
			NextToken string
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &o) != nil {
			t.Fatalf("LookupEvents: %d %s", rec.Code, rec.Body)
		}
		for _, e := range o.Events {
			var r struct {
				RequestID   string `json:"requestID"`
				EventName   string `json:"eventName"`
				EventSource string `json:"eventSource"`
			}
			if err := json.Unmarshal([]byte(e.CloudTrailEvent), &r); err != nil {
				t.Fatal(err)
			}
			if r.EventSource == audit.AlertEventSource {
				continue // detection's alerts (root key use), recorded when they fire
			}
			ids = append(ids, r.EventName+" "+r.RequestID)
		}
		return ids, o.NextToken
	}
	var all []string
	for token := ""; ; {
		in := `{"MaxResults":50}`
		if token != "" {
			in = `{"MaxResults":50,"NextToken":"` + token + `"}`
		}
		ids, next := lookup(in)
		all = append(all, ids...)
		if next == "" {
			break
		}
		token = next
	}
	olds := 0
	for i, id := range all {
		if strings.HasPrefix(id, "CreateUser old-") {
			if want := fmt.Sprintf("CreateUser old-%d", old-1-olds); id != want {
				t.Fatalf("event %d is %q, want %q", i, id, want)
			}
			olds++
		}
	}
	if olds != old {
		t.Errorf("%d of the %d events on disk found", olds, old)
	}
	if len(all) == 0 || !strings.HasPrefix(all[0], "AssumeRole ") {
		t.Errorf("newest events: %q", all[:min(len(all), 3)])
	}
	// The chain goes on from the last record on disk (the last file is
	// the open one, unsealed).
	if err := s.Trail().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(dir, pub); err != nil {
		t.Errorf("verify: %v", err)
	}
}

package server

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sigv4"
)

// TestManagedPolicyShapesOnTheWire: the Policy element as AWS writes it in
// each response — CreatePolicy without Description (and without Tags when
// the request had none), GetPolicy with Description and an empty Tags
// element, ListPolicies with neither.
func TestManagedPolicyShapesOnTheWire(t *testing.T) {
	s := benchServer(t)
	h := s.Handler()
	iam := func(form url.Values) string {
		t.Helper()
		form.Set("Version", "2010-05-08")
		req, _ := signedRequest(t, "iam", benchRootKey, benchRootSec, form)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", form.Get("Action"), rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	created := iam(url.Values{"Action": {"CreatePolicy"}, "PolicyName": {"p"}, "PolicyDocument": {doc}, "Description": {"reads objects"}})
	if strings.Contains(created, "<Description>") || strings.Contains(created, "<Tags>") {
		t.Errorf("CreatePolicy: %s", created)
	}
	got := iam(url.Values{"Action": {"GetPolicy"}, "PolicyArn": {"arn:aws:iam::" + benchAccount + ":policy/p"}})
	if !strings.Contains(got, "<Description>reads objects</Description>") || !strings.Contains(got, "<Tags></Tags>") {
		t.Errorf("GetPolicy: %s", got)
	}
	listed := iam(url.Values{"Action": {"ListPolicies"}, "Scope": {"Local"}})
	if !strings.Contains(listed, "<PolicyName>p</PolicyName>") || strings.Contains(listed, "<Description>") || strings.Contains(listed, "<Tags>") {
		t.Errorf("ListPolicies: %s", listed)
	}
}

// TestExpiredIAMSignature: an IAM request signed too long ago is answered
// by IAM (its credential scope names the service) with 403
// SignatureDoesNotMatch "Signature expired", not as an unknown STS action.
func TestExpiredIAMSignature(t *testing.T) {
	s := benchServer(t)
	h := s.Handler()
	for _, tc := range []struct{ service, action, version string }{
		{"iam", "ListUsers", "2010-05-08"},
		{"sts", "GetCallerIdentity", "2011-06-15"},
	} {
		body := []byte(url.Values{"Action": {tc.action}, "Version": {tc.version}}.Encode())
		req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := sigv4.Sign(req, body, benchRootKey, benchRootSec, "", "us-east-1", tc.service, time.Now().UTC().Add(-20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		out := rec.Body.String()
		ns := map[string]string{"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}[tc.service]
		if rec.Code != 403 || !strings.Contains(out, "<Code>SignatureDoesNotMatch</Code>") || !strings.Contains(out, "Signature expired: ") || !strings.Contains(out, ns) {
			t.Errorf("%s %s: %d %s", tc.service, tc.action, rec.Code, out)
		}
	}
}

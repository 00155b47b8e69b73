package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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

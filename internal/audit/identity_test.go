package audit

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
)

// testCreds is tagged as the real STS types are.
type testCreds struct {
	AccessKeyId     string
	SecretAccessKey string `sensitive:"true"`
	SessionToken    string `sensitive:"true"`
}

type assumeOut struct {
	Credentials     testCreds
	AssumedRoleUser struct{ Arn, AssumedRoleId string }
}

func records(t *testing.T, x *pipeline.Exchange) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range Build(BuildConfig{Account: "111111111111", Region: "us-east-1", NewID: NewUUID}, x) {
		b := append(appendRecord(nil, &r), `,"seq":1,"prevHash":""}`...)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestCrossAccountRoleChain: a role session (itself from a chain, with MFA
// and a source identity) in account 1 assumes a role in account 2: one
// record in each account with the same sharedEventID, every identity
// field, and the minted key (not its secret) in responseElements.
func TestCrossAccountRoleChain(t *testing.T) {
	issued := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := &session.Session{Type: session.AssumedRole, Account: "111111111111", PrincipalID: "AROAAAAAAAAAAAAAAAAAA:chain", RoleName: "first", RoleID: "AROAAAAAAAAAAAAAAAAAA",
		RolePath: "/", IssuedAt: issued, MFA: true, SourceIdentity: "alice@example.com"}
	caller := &authz.Caller{Account: "111111111111", Type: policy.AssumedRole, ARN: "arn:aws:sts::111111111111:assumed-role/first/chain",
		AccessKeyID: "ASIAFIRSTSESSION0001", Session: s}
	out := &assumeOut{Credentials: testCreds{"ASIAMINTEDSECOND0002", "mintedSecretKeyDoNotRecord0123456789abcd", "mintedSessionTokenDoNotRecord"}}
	x := &pipeline.Exchange{RequestID: "req-x", Time: issued.Add(time.Minute), HTTP: httptest.NewRequest("POST", "/", nil), API: &pipeline.API{Name: "sts"},
		Action: "AssumeRole", Caller: caller, Input: &struct{ RoleArn, RoleSessionName string }{"arn:aws:iam::222222222222:role/second", "hop"}, Output: out}
	recs := records(t, x)
	if len(recs) != 2 {
		t.Fatalf("%d records, want one in each account", len(recs))
	}
	a, b := recs[0], recs[1]
	if a["sharedEventID"] == nil || a["sharedEventID"] != b["sharedEventID"] || a["eventID"] == b["eventID"] ||
		a["recipientAccountId"] != "111111111111" || b["recipientAccountId"] != "222222222222" {
		t.Errorf("shared event: %v / %v / %v / %v", a["sharedEventID"], b["sharedEventID"], a["recipientAccountId"], b["recipientAccountId"])
	}
	for _, r := range recs {
		want := map[string]any{
			"userIdentity.type": "AssumedRole", "userIdentity.arn": caller.ARN, "userIdentity.accountId": "111111111111",
			"userIdentity.accessKeyId": "ASIAFIRSTSESSION0001", "userIdentity.principalId": s.PrincipalID,
			"userIdentity.sessionContext.sessionIssuer.type": "Role", "userIdentity.sessionContext.sessionIssuer.arn": "arn:aws:iam::111111111111:role/first",
			"userIdentity.sessionContext.sessionIssuer.principalId": "AROAAAAAAAAAAAAAAAAAA", "userIdentity.sessionContext.sessionIssuer.userName": "first",
			"userIdentity.sessionContext.attributes.creationDate": "2026-03-04T05:06:07Z", "userIdentity.sessionContext.attributes.mfaAuthenticated": "true",
			"userIdentity.sessionContext.sourceIdentity": "alice@example.com",
			"responseElements.credentials.accessKeyId":   "ASIAMINTEDSECOND0002", "requestParameters.roleArn": "arn:aws:iam::222222222222:role/second",
			"eventName": "AssumeRole", "eventSource": "sts.amazonaws.com", "readOnly": true, "eventType": "AwsApiCall",
		}
		for k, v := range want {
			if got := field(r, strings.Split(k, ".")...); got != v {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		line, _ := json.Marshal(r)
		for _, secret := range []string{out.Credentials.SecretAccessKey, out.Credentials.SessionToken} {
			if strings.Contains(string(line), secret) {
				t.Errorf("secret %q recorded", secret)
			}
		}
	}
	// The same call within one account is recorded once, unshared.
	x.Input = &struct{ RoleArn, RoleSessionName string }{"arn:aws:iam::111111111111:role/second", "hop"}
	if recs := records(t, x); len(recs) != 1 || recs[0]["sharedEventID"] != nil {
		t.Errorf("same account: %d records, %v", len(recs), recs[0]["sharedEventID"])
	}
	// Denied: the error, and no response elements.
	x.Output, x.Err = nil, apierr.New(apierr.AccessDenied, "User: %s is not authorized to perform: sts:AssumeRole", caller.ARN)
	r := records(t, x)[0]
	if r["errorCode"] != "AccessDenied" || !strings.Contains(r["errorMessage"].(string), "is not authorized to perform: sts:AssumeRole") || r["responseElements"] != nil {
		t.Errorf("denied: %v %v %v", r["errorCode"], r["errorMessage"], r["responseElements"])
	}
}

// TestWebIdentitySessionFederationData: a web-identity session's calls
// carry webIdFederationData with its provider.
func TestWebIdentitySessionFederationData(t *testing.T) {
	s := &session.Session{Type: session.WebIdentity, Account: "111111111111", PrincipalID: "AROAB:web", RoleName: "ci", RoleID: "AROAB", RolePath: "/",
		IssuedAt: time.Now(), FederatedProvider: "arn:aws:iam::111111111111:oidc-provider/token.actions.example.com", FederatedSubject: "repo:o/r"}
	x := &pipeline.Exchange{RequestID: "r", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), API: &pipeline.API{Name: "sts"}, Action: "GetCallerIdentity",
		Caller: &authz.Caller{Account: "111111111111", Type: policy.AssumedRole, ARN: "arn:aws:sts::111111111111:assumed-role/ci/web", AccessKeyID: "ASIAWEB", Session: s},
		Input:  &struct{}{}, Output: &struct{}{}}
	r := records(t, x)[0]
	w, ok := field(r, "userIdentity", "webIdFederationData").(map[string]any)
	if !ok || w["federatedProvider"] != s.FederatedProvider || w["attributes"] == nil {
		t.Errorf("webIdFederationData: %v", field(r, "userIdentity"))
	}
	if field(r, "userIdentity", "sessionContext", "sessionIssuer", "arn") != "arn:aws:iam::111111111111:role/ci" {
		t.Errorf("issuer: %v", field(r, "userIdentity", "sessionContext"))
	}
}

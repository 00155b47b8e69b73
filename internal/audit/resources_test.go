package audit

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
)

// TestResourcesOfQueryParameters: an IAM input's field named for Go
// (PolicyARN, AccessKeyID) is recorded under its Query parameter's name as
// CloudTrail does (policyArn, accessKeyId), and names the record's
// resource, so that LookupEvents by ResourceName finds who attached a
// policy or deleted a key. They were recorded as policyARN and
// accessKeyID, and no resource was recorded.
func TestResourcesOfQueryParameters(t *testing.T) {
	const policyARN, keyID = "arn:aws:iam::111111111111:policy/mine", "AKIAEXAMPLEKEY000001"
	caller := &authz.Caller{Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/alice", Type: policy.User, UserName: "alice", AccessKeyID: "AKIACALLER0000000001"}
	for _, tc := range []struct {
		action, param, value, typ string
		in                        any
	}{
		{"AttachUserPolicy", "policyArn", policyARN, "AWS::IAM::Policy", &iam.AttachUserPolicyInput{UserName: "alice", PolicyARN: policyARN}},
		{"CreatePolicyVersion", "policyArn", policyARN, "AWS::IAM::Policy", &iam.CreatePolicyVersionInput{PolicyARN: policyARN, PolicyDocument: "{}"}},
		{"DeleteAccessKey", "accessKeyId", keyID, "AWS::IAM::AccessKey", &iam.DeleteAccessKeyInput{UserName: "bob", AccessKeyID: keyID}},
		{"UpdateAccessKey", "accessKeyId", keyID, "AWS::IAM::AccessKey", &iam.UpdateAccessKeyInput{UserName: "bob", AccessKeyID: keyID, Status: "Inactive"}},
	} {
		x := &pipeline.Exchange{RequestID: "req", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), API: &pipeline.API{Name: "iam"},
			Action: tc.action, Caller: caller, Input: tc.in, Output: struct{}{}}
		recs := records(t, x)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tc.action, len(recs))
		}
		if got := field(recs[0], "requestParameters", tc.param); got != tc.value {
			t.Errorf("%s: requestParameters.%s = %v, want %s (parameters %v)", tc.action, tc.param, got, tc.value, recs[0]["requestParameters"])
		}
		found := false
		rs, _ := recs[0]["resources"].([]any)
		for _, r := range rs {
			m, _ := r.(map[string]any)
			if m["ARN"] == tc.value && m["type"] == tc.typ {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: resources %v lack %s %s", tc.action, rs, tc.typ, tc.value)
		}
	}
}

package audit

import (
	"encoding/json"
	"testing"
)

// TestAppendRecord checks the hand-written encoder against json.Marshal.
func TestAppendRecord(t *testing.T) {
	full := Record{EventVersion: EventVersion, EventTime: "2026-01-02T03:04:05Z", EventSource: "sts.amazonaws.com", EventName: "AssumeRole",
		AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1", UserAgent: "agent <&> \"q\"\n\xff", ErrorCode: "AccessDenied", ErrorMessage: "no",
		RequestParameters: json.RawMessage(`{"roleArn":"arn:aws:iam::1:role/r"}`), RequestID: "req", EventID: "id", ReadOnly: true,
		Resources: []Resource{{ARN: "a", Type: "t"}, {ARN: "b", AccountID: "1", Type: "u"}}, EventType: "AwsApiCall", ManagementEvent: true,
		RecipientAccountID: "1", SharedEventID: "s", EventCategory: "Management", TLSDetails: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "c", ClientProvidedHostHeader: "h"},
		UserIdentity: UserIdentity{Type: "AssumedRole", PrincipalID: "p", ARN: "arn", AccountID: "1", AccessKeyID: "ASIA", UserName: "u", IdentityProvider: "i",
			SessionContext:      &SessionContext{SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "p", ARN: "a", AccountID: "1", UserName: "r"}, Attributes: SessionAttributes{CreationDate: "d", MFAAuthenticated: "false"}, SourceIdentity: "si"},
			WebIDFederationData: &WebIDFederationData{FederatedProvider: "f", Attributes: map[string]string{"b": "", "a": "1"}}}}
	for i, r := range []Record{
		{},
		full,
		{UserIdentity: UserIdentity{Type: "Root", SessionContext: &SessionContext{}, WebIDFederationData: &WebIDFederationData{Attributes: map[string]string{}}}},
		{UserIdentity: UserIdentity{WebIDFederationData: &WebIDFederationData{}}},
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		got := string(appendRecord(nil, &r)) + `,"seq":0,"prevHash":""}`
		if got != string(want) {
			t.Errorf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
}

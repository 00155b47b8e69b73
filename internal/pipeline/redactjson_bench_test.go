package pipeline

import (
	"testing"
	"time"
)

// The shapes of sts.AssumeRoleInput and sts.AssumeRoleOutput (pipeline
// imports no service).
type (
	benchPolicyDescriptor struct {
		ARN string `query:"arn"`
	}
	benchTag struct {
		Key   string
		Value string
	}
	benchAssumeRoleInput struct {
		RoleArn           string
		RoleSessionName   string
		DurationSeconds   *int32
		Policy            string
		PolicyArns        []benchPolicyDescriptor
		Tags              []benchTag
		TransitiveTagKeys []string
		ExternalId        string //nolint:revive // the AWS parameter's name
		SerialNumber      string
		TokenCode         string `sensitive:"true"`
		SourceIdentity    string
	}
	benchCredentials struct {
		AccessKeyID     string    `xml:"AccessKeyId"`
		SecretAccessKey string    `xml:"SecretAccessKey" sensitive:"true"`
		SessionToken    string    `xml:"SessionToken" sensitive:"true"`
		Expiration      time.Time `xml:"Expiration"`
	}
	benchAssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		ARN           string `xml:"Arn"`
	}
	benchAssumeRoleOutput struct {
		Credentials      *benchCredentials     `xml:"Credentials"`
		AssumedRoleUser  *benchAssumedRoleUser `xml:"AssumedRoleUser"`
		PackedPolicySize *int                  `xml:"PackedPolicySize,omitempty"`
		SourceIdentity   string                `xml:"SourceIdentity,omitempty"`
	}
)

func benchAssumeRole() (*benchAssumeRoleInput, *benchAssumeRoleOutput) {
	d := int32(3600)
	in := &benchAssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/bench-role", RoleSessionName: "bench-session-0123456789",
		DurationSeconds: &d, Tags: []benchTag{{"team", "platform"}, {"env", "prod"}}, TransitiveTagKeys: []string{"team"},
		ExternalId: "ext-0123456789", SourceIdentity: "alice"}
	out := &benchAssumeRoleOutput{
		Credentials: &benchCredentials{AccessKeyID: "ASIAQWERTYUIOPASDFGH", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken: "AQoDYXdzEJr...<remainder of security token>", Expiration: time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)},
		AssumedRoleUser: &benchAssumedRoleUser{AssumedRoleID: "AROA3XFRBF535PLBIFPI4:bench-session-0123456789",
			ARN: "arn:aws:sts::123456789012:assumed-role/bench-role/bench-session-0123456789"},
		SourceIdentity: "alice",
	}
	return in, out
}

// BenchmarkAppendRedactedJSON writes an AssumeRole request's
// requestParameters and responseElements, as the audit trail does for
// every AssumeRole.
func BenchmarkAppendRedactedJSON(b *testing.B) {
	in, out := benchAssumeRole()
	var params, response any = in, out
	buf := make([]byte, 0, 2048)
	buf = AppendRedactedJSON(AppendRedactedJSON(buf, params), response)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRedactedJSON(AppendRedactedJSON(buf[:0], params), response)
	}
}

// BenchmarkStringAt reads the strings an AssumeRole's audit record and
// detection event read (the role ARN, the minted access key id) with
// StringPath handles, and with the reflection walk they replaced.
func BenchmarkStringAt(b *testing.B) {
	in, out := benchAssumeRole()
	var params, response any = in, out
	role, key := StringAt("roleArn"), StringAt("credentials", "accessKeyId")
	b.Run("compiled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if role.Of(params) == "" || key.Of(response) == "" {
				b.Fatal("empty")
			}
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if oracleRedactedString(params, "roleArn") == "" || oracleRedactedString(response, "credentials", "accessKeyId") == "" {
				b.Fatal("empty")
			}
		}
	})
}

// BenchmarkAppendRedactedJSONReflect is BenchmarkAppendRedactedJSON with
// the reflection encoder the codecs replaced, for a comparison in one
// binary.
func BenchmarkAppendRedactedJSONReflect(b *testing.B) {
	in, out := benchAssumeRole()
	var params, response any = in, out
	buf := make([]byte, 0, 2048)
	buf = oracleAppendRedactedJSON(oracleAppendRedactedJSON(buf, params), response)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = oracleAppendRedactedJSON(oracleAppendRedactedJSON(buf[:0], params), response)
	}
}

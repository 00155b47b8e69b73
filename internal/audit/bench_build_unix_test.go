//go:build unix

package audit

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
)

// BenchmarkBuildAssumeRole is the request goroutine's share of
// BenchmarkRecordAssumeRole, without the writer: an AssumeRole's record
// built (with its resources) and written as a JSON line, redacted input
// and output included, as Trail.Record does before it hands the line on.
// The event id is fixed (NewUUID's cost is not the record's):
//
//	go test ./internal/audit -run '^$' -bench BuildAssumeRole -benchmem -cpu 1
func BenchmarkBuildAssumeRole(b *testing.B) {
	r := httptest.NewRequest("POST", "http://opensts.test/", nil)
	r.Header.Set("User-Agent", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12 prompt/off command/sts.assume-role")
	d := int32(900)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	x := &pipeline.Exchange{RequestID: "0b32a9fc-3eb6-4363-8d60-ee0c373d4610", Time: now, HTTP: r, API: &pipeline.API{Name: "sts"}, Action: "AssumeRole",
		Caller: &authz.Caller{Account: "123456789012", Type: policy.User, ARN: "arn:aws:iam::123456789012:user/bench", UserID: "AIDA75D3275CTTNQDUNZZ",
			UserName: "bench", AccessKeyID: "AKIARZPUZDIKCJ5QHRKP"},
		Input: &benchInput{RoleArn: "arn:aws:iam::123456789012:role/bench-role", RoleSessionName: "bench", DurationSeconds: &d},
		Output: &benchOutput{Credentials: &benchCredentials{AccessKeyID: "ASIARZPUZDIKGXEISGJP", SecretAccessKey: "secret", SessionToken: "token",
			Expiration: now.Add(15 * time.Minute)}, AssumedRoleUser: &struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			ARN           string `xml:"Arn"`
		}{"AROAT3P7Z5D252FPVJTSW:bench", "arn:aws:sts::123456789012:assumed-role/bench-role/bench"}}}
	cfg := BuildConfig{Region: "us-east-1", Account: "123456789012", NewID: func() string { return "5d0f3a51-2f8e-4f57-9d4c-1f0f3b8c3f6e" }}
	line := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var rec Record
		if other := build(cfg, x, &rec); other != "" {
			b.Fatal("cross-account")
		}
		var buf [4]Resource
		res := resources(buf[:0], rec.params, rec.response)
		line = appendRecordWith(line[:0], &rec, res)
	}
	b.SetBytes(int64(len(line)))
}

//go:build unix

package audit

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
)

// The shapes of sts.AssumeRoleInput and AssumeRoleOutput (audit does not
// import sts): what the trail encodes for an AssumeRole.
type benchInput struct {
	RoleArn, RoleSessionName string
	DurationSeconds          *int32
	Policy                   string
	TokenCode                string `sensitive:"true"`
}

type benchCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey" sensitive:"true"`
	SessionToken    string `xml:"SessionToken" sensitive:"true"`
	Expiration      time.Time
}

type benchOutput struct {
	Credentials     *benchCredentials
	AssumedRoleUser *struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		ARN           string `xml:"Arn"`
	}
}

func processCPU() time.Duration {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// BenchmarkRecordAssumeRole is what the default file sink costs an
// AssumeRole: building and encoding its record on the request's goroutine,
// and the writer's hashing, writing and indexing. cpu-ns/op is the
// process's CPU time an event (the writer's included), which other work on
// the machine disturbs less than ns/op:
//
//	go test ./internal/audit -run '^$' -bench RecordAssumeRole -benchmem -cpu 1
func BenchmarkRecordAssumeRole(b *testing.B) {
	tr, err := Open(Config{Dir: b.TempDir(), Key: testKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Build: BuildConfig{Region: "us-east-1", Account: "123456789012", NewID: NewUUID}})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	x := benchExchange()
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		if err := tr.Record(ctx, x); err != nil {
			b.Fatal(err)
		}
		if i++; i%1024 == 0 {
			// One goroutine makes events faster than requests do: let
			// the writer take them rather than the queue drop them.
			if err := tr.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tr.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	if tr.Dropped() != 0 {
		b.Fatalf("%d events dropped", tr.Dropped())
	}
}

// benchExchange is an AssumeRole as the pipeline hands it to the trail:
// an IAM user's call, its input and its output (secrets included, for the
// redaction to hide).
func benchExchange() *pipeline.Exchange {
	r := httptest.NewRequest("POST", "http://opensts.test/", nil)
	r.Header.Set("User-Agent", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12 prompt/off command/sts.assume-role")
	d := int32(900)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	return &pipeline.Exchange{RequestID: "0b32a9fc-3eb6-4363-8d60-ee0c373d4610", Time: now, HTTP: r, API: &pipeline.API{Name: "sts"}, Action: "AssumeRole",
		Caller: &authz.Caller{Account: "123456789012", Type: policy.User, ARN: "arn:aws:iam::123456789012:user/bench", UserID: "AIDA75D3275CTTNQDUNZZ",
			UserName: "bench", AccessKeyID: "AKIARZPUZDIKCJ5QHRKP"},
		Input: &benchInput{RoleArn: "arn:aws:iam::123456789012:role/bench-role", RoleSessionName: "bench", DurationSeconds: &d},
		Output: &benchOutput{Credentials: &benchCredentials{AccessKeyID: "ASIARZPUZDIKGXEISGJP", SecretAccessKey: "secret", SessionToken: "token",
			Expiration: now.Add(15 * time.Minute)}, AssumedRoleUser: &struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			ARN           string `xml:"Arn"`
		}{"AROAT3P7Z5D252FPVJTSW:bench", "arn:aws:sts::123456789012:assumed-role/bench-role/bench"}}}
}

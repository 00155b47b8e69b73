//go:build unix

package audit

import "testing"

// BenchmarkBuildAssumeRole is the request goroutine's share of
// BenchmarkRecordAssumeRole, without the writer: an AssumeRole's record
// built (with its resources) and written as a JSON line, redacted input
// and output included, as Trail.Record does before it hands the line on.
// The event id is fixed (NewUUID's cost is not the record's):
//
//	go test ./internal/audit -run '^$' -bench BuildAssumeRole -benchmem -cpu 1
func BenchmarkBuildAssumeRole(b *testing.B) {
	x := benchExchange()
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

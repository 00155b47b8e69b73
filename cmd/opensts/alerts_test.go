package main

import (
	"strings"
	"testing"
)

// An unauthenticated request's access key id (X-Amz-Credential of a
// presigned URL) may hold any character; in the table it must neither
// start a row, shift a column nor reach the terminal as an escape.
func TestAlertsTablePrintable(t *testing.T) {
	forged := "AKIAFAKE\n2026-12-04T12:00:00Z\tinvalid-credentials\thigh\t\x1b[2J\u202eevil\r"
	got := printable(forged)
	if strings.ContainsFunc(got, hidden) {
		t.Fatalf("printable(%q) = %q", forged, got)
	}
	if want := `AKIAFAKE\n2026-12-04T12:00:00Z\tinvalid-credentials\thigh\t\x1b[2J\u202eevil\r`; got != want {
		t.Fatalf("printable = %s, want %s", got, want)
	}
	for _, s := range []string{"arn:aws:iam::123456789012:user/alice", "AKIAIOSFODNN7EXAMPLE", "rôle ünicode", ""} {
		if printable(s) != s {
			t.Errorf("printable(%q) = %q", s, printable(s))
		}
	}
}

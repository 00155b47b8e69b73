package metrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLabelSetBound(t *testing.T) {
	s := NewLabelSet[string](3)
	for _, v := range []string{"a", "b", "c"} {
		if !s.Admit(v) {
			t.Fatalf("Admit(%q) = false below the bound", v)
		}
	}
	if s.Admit("d") {
		t.Fatal("Admit(d) = true past the bound")
	}
	if !s.Admit("a") {
		t.Fatal("Admit(a) = false for a value admitted before")
	}
}

func TestSessionsIssuedBounded(t *testing.T) {
	m := New()
	for i := range MaxRoles + 5 {
		m.SessionIssued("assume_role", "111122223333", fmt.Sprintf("role%d", i))
	}
	if got := testutil.ToFloat64(m.sessions.WithLabelValues(Other, Other, "assume_role")); got != 5 {
		t.Errorf("other = %v, want 5", got)
	}
	if got := testutil.CollectAndCount(m.sessions); got != MaxRoles+1 {
		t.Errorf("series = %d, want %d", got, MaxRoles+1)
	}
	if got := testutil.ToFloat64(m.sessions.WithLabelValues("111122223333", "role0", "assume_role")); got != 1 {
		t.Errorf("role0 = %v, want 1", got)
	}
}

func TestRequestCodes(t *testing.T) {
	m := New()
	m.Request("sts", "AssumeRole", "", 0)
	m.Request("sts", "AssumeRole", "AccessDenied", 0)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("sts", "AssumeRole", "none")); got != 1 {
		t.Errorf("none = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("sts", "AssumeRole", "AccessDenied")); got != 1 {
		t.Errorf("AccessDenied = %v, want 1", got)
	}
}

// The cache of session counter handles stays within its bound however many
// (kind, account, role) combinations are seen.
func TestSessionHandlesBounded(t *testing.T) {
	m := New()
	for i := range 4*MaxRoles + 50 {
		m.SessionIssued("assume_role", "111122223333", fmt.Sprintf("r%d", i))
	}
	// One a role admitted, and the others' handle.
	if n := len(m.sessionHandles); n != MaxRoles+1 {
		t.Fatalf("%d session handles kept, want %d", n, MaxRoles+1)
	}
	if got := testutil.ToFloat64(m.sessions.WithLabelValues(Other, Other, "assume_role")); got != 3*MaxRoles+50 {
		t.Errorf("other = %v, want %d", got, 3*MaxRoles+50)
	}
}

package arn

import "testing"

// RoleWithSuffix is Role's ARN followed by the suffix, for every path.
func TestRoleWithSuffix(t *testing.T) {
	for _, path := range []string{"", "/", "/a/b/"} {
		got := RoleWithSuffix("111122223333", path, "r", "#trust")
		if want := Role("111122223333", path, "r") + "#trust"; got != want {
			t.Errorf("path %q: %s, want %s", path, got, want)
		}
	}
}

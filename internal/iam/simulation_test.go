package iam_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
)

// TestSimulate checks the shared simulator: one decision for each action
// on each resource, in order, and each resource's account from
// ResourceOwner or, with OwnerFromARN, from its ARN.
func TestSimulate(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","sqs:*"],"Resource":"*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	set := &policy.Set{Identity: []policy.Named{{ID: "p", Policy: p}}}
	alice := policy.Principal{Type: policy.User, Account: acctA, ARN: "arn:aws:iam::111122223333:user/alice"}
	actions := []string{"s3:GetObject", "sqs:SendMessage", "s3:PutObject"}
	resources := []string{"arn:aws:s3:::b/k", "arn:aws:sqs:us-east-1:444455556666:q", "arn:aws:sqs:us-east-1:111122223333:q"}
	tests := []struct {
		name        string
		owner       string
		fromARN     bool
		want, cross [3][3]string
	}{
		{"one account", "", false,
			[3][3]string{{"allowed", "allowed", "allowed"}, {"allowed", "allowed", "allowed"}, {"implicitDeny", "implicitDeny", "implicitDeny"}},
			[3][3]string{}},
		{"accounts from ARNs", "", true,
			[3][3]string{{"allowed", "implicitDeny", "allowed"}, {"allowed", "implicitDeny", "allowed"}, {"implicitDeny", "implicitDeny", "implicitDeny"}},
			[3][3]string{{"", "cross", ""}, {"", "cross", ""}, {"", "cross", ""}}},
		{"owner, accounts from ARNs", "444455556666", true,
			[3][3]string{{"implicitDeny", "implicitDeny", "allowed"}, {"implicitDeny", "implicitDeny", "allowed"}, {"implicitDeny", "implicitDeny", "implicitDeny"}},
			[3][3]string{{"cross", "cross", ""}, {"cross", "cross", ""}, {"cross", "cross", ""}}},
		{"owner of all", "444455556666", false,
			[3][3]string{{"implicitDeny", "implicitDeny", "implicitDeny"}, {"implicitDeny", "implicitDeny", "implicitDeny"}, {"implicitDeny", "implicitDeny", "implicitDeny"}},
			[3][3]string{{"cross", "cross", "cross"}, {"cross", "cross", "cross"}, {"cross", "cross", "cross"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := iam.Simulate(t.Context(), &iam.Simulation{Set: set, Principal: alice, Actions: actions, Resources: resources,
				ResourceOwner: tt.owner, OwnerFromARN: tt.fromARN})
			if err != nil {
				t.Fatal(err)
			}
			var got, cross [3][3]string
			for i := range ds {
				for j, d := range ds[i] {
					got[i][j] = d.Effect.String()
					if d.CrossAccount {
						cross[i][j] = "cross"
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.cross, cross); diff != "" {
				t.Errorf("cross-account (-want +got):\n%s", diff)
			}
		})
	}
}

package iam_test

import (
	"fmt"
	"testing"

	"github.com/opensts/opensts/internal/iam"
)

// TestSimulateInputsNotCached checks that policies passed in simulation
// requests are parsed for the request, not kept in the service's
// long-lived cache.
func TestSimulateInputsNotCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("alice", "")
	e.putUserPolicy("alice", "p", allowS3)
	e.createRole("app")
	doc := func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:*","Resource":"*"}}`, i)
	}
	resDoc := func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`, i)
	}
	// Warm up the stored policies' entries, then count.
	sim := func(i int) {
		t.Helper()
		must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{doc(i)}, PermissionsBoundaryPolicyInputList: []string{doc(i + 1)}, ResourcePolicy: resDoc(i),
			CallerARN: alice.ARN, ActionNames: []string{"s3:GetObject"}, ResourceARNs: []string{"arn:aws:s3:::b/k"},
		}))
		must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
			PolicySourceARN: alice.ARN, PolicyInputList: []string{doc(i + 2)}, PermissionsBoundaryPolicyInputList: []string{doc(i + 3)},
			ActionNames: []string{"s3:GetObject"},
		}))
		must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
			PolicySourceARN: "arn:aws:sts::111122223333:assumed-role/app/s", SessionPolicyInputList: []string{doc(i + 4)},
			ActionNames: []string{"s3:GetObject"},
		}))
	}
	sim(0)
	n, bytes := e.cache.Len(), e.cache.Bytes()
	for i := 10; i < 500; i += 10 {
		sim(i)
	}
	if e.cache.Len() != n || e.cache.Bytes() != bytes {
		t.Errorf("policy cache grew from %d policies (%d bytes) to %d (%d) with simulations", n, bytes, e.cache.Len(), e.cache.Bytes())
	}
}

package iam_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/store"
)

// TestBindTrustPoliciesUpgrade: trust policies stored before binding existed
// name principals by ARN. The upgrade binds the ones that exist to their ids
// and the ones that do not to ids that match nobody, keeps everything else
// byte for byte, and is idempotent.
func TestBindTrustPoliciesUpgrade(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "/team/")
	legacy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"AWS":["arn:aws:iam::` + acctA + `:user/team/alice","arn:aws:iam::` + acctA + `:user/ghost","arn:aws:iam::` + acctB + `:root"]},` +
		`"Action":"sts:AssumeRole"}]}`
	if err := e.store.CreateRole(e.ctx, store.Role{Account: acctA, ID: "AROALEGACYLEGACYLEG1", Name: "legacy", Path: "/", TrustPolicy: legacy, MaxSessionDuration: 3600}); err != nil {
		t.Fatal(err)
	}
	unbound, err := e.svc.BindTrustPolicies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(unbound) != 1 || !strings.Contains(unbound[0], "user/ghost -> AIDA0") {
		t.Fatalf("unbound = %q", unbound)
	}
	r, err := e.store.GetRole(e.ctx, acctA, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.TrustPolicy, "user/") || !strings.Contains(r.TrustPolicy, `"`+alice.UserID+`"`) || !strings.Contains(r.TrustPolicy, `"arn:aws:iam::`+acctB+`:root"`) {
		t.Fatalf("bound trust policy: %s", r.TrustPolicy)
	}
	again, err := e.svc.BindTrustPolicies(e.ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run: %v %q", err, again)
	}
	r2, _ := e.store.GetRole(e.ctx, acctA, "legacy")
	if r2.TrustPolicy != r.TrustPolicy {
		t.Fatalf("second run changed the policy: %s", r2.TrustPolicy)
	}
	// GetRole shows alice's ARN again, and the ghost as its id.
	out, err := e.svc.GetRole(e.ctx, e.rootA, &iam.GetRoleInput{RoleName: "legacy"})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(out.Role.AssumeRolePolicyDocument)
	if !strings.Contains(doc, `"arn:aws:iam::`+acctA+`:user/team/alice"`) || !strings.Contains(doc, `"AIDA0`) {
		t.Fatalf("shown: %s", doc)
	}
	// A user created later as ghost is not trusted.
	ghost := e.user("ghost", "/")
	if strings.Contains(r.TrustPolicy, ghost.UserID) {
		t.Fatal("ghost's new id in the policy")
	}
}

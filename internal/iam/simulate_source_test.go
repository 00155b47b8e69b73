package iam_test

import (
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
)

// TestSimulatePrincipalPolicyExactARN checks that PolicySourceArn names the
// entity at exactly its path: a caller allowed on a path prefix cannot
// simulate an entity elsewhere by spelling its name under that prefix, the
// answer for a wrong path is the answer for a missing entity, and the
// caller is authorized on the stored ARN, not on its spelling.
func TestSimulatePrincipalPolicyExactARN(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("lim", "")
	e.putUserPolicy("lim", "p", allowS3)
	e.user("teamuser", "/team/")
	must[*iam.CreateRoleOutput](t)(e.svc.CreateRole(e.ctx, e.rootA, &iam.CreateRoleInput{RoleName: "app", Path: "/svc/", AssumeRolePolicyDocument: trustDoc}))
	must[*iam.CreateGroupOutput](t)(e.svc.CreateGroup(e.ctx, e.rootA, &iam.CreateGroupInput{GroupName: "devs", Path: "/eng/"}))

	const arn = "arn:aws:iam::111122223333:"
	allow := func(name string, resources string) *authz.Caller {
		c := e.user(name, "")
		e.putUserPolicy(name, "sim", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:SimulatePrincipalPolicy","Resource":[`+resources+`]}}`)
		return c
	}
	callers := map[string]*authz.Caller{
		"root":  e.rootA,
		"bob":   allow("bob", `"`+arn+`user/team/*","`+arn+`role/svc/app","arn:aws:sts::111122223333:assumed-role/app/*"`),
		"carol": allow("carol", `"`+arn+`user/lim"`), // the stored spelling
		"dave":  allow("dave", `"`+arn+`user/LIM"`),  // another spelling
	}

	tests := []struct {
		name, caller, source string
		want                 apierr.Code // zero: a result
	}{
		// The review's case: allowed on user/team/*, naming /lim under it.
		{"other path under an allowed prefix", "bob", arn + "user/team/lim", apierr.NoSuchEntity},
		{"missing under an allowed prefix", "bob", arn + "user/team/nobody", apierr.NoSuchEntity},
		{"entity at its path, not allowed", "bob", arn + "user/lim", apierr.AccessDenied},
		{"other path, not allowed", "bob", arn + "user/other/lim", apierr.AccessDenied},
		{"missing, not allowed", "bob", arn + "user/other/nobody", apierr.AccessDenied},
		{"allowed prefix, right path", "bob", arn + "user/team/teamuser", apierr.Code{}},
		{"role at its path", "bob", arn + "role/svc/app", apierr.Code{}},
		{"session of the role, another spelling", "bob", "arn:aws:sts::111122223333:assumed-role/APP/s", apierr.Code{}},
		{"role without its path", "root", arn + "role/app", apierr.NoSuchEntity},
		{"group at another path", "root", arn + "group/devs", apierr.NoSuchEntity},
		{"group at its path", "root", arn + "group/eng/devs", apierr.Code{}},
		{"root, other path", "root", arn + "user/team/lim", apierr.NoSuchEntity},
		{"root, right path", "root", arn + "user/lim", apierr.Code{}},
		{"name in another case", "root", arn + "user/LIM", apierr.Code{}},
		{"other account", "root", "arn:aws:iam::444455556666:user/lim", apierr.NoSuchEntity},
		// Authorization is on the stored ARN, whatever the request's spelling.
		{"allowed on the stored spelling", "carol", arn + "user/LIM", apierr.Code{}},
		{"allowed on another spelling only", "dave", arn + "user/LIM", apierr.AccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.svc.SimulatePrincipalPolicy(e.ctx, callers[tt.caller], &iam.SimulatePrincipalPolicyInput{
				PolicySourceARN: tt.source, ActionNames: []string{"s3:GetObject"}})
			if tt.want != (apierr.Code{}) {
				wantErr(t, err, tt.want)
				return
			}
			if err != nil || len(out.EvaluationResults) != 1 {
				t.Fatalf("%v, %v", out, err)
			}
		})
	}

	// The simulated user is the one at the path named: lim's own policy
	// allows s3:GetObject only for lim.
	out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
		PolicySourceARN: arn + "user/lim", ActionNames: []string{"s3:GetObject"}}))
	if d := out.EvaluationResults[0].EvalDecision; d != "allowed" {
		t.Errorf("lim: %s", d)
	}
}

// TestSimulateCallerARNExactPath checks that CallerArn takes the unique id
// of the user at exactly the path named, and none for another path.
func TestSimulateCallerARNExactPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lim := e.user("lim", "")
	doc := condDoc("StringEquals", "aws:userid", `"`+lim.UserID+`"`)
	for _, tt := range []struct {
		caller, want string
	}{
		{"arn:aws:iam::111122223333:user/lim", "allowed"},
		{"arn:aws:iam::111122223333:user/team/lim", "implicitDeny"},
	} {
		out := must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(e.ctx, e.rootA, &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{doc}, ActionNames: []string{"s3:GetObject"}, CallerARN: tt.caller}))
		if got := out.EvaluationResults[0].EvalDecision; got != tt.want {
			t.Errorf("CallerArn %s: %s, want %s", tt.caller, got, tt.want)
		}
	}
}

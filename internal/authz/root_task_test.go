package authz

import (
	"testing"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
)

// TestRootTaskOutside: an AssumeRoot session's IAM requests reach the root
// user only (attack review: its task policies' statements on "*" reached
// every IAM user's credentials); other callers, other services and
// requests on no particular resource are left to the policies.
func TestRootTaskOutside(t *testing.T) {
	t.Parallel()
	const acct = "111122223333"
	task := &Caller{Account: acct, Type: policy.Root, ARN: "arn:aws:iam::" + acct + ":root",
		Session: &session.Session{Type: session.SessionToken, PolicyARNs: []string{"arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"}}}
	rootKey := &Caller{Account: acct, Type: policy.Root, ARN: "arn:aws:iam::" + acct + ":root"}
	rootSession := &Caller{Account: acct, Type: policy.Root, ARN: "arn:aws:iam::" + acct + ":root", Session: &session.Session{Type: session.SessionToken}}
	for _, c := range []struct {
		name string
		c    *Caller
		r    Request
		want bool
	}{
		{"task on an IAM user", task, Request{Action: "iam:DeleteAccessKey", Resource: "arn:aws:iam::" + acct + ":user/victim"}, true},
		{"task on an IAM user, action in another case", task, Request{Action: "IAM:ListAccessKeys", Resource: "arn:aws:iam::" + acct + ":user/victim"}, true},
		{"task on another account's root", task, Request{Action: "iam:ListAccessKeys", Resource: "arn:aws:iam::210987654321:root"}, true},
		{"task on a role", task, Request{Action: "iam:GetRole", Resource: "arn:aws:iam::" + acct + ":role/admin"}, true},
		{"task on the root itself", task, Request{Action: "iam:DeleteAccessKey", Resource: "arn:aws:iam::" + acct + ":root"}, false},
		{"task on no particular resource", task, Request{Action: "iam:GetAccountSummary", Resource: "*"}, false},
		{"task on a bucket", task, Request{Action: "s3:PutBucketPolicy", Resource: "arn:aws:s3:::b"}, false},
		{"the root's key", rootKey, Request{Action: "iam:DeleteAccessKey", Resource: "arn:aws:iam::" + acct + ":user/victim"}, false},
		{"the root's GetSessionToken session", rootSession, Request{Action: "iam:DeleteAccessKey", Resource: "arn:aws:iam::" + acct + ":user/victim"}, false},
	} {
		if got := rootTaskOutside(c.c, &c.r); got != c.want {
			t.Errorf("%s: rootTaskOutside = %v, want %v", c.name, got, c.want)
		}
	}
}

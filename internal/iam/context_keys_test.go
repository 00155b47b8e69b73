package iam_test

import (
	"slices"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestGetContextKeys(t *testing.T) {
	e := newEnv(t)
	custom := must[*iam.ContextKeysOutput](t)(e.svc.GetContextKeysForCustomPolicy(e.ctx, e.rootA, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"${aws:username}/"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringLike":{"S3:Prefix":"x"}}}}`,
	}}))
	if want := []string{"aws:SecureTransport", "aws:username", "s3:prefix"}; !slices.Equal(custom.ContextKeyNames, want) {
		t.Errorf("custom keys %q, want %q", custom.ContextKeyNames, want)
	}
	_, err := e.svc.GetContextKeysForCustomPolicy(e.ctx, e.rootA, &iam.GetContextKeysForCustomPolicyInput{PolicyInputList: []string{`{"Statement":`}})
	wantErr(t, err, apierr.MalformedPolicyDocument)

	// A user's own and its groups' policies, and the ones passed in.
	alice := e.user("alice", "/")
	e.putUserPolicy("alice", "own", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`)
	e.createGroup("devs")
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "devs", UserName: "alice"}))
	must[*iam.PutGroupPolicyOutput](t)(e.svc.PutGroupPolicy(e.ctx, e.rootA, &iam.PutGroupPolicyInput{GroupName: "devs", PolicyName: "g",
		PolicyDocument: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"ec2:Region":"eu-west-1"}}}}`}))
	got := must[*iam.ContextKeysOutput](t)(e.svc.GetContextKeysForPrincipalPolicy(e.ctx, e.rootA, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: alice.ARN,
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sns:*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"false"}}}}`}}))
	if want := []string{"aws:SourceIp", "aws:TokenIssueTime", "ec2:Region"}; !slices.Equal(got.ContextKeyNames, want) {
		t.Errorf("principal keys %q, want %q", got.ContextKeyNames, want)
	}
	group := must[*iam.ContextKeysOutput](t)(e.svc.GetContextKeysForPrincipalPolicy(e.ctx, e.rootA, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: "arn:aws:iam::" + acctA + ":group/devs"}))
	if want := []string{"ec2:Region"}; !slices.Equal(group.ContextKeyNames, want) {
		t.Errorf("group keys %q, want %q", group.ContextKeyNames, want)
	}
	e.createRole("plain")
	role := must[*iam.ContextKeysOutput](t)(e.svc.GetContextKeysForPrincipalPolicy(e.ctx, e.rootA, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: "arn:aws:iam::" + acctA + ":role/plain"}))
	if role.ContextKeyNames == nil || len(role.ContextKeyNames) != 0 {
		t.Errorf("role without conditions: %#v", role.ContextKeyNames)
	}
	_, err = e.svc.GetContextKeysForPrincipalPolicy(e.ctx, e.rootA, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: "arn:aws:iam::" + acctA + ":user/nobody"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.GetContextKeysForPrincipalPolicy(e.ctx, e.rootA, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: "not-an-arn-at-all-really"})
	wantErr(t, err, apierr.InvalidInput)
	// Another user may not read alice's policies' keys.
	bob := e.user("bob", "/")
	_, err = e.svc.GetContextKeysForPrincipalPolicy(e.ctx, bob, &iam.GetContextKeysForPrincipalPolicyInput{PolicySourceARN: alice.ARN})
	wantErr(t, err, apierr.AccessDenied)
}

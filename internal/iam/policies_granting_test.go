package iam_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestListPoliciesGrantingServiceAccess(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	e.user("alice", "/")
	e.createGroup("devs")
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, root, &iam.AddUserToGroupInput{GroupName: "devs", UserName: "alice"}))
	e.putUserPolicy("alice", "s3-read", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`)
	e.putUserPolicy("alice", "deny-s3", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	must[*iam.PutGroupPolicyOutput](t)(e.svc.PutGroupPolicy(e.ctx, root, &iam.PutGroupPolicyInput{GroupName: "devs", PolicyName: "all-but-iam",
		PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`}))
	ec2 := e.createPolicy("ec2", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`)
	e.attachUser("alice", ec2)
	must[*iam.AttachGroupPolicyOutput](t)(e.svc.AttachGroupPolicy(e.ctx, root, &iam.AttachGroupPolicyInput{GroupName: "devs", PolicyARN: ec2}))

	out := must[*iam.ListPoliciesGrantingServiceAccessOutput](t)(e.svc.ListPoliciesGrantingServiceAccess(e.ctx, root, &iam.ListPoliciesGrantingServiceAccessInput{
		ARN: "arn:aws:iam::" + acctA + ":user/alice", ServiceNamespaces: []string{"s3", "ec2", "iam"}}))
	want := []iam.ServicePolicies{
		{ServiceNamespace: "s3", Policies: []iam.PolicyGrantingServiceAccess{
			{PolicyName: "s3-read", PolicyType: "INLINE", EntityType: "USER", EntityName: "alice"},
			{PolicyName: "all-but-iam", PolicyType: "INLINE", EntityType: "GROUP", EntityName: "devs"},
		}},
		{ServiceNamespace: "ec2", Policies: []iam.PolicyGrantingServiceAccess{
			{PolicyName: "all-but-iam", PolicyType: "INLINE", EntityType: "GROUP", EntityName: "devs"},
			{PolicyName: "ec2", PolicyType: "MANAGED", PolicyArn: ec2}, // once, though attached twice
		}},
		{ServiceNamespace: "iam", Policies: []iam.PolicyGrantingServiceAccess{}},
	}
	sortByName := cmp.Transformer("sort", func(ps []iam.PolicyGrantingServiceAccess) map[string]iam.PolicyGrantingServiceAccess {
		m := map[string]iam.PolicyGrantingServiceAccess{}
		for _, p := range ps {
			m[p.PolicyName] = p
		}
		return m
	})
	if d := cmp.Diff(want, out.PoliciesGrantingServiceAccess, sortByName); d != "" {
		t.Fatalf("policies (-want +got):\n%s", d)
	}

	_, err := e.svc.ListPoliciesGrantingServiceAccess(e.ctx, root, &iam.ListPoliciesGrantingServiceAccessInput{ARN: "arn:aws:iam::" + acctA + ":user/nobody", ServiceNamespaces: []string{"s3"}})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.ListPoliciesGrantingServiceAccess(e.ctx, root, &iam.ListPoliciesGrantingServiceAccessInput{ARN: "arn:aws:sts::" + acctA + ":assumed-role/r/s", ServiceNamespaces: []string{"s3"}})
	wantErr(t, err, apierr.InvalidInput)
	bob := e.user("bob", "/")
	_, err = e.svc.ListPoliciesGrantingServiceAccess(e.ctx, bob, &iam.ListPoliciesGrantingServiceAccessInput{ARN: "arn:aws:iam::" + acctA + ":user/alice", ServiceNamespaces: []string{"s3"}})
	wantErr(t, err, apierr.AccessDenied)
}

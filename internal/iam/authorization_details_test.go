package iam_test

import (
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestGetAccountAuthorizationDetails(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	e.user("alice", "/")
	e.user("bob", "/")
	e.putUserPolicy("alice", "own", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)
	e.createGroup("devs")
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, root, &iam.AddUserToGroupInput{GroupName: "devs", UserName: "alice"}))
	e.createRole("app")
	must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{InstanceProfileName: "app-ip"}))
	must[*iam.AddRoleToInstanceProfileOutput](t)(e.svc.AddRoleToInstanceProfile(e.ctx, root, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "app-ip", RoleName: "app"}))
	local := e.createPolicy("local", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}`)
	e.attachUser("bob", local)
	e.attachUser("bob", "arn:aws:iam::aws:policy/ReadOnlyAccess")

	all := must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.svc.GetAccountAuthorizationDetails(e.ctx, root, &iam.GetAccountAuthorizationDetailsInput{}))
	if all.IsTruncated || len(all.UserDetailList) != 2 || len(all.GroupDetailList) != 1 || len(all.RoleDetailList) != 1 || len(all.Policies) != 2 {
		t.Fatalf("details: %d users %d groups %d roles %d policies truncated %v", len(all.UserDetailList), len(all.GroupDetailList), len(all.RoleDetailList), len(all.Policies), all.IsTruncated)
	}
	alice := all.UserDetailList[0]
	if alice.UserName != "alice" || len(alice.UserPolicyList) != 1 || !strings.Contains(alice.UserPolicyList[0].PolicyDocument, "s3%3AGetObject") ||
		len(alice.GroupList) != 1 || alice.GroupList[0] != "devs" {
		t.Errorf("alice %+v", alice)
	}
	if bob := all.UserDetailList[1]; len(bob.AttachedManagedPolicies) != 2 {
		t.Errorf("bob %+v", bob)
	}
	if r := all.RoleDetailList[0]; len(r.InstanceProfileList) != 1 || r.InstanceProfileList[0].InstanceProfileName != "app-ip" || r.AssumeRolePolicyDocument == "" {
		t.Errorf("role %+v", r)
	}
	// The local policy, then the one AWS managed policy in use (of the many shipped).
	if all.Policies[0].PolicyName != "local" || all.Policies[0].AttachmentCount != 1 || len(all.Policies[0].PolicyVersionList) != 1 ||
		all.Policies[0].PolicyVersionList[0].Document == "" || all.Policies[1].PolicyName != "ReadOnlyAccess" {
		t.Errorf("policies %+v", all.Policies)
	}

	// Pages of one walk every entry once, across sections.
	var names []string
	marker := ""
	for range 20 {
		page := must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.svc.GetAccountAuthorizationDetails(e.ctx, root, &iam.GetAccountAuthorizationDetailsInput{Marker: marker, MaxItems: ptr[int32](1)}))
		for _, u := range page.UserDetailList {
			names = append(names, "user/"+u.UserName)
		}
		for _, g := range page.GroupDetailList {
			names = append(names, "group/"+g.GroupName)
		}
		for _, r := range page.RoleDetailList {
			names = append(names, "role/"+r.RoleName)
		}
		for _, p := range page.Policies {
			names = append(names, "policy/"+p.PolicyName)
		}
		if !page.IsTruncated {
			break
		}
		marker = page.Marker
	}
	if got := strings.Join(names, " "); got != "user/alice user/bob group/devs role/app policy/local policy/ReadOnlyAccess" {
		t.Errorf("paged: %s", got)
	}

	roles := must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.svc.GetAccountAuthorizationDetails(e.ctx, root, &iam.GetAccountAuthorizationDetailsInput{Filter: []string{"Role"}}))
	if len(roles.RoleDetailList) != 1 || len(roles.UserDetailList) != 0 || roles.UserDetailList == nil || len(roles.Policies) != 0 {
		t.Errorf("Role filter: %+v", roles)
	}
	_, err := e.svc.GetAccountAuthorizationDetails(e.ctx, root, &iam.GetAccountAuthorizationDetailsInput{Filter: []string{"Nope"}})
	wantErr(t, err, apierr.ValidationError)
	_, err = e.svc.GetAccountAuthorizationDetails(e.ctx, root, &iam.GetAccountAuthorizationDetailsInput{Marker: "forged"})
	wantErr(t, err, apierr.InvalidInput)
	bob := e.user("carl", "/")
	_, err = e.svc.GetAccountAuthorizationDetails(e.ctx, bob, &iam.GetAccountAuthorizationDetailsInput{})
	wantErr(t, err, apierr.AccessDenied)
}

package iam_test

import (
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
)

// action is one IAM call made by caller c against the fixture of
// authFixture.
type action struct {
	name string
	call func(e *env, c *authz.Caller) error
}

// authFixture creates, as root, one of everything the actions below act on.
func authFixture(e *env) string {
	e.user("target", "/")
	e.createGroup("grp")
	e.createRole("role")
	arn := e.createPolicy("pol", allowS3)
	must[*iam.CreatePolicyVersionOutput](e.t)(e.svc.CreatePolicyVersion(e.ctx, e.rootA, &iam.CreatePolicyVersionInput{PolicyARN: arn, PolicyDocument: allowS3}))
	e.putUserPolicy("target", "inl", allowS3)
	return arn
}

func mutatingActions(pArn string) []action {
	tags := []iam.Tag{{Key: "k", Value: "v"}}
	ignore := func(_ any, err error) error { return err }
	return []action{
		{"CreateUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreateUser(e.ctx, c, &iam.CreateUserInput{UserName: "new"}))
		}},
		{"UpdateUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateUser(e.ctx, c, &iam.UpdateUserInput{UserName: "target", NewPath: "/x/"}))
		}},
		{"DeleteUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteUser(e.ctx, c, &iam.DeleteUserInput{UserName: "target"}))
		}},
		{"CreateGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreateGroup(e.ctx, c, &iam.CreateGroupInput{GroupName: "g2"}))
		}},
		{"UpdateGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateGroup(e.ctx, c, &iam.UpdateGroupInput{GroupName: "grp", NewGroupName: "g3"}))
		}},
		{"DeleteGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteGroup(e.ctx, c, &iam.DeleteGroupInput{GroupName: "grp"}))
		}},
		{"AddUserToGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.AddUserToGroup(e.ctx, c, &iam.AddUserToGroupInput{GroupName: "grp", UserName: "target"}))
		}},
		{"RemoveUserFromGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.RemoveUserFromGroup(e.ctx, c, &iam.RemoveUserFromGroupInput{GroupName: "grp", UserName: "target"}))
		}},
		{"CreateAccessKey", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreateAccessKey(e.ctx, c, &iam.CreateAccessKeyInput{UserName: "target"}))
		}},
		{"UpdateAccessKey", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateAccessKey(e.ctx, c, &iam.UpdateAccessKeyInput{UserName: "target", AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", Status: "Inactive"}))
		}},
		{"DeleteAccessKey", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteAccessKey(e.ctx, c, &iam.DeleteAccessKeyInput{UserName: "target", AccessKeyID: "AKIAAAAAAAAAAAAAAAAA"}))
		}},
		{"CreateRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreateRole(e.ctx, c, &iam.CreateRoleInput{RoleName: "r2", AssumeRolePolicyDocument: trustDoc}))
		}},
		{"UpdateRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateRole(e.ctx, c, &iam.UpdateRoleInput{RoleName: "role", Description: ptr("d")}))
		}},
		{"UpdateRoleDescription", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateRoleDescription(e.ctx, c, &iam.UpdateRoleDescriptionInput{RoleName: "role", Description: "d"}))
		}},
		{"UpdateAssumeRolePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UpdateAssumeRolePolicy(e.ctx, c, &iam.UpdateAssumeRolePolicyInput{RoleName: "role", PolicyDocument: trustDoc}))
		}},
		{"DeleteRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteRole(e.ctx, c, &iam.DeleteRoleInput{RoleName: "role"}))
		}},
		{"TagRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.TagRole(e.ctx, c, &iam.TagRoleInput{RoleName: "role", Tags: tags}))
		}},
		{"UntagRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UntagRole(e.ctx, c, &iam.UntagRoleInput{RoleName: "role", TagKeys: []string{"k"}}))
		}},
		{"TagUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.TagUser(e.ctx, c, &iam.TagUserInput{UserName: "target", Tags: tags}))
		}},
		{"UntagUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UntagUser(e.ctx, c, &iam.UntagUserInput{UserName: "target", TagKeys: []string{"k"}}))
		}},
		{"TagPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.TagPolicy(e.ctx, c, &iam.TagPolicyInput{PolicyARN: pArn, Tags: tags}))
		}},
		{"UntagPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.UntagPolicy(e.ctx, c, &iam.UntagPolicyInput{PolicyARN: pArn, TagKeys: []string{"k"}}))
		}},
		{"PutUserPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.PutUserPolicy(e.ctx, c, &iam.PutUserPolicyInput{UserName: "target", PolicyName: "p", PolicyDocument: allowIAM}))
		}},
		{"DeleteUserPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteUserPolicy(e.ctx, c, &iam.DeleteUserPolicyInput{UserName: "target", PolicyName: "inl"}))
		}},
		{"PutGroupPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.PutGroupPolicy(e.ctx, c, &iam.PutGroupPolicyInput{GroupName: "grp", PolicyName: "p", PolicyDocument: allowIAM}))
		}},
		{"DeleteGroupPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteGroupPolicy(e.ctx, c, &iam.DeleteGroupPolicyInput{GroupName: "grp", PolicyName: "p"}))
		}},
		{"PutRolePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.PutRolePolicy(e.ctx, c, &iam.PutRolePolicyInput{RoleName: "role", PolicyName: "p", PolicyDocument: allowIAM}))
		}},
		{"DeleteRolePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteRolePolicy(e.ctx, c, &iam.DeleteRolePolicyInput{RoleName: "role", PolicyName: "p"}))
		}},
		{"CreatePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreatePolicy(e.ctx, c, &iam.CreatePolicyInput{PolicyName: "p2", PolicyDocument: allowS3}))
		}},
		{"DeletePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeletePolicy(e.ctx, c, &iam.DeletePolicyInput{PolicyARN: pArn}))
		}},
		{"CreatePolicyVersion", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.CreatePolicyVersion(e.ctx, c, &iam.CreatePolicyVersionInput{PolicyARN: pArn, PolicyDocument: allowIAM}))
		}},
		{"DeletePolicyVersion", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeletePolicyVersion(e.ctx, c, &iam.DeletePolicyVersionInput{PolicyARN: pArn, VersionID: "v2"}))
		}},
		{"SetDefaultPolicyVersion", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.SetDefaultPolicyVersion(e.ctx, c, &iam.SetDefaultPolicyVersionInput{PolicyARN: pArn, VersionID: "v2"}))
		}},
		{"AttachUserPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.AttachUserPolicy(e.ctx, c, &iam.AttachUserPolicyInput{UserName: "target", PolicyARN: arnAdmin}))
		}},
		{"DetachUserPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DetachUserPolicy(e.ctx, c, &iam.DetachUserPolicyInput{UserName: "target", PolicyARN: arnAdmin}))
		}},
		{"AttachGroupPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.AttachGroupPolicy(e.ctx, c, &iam.AttachGroupPolicyInput{GroupName: "grp", PolicyARN: arnAdmin}))
		}},
		{"DetachGroupPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DetachGroupPolicy(e.ctx, c, &iam.DetachGroupPolicyInput{GroupName: "grp", PolicyARN: arnAdmin}))
		}},
		{"AttachRolePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.AttachRolePolicy(e.ctx, c, &iam.AttachRolePolicyInput{RoleName: "role", PolicyARN: arnAdmin}))
		}},
		{"DetachRolePolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DetachRolePolicy(e.ctx, c, &iam.DetachRolePolicyInput{RoleName: "role", PolicyARN: arnAdmin}))
		}},
		{"PutUserPermissionsBoundary", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.PutUserPermissionsBoundary(e.ctx, c, &iam.PutUserPermissionsBoundaryInput{UserName: "target", PermissionsBoundary: arnAdmin}))
		}},
		{"DeleteUserPermissionsBoundary", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteUserPermissionsBoundary(e.ctx, c, &iam.DeleteUserPermissionsBoundaryInput{UserName: "target"}))
		}},
		{"PutRolePermissionsBoundary", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.PutRolePermissionsBoundary(e.ctx, c, &iam.PutRolePermissionsBoundaryInput{RoleName: "role", PermissionsBoundary: arnAdmin}))
		}},
		{"DeleteRolePermissionsBoundary", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.DeleteRolePermissionsBoundary(e.ctx, c, &iam.DeleteRolePermissionsBoundaryInput{RoleName: "role"}))
		}},
	}
}

func readActions(pArn string) []action {
	ignore := func(_ any, err error) error { return err }
	return []action{
		{"GetUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetUser(e.ctx, c, &iam.GetUserInput{UserName: "target"}))
		}},
		{"ListUsers", func(e *env, c *authz.Caller) error { return ignore(e.svc.ListUsers(e.ctx, c, &iam.ListUsersInput{})) }},
		{"GetGroup", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetGroup(e.ctx, c, &iam.GetGroupInput{GroupName: "grp"}))
		}},
		{"ListGroups", func(e *env, c *authz.Caller) error { return ignore(e.svc.ListGroups(e.ctx, c, &iam.ListGroupsInput{})) }},
		{"ListGroupsForUser", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListGroupsForUser(e.ctx, c, &iam.ListGroupsForUserInput{UserName: "target"}))
		}},
		{"ListAccessKeys", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListAccessKeys(e.ctx, c, &iam.ListAccessKeysInput{UserName: "target"}))
		}},
		{"GetRole", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetRole(e.ctx, c, &iam.GetRoleInput{RoleName: "role"}))
		}},
		{"ListRoles", func(e *env, c *authz.Caller) error { return ignore(e.svc.ListRoles(e.ctx, c, &iam.ListRolesInput{})) }},
		{"ListRoleTags", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListRoleTags(e.ctx, c, &iam.ListRoleTagsInput{RoleName: "role"}))
		}},
		{"ListUserTags", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListUserTags(e.ctx, c, &iam.ListUserTagsInput{UserName: "target"}))
		}},
		{"ListPolicyTags", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListPolicyTags(e.ctx, c, &iam.ListPolicyTagsInput{PolicyARN: pArn}))
		}},
		{"GetUserPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetUserPolicy(e.ctx, c, &iam.GetUserPolicyInput{UserName: "target", PolicyName: "inl"}))
		}},
		{"ListUserPolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListUserPolicies(e.ctx, c, &iam.ListUserPoliciesInput{UserName: "target"}))
		}},
		{"ListGroupPolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListGroupPolicies(e.ctx, c, &iam.ListGroupPoliciesInput{GroupName: "grp"}))
		}},
		{"ListRolePolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListRolePolicies(e.ctx, c, &iam.ListRolePoliciesInput{RoleName: "role"}))
		}},
		{"GetPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetPolicy(e.ctx, c, &iam.GetPolicyInput{PolicyARN: pArn}))
		}},
		{"GetPolicyVersion", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.GetPolicyVersion(e.ctx, c, &iam.GetPolicyVersionInput{PolicyARN: pArn, VersionID: "v1"}))
		}},
		{"ListPolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListPolicies(e.ctx, c, &iam.ListPoliciesInput{}))
		}},
		{"ListPolicyVersions", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListPolicyVersions(e.ctx, c, &iam.ListPolicyVersionsInput{PolicyARN: pArn}))
		}},
		{"ListAttachedUserPolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListAttachedUserPolicies(e.ctx, c, &iam.ListAttachedUserPoliciesInput{UserName: "target"}))
		}},
		{"ListAttachedGroupPolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListAttachedGroupPolicies(e.ctx, c, &iam.ListAttachedGroupPoliciesInput{GroupName: "grp"}))
		}},
		{"ListAttachedRolePolicies", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListAttachedRolePolicies(e.ctx, c, &iam.ListAttachedRolePoliciesInput{RoleName: "role"}))
		}},
		{"ListEntitiesForPolicy", func(e *env, c *authz.Caller) error {
			return ignore(e.svc.ListEntitiesForPolicy(e.ctx, c, &iam.ListEntitiesForPolicyInput{PolicyARN: pArn}))
		}},
	}
}

func TestNoPoliciesDeniesEverything(t *testing.T) {
	e := newEnv(t)
	pArn := authFixture(e)
	nobody := e.user("nobody", "/")
	for _, a := range append(mutatingActions(pArn), readActions(pArn)...) {
		t.Run(a.name, func(t *testing.T) {
			wantErr(t, a.call(e, nobody), apierr.AccessDenied)
		})
	}
}

func TestIAMReadOnlyAccess(t *testing.T) {
	e := newEnv(t)
	pArn := authFixture(e)
	reader := e.user("reader", "/")
	e.attachUser("reader", arnIAMRead)
	for _, a := range readActions(pArn) {
		t.Run("read/"+a.name, func(t *testing.T) {
			if err := a.call(e, reader); err != nil {
				t.Errorf("%s: %v", a.name, err)
			}
		})
	}
	for _, a := range mutatingActions(pArn) {
		t.Run("write/"+a.name, func(t *testing.T) {
			wantErr(t, a.call(e, reader), apierr.AccessDenied)
		})
	}
}

// Root may do everything in its own account; every mutating action
// succeeds or fails for a reason other than authorization.
func TestRootAllowed(t *testing.T) {
	e := newEnv(t)
	pArn := authFixture(e)
	for _, a := range append(readActions(pArn), mutatingActions(pArn)...) {
		t.Run(a.name, func(t *testing.T) {
			if err := a.call(e, e.rootA); code(err) == "AccessDenied" || code(err) == "InternalFailure" {
				t.Errorf("%s: %v", a.name, err)
			}
		})
	}
}

func TestPathScopedAdmin(t *testing.T) {
	e := newEnv(t)
	admin := e.user("teamadmin", "/")
	e.putUserPolicy("teamadmin", "team", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/team/*"}]}`)
	e.user("outsider", "/")

	must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, admin, &iam.CreateUserInput{UserName: "member", Path: "/team/"}))
	must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, admin, &iam.CreateUserInput{UserName: "deep", Path: "/team/sub/"}))
	_, err := e.svc.CreateUser(e.ctx, admin, &iam.CreateUserInput{UserName: "rogue"})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.CreateUser(e.ctx, admin, &iam.CreateUserInput{UserName: "rogue", Path: "/other/"})
	wantErr(t, err, apierr.AccessDenied)

	must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, admin, &iam.GetUserInput{UserName: "member"}))
	_, err = e.svc.GetUser(e.ctx, admin, &iam.GetUserInput{UserName: "outsider"})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.DeleteUser(e.ctx, admin, &iam.DeleteUserInput{UserName: "outsider"})
	wantErr(t, err, apierr.AccessDenied)
	// Moving a user out of /team/ needs permission on the new ARN too.
	_, err = e.svc.UpdateUser(e.ctx, admin, &iam.UpdateUserInput{UserName: "member", NewPath: "/"})
	wantErr(t, err, apierr.AccessDenied)

	l := must[*iam.ListUsersOutput](t)(e.svc.ListUsers(e.ctx, admin, &iam.ListUsersInput{PathPrefix: "/team/"}))
	if len(l.Users) != 2 {
		t.Errorf("ListUsers /team/ = %d users", len(l.Users))
	}
	_, err = e.svc.ListUsers(e.ctx, admin, &iam.ListUsersInput{})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.DeleteUserOutput](t)(e.svc.DeleteUser(e.ctx, admin, &iam.DeleteUserInput{UserName: "member"}))
}

func TestPermissionsBoundaryLimitsUser(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob", "/")
	e.attachUser("bob", arnAdmin)
	must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, bob, &iam.CreateUserInput{UserName: "before"}))

	must[*iam.PutUserPermissionsBoundaryOutput](t)(e.svc.PutUserPermissionsBoundary(e.ctx, e.rootA, &iam.PutUserPermissionsBoundaryInput{UserName: "bob", PermissionsBoundary: arnIAMRead}))
	// The boundary applies at once (the authorizer cache was invalidated).
	_, err := e.svc.CreateUser(e.ctx, bob, &iam.CreateUserInput{UserName: "after"})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.ListUsersOutput](t)(e.svc.ListUsers(e.ctx, bob, &iam.ListUsersInput{}))
	// Even an administrator cannot remove its own boundary through it.
	_, err = e.svc.DeleteUserPermissionsBoundary(e.ctx, bob, &iam.DeleteUserPermissionsBoundaryInput{UserName: "bob"})
	wantErr(t, err, apierr.AccessDenied)
}

func TestPolicyChangesApplyAtOnce(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", "/")
	_, err := e.svc.ListRoles(e.ctx, u, &iam.ListRolesInput{})
	wantErr(t, err, apierr.AccessDenied)
	e.createGroup("readers")
	must[*iam.AttachGroupPolicyOutput](t)(e.svc.AttachGroupPolicy(e.ctx, e.rootA, &iam.AttachGroupPolicyInput{GroupName: "readers", PolicyARN: arnIAMRead}))
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "readers", UserName: "u"}))
	must[*iam.ListRolesOutput](t)(e.svc.ListRoles(e.ctx, u, &iam.ListRolesInput{}))
	must[*iam.RemoveUserFromGroupOutput](t)(e.svc.RemoveUserFromGroup(e.ctx, e.rootA, &iam.RemoveUserFromGroupInput{GroupName: "readers", UserName: "u"}))
	_, err = e.svc.ListRoles(e.ctx, u, &iam.ListRolesInput{})
	wantErr(t, err, apierr.AccessDenied)
}

func TestConditionKeys(t *testing.T) {
	e := newEnv(t)
	d := e.user("delegate", "/")
	e.putUserPolicy("delegate", "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"`+arnIAMRead+`"}}},
		{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{"ArnEquals":{"iam:PolicyARN":"`+arnReadOnly+`"}}},
		{"Effect":"Allow","Action":"iam:TagRole","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"blue"}}}]}`)
	e.createRole("r")

	_, err := e.svc.CreateUser(e.ctx, d, &iam.CreateUserInput{UserName: "free"})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, d, &iam.CreateUserInput{UserName: "bounded", PermissionsBoundary: arnIAMRead}))
	// Creating with tags also needs iam:TagUser.
	_, err = e.svc.CreateUser(e.ctx, d, &iam.CreateUserInput{UserName: "tagged", PermissionsBoundary: arnIAMRead, Tags: []iam.Tag{{Key: "a", Value: "b"}}})
	wantErr(t, err, apierr.AccessDenied)

	must[*iam.AttachUserPolicyOutput](t)(e.svc.AttachUserPolicy(e.ctx, d, &iam.AttachUserPolicyInput{UserName: "bounded", PolicyARN: arnReadOnly}))
	_, err = e.svc.AttachUserPolicy(e.ctx, d, &iam.AttachUserPolicyInput{UserName: "bounded", PolicyARN: arnAdmin})
	wantErr(t, err, apierr.AccessDenied)

	must[*iam.TagRoleOutput](t)(e.svc.TagRole(e.ctx, d, &iam.TagRoleInput{RoleName: "r", Tags: []iam.Tag{{Key: "team", Value: "blue"}}}))
	_, err = e.svc.TagRole(e.ctx, d, &iam.TagRoleInput{RoleName: "r", Tags: []iam.Tag{{Key: "team", Value: "red"}}})
	wantErr(t, err, apierr.AccessDenied)
}

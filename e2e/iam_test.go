package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestIAMOverTheWire drives every IAM action through the aws-sdk-go-v2 IAM
// client, so each response shape is parsed by the SDK, not only by our tests.
func TestIAMOverTheWire(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	ok := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s := aws.String
	doc := allow("s3:GetObject", "arn:aws:s3:::bucket/*")

	// Users and tags.
	u := must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: s("wire"), Path: s("/eng/"), Tags: []iamtypes.Tag{{Key: s("team"), Value: s("blue")}}}))
	if *u.User.Arn != "arn:aws:iam::123456789012:user/eng/wire" || !strings.HasPrefix(*u.User.UserId, "AIDA") || u.User.CreateDate == nil {
		t.Fatalf("CreateUser: %+v", u.User)
	}
	gu := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{UserName: s("WIRE")}))
	if *gu.User.UserName != "wire" || len(gu.User.Tags) != 1 {
		t.Fatalf("GetUser: %+v", gu.User)
	}
	ok(c.TagUser(ctx, &iam.TagUserInput{UserName: s("wire"), Tags: []iamtypes.Tag{{Key: s("env"), Value: s("prod")}}}))
	ut := must[*iam.ListUserTagsOutput](t)(c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: s("wire")}))
	if len(ut.Tags) != 2 {
		t.Fatalf("ListUserTags: %+v", ut.Tags)
	}
	ok(c.UntagUser(ctx, &iam.UntagUserInput{UserName: s("wire"), TagKeys: []string{"env"}}))
	ok(c.UpdateUser(ctx, &iam.UpdateUserInput{UserName: s("wire"), NewPath: s("/ops/")}))
	lu := must[*iam.ListUsersOutput](t)(c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: s("/ops/")}))
	if len(lu.Users) != 1 || *lu.Users[0].Path != "/ops/" {
		t.Fatalf("ListUsers: %+v", lu.Users)
	}

	// Access keys.
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: s("wire")}))
	akid := *k.AccessKey.AccessKeyId
	if !strings.HasPrefix(akid, "AKIA") || len(*k.AccessKey.SecretAccessKey) != 40 {
		t.Fatalf("CreateAccessKey: %+v", k.AccessKey)
	}
	must[*sts.GetCallerIdentityOutput](t)(e.sts(akid, *k.AccessKey.SecretAccessKey, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	lak := must[*iam.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: s("wire")}))
	if len(lak.AccessKeyMetadata) != 1 || lak.AccessKeyMetadata[0].Status != iamtypes.StatusTypeActive {
		t.Fatalf("ListAccessKeys: %+v", lak.AccessKeyMetadata)
	}
	lastUsed := must[*iam.GetAccessKeyLastUsedOutput](t)(c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: s(akid)}))
	if *lastUsed.UserName != "wire" || lastUsed.AccessKeyLastUsed == nil {
		t.Fatalf("GetAccessKeyLastUsed: %+v", lastUsed)
	}
	ok(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: s("wire")}))
	_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: s("wire")})
	wantCode(t, err, "LimitExceeded")
	ok(c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: s("wire"), AccessKeyId: s(akid), Status: iamtypes.StatusTypeInactive}))

	// Groups.
	g := must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: s("devs")}))
	if !strings.HasPrefix(*g.Group.GroupId, "AGPA") {
		t.Fatalf("CreateGroup: %+v", g.Group)
	}
	ok(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: s("devs"), UserName: s("wire")}))
	gg := must[*iam.GetGroupOutput](t)(c.GetGroup(ctx, &iam.GetGroupInput{GroupName: s("devs")}))
	if len(gg.Users) != 1 {
		t.Fatalf("GetGroup users: %+v", gg.Users)
	}
	gfu := must[*iam.ListGroupsForUserOutput](t)(c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: s("wire")}))
	if len(gfu.Groups) != 1 {
		t.Fatal("ListGroupsForUser")
	}
	ok(c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: s("devs"), PolicyName: s("gp"), PolicyDocument: s(doc)}))
	ggp := must[*iam.GetGroupPolicyOutput](t)(c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: s("devs"), PolicyName: s("gp")}))
	if d, _ := url.QueryUnescape(*ggp.PolicyDocument); d != doc {
		t.Fatalf("GetGroupPolicy document %q", *ggp.PolicyDocument)
	}
	if names := must[*iam.ListGroupPoliciesOutput](t)(c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: s("devs")})).PolicyNames; len(names) != 1 {
		t.Fatal("ListGroupPolicies")
	}
	ok(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: s("devs"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	if a := must[*iam.ListAttachedGroupPoliciesOutput](t)(c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: s("devs")})).AttachedPolicies; len(a) != 1 {
		t.Fatal("ListAttachedGroupPolicies")
	}
	_, err = c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: s("devs")})
	wantCode(t, err, "DeleteConflict")
	ok(c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: s("devs"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")}))
	ok(c.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: s("devs"), PolicyName: s("gp")}))
	ok(c.UpdateGroup(ctx, &iam.UpdateGroupInput{GroupName: s("devs"), NewPath: s("/x/")}))
	if gs := must[*iam.ListGroupsOutput](t)(c.ListGroups(ctx, &iam.ListGroupsInput{})).Groups; len(gs) != 1 || *gs[0].Path != "/x/" {
		t.Fatal("ListGroups")
	}

	// User inline and managed policies, boundaries.
	ok(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: s("wire"), PolicyName: s("up"), PolicyDocument: s(doc)}))
	must[*iam.GetUserPolicyOutput](t)(c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: s("wire"), PolicyName: s("up")}))
	if n := must[*iam.ListUserPoliciesOutput](t)(c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: s("wire")})).PolicyNames; len(n) != 1 {
		t.Fatal("ListUserPolicies")
	}
	mp := must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: s("mp"), PolicyDocument: s(doc), Description: s("d"), Tags: []iamtypes.Tag{{Key: s("k"), Value: s("v")}}}))
	parn := *mp.Policy.Arn
	if parn != "arn:aws:iam::123456789012:policy/mp" || *mp.Policy.DefaultVersionId != "v1" || !strings.HasPrefix(*mp.Policy.PolicyId, "ANPA") {
		t.Fatalf("CreatePolicy: %+v", mp.Policy)
	}
	ok(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: s("wire"), PolicyArn: s(parn)}))
	if a := must[*iam.ListAttachedUserPoliciesOutput](t)(c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: s("wire")})).AttachedPolicies; len(a) != 1 {
		t.Fatal("ListAttachedUserPolicies")
	}
	gp := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: s(parn)}))
	if *gp.Policy.AttachmentCount != 1 {
		t.Fatalf("AttachmentCount %d", *gp.Policy.AttachmentCount)
	}
	ents := must[*iam.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: s(parn)}))
	if len(ents.PolicyUsers) != 1 {
		t.Fatal("ListEntitiesForPolicy")
	}
	doc2 := allow("s3:PutObject", "*")
	must[*iam.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: s(parn), PolicyDocument: s(doc2), SetAsDefault: true}))
	pv := must[*iam.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: s(parn), VersionId: s("v2")}))
	if d, _ := url.QueryUnescape(*pv.PolicyVersion.Document); d != doc2 || !pv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion: %+v", pv.PolicyVersion)
	}
	if vs := must[*iam.ListPolicyVersionsOutput](t)(c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: s(parn)})).Versions; len(vs) != 2 {
		t.Fatal("ListPolicyVersions")
	}
	ok(c.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: s(parn), VersionId: s("v1")}))
	ok(c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: s(parn), VersionId: s("v2")}))
	_, err = c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: s(parn), VersionId: s("v1")})
	wantCode(t, err, "DeleteConflict")
	ok(c.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: s(parn), Tags: []iamtypes.Tag{{Key: s("k2"), Value: s("v2")}}}))
	if tg := must[*iam.ListPolicyTagsOutput](t)(c.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: s(parn)})).Tags; len(tg) != 2 {
		t.Fatal("ListPolicyTags")
	}
	ok(c.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: s(parn), TagKeys: []string{"k2"}}))
	lp := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}))
	if len(lp.Policies) != 1 {
		t.Fatalf("ListPolicies Local: %d", len(lp.Policies))
	}
	awsManaged := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAws}))
	names := map[string]bool{}
	for _, p := range awsManaged.Policies {
		names[*p.PolicyName] = true
	}
	for _, n := range []string{"AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess", "PowerUserAccess"} {
		if !names[n] {
			t.Errorf("AWS managed policy %s missing", n)
		}
	}
	ok(c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: s("wire"), PermissionsBoundary: s(parn)}))
	if b := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{UserName: s("wire")})).User.PermissionsBoundary; b == nil || *b.PermissionsBoundaryArn != parn {
		t.Fatal("user permissions boundary")
	}
	ok(c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: s("wire")}))

	// Roles.
	r := must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("wr"), AssumeRolePolicyDocument: s(trustAccount), Description: s("wire role"), MaxSessionDuration: aws.Int32(7200), Tags: []iamtypes.Tag{{Key: s("a"), Value: s("b")}}}))
	if !strings.HasPrefix(*r.Role.RoleId, "AROA") || *r.Role.MaxSessionDuration != 7200 {
		t.Fatalf("CreateRole: %+v", r.Role)
	}
	gr := must[*iam.GetRoleOutput](t)(c.GetRole(ctx, &iam.GetRoleInput{RoleName: s("wr")}))
	if d, _ := url.QueryUnescape(*gr.Role.AssumeRolePolicyDocument); d != trustAccount || *gr.Role.Description != "wire role" || len(gr.Role.Tags) != 1 {
		t.Fatalf("GetRole: %+v", gr.Role)
	}
	ok(c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: s("wr"), MaxSessionDuration: aws.Int32(3600)}))
	ok(c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: s("wr"), Description: s("new")}))
	ok(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: s("wr"), PolicyDocument: s(trustAccount)}))
	_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: s("wr"), PolicyDocument: s(doc)})
	wantCode(t, err, "MalformedPolicyDocument")
	ok(c.TagRole(ctx, &iam.TagRoleInput{RoleName: s("wr"), Tags: []iamtypes.Tag{{Key: s("c"), Value: s("d")}}}))
	if tg := must[*iam.ListRoleTagsOutput](t)(c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: s("wr")})).Tags; len(tg) != 2 {
		t.Fatal("ListRoleTags")
	}
	ok(c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: s("wr"), TagKeys: []string{"c"}}))
	ok(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: s("wr"), PolicyName: s("rp"), PolicyDocument: s(doc)}))
	must[*iam.GetRolePolicyOutput](t)(c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: s("wr"), PolicyName: s("rp")}))
	if n := must[*iam.ListRolePoliciesOutput](t)(c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: s("wr")})).PolicyNames; len(n) != 1 {
		t.Fatal("ListRolePolicies")
	}
	ok(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: s("wr"), PolicyArn: s(parn)}))
	if a := must[*iam.ListAttachedRolePoliciesOutput](t)(c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: s("wr")})).AttachedPolicies; len(a) != 1 {
		t.Fatal("ListAttachedRolePolicies")
	}
	ok(c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: s("wr"), PermissionsBoundary: s("arn:aws:iam::aws:policy/PowerUserAccess")}))
	ok(c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: s("wr")}))
	if rs := must[*iam.ListRolesOutput](t)(c.ListRoles(ctx, &iam.ListRolesInput{})).Roles; len(rs) != 1 {
		t.Fatal("ListRoles")
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("wr")})
	wantCode(t, err, "DeleteConflict")
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: s(parn)})
	wantCode(t, err, "DeleteConflict")
	ok(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: s("wr"), PolicyArn: s(parn)}))
	ok(c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: s("wr"), PolicyName: s("rp")}))
	ok(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("wr")}))

	// Deleting a user follows AWS's DeleteConflict rules.
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("wire")})
	wantCode(t, err, "DeleteConflict")
	ok(c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: s("wire"), PolicyArn: s(parn)}))
	ok(c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: s("wire"), PolicyName: s("up")}))
	ok(c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: s("devs"), UserName: s("wire")}))
	for _, key := range must[*iam.ListAccessKeysOutput](t)(c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: s("wire")})).AccessKeyMetadata {
		ok(c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: s("wire"), AccessKeyId: key.AccessKeyId}))
	}
	ok(c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("wire")}))
	ok(c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: s("devs")}))
	ok(c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: s(parn)}))

	// Errors.
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: s("ghost")})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("bad name"), AssumeRolePolicyDocument: s(trustAccount)})
	wantCode(t, err, "ValidationError")
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("r2"), AssumeRolePolicyDocument: s(trustAccount), MaxSessionDuration: aws.Int32(50000)})
	wantCode(t, err, "ValidationError")
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: s("ghost"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: s("p"), Path: s("no-slash")})
	wantCode(t, err, "ValidationError")
}

// TestIAMPagination walks a list larger than one page with the SDK paginator.
func TestIAMPagination(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootIAM()
	for i := 0; i < 7; i++ {
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("user-" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{MaxItems: aws.Int32(3)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.Users {
			names = append(names, *u.UserName)
		}
	}
	if pages != 3 || len(names) != 7 || names[0] != "user-a" || names[6] != "user-g" {
		t.Fatalf("pages=%d names=%v", pages, names)
	}
	_, err := c.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
	wantCode(t, err, "ValidationError")
}

package e2e

// Attacks on identity: names in another letter case, principals that are
// deleted and created again, renamed users. IAM names are unique regardless
// of case and lookups ignore it, but policies match ARNs exactly, so every
// decision must be made on the stored identity of what a request names, and
// stored trust policies must name principals by unique id.

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

const acctARN = "arn:aws:iam::" + testAccount + ":"

// TestCaseVariantNamesAreAuthorizedAsStored gives mallory every permission
// except on the entities named Target, then calls every action that takes a
// name or an ARN with Target spelled in other cases. Each must be denied.
func TestCaseVariantNamesAreAuthorizedAsStored(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	need(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Target")}))(t)
	need(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Target")}))(t)
	e.role(t, "Target", "", trustAccount)
	polARN := *need(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Target"), PolicyDocument: aws.String(allow("s3:GetObject", "*"))}))(t).Policy.Arn
	need(root.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(polARN), PolicyDocument: aws.String(allow("s3:PutObject", "*"))}))(t)
	targetKey := *need(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Target")}))(t).AccessKey.AccessKeyId
	need(root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("Target")}))(t)

	akid, secret := e.user(t, "mallory")
	e.userPolicy(t, "mallory", "all-but-target", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"*","Resource":[
			"`+acctARN+`user/Target","`+acctARN+`group/Target","`+acctARN+`role/Target",
			"`+acctARN+`policy/Target","`+acctARN+`mfa/Target"]}]}`)
	c := e.iam(akid, secret, "")
	s := e.sts(akid, secret, "")

	doc := aws.String(allow("s3:GetObject", "*"))
	otherPolicy := aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")
	type call func(name, policyARN, serial string) error
	calls := map[string]call{
		"GetUser": func(n, _, _ string) error { _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: &n}); return err },
		"UpdateUser": func(n, _, _ string) error {
			_, err := c.UpdateUser(ctx, &iam.UpdateUserInput{UserName: &n, NewPath: aws.String("/x/")})
			return err
		},
		"DeleteUser": func(n, _, _ string) error {
			_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &n})
			return err
		},
		"CreateAccessKey": func(n, _, _ string) error {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &n})
			return err
		},
		"ListAccessKeys": func(n, _, _ string) error {
			_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &n})
			return err
		},
		"UpdateAccessKey": func(n, _, _ string) error {
			_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &n, AccessKeyId: &targetKey, Status: iamtypes.StatusTypeInactive})
			return err
		},
		"DeleteAccessKey": func(n, _, _ string) error {
			_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &n, AccessKeyId: &targetKey})
			return err
		},
		"AttachUserPolicy": func(n, _, _ string) error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &n, PolicyArn: otherPolicy})
			return err
		},
		"DetachUserPolicy": func(n, _, _ string) error {
			_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &n, PolicyArn: otherPolicy})
			return err
		},
		"ListAttachedUserPolicies": func(n, _, _ string) error {
			_, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: &n})
			return err
		},
		"PutUserPolicy": func(n, _, _ string) error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &n, PolicyName: aws.String("p"), PolicyDocument: doc})
			return err
		},
		"GetUserPolicy": func(n, _, _ string) error {
			_, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &n, PolicyName: aws.String("p")})
			return err
		},
		"DeleteUserPolicy": func(n, _, _ string) error {
			_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &n, PolicyName: aws.String("p")})
			return err
		},
		"ListUserPolicies": func(n, _, _ string) error {
			_, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: &n})
			return err
		},
		"PutUserPermissionsBoundary": func(n, _, _ string) error {
			_, err := c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: &n, PermissionsBoundary: otherPolicy})
			return err
		},
		"DeleteUserPermissionsBoundary": func(n, _, _ string) error {
			_, err := c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: &n})
			return err
		},
		"TagUser": func(n, _, _ string) error {
			_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: &n, Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"UntagUser": func(n, _, _ string) error {
			_, err := c.UntagUser(ctx, &iam.UntagUserInput{UserName: &n, TagKeys: []string{"k"}})
			return err
		},
		"ListUserTags": func(n, _, _ string) error {
			_, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: &n})
			return err
		},
		"ListGroupsForUser": func(n, _, _ string) error {
			_, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &n})
			return err
		},
		"ListMFADevices": func(n, _, _ string) error {
			_, err := c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: &n})
			return err
		},
		"EnableMFADevice": func(n, _, serial string) error {
			_, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: &n, SerialNumber: &serial, AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("234567")})
			return err
		},
		"DeactivateMFADevice": func(n, _, serial string) error {
			_, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: &n, SerialNumber: &serial})
			return err
		},
		"ResyncMFADevice": func(n, _, serial string) error {
			_, err := c.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: &n, SerialNumber: &serial, AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("234567")})
			return err
		},

		"GetGroup": func(n, _, _ string) error { _, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: &n}); return err },
		"UpdateGroup": func(n, _, _ string) error {
			_, err := c.UpdateGroup(ctx, &iam.UpdateGroupInput{GroupName: &n, NewPath: aws.String("/x/")})
			return err
		},
		"DeleteGroup": func(n, _, _ string) error {
			_, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: &n})
			return err
		},
		"AddUserToGroup": func(n, _, _ string) error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: &n, UserName: aws.String("mallory")})
			return err
		},
		"RemoveUserFromGroup": func(n, _, _ string) error {
			_, err := c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: &n, UserName: aws.String("mallory")})
			return err
		},
		"AttachGroupPolicy": func(n, _, _ string) error {
			_, err := c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: &n, PolicyArn: otherPolicy})
			return err
		},
		"DetachGroupPolicy": func(n, _, _ string) error {
			_, err := c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: &n, PolicyArn: otherPolicy})
			return err
		},
		"ListAttachedGroupPolicies": func(n, _, _ string) error {
			_, err := c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: &n})
			return err
		},
		"PutGroupPolicy": func(n, _, _ string) error {
			_, err := c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: &n, PolicyName: aws.String("p"), PolicyDocument: doc})
			return err
		},
		"GetGroupPolicy": func(n, _, _ string) error {
			_, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &n, PolicyName: aws.String("p")})
			return err
		},
		"DeleteGroupPolicy": func(n, _, _ string) error {
			_, err := c.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: &n, PolicyName: aws.String("p")})
			return err
		},
		"ListGroupPolicies": func(n, _, _ string) error {
			_, err := c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: &n})
			return err
		},

		"GetRole": func(n, _, _ string) error { _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: &n}); return err },
		"UpdateRole": func(n, _, _ string) error {
			_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: &n, Description: aws.String("x")})
			return err
		},
		"UpdateRoleDescription": func(n, _, _ string) error {
			_, err := c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: &n, Description: aws.String("x")})
			return err
		},
		"UpdateAssumeRolePolicy": func(n, _, _ string) error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: &n, PolicyDocument: aws.String(trustAccount)})
			return err
		},
		"DeleteRole": func(n, _, _ string) error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &n})
			return err
		},
		"AttachRolePolicy": func(n, _, _ string) error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &n, PolicyArn: otherPolicy})
			return err
		},
		"DetachRolePolicy": func(n, _, _ string) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &n, PolicyArn: otherPolicy})
			return err
		},
		"ListAttachedRolePolicies": func(n, _, _ string) error {
			_, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &n})
			return err
		},
		"PutRolePolicy": func(n, _, _ string) error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &n, PolicyName: aws.String("p"), PolicyDocument: doc})
			return err
		},
		"GetRolePolicy": func(n, _, _ string) error {
			_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &n, PolicyName: aws.String("p")})
			return err
		},
		"DeleteRolePolicy": func(n, _, _ string) error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &n, PolicyName: aws.String("p")})
			return err
		},
		"ListRolePolicies": func(n, _, _ string) error {
			_, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &n})
			return err
		},
		"PutRolePermissionsBoundary": func(n, _, _ string) error {
			_, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: &n, PermissionsBoundary: otherPolicy})
			return err
		},
		"DeleteRolePermissionsBoundary": func(n, _, _ string) error {
			_, err := c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: &n})
			return err
		},
		"TagRole": func(n, _, _ string) error {
			_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: &n, Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"UntagRole": func(n, _, _ string) error {
			_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: &n, TagKeys: []string{"k"}})
			return err
		},
		"ListRoleTags": func(n, _, _ string) error {
			_, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: &n})
			return err
		},
		"sts:AssumeRole": func(n, _, _ string) error {
			_, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/" + n), RoleSessionName: aws.String("sess")})
			return err
		},

		"GetPolicy": func(_, p, _ string) error { _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &p}); return err },
		"DeletePolicy": func(_, p, _ string) error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &p})
			return err
		},
		"CreatePolicyVersion": func(_, p, _ string) error {
			_, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &p, PolicyDocument: aws.String(allow("*", "*")), SetAsDefault: true})
			return err
		},
		"GetPolicyVersion": func(_, p, _ string) error {
			_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &p, VersionId: aws.String("v1")})
			return err
		},
		"DeletePolicyVersion": func(_, p, _ string) error {
			_, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &p, VersionId: aws.String("v1")})
			return err
		},
		"ListPolicyVersions": func(_, p, _ string) error {
			_, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: &p})
			return err
		},
		"SetDefaultPolicyVersion": func(_, p, _ string) error {
			_, err := c.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: &p, VersionId: aws.String("v2")})
			return err
		},
		"ListEntitiesForPolicy": func(_, p, _ string) error {
			_, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: &p})
			return err
		},
		"TagPolicy": func(_, p, _ string) error {
			_, err := c.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: &p, Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"UntagPolicy": func(_, p, _ string) error {
			_, err := c.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: &p, TagKeys: []string{"k"}})
			return err
		},
		"ListPolicyTags": func(_, p, _ string) error {
			_, err := c.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: &p})
			return err
		},

		"DeleteVirtualMFADevice": func(_, _, serial string) error {
			_, err := c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})
			return err
		},
		"SimulatePrincipalPolicy": func(n, _, _ string) error {
			_, err := c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(acctARN + "user/" + n), ActionNames: []string{"s3:GetObject"}})
			return err
		},
	}
	for name, fn := range calls {
		for _, v := range []string{"target", "TARGET", "tArGeT"} {
			err := fn(v, acctARN+"policy/"+v, acctARN+"mfa/"+v)
			if err == nil || apiCode(t, err) != "AccessDenied" {
				t.Errorf("%s naming %q: got %v, want AccessDenied", name, v, err)
			}
		}
	}
	// The stored spelling is denied too (the Deny itself works), and nothing
	// was changed by the attempts above.
	wantCode(t, func() error { _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Target")}); return err }(), "AccessDenied")
	if p := need(root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(polARN)}))(t); *p.Policy.DefaultVersionId != "v1" {
		t.Errorf("policy default version changed to %s", *p.Policy.DefaultVersionId)
	}
	if k := need(root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("Target")}))(t); len(k.AccessKeyMetadata) != 1 || k.AccessKeyMetadata[0].Status != iamtypes.StatusTypeActive {
		t.Errorf("Target's access keys changed: %+v", k.AccessKeyMetadata)
	}
}

// TestReviewedEscalations replays the outside review's three escalations.
func TestReviewedEscalations(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()

	t.Run("CreatePolicyVersion on policy/dev* does not reach DevOpsAdmin", func(t *testing.T) {
		adminARN := *need(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("DevOpsAdmin"), PolicyDocument: aws.String(allow("s3:GetObject", "*"))}))(t).Policy.Arn
		akid, secret := e.user(t, "dev")
		need(root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"), PolicyArn: aws.String(adminARN)}))(t)
		e.userPolicy(t, "dev", "own-policies", allow("iam:CreatePolicyVersion", acctARN+"policy/dev*"))
		c := e.iam(akid, secret, "")
		_, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(acctARN + "policy/devOpsAdmin"),
			PolicyDocument: aws.String(allow("*", "*")), SetAsDefault: true})
		wantCode(t, err, "AccessDenied")
		// The real spelling is denied as well: the policy is not dev*.
		_, err = c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(adminARN), PolicyDocument: aws.String(allow("*", "*"))})
		wantCode(t, err, "AccessDenied")
	})

	t.Run("ArnEquals iam:PolicyARN deny holds for every spelling", func(t *testing.T) {
		akid, secret := e.user(t, "eve")
		const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
		e.userPolicy(t, "eve", "no-admin", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"iam:*","Resource":"*"},
			{"Effect":"Deny","Action":["iam:Attach*","iam:Put*PermissionsBoundary","iam:Create*"],"Resource":"*",
			 "Condition":{"ArnEquals":{"iam:PolicyARN":"`+admin+`"}}},
			{"Effect":"Deny","Action":["iam:Put*PermissionsBoundary","iam:CreateUser","iam:CreateRole"],"Resource":"*",
			 "Condition":{"ArnEquals":{"iam:PermissionsBoundary":"`+admin+`"}}}]}`)
		c := e.iam(akid, secret, "")
		for _, v := range []string{admin, "arn:aws:iam::aws:policy/administratoraccess", "arn:aws:iam::aws:policy/ADMINISTRATORACCESS"} {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("eve"), PolicyArn: aws.String(v)})
			wantCode(t, err, "AccessDenied")
			_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("nobody"), PolicyArn: aws.String(v)})
			wantCode(t, err, "AccessDenied")
			_, err = c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("eve"), PermissionsBoundary: aws.String(v)})
			wantCode(t, err, "AccessDenied")
			_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("eve2"), PermissionsBoundary: aws.String(v)})
			wantCode(t, err, "AccessDenied")
			_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("eve2"), AssumeRolePolicyDocument: aws.String(trustAccount), PermissionsBoundary: aws.String(v)})
			wantCode(t, err, "AccessDenied")
		}
		if a := need(root.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("eve")}))(t); len(a.AttachedPolicies) != 0 {
			t.Fatalf("eve attached %+v", a.AttachedPolicies)
		}
	})

	t.Run("Deny on role/BreakGlass holds for role/breakglass", func(t *testing.T) {
		e.role(t, "BreakGlass", "", trustAccount)
		akid, secret := e.user(t, "oncall")
		e.userPolicy(t, "oncall", "assume", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
			{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"`+acctARN+`role/BreakGlass"}]}`)
		s := e.sts(akid, secret, "")
		for _, v := range []string{"BreakGlass", "breakglass", "BREAKGLASS"} {
			_, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/" + v), RoleSessionName: aws.String("sess")})
			wantCode(t, err, "AccessDenied")
		}
	})

	t.Run("session policy ARNs are carried in their stored spelling", func(t *testing.T) {
		arn := e.role(t, "Reader", "", trustAccount)
		e.rolePolicy(t, "Reader", "p", allow("iam:*", "*"))
		akid, secret := e.user(t, "reader")
		e.userPolicy(t, "reader", "assume", allow("sts:AssumeRole", arn))
		out, err := e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("sess"),
			PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/readonlyaccess")}}})
		if err != nil {
			t.Fatal(err)
		}
		c := e.iam(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
		need(c.ListUsers(ctx, &iam.ListUsersInput{}))(t)
		_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
		wantCode(t, err, "AccessDenied")
	})
}

// TestTrustBindsPrincipalsByID: a trust policy names users and roles by
// unique id once saved, so neither a user renamed to a trusted name nor one
// created with the name of a deleted trusted user inherits the trust.
func TestTrustBindsPrincipalsByID(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	trustUser := func(arns ...string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["` + strings.Join(arns, `","`) + `"]},"Action":"sts:AssumeRole"}]}`
	}
	_, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Ghost"), AssumeRolePolicyDocument: aws.String(trustUser(acctARN + "user/ghost"))})
	wantCode(t, err, "MalformedPolicyDocument")
	if !strings.Contains(err.Error(), `Invalid principal in policy: "AWS":"`+acctARN+`user/ghost"`) {
		t.Errorf("message: %v", err)
	}
	need(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/team/")}))(t)
	// The right name at the wrong path names nobody.
	_, err = root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Ghost"), AssumeRolePolicyDocument: aws.String(trustUser(acctARN + "user/alice"))})
	wantCode(t, err, "MalformedPolicyDocument")

	aliceARN := acctARN + "user/team/alice"
	roleARN := e.role(t, "Vault", "", trustUser(aliceARN))
	e.rolePolicy(t, "Vault", "p", allow("iam:ListUsers", "*"))
	got := need(root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Vault")}))(t)
	if doc := decodeDoc(t, *got.Role.AssumeRolePolicyDocument); !strings.Contains(doc, `"`+aliceARN+`"`) {
		t.Fatalf("trust policy should show alice's ARN while she exists: %s", doc)
	}
	aliceID := *need(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}))(t).User.UserId

	// mallory may rename herself and assume any role her account trusts.
	makeMallory := func(name string) (string, string) {
		akid, secret := e.user(t, name)
		e.userPolicy(t, name, "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:UpdateUser","sts:AssumeRole"],"Resource":"*"}]}`)
		return akid, secret
	}
	akid, secret := makeMallory("mallory")

	// alice leaves; GetRole then shows her unique id, as AWS does.
	need(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}))(t)
	got = need(root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Vault")}))(t)
	if doc := decodeDoc(t, *got.Role.AssumeRolePolicyDocument); !strings.Contains(doc, `"`+aliceID+`"`) || strings.Contains(doc, aliceARN) {
		t.Fatalf("trust policy should show the deleted user's id: %s", doc)
	}
	// mallory renames herself to alice, at alice's path.
	need(e.iam(akid, secret, "").UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("mallory"), NewUserName: aws.String("alice"), NewPath: aws.String("/team/")}))(t)
	_, err = e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess")})
	wantCode(t, err, "AccessDenied")

	// A user created later with the trusted name is a stranger too.
	need(root.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("mallory")}))(t)
	akid2, secret2 := makeMallory("alice2")
	need(root.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("alice2"), NewUserName: aws.String("alice"), NewPath: aws.String("/team/")}))(t)
	_, err = e.sts(akid2, secret2, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess")})
	wantCode(t, err, "AccessDenied")

	// The trusted user keeps the trust through a rename, as in AWS.
	bobAkid, bobSecret := makeMallory("bob")
	e.role(t, "Desk", "", trustUser(acctARN+"user/bob"))
	need(root.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("bob"), NewUserName: aws.String("robert")}))(t)
	if _, err := e.sts(bobAkid, bobSecret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/Desk"), RoleSessionName: aws.String("sess")}); err != nil {
		t.Fatalf("renamed trusted user: %v", err)
	}
	got = need(root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Desk")}))(t)
	if doc := decodeDoc(t, *got.Role.AssumeRolePolicyDocument); !strings.Contains(doc, `"`+acctARN+`user/robert"`) {
		t.Fatalf("trust policy should show the renamed user's current ARN: %s", doc)
	}

	// A role as principal is bound the same way: a recreated role is not trusted.
	e.role(t, "Hop", "", trustAccount)
	e.role(t, "Target2", "", trustUser(acctARN+"role/Hop"))
	need(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Hop")}))(t)
	e.role(t, "Hop", "", trustAccount)
	e.rolePolicy(t, "Hop", "p", allow("sts:AssumeRole", "*"))
	userAkid, userSecret := e.user(t, "hopper")
	e.userPolicy(t, "hopper", "p", allow("sts:AssumeRole", "*"))
	hop, err := e.sts(userAkid, userSecret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/Hop"), RoleSessionName: aws.String("sess")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.sts(*hop.Credentials.AccessKeyId, *hop.Credentials.SecretAccessKey, *hop.Credentials.SessionToken).AssumeRole(ctx,
		&sts.AssumeRoleInput{RoleArn: aws.String(acctARN + "role/Target2"), RoleSessionName: aws.String("sess")})
	wantCode(t, err, "AccessDenied")
}

// TestDeletedRoleSessionGetsNothing: a session of a deleted role keeps
// nothing, even after a role with the same name and more permissions is
// created; the same holds for a GetSessionToken session of a deleted user.
func TestDeletedRoleSessionGetsNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	arn := e.role(t, "app", "", trustAccount)
	e.rolePolicy(t, "app", "list", allow("iam:ListUsers", "*"))
	akid, secret := e.user(t, "deployer")
	e.userPolicy(t, "deployer", "p", allow("sts:*", "*"))
	out := need(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("sess")}))(t)
	sess := e.iam(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	need(sess.ListUsers(ctx, &iam.ListUsersInput{}))(t)

	need(root.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("list")}))(t)
	need(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")}))(t)
	e.role(t, "APP", "", trustAccount)
	e.rolePolicy(t, "APP", "admin", allow("*", "*"))
	_, err := sess.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
	_, err = sess.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("backdoor")})
	wantCode(t, err, "AccessDenied")

	// A GetSessionToken session of a deleted user, after a namesake appears
	// (such sessions call STS, not IAM, without MFA).
	target := e.role(t, "target", "", trustAccount)
	akid2, secret2 := e.user(t, "temp")
	e.userPolicy(t, "temp", "p", allow("sts:AssumeRole", target))
	st := need(e.sts(akid2, secret2, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{}))(t)
	tmp := e.sts(*st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)
	need(tmp.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("sess")}))(t)
	need(root.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("temp"), PolicyName: aws.String("p")}))(t)
	keys := need(root.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("temp")}))(t)
	for _, k := range keys.AccessKeyMetadata {
		need(root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("temp"), AccessKeyId: k.AccessKeyId}))(t)
	}
	need(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("temp")}))(t)
	need(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("temp")}))(t)
	e.userPolicy(t, "temp", "admin", allow("*", "*"))
	_, err = tmp.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("sess")})
	wantCode(t, err, "AccessDenied")
}

// TestRecreatedSessionPolicyGrantsNothing: a managed session policy deleted
// and created again with broader rights does not widen a live session.
func TestRecreatedSessionPolicyGrantsNothing(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	root := e.rootIAM()
	arn := e.role(t, "wide", "", trustAccount)
	e.rolePolicy(t, "wide", "all", allow("iam:*", "*"))
	narrow := *need(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Narrow"), PolicyDocument: aws.String(allow("iam:ListUsers", "*"))}))(t).Policy.Arn
	akid, secret := e.user(t, "op")
	e.userPolicy(t, "op", "p", allow("sts:AssumeRole", "*"))
	out := need(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("sess"),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String(narrow)}}}))(t)
	sess := e.iam(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	need(sess.ListUsers(ctx, &iam.ListUsersInput{}))(t)
	_, err := sess.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied")

	clk.Advance(2 * time.Second)
	need(root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(narrow)}))(t)
	need(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Narrow"), PolicyDocument: aws.String(allow("iam:*", "*"))}))(t)
	_, err = sess.ListRoles(ctx, &iam.ListRolesInput{})
	wantCode(t, err, "AccessDenied")
	_, err = sess.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
}

func decodeDoc(t *testing.T, s string) string {
	t.Helper()
	d, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// need fails the test when a call returned an error, and returns its value:
// need(c.GetUser(ctx, in))(t).
func need[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestRecreatedGroupGrantsNothing: membership belongs to the group, not its
// name; a group deleted and created again with more rights has no members.
func TestRecreatedGroupGrantsNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	akid, secret := e.user(t, "member")
	need(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")}))(t)
	need(root.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("ops"), PolicyName: aws.String("p"), PolicyDocument: aws.String(allow("iam:ListUsers", "*"))}))(t)
	need(root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: aws.String("member")}))(t)
	c := e.iam(akid, secret, "")
	need(c.ListUsers(ctx, &iam.ListUsersInput{}))(t)

	// A group with members cannot be deleted, as in AWS.
	_, err := root.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("ops")})
	wantCode(t, err, "DeleteConflict")
	need(root.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("ops"), UserName: aws.String("member")}))(t)
	need(root.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: aws.String("ops"), PolicyName: aws.String("p")}))(t)
	need(root.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("ops")}))(t)
	need(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("OPS")}))(t)
	need(root.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("OPS"), PolicyName: aws.String("admin"), PolicyDocument: aws.String(allow("*", "*"))}))(t)
	_, err = c.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
	if g := need(root.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("ops")}))(t); len(g.Users) != 0 {
		t.Fatalf("recreated group has members %v", g.Users)
	}
}

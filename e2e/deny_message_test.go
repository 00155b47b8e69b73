package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// deniedMessage returns the AccessDenied message of err without its
// encoded authorization message (encrypted with a random nonce).
func deniedMessage(t *testing.T, err error) string {
	t.Helper()
	wantCode(t, err, "AccessDenied")
	var ae smithy.APIError
	errors.As(err, &ae)
	msg, _, ok := strings.Cut(ae.ErrorMessage(), ". Encoded authorization failure message: ")
	if !ok {
		t.Fatalf("no encoded authorization message: %s", ae.ErrorMessage())
	}
	return msg
}

// TestAccessDeniedRevealsNoEntity: a caller without rights learns nothing
// from AccessDenied about a user, group, role or policy: the message is the
// same, byte for byte, whether the entity exists or not, and names it as
// the caller typed it, without its path or stored spelling.
func TestAccessDeniedRevealsNoEntity(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "nobody")
	c := e.iam(akid, secret, "")
	root := e.rootIAM()
	s := aws.String
	hidden := "arn:aws:iam::123456789012:policy/secret/team/Hidden"
	hiddenMFA := "arn:aws:iam::123456789012:mfa/secret/team/Hidden"

	create := func() {
		t.Helper()
		must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: s("Hidden"), Path: s("/secret/team/")}))
		must[*iam.CreateGroupOutput](t)(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: s("Hidden"), Path: s("/secret/team/")}))
		must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: s("Hidden"), Path: s("/secret/team/"), AssumeRolePolicyDocument: s(trustAccount)}))
		must[*iam.CreatePolicyOutput](t)(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: s("Hidden"), Path: s("/secret/team/"), PolicyDocument: s(allow("s3:GetObject", "*"))}))
		must[*iam.CreateVirtualMFADeviceOutput](t)(root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: s("Hidden"), Path: s("/secret/team/")}))
	}
	remove := func() {
		t.Helper()
		must[*iam.DeleteUserOutput](t)(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("Hidden")}))
		must[*iam.DeleteGroupOutput](t)(root.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: s("Hidden")}))
		must[*iam.DeleteRoleOutput](t)(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("Hidden")}))
		must[*iam.DeletePolicyOutput](t)(root.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: s(hidden)}))
		must[*iam.DeleteVirtualMFADeviceOutput](t)(root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: s(hiddenMFA)}))
	}
	calls := []struct {
		name, typed string
		call        func() error
	}{
		{"GetUser", "hidden", func() error { _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: s("hidden")}); return err }},
		{"ListAccessKeys", "hidden", func() error {
			_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: s("hidden")})
			return err
		}},
		{"ListUserPolicies", "hidden", func() error {
			_, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: s("hidden")})
			return err
		}},
		{"ListAttachedUserPolicies", "hidden", func() error {
			_, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: s("hidden")})
			return err
		}},
		{"ListGroupsForUser", "hidden", func() error {
			_, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: s("hidden")})
			return err
		}},
		{"DeleteUser", "hidden", func() error { _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("hidden")}); return err }},
		{"GetRole", "hidden", func() error { _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: s("hidden")}); return err }},
		{"ListRolePolicies", "hidden", func() error {
			_, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: s("hidden")})
			return err
		}},
		{"ListAttachedRolePolicies", "hidden", func() error {
			_, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: s("hidden")})
			return err
		}},
		{"DeleteRole", "hidden", func() error { _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: s("hidden")}); return err }},
		{"GetGroup", "hidden", func() error { _, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: s("hidden")}); return err }},
		{"ListGroupPolicies", "hidden", func() error {
			_, err := c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: s("hidden")})
			return err
		}},
		{"DeleteGroup", "hidden", func() error { _, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: s("hidden")}); return err }},
		{"GetPolicy", hidden, func() error { _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: s(hidden)}); return err }},
		{"ListPolicyVersions", hidden, func() error {
			_, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: s(hidden)})
			return err
		}},
		{"GetPolicyVersion", hidden, func() error {
			_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: s(hidden), VersionId: s("v1")})
			return err
		}},
		{"DeletePolicy", hidden, func() error { _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: s(hidden)}); return err }},
		{"CreateAccessKey", "hidden", func() error {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: s("hidden")})
			return err
		}},
		{"PutUserPolicy", "hidden", func() error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: s("hidden"), PolicyName: s("p"), PolicyDocument: s(allow("s3:*", "*"))})
			return err
		}},
		{"AttachRolePolicy", "hidden", func() error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: s("hidden"), PolicyArn: s("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}},
		{"UpdateAssumeRolePolicy", "hidden", func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: s("hidden"), PolicyDocument: s(trustAccount)})
			return err
		}},
		{"TagRole", "hidden", func() error {
			_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: s("hidden"), Tags: []iamtypes.Tag{{Key: s("k"), Value: s("v")}}})
			return err
		}},
		{"AddUserToGroup", "hidden", func() error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: s("hidden"), UserName: s("nobody")})
			return err
		}},
		{"DeleteVirtualMFADevice", strings.ToLower(hiddenMFA), func() error {
			_, err := c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: s(strings.ToLower(hiddenMFA))})
			return err
		}},
	}

	create()
	existing := make([]string, len(calls))
	for i, tc := range calls {
		existing[i] = deniedMessage(t, tc.call())
	}
	remove()
	for i, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			missing := deniedMessage(t, tc.call())
			if existing[i] != missing {
				t.Fatalf("the message tells whether the entity exists:\nexisting: %s\nmissing:  %s", existing[i], missing)
			}
			// The message names only what the caller typed.
			if strings.Contains(existing[i], "/secret/team/") && !strings.Contains(tc.typed, "/secret/team/") {
				t.Fatalf("the message reveals the path: %s", existing[i])
			}
			if strings.Contains(existing[i], "Hidden") && !strings.Contains(tc.typed, "Hidden") {
				t.Fatalf("the message reveals the stored spelling: %s", existing[i])
			}
		})
	}
	if want := "User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: iam:GetUser on resource: user hidden because no identity-based policy allows the iam:GetUser action"; existing[0] != want {
		t.Fatalf("GetUser message\n%s\nwant\n%s", existing[0], want)
	}
}

package iam_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

func TestCreateGetUser(t *testing.T) {
	e := newEnv(t)
	out := must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, e.rootA, &iam.CreateUserInput{
		UserName: "Alice", Path: "/team/", Tags: []iam.Tag{{Key: "dept", Value: "eng"}},
		PermissionsBoundary: arnIAMRead,
	}))
	u := out.User
	if len(u.UserID) != 21 || u.UserID[:4] != "AIDA" {
		t.Errorf("UserId = %q, want AIDA + 17 chars", u.UserID)
	}
	for _, r := range u.UserID[4:] {
		if (r < 'A' || r > 'Z') && (r < '2' || r > '7') {
			t.Errorf("UserId %q has %q outside [A-Z2-7]", u.UserID, r)
		}
	}
	want := iam.User{
		Path: "/team/", UserName: "Alice", UserID: u.UserID, ARN: "arn:aws:iam::111122223333:user/team/Alice",
		CreateDate:          epoch.Truncate(time.Second),
		PermissionsBoundary: &iam.AttachedPermissionsBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryARN: arnIAMRead},
		Tags:                []iam.Tag{{Key: "dept", Value: "eng"}},
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("CreateUser (-want +got):\n%s", diff)
	}
	// Names are case-insensitive; the stored spelling comes back.
	got := must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "ALICE"}))
	if diff := cmp.Diff(want, got.User); diff != "" {
		t.Errorf("GetUser (-want +got):\n%s", diff)
	}
	_, err := e.svc.CreateUser(e.ctx, e.rootA, &iam.CreateUserInput{UserName: "alice"})
	wantErr(t, err, apierr.EntityAlreadyExists)
	if e, _ := apierr.As(err); e.Message != "User with name alice already exists." {
		t.Errorf("message = %q", e.Message)
	}
	_, err = e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "bob"})
	wantErr(t, err, apierr.NoSuchEntity)
	if e, _ := apierr.As(err); e.Message != "The user with name bob cannot be found." {
		t.Errorf("message = %q", e.Message)
	}
}

func TestCreateUserErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		in   iam.CreateUserInput
		want apierr.Code
	}{
		{"path without trailing slash", iam.CreateUserInput{UserName: "u", Path: "/a"}, apierr.ValidationError},
		{"path without leading slash", iam.CreateUserInput{UserName: "u", Path: "a/"}, apierr.ValidationError},
		{"boundary not found", iam.CreateUserInput{UserName: "u", PermissionsBoundary: arnNoSuchPol}, apierr.NoSuchEntity},
		{"boundary invalid arn", iam.CreateUserInput{UserName: "u", PermissionsBoundary: arnBadPolicy}, apierr.InvalidInput},
		{"reserved tag", iam.CreateUserInput{UserName: "u", Tags: []iam.Tag{{Key: "aws:x", Value: "1"}}}, apierr.InvalidInput},
		{"duplicate tag keys", iam.CreateUserInput{UserName: "u", Tags: []iam.Tag{{Key: "k", Value: "1"}, {Key: "K", Value: "2"}}}, apierr.InvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateUser(e.ctx, e.rootA, &tt.in)
			wantErr(t, err, tt.want)
		})
	}
}

func TestGetUserSelf(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob", "/")
	e.attachUser("bob", arnIAMRead)
	got := must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, bob, &iam.GetUserInput{}))
	if got.User.UserName != "bob" || got.User.ARN != bob.ARN {
		t.Errorf("GetUser self = %+v", got.User)
	}
	root := must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{}))
	want := iam.User{UserID: acctA, ARN: "arn:aws:iam::111122223333:root", CreateDate: epoch.Truncate(time.Second)}
	if diff := cmp.Diff(want, root.User); diff != "" {
		t.Errorf("GetUser as root (-want +got):\n%s", diff)
	}
	roleSession := &authz.Caller{Account: acctA, Type: policy.AssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/r/s"}
	_, err := e.svc.GetUser(e.ctx, roleSession, &iam.GetUserInput{})
	wantErr(t, err, apierr.ValidationError)
}

func TestUpdateUser(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "/")
	e.user("carol", "/")
	e.putUserPolicy("alice", "p", allowS3)
	must[*iam.UpdateUserOutput](t)(e.svc.UpdateUser(e.ctx, e.rootA, &iam.UpdateUserInput{UserName: "alice", NewUserName: "alice2", NewPath: "/x/"}))
	got := must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "alice2"}))
	if got.User.ARN != "arn:aws:iam::111122223333:user/x/alice2" {
		t.Errorf("ARN = %s", got.User.ARN)
	}
	// Policies follow the rename.
	must[*iam.GetUserPolicyOutput](t)(e.svc.GetUserPolicy(e.ctx, e.rootA, &iam.GetUserPolicyInput{UserName: "alice2", PolicyName: "p"}))
	_, err := e.svc.UpdateUser(e.ctx, e.rootA, &iam.UpdateUserInput{UserName: "alice2", NewUserName: "CAROL"})
	wantErr(t, err, apierr.EntityAlreadyExists)
	_, err = e.svc.UpdateUser(e.ctx, e.rootA, &iam.UpdateUserInput{UserName: "nobody", NewUserName: "x"})
	wantErr(t, err, apierr.NoSuchEntity)
	// Changing only the case of a name is allowed.
	must[*iam.UpdateUserOutput](t)(e.svc.UpdateUser(e.ctx, e.rootA, &iam.UpdateUserInput{UserName: "carol", NewUserName: "Carol"}))
}

func TestDeleteUserConflicts(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env)
		cleanup func(e *env) error
		msg     string
	}{
		{
			name: "access key",
			setup: func(e *env) {
				must[*iam.CreateAccessKeyOutput](e.t)(e.svc.CreateAccessKey(e.ctx, e.rootA, &iam.CreateAccessKeyInput{UserName: "u"}))
			},
			cleanup: func(e *env) error {
				l, err := e.svc.ListAccessKeys(e.ctx, e.rootA, &iam.ListAccessKeysInput{UserName: "u"})
				if err != nil {
					return err
				}
				_, err = e.svc.DeleteAccessKey(e.ctx, e.rootA, &iam.DeleteAccessKeyInput{UserName: "u", AccessKeyID: l.AccessKeyMetadata[0].AccessKeyID})
				return err
			},
			msg: "Cannot delete entity, must delete access keys first.",
		},
		{
			name:  "inline policy",
			setup: func(e *env) { e.putUserPolicy("u", "p", allowS3) },
			cleanup: func(e *env) error {
				_, err := e.svc.DeleteUserPolicy(e.ctx, e.rootA, &iam.DeleteUserPolicyInput{UserName: "u", PolicyName: "p"})
				return err
			},
			msg: "Cannot delete entity, must delete policies first.",
		},
		{
			name:  "attached policy",
			setup: func(e *env) { e.attachUser("u", arnReadOnly) },
			cleanup: func(e *env) error {
				_, err := e.svc.DetachUserPolicy(e.ctx, e.rootA, &iam.DetachUserPolicyInput{UserName: "u", PolicyARN: arnReadOnly})
				return err
			},
			msg: "Cannot delete entity, must detach all policies first.",
		},
		{
			name: "group membership",
			setup: func(e *env) {
				e.createGroup("g")
				must[*iam.AddUserToGroupOutput](e.t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "g", UserName: "u"}))
			},
			cleanup: func(e *env) error {
				_, err := e.svc.RemoveUserFromGroup(e.ctx, e.rootA, &iam.RemoveUserFromGroupInput{GroupName: "g", UserName: "u"})
				return err
			},
			msg: "Cannot delete entity, must remove user from all groups first.",
		},
		{
			name: "mfa device",
			setup: func(e *env) {
				d := store.MFADevice{Account: acctA, SerialNumber: "arn:aws:iam::111122223333:mfa/u", Name: "u", Path: "/", UserName: "u", EnabledAt: epoch, CreatedAt: epoch}
				if err := e.store.CreateMFADevice(e.ctx, d); err != nil {
					e.t.Fatal(err)
				}
			},
			cleanup: func(e *env) error { return e.store.DeleteMFADevice(e.ctx, "arn:aws:iam::111122223333:mfa/u") },
			msg:     "Cannot delete entity, must delete MFA device first.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.user("u", "/")
			tt.setup(e)
			_, err := e.svc.DeleteUser(e.ctx, e.rootA, &iam.DeleteUserInput{UserName: "u"})
			wantErr(t, err, apierr.DeleteConflict)
			if ae, _ := apierr.As(err); ae.Message != tt.msg {
				t.Errorf("message = %q, want %q", ae.Message, tt.msg)
			}
			if err := tt.cleanup(e); err != nil {
				t.Fatal(err)
			}
			must[*iam.DeleteUserOutput](t)(e.svc.DeleteUser(e.ctx, e.rootA, &iam.DeleteUserInput{UserName: "U"}))
			_, err = e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "u"})
			wantErr(t, err, apierr.NoSuchEntity)
		})
	}
}

func TestListUsersPagination(t *testing.T) {
	e := newEnv(t)
	var all []string
	for i := range 7 {
		name := fmt.Sprintf("user%02d", i)
		path := "/"
		if i%2 == 0 {
			path = "/even/"
		}
		e.user(name, path)
		all = append(all, name)
	}
	collect := func(prefix string, page int32) []string {
		var names []string
		marker := ""
		for range 20 {
			out := must[*iam.ListUsersOutput](t)(e.svc.ListUsers(e.ctx, e.rootA, &iam.ListUsersInput{PathPrefix: prefix, Marker: marker, MaxItems: ptr(page)}))
			if len(out.Users) > int(page) {
				t.Fatalf("page of %d > MaxItems %d", len(out.Users), page)
			}
			for _, u := range out.Users {
				if u.Tags != nil || u.PermissionsBoundary != nil {
					t.Errorf("ListUsers returned tags/boundary for %s", u.UserName)
				}
				names = append(names, u.UserName)
			}
			if !out.IsTruncated {
				if out.Marker != "" {
					t.Errorf("Marker %q on the last page", out.Marker)
				}
				return names
			}
			marker = out.Marker
		}
		t.Fatal("pagination does not end")
		return nil
	}
	if diff := cmp.Diff(all, collect("", 3)); diff != "" {
		t.Errorf("all users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"user00", "user02", "user04", "user06"}, collect("/even/", 1)); diff != "" {
		t.Errorf("/even/ users (-want +got):\n%s", diff)
	}
	_, err := e.svc.ListUsers(e.ctx, e.rootA, &iam.ListUsersInput{Marker: "!!!"})
	wantErr(t, err, apierr.InvalidInput)
}

func TestAccountIsolation(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "/")
	pArn := e.createPolicy("pa", allowS3)
	out := must[*iam.ListUsersOutput](t)(e.svc.ListUsers(e.ctx, e.rootB, &iam.ListUsersInput{}))
	if len(out.Users) != 0 {
		t.Errorf("root of B sees %d users of A", len(out.Users))
	}
	_, err := e.svc.GetUser(e.ctx, e.rootB, &iam.GetUserInput{UserName: "alice"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.DeleteUser(e.ctx, e.rootB, &iam.DeleteUserInput{UserName: "alice"})
	wantErr(t, err, apierr.NoSuchEntity)
	// B can have its own alice.
	must[*iam.CreateUserOutput](t)(e.svc.CreateUser(e.ctx, e.rootB, &iam.CreateUserInput{UserName: "alice"}))
	// B cannot see or use A's policies.
	_, err = e.svc.GetPolicy(e.ctx, e.rootB, &iam.GetPolicyInput{PolicyARN: pArn})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.AttachUserPolicy(e.ctx, e.rootB, &iam.AttachUserPolicyInput{UserName: "alice", PolicyARN: pArn})
	wantErr(t, err, apierr.NoSuchEntity)
	pl := must[*iam.ListPoliciesOutput](t)(e.svc.ListPolicies(e.ctx, e.rootB, &iam.ListPoliciesInput{Scope: "Local"}))
	if len(pl.Policies) != 0 {
		t.Errorf("B lists %d local policies", len(pl.Policies))
	}
	// Nor A's access keys.
	k := must[*iam.CreateAccessKeyOutput](t)(e.svc.CreateAccessKey(e.ctx, e.rootA, &iam.CreateAccessKeyInput{UserName: "alice"}))
	_, err = e.svc.GetAccessKeyLastUsed(e.ctx, e.rootB, &iam.GetAccessKeyLastUsedInput{AccessKeyID: k.AccessKey.AccessKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.DeleteAccessKey(e.ctx, e.rootB, &iam.DeleteAccessKeyInput{UserName: "alice", AccessKeyID: k.AccessKey.AccessKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
}

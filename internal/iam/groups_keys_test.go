package iam_test

import (
	"errors"
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

func TestGroups(t *testing.T) {
	e := newEnv(t)
	g := must[*iam.CreateGroupOutput](t)(e.svc.CreateGroup(e.ctx, e.rootA, &iam.CreateGroupInput{GroupName: "Devs", Path: "/eng/"})).Group
	if g.GroupID[:4] != "AGPA" || len(g.GroupID) != 21 || g.ARN != "arn:aws:iam::111122223333:group/eng/Devs" {
		t.Errorf("group = %+v", g)
	}
	_, err := e.svc.CreateGroup(e.ctx, e.rootA, &iam.CreateGroupInput{GroupName: "devs"})
	wantErr(t, err, apierr.EntityAlreadyExists)

	for i := range 5 {
		name := fmt.Sprintf("m%d", i)
		e.user(name, "/")
		must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "devs", UserName: name}))
	}
	// Idempotent.
	must[*iam.AddUserToGroupOutput](t)(e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "DEVS", UserName: "M0"}))
	_, err = e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "devs", UserName: "ghost"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: "ghosts", UserName: "m0"})
	wantErr(t, err, apierr.NoSuchEntity)

	var members []string
	marker := ""
	for {
		out := must[*iam.GetGroupOutput](t)(e.svc.GetGroup(e.ctx, e.rootA, &iam.GetGroupInput{GroupName: "devs", Marker: marker, MaxItems: ptr[int32](2)}))
		if diff := cmp.Diff(g, out.Group); diff != "" {
			t.Errorf("GetGroup group (-want +got):\n%s", diff)
		}
		for _, u := range out.Users {
			members = append(members, u.UserName)
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	if diff := cmp.Diff([]string{"m0", "m1", "m2", "m3", "m4"}, members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	fu := must[*iam.ListGroupsForUserOutput](t)(e.svc.ListGroupsForUser(e.ctx, e.rootA, &iam.ListGroupsForUserInput{UserName: "m1"}))
	if len(fu.Groups) != 1 || fu.Groups[0].GroupName != "Devs" {
		t.Errorf("ListGroupsForUser = %+v", fu.Groups)
	}

	must[*iam.UpdateGroupOutput](t)(e.svc.UpdateGroup(e.ctx, e.rootA, &iam.UpdateGroupInput{GroupName: "devs", NewGroupName: "Builders", NewPath: "/b/"}))
	lg := must[*iam.ListGroupsOutput](t)(e.svc.ListGroups(e.ctx, e.rootA, &iam.ListGroupsInput{PathPrefix: "/b/"}))
	if len(lg.Groups) != 1 || lg.Groups[0].ARN != "arn:aws:iam::111122223333:group/b/Builders" {
		t.Errorf("ListGroups /b/ = %+v", lg.Groups)
	}
	if lg := must[*iam.ListGroupsOutput](t)(e.svc.ListGroups(e.ctx, e.rootA, &iam.ListGroupsInput{PathPrefix: "/eng/"})); len(lg.Groups) != 0 {
		t.Errorf("ListGroups /eng/ = %+v", lg.Groups)
	}

	_, err = e.svc.DeleteGroup(e.ctx, e.rootA, &iam.DeleteGroupInput{GroupName: "builders"})
	wantErr(t, err, apierr.DeleteConflict)
	for i := range 5 {
		must[*iam.RemoveUserFromGroupOutput](t)(e.svc.RemoveUserFromGroup(e.ctx, e.rootA, &iam.RemoveUserFromGroupInput{GroupName: "builders", UserName: fmt.Sprintf("m%d", i)}))
	}
	_, err = e.svc.RemoveUserFromGroup(e.ctx, e.rootA, &iam.RemoveUserFromGroupInput{GroupName: "builders", UserName: "m0"})
	wantErr(t, err, apierr.NoSuchEntity)

	must[*iam.PutGroupPolicyOutput](t)(e.svc.PutGroupPolicy(e.ctx, e.rootA, &iam.PutGroupPolicyInput{GroupName: "builders", PolicyName: "p", PolicyDocument: allowS3}))
	_, err = e.svc.DeleteGroup(e.ctx, e.rootA, &iam.DeleteGroupInput{GroupName: "builders"})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DeleteGroupPolicyOutput](t)(e.svc.DeleteGroupPolicy(e.ctx, e.rootA, &iam.DeleteGroupPolicyInput{GroupName: "builders", PolicyName: "p"}))
	must[*iam.AttachGroupPolicyOutput](t)(e.svc.AttachGroupPolicy(e.ctx, e.rootA, &iam.AttachGroupPolicyInput{GroupName: "builders", PolicyARN: arnReadOnly}))
	_, err = e.svc.DeleteGroup(e.ctx, e.rootA, &iam.DeleteGroupInput{GroupName: "builders"})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DetachGroupPolicyOutput](t)(e.svc.DetachGroupPolicy(e.ctx, e.rootA, &iam.DetachGroupPolicyInput{GroupName: "builders", PolicyARN: arnReadOnly}))
	must[*iam.DeleteGroupOutput](t)(e.svc.DeleteGroup(e.ctx, e.rootA, &iam.DeleteGroupInput{GroupName: "builders"}))
	_, err = e.svc.GetGroup(e.ctx, e.rootA, &iam.GetGroupInput{GroupName: "builders"})
	wantErr(t, err, apierr.NoSuchEntity)
}

func TestGroupsPerUserLimit(t *testing.T) {
	e := newEnv(t)
	e.user("u", "/")
	for i := range 11 {
		name := fmt.Sprintf("g%02d", i)
		e.createGroup(name)
		_, err := e.svc.AddUserToGroup(e.ctx, e.rootA, &iam.AddUserToGroupInput{GroupName: name, UserName: "u"})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			wantErr(t, err, apierr.LimitExceeded)
		}
	}
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	bob := e.user("bob", "/")
	e.putUserPolicy("bob", "self", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}]}`)

	k1 := must[*iam.CreateAccessKeyOutput](t)(e.svc.CreateAccessKey(e.ctx, bob, &iam.CreateAccessKeyInput{})).AccessKey
	if k1.UserName != "bob" || k1.Status != "Active" || len(k1.AccessKeyID) != 20 || k1.AccessKeyID[:4] != "AKIA" || len(k1.SecretAccessKey) != 40 {
		t.Errorf("key = %+v", k1)
	}
	k2 := must[*iam.CreateAccessKeyOutput](t)(e.svc.CreateAccessKey(e.ctx, e.rootA, &iam.CreateAccessKeyInput{UserName: "Bob"})).AccessKey
	_, err := e.svc.CreateAccessKey(e.ctx, bob, &iam.CreateAccessKeyInput{})
	wantErr(t, err, apierr.LimitExceeded)
	if ae, _ := apierr.As(err); ae.Message != "Cannot exceed quota for AccessKeysPerUser: 2" {
		t.Errorf("message = %q", ae.Message)
	}

	// The stored secret is sealed and opens back to what was returned once.
	rec, secret, err := e.svc.LookupAccessKey(e.ctx, k1.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if string(secret) != k1.SecretAccessKey || string(rec.Secret) == k1.SecretAccessKey || rec.UserName != "bob" {
		t.Errorf("LookupAccessKey = %+v, %q", rec, secret)
	}
	if _, _, err := e.svc.LookupAccessKey(e.ctx, "AKIAXXXXXXXXXXXXXXXX"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupAccessKey unknown: %v", err)
	}

	l := must[*iam.ListAccessKeysOutput](t)(e.svc.ListAccessKeys(e.ctx, bob, &iam.ListAccessKeysInput{}))
	want := []iam.AccessKeyMetadata{
		{UserName: "bob", AccessKeyID: k1.AccessKeyID, Status: "Active", CreateDate: epoch.Truncate(time.Second)},
		{UserName: "bob", AccessKeyID: k2.AccessKeyID, Status: "Active", CreateDate: epoch.Truncate(time.Second)},
	}
	sortKeys := cmp.Transformer("sort", func(in []iam.AccessKeyMetadata) map[string]iam.AccessKeyMetadata {
		m := map[string]iam.AccessKeyMetadata{}
		for _, k := range in {
			m[k.AccessKeyID] = k
		}
		return m
	})
	if diff := cmp.Diff(want, l.AccessKeyMetadata, sortKeys); diff != "" {
		t.Errorf("ListAccessKeys (-want +got):\n%s", diff)
	}

	must[*iam.UpdateAccessKeyOutput](t)(e.svc.UpdateAccessKey(e.ctx, bob, &iam.UpdateAccessKeyInput{AccessKeyID: k2.AccessKeyID, Status: "Inactive"}))
	rec, _, _ = e.svc.LookupAccessKey(e.ctx, k2.AccessKeyID)
	if rec.Status != "Inactive" {
		t.Errorf("status = %s", rec.Status)
	}
	_, err = e.svc.UpdateAccessKey(e.ctx, bob, &iam.UpdateAccessKeyInput{AccessKeyID: k2.AccessKeyID, Status: "Paused"})
	wantErr(t, err, apierr.ValidationError)

	lu := must[*iam.GetAccessKeyLastUsedOutput](t)(e.svc.GetAccessKeyLastUsed(e.ctx, bob, &iam.GetAccessKeyLastUsedInput{AccessKeyID: k1.AccessKeyID}))
	if diff := cmp.Diff(&iam.GetAccessKeyLastUsedOutput{UserName: "bob", AccessKeyLastUsed: iam.AccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}}, lu); diff != "" {
		t.Errorf("GetAccessKeyLastUsed never used (-want +got):\n%s", diff)
	}
	used := epoch.Add(time.Hour).Truncate(time.Second)
	if err := e.store.TouchAccessKey(e.ctx, k1.AccessKeyID, used, "sts", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	lu = must[*iam.GetAccessKeyLastUsedOutput](t)(e.svc.GetAccessKeyLastUsed(e.ctx, bob, &iam.GetAccessKeyLastUsedInput{AccessKeyID: k1.AccessKeyID}))
	if diff := cmp.Diff(iam.AccessKeyLastUsed{LastUsedDate: &used, ServiceName: "sts", Region: "us-east-1"}, lu.AccessKeyLastUsed); diff != "" {
		t.Errorf("GetAccessKeyLastUsed (-want +got):\n%s", diff)
	}

	// Another user's key is not found through bob's own key actions.
	carol := e.user("carol", "/")
	must[*iam.PutUserPolicyOutput](t)(e.svc.PutUserPolicy(e.ctx, e.rootA, &iam.PutUserPolicyInput{UserName: "carol", PolicyName: "keys", PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*"}]}`}))
	_, err = e.svc.DeleteAccessKey(e.ctx, carol, &iam.DeleteAccessKeyInput{AccessKeyID: k1.AccessKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
	// bob may not manage carol's keys.
	_, err = e.svc.CreateAccessKey(e.ctx, bob, &iam.CreateAccessKeyInput{UserName: "carol"})
	wantErr(t, err, apierr.AccessDenied)

	must[*iam.DeleteAccessKeyOutput](t)(e.svc.DeleteAccessKey(e.ctx, bob, &iam.DeleteAccessKeyInput{AccessKeyID: k1.AccessKeyID}))
	_, err = e.svc.DeleteAccessKey(e.ctx, bob, &iam.DeleteAccessKeyInput{AccessKeyID: k1.AccessKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.GetAccessKeyLastUsed(e.ctx, bob, &iam.GetAccessKeyLastUsedInput{AccessKeyID: k1.AccessKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
}

func TestRootAccessKeys(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.CreateRootAccessKey(e.ctx, acctA, "AKIAROOTROOTROOTROOT", "secret-root"); err != nil {
		t.Fatal(err)
	}
	k, secret, err := e.svc.LookupAccessKey(e.ctx, "AKIAROOTROOTROOTROOT")
	if err != nil || string(secret) != "secret-root" || k.UserName != "" || k.UserID != acctA || k.Status != "Active" {
		t.Fatalf("LookupAccessKey = %+v, %q, %v", k, secret, err)
	}
	k2 := must[*iam.CreateAccessKeyOutput](t)(e.svc.CreateAccessKey(e.ctx, e.rootA, &iam.CreateAccessKeyInput{})).AccessKey
	if k2.UserName != "" {
		t.Errorf("root key UserName = %q", k2.UserName)
	}
	_, err = e.svc.CreateAccessKey(e.ctx, e.rootA, &iam.CreateAccessKeyInput{})
	wantErr(t, err, apierr.LimitExceeded)
	l := must[*iam.ListAccessKeysOutput](t)(e.svc.ListAccessKeys(e.ctx, e.rootA, &iam.ListAccessKeysInput{}))
	if len(l.AccessKeyMetadata) != 2 {
		t.Errorf("root keys = %+v", l.AccessKeyMetadata)
	}
	lu := must[*iam.GetAccessKeyLastUsedOutput](t)(e.svc.GetAccessKeyLastUsed(e.ctx, e.rootA, &iam.GetAccessKeyLastUsedInput{AccessKeyID: "AKIAROOTROOTROOTROOT"}))
	if lu.UserName != "root" {
		t.Errorf("UserName = %q", lu.UserName)
	}
	// A role session must name the user.
	role := &authz.Caller{Account: acctA, Type: policy.AssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/r/s"}
	_, err = e.svc.CreateAccessKey(e.ctx, role, &iam.CreateAccessKeyInput{})
	wantErr(t, err, apierr.ValidationError)
}

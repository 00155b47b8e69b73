package iam_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

// decode URL-decodes a document as botocore does (unquote, not unquote_plus).
func decode(t *testing.T, s string) string {
	t.Helper()
	if strings.ContainsAny(s, "+ {\"") {
		t.Errorf("document %q is not fully URL-encoded", s)
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	trust := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"ec2.amazonaws.com\"}, \"Action\": \"sts:AssumeRole\", \"Condition\": {\"StringEquals\": {\"sts:ExternalId\": \"a+b c/é\"}}}]\n}"
	out := must[*iam.CreateRoleOutput](t)(e.svc.CreateRole(e.ctx, e.rootA, &iam.CreateRoleInput{
		RoleName: "App", Path: "/svc/", AssumeRolePolicyDocument: trust, Description: "the app",
		MaxSessionDuration: ptr[int32](7200), PermissionsBoundary: arnPowerUser, Tags: []iam.Tag{{Key: "env", Value: "prod"}},
	}))
	r := out.Role
	if r.RoleID[:4] != "AROA" || len(r.RoleID) != 21 || r.ARN != "arn:aws:iam::111122223333:role/svc/App" || r.MaxSessionDuration != 7200 {
		t.Errorf("role = %+v", r)
	}
	if got := decode(t, r.AssumeRolePolicyDocument); got != trust {
		t.Errorf("trust policy round trip = %q, want %q", got, trust)
	}

	got := must[*iam.GetRoleOutput](t)(e.svc.GetRole(e.ctx, e.rootA, &iam.GetRoleInput{RoleName: "app"})).Role
	want := iam.Role{
		Path: "/svc/", RoleName: "App", RoleID: r.RoleID, ARN: r.ARN, CreateDate: epoch.Truncate(time.Second),
		AssumeRolePolicyDocument: r.AssumeRolePolicyDocument, Description: "the app", MaxSessionDuration: 7200,
		PermissionsBoundary: &iam.AttachedPermissionsBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryARN: arnPowerUser},
		Tags:                []iam.Tag{{Key: "env", Value: "prod"}},
		RoleLastUsed:        &iam.RoleLastUsed{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRole (-want +got):\n%s", diff)
	}

	e.createRole("other")
	l := must[*iam.ListRolesOutput](t)(e.svc.ListRoles(e.ctx, e.rootA, &iam.ListRolesInput{}))
	if len(l.Roles) != 2 || l.Roles[0].RoleName != "App" || l.Roles[1].MaxSessionDuration != 3600 {
		t.Fatalf("ListRoles = %+v", l.Roles)
	}
	for _, r := range l.Roles {
		if r.PermissionsBoundary != nil || r.Tags != nil || r.RoleLastUsed != nil {
			t.Errorf("ListRoles returned boundary/tags/last used for %s", r.RoleName)
		}
	}
	if l := must[*iam.ListRolesOutput](t)(e.svc.ListRoles(e.ctx, e.rootA, &iam.ListRolesInput{PathPrefix: "/svc"})); len(l.Roles) != 1 {
		t.Errorf("ListRoles /svc = %d roles", len(l.Roles))
	}

	must[*iam.UpdateRoleOutput](t)(e.svc.UpdateRole(e.ctx, e.rootA, &iam.UpdateRoleInput{RoleName: "app", Description: ptr(""), MaxSessionDuration: ptr[int32](43200)}))
	d := must[*iam.UpdateRoleDescriptionOutput](t)(e.svc.UpdateRoleDescription(e.ctx, e.rootA, &iam.UpdateRoleDescriptionInput{RoleName: "app", Description: "new"}))
	if d.Role.Description != "new" || d.Role.MaxSessionDuration != 43200 {
		t.Errorf("after updates: %+v", d.Role)
	}
	must[*iam.UpdateAssumeRolePolicyOutput](t)(e.svc.UpdateAssumeRolePolicy(e.ctx, e.rootA, &iam.UpdateAssumeRolePolicyInput{RoleName: "app", PolicyDocument: trustDoc}))
	got = must[*iam.GetRoleOutput](t)(e.svc.GetRole(e.ctx, e.rootA, &iam.GetRoleInput{RoleName: "app"})).Role
	if decode(t, got.AssumeRolePolicyDocument) != trustDoc {
		t.Errorf("trust policy not updated")
	}

	must[*iam.PutRolePolicyOutput](t)(e.svc.PutRolePolicy(e.ctx, e.rootA, &iam.PutRolePolicyInput{RoleName: "app", PolicyName: "p", PolicyDocument: allowS3}))
	_, err := e.svc.DeleteRole(e.ctx, e.rootA, &iam.DeleteRoleInput{RoleName: "app"})
	wantErr(t, err, apierr.DeleteConflict)
	if ae, _ := apierr.As(err); ae.Message != "Cannot delete entity, must delete policies first." {
		t.Errorf("message = %q", ae.Message)
	}
	must[*iam.DeleteRolePolicyOutput](t)(e.svc.DeleteRolePolicy(e.ctx, e.rootA, &iam.DeleteRolePolicyInput{RoleName: "app", PolicyName: "p"}))
	must[*iam.AttachRolePolicyOutput](t)(e.svc.AttachRolePolicy(e.ctx, e.rootA, &iam.AttachRolePolicyInput{RoleName: "app", PolicyARN: arnReadOnly}))
	_, err = e.svc.DeleteRole(e.ctx, e.rootA, &iam.DeleteRoleInput{RoleName: "app"})
	wantErr(t, err, apierr.DeleteConflict)
	if ae, _ := apierr.As(err); ae.Message != "Cannot delete entity, must detach all policies first." {
		t.Errorf("message = %q", ae.Message)
	}
	must[*iam.DetachRolePolicyOutput](t)(e.svc.DetachRolePolicy(e.ctx, e.rootA, &iam.DetachRolePolicyInput{RoleName: "app", PolicyARN: arnReadOnly}))
	must[*iam.DeleteRoleOutput](t)(e.svc.DeleteRole(e.ctx, e.rootA, &iam.DeleteRoleInput{RoleName: "APP"}))
	_, err = e.svc.GetRole(e.ctx, e.rootA, &iam.GetRoleInput{RoleName: "app"})
	wantErr(t, err, apierr.NoSuchEntity)
	if ae, _ := apierr.As(err); ae.Message != "The role with name app cannot be found." {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestCreateRoleErrors(t *testing.T) {
	e := newEnv(t)
	e.createRole("taken")
	big := `{"Version":"2012-10-17","Statement":[` + strings.Repeat(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"},`, 25) +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	tests := []struct {
		name string
		in   iam.CreateRoleInput
		want apierr.Code
	}{
		{"exists case-insensitively", iam.CreateRoleInput{RoleName: "TAKEN", AssumeRolePolicyDocument: trustDoc}, apierr.EntityAlreadyExists},
		{"malformed trust policy", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: `{"Version":"2012-10-17"`}, apierr.MalformedPolicyDocument},
		{"identity policy as trust policy", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: allowS3}, apierr.MalformedPolicyDocument},
		{"trust policy too large", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: big}, apierr.LimitExceeded},
		{"session too short", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: trustDoc, MaxSessionDuration: ptr[int32](3599)}, apierr.ValidationError},
		{"session too long", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: trustDoc, MaxSessionDuration: ptr[int32](43201)}, apierr.ValidationError},
		{"unknown boundary", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: trustDoc, PermissionsBoundary: arnNoSuchPol}, apierr.NoSuchEntity},
		{"bad path", iam.CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: trustDoc, Path: "x"}, apierr.ValidationError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateRole(e.ctx, e.rootA, &tt.in)
			wantErr(t, err, tt.want)
		})
	}
	if n := len(big); n <= 2048 {
		t.Fatalf("test trust policy is only %d chars", n)
	}
}

func TestInlinePolicies(t *testing.T) {
	type ops struct {
		put    func(e *env, owner, name, doc string) error
		get    func(e *env, owner, name string) (string, string, error)
		del    func(e *env, owner, name string) error
		list   func(e *env, owner, marker string, max int32) (*iam.ListPolicyNamesOutput, error)
		create func(e *env, owner string)
		limit  int
	}
	kinds := map[string]ops{
		"user": {
			put: func(e *env, o, n, d string) error {
				_, err := e.svc.PutUserPolicy(e.ctx, e.rootA, &iam.PutUserPolicyInput{UserName: o, PolicyName: n, PolicyDocument: d})
				return err
			},
			get: func(e *env, o, n string) (string, string, error) {
				out, err := e.svc.GetUserPolicy(e.ctx, e.rootA, &iam.GetUserPolicyInput{UserName: o, PolicyName: n})
				if err != nil {
					return "", "", err
				}
				return out.PolicyName, out.PolicyDocument, nil
			},
			del: func(e *env, o, n string) error {
				_, err := e.svc.DeleteUserPolicy(e.ctx, e.rootA, &iam.DeleteUserPolicyInput{UserName: o, PolicyName: n})
				return err
			},
			list: func(e *env, o, m string, max int32) (*iam.ListPolicyNamesOutput, error) {
				return e.svc.ListUserPolicies(e.ctx, e.rootA, &iam.ListUserPoliciesInput{UserName: o, Marker: m, MaxItems: &max})
			},
			create: func(e *env, o string) { e.user(o, "/") },
			limit:  2048,
		},
		"group": {
			put: func(e *env, o, n, d string) error {
				_, err := e.svc.PutGroupPolicy(e.ctx, e.rootA, &iam.PutGroupPolicyInput{GroupName: o, PolicyName: n, PolicyDocument: d})
				return err
			},
			get: func(e *env, o, n string) (string, string, error) {
				out, err := e.svc.GetGroupPolicy(e.ctx, e.rootA, &iam.GetGroupPolicyInput{GroupName: o, PolicyName: n})
				if err != nil {
					return "", "", err
				}
				return out.PolicyName, out.PolicyDocument, nil
			},
			del: func(e *env, o, n string) error {
				_, err := e.svc.DeleteGroupPolicy(e.ctx, e.rootA, &iam.DeleteGroupPolicyInput{GroupName: o, PolicyName: n})
				return err
			},
			list: func(e *env, o, m string, max int32) (*iam.ListPolicyNamesOutput, error) {
				return e.svc.ListGroupPolicies(e.ctx, e.rootA, &iam.ListGroupPoliciesInput{GroupName: o, Marker: m, MaxItems: &max})
			},
			create: func(e *env, o string) { e.createGroup(o) },
			limit:  5120,
		},
		"role": {
			put: func(e *env, o, n, d string) error {
				_, err := e.svc.PutRolePolicy(e.ctx, e.rootA, &iam.PutRolePolicyInput{RoleName: o, PolicyName: n, PolicyDocument: d})
				return err
			},
			get: func(e *env, o, n string) (string, string, error) {
				out, err := e.svc.GetRolePolicy(e.ctx, e.rootA, &iam.GetRolePolicyInput{RoleName: o, PolicyName: n})
				if err != nil {
					return "", "", err
				}
				return out.PolicyName, out.PolicyDocument, nil
			},
			del: func(e *env, o, n string) error {
				_, err := e.svc.DeleteRolePolicy(e.ctx, e.rootA, &iam.DeleteRolePolicyInput{RoleName: o, PolicyName: n})
				return err
			},
			list: func(e *env, o, m string, max int32) (*iam.ListPolicyNamesOutput, error) {
				return e.svc.ListRolePolicies(e.ctx, e.rootA, &iam.ListRolePoliciesInput{RoleName: o, Marker: m, MaxItems: &max})
			},
			create: func(e *env, o string) { e.createRole(o) },
			limit:  10240,
		},
	}
	for kind, op := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			wantErr(t, op.put(e, "owner", "p", allowS3), apierr.NoSuchEntity)
			op.create(e, "owner")
			doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"arn:aws:s3:::b/a key+x\"}\n}"
			if err := op.put(e, "OWNER", "Read", doc); err != nil {
				t.Fatal(err)
			}
			name, enc, err := op.get(e, "owner", "read")
			if err != nil {
				t.Fatal(err)
			}
			if name != "Read" || decode(t, enc) != doc {
				t.Errorf("get = %q, %q", name, decode(t, enc))
			}
			wantErr(t, op.put(e, "owner", "bad", `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`), apierr.MalformedPolicyDocument)
			for i := range 4 {
				if err := op.put(e, "owner", fmt.Sprintf("x%d", i), allowS3); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			marker := ""
			for {
				out, err := op.list(e, "owner", marker, 2)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, out.PolicyNames...)
				if !out.IsTruncated {
					break
				}
				marker = out.Marker
			}
			if diff := cmp.Diff([]string{"Read", "x0", "x1", "x2", "x3"}, names); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}

			// The aggregate size quota counts every inline policy of the
			// entity, without white space; replacing a policy does not
			// count it twice.
			used := 0
			for _, d := range []string{doc, allowS3, allowS3, allowS3, allowS3} {
				used += len(strings.Join(strings.Fields(d), ""))
			}
			filler := func(n int) string {
				prefix := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`
				suffix := `"}]}`
				return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
			}
			if err := op.put(e, "owner", "fill", filler(op.limit-used)); err != nil {
				t.Fatalf("exactly at the limit: %v", err)
			}
			if err := op.put(e, "owner", "fill", filler(op.limit-used)); err != nil {
				t.Fatalf("replacing at the limit: %v", err)
			}
			err = op.put(e, "owner", "fill", filler(op.limit-used+1))
			wantErr(t, err, apierr.LimitExceeded)
			if ae, _ := apierr.As(err); !strings.HasPrefix(ae.Message, fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s", op.limit, kind)) {
				t.Errorf("message = %q", ae.Message)
			}

			if err := op.del(e, "owner", "READ"); err != nil {
				t.Fatal(err)
			}
			_, _, err = op.get(e, "owner", "read")
			wantErr(t, err, apierr.NoSuchEntity)
			wantErr(t, op.del(e, "owner", "read"), apierr.NoSuchEntity)
		})
	}
}

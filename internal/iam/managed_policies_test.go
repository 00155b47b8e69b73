package iam_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/store"
)

func TestSeedManagedPolicies(t *testing.T) {
	e := newEnv(t)
	// Idempotent: newEnv seeded once already.
	if err := e.svc.SeedManagedPolicies(e.ctx); err != nil {
		t.Fatal(err)
	}
	out := must[*iam.ListPoliciesOutput](t)(e.svc.ListPolicies(e.ctx, e.rootA, &iam.ListPoliciesInput{Scope: "AWS"}))
	var arns []string
	for _, p := range out.Policies {
		arns = append(arns, p.ARN)
		wantPath := "/"
		if strings.Contains(p.ARN, ":policy/root-task/") {
			wantPath = "/root-task/"
		}
		if p.DefaultVersionID != "v1" || !p.IsAttachable || p.PolicyID[:4] != "ANPA" || p.Path != wantPath {
			t.Errorf("policy = %+v", p)
		}
	}
	want := []string{arnAdmin, "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine", "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
		"arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword", "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
		arnIAMFull, arnIAMRead, arnPowerUser, arnReadOnly, "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy", "arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy"}
	if diff := cmp.Diff(want, arns); diff != "" {
		t.Errorf("AWS managed policies (-want +got):\n%s", diff)
	}
	v := must[*iam.GetPolicyVersionOutput](t)(e.svc.GetPolicyVersion(e.ctx, e.rootA, &iam.GetPolicyVersionInput{PolicyARN: arnAdmin, VersionID: "v1"}))
	if doc := decode(t, v.PolicyVersion.Document); !strings.Contains(doc, `"Action": "*"`) || !v.PolicyVersion.IsDefaultVersion {
		t.Errorf("AdministratorAccess v1 = %+v", v.PolicyVersion)
	}
	// A stale shipped policy (here: edited behind IAM's back, with the
	// five-version quota full) is brought up to date with a new default.
	for i := 2; i <= 5; i++ {
		v := store.PolicyVersion{PolicyARN: arnAdmin, VersionID: fmt.Sprintf("v%d", i), Document: allowS3, CreatedAt: epoch}
		if err := e.store.CreatePolicyVersion(e.ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	mp, err := e.store.GetManagedPolicy(e.ctx, arnAdmin)
	if err != nil {
		t.Fatal(err)
	}
	mp.DefaultVersionID = "v5"
	if err := e.store.UpdateManagedPolicy(e.ctx, mp); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SeedManagedPolicies(e.ctx); err != nil {
		t.Fatal(err)
	}
	gp := must[*iam.GetPolicyOutput](t)(e.svc.GetPolicy(e.ctx, e.rootA, &iam.GetPolicyInput{PolicyARN: arnAdmin}))
	v6 := must[*iam.GetPolicyVersionOutput](t)(e.svc.GetPolicyVersion(e.ctx, e.rootA, &iam.GetPolicyVersionInput{PolicyARN: arnAdmin, VersionID: "v6"}))
	if gp.Policy.DefaultVersionID != "v6" || decode(t, v6.PolicyVersion.Document) != decode(t, v.PolicyVersion.Document) {
		t.Errorf("after re-seed: default %s, v6 %q", gp.Policy.DefaultVersionID, decode(t, v6.PolicyVersion.Document))
	}
	lv := must[*iam.ListPolicyVersionsOutput](t)(e.svc.ListPolicyVersions(e.ctx, e.rootA, &iam.ListPolicyVersionsInput{PolicyARN: arnAdmin}))
	if len(lv.Versions) != 5 {
		t.Errorf("%d versions after re-seed", len(lv.Versions))
	}

	// AWS managed policies cannot be changed.
	_, err = e.svc.CreatePolicyVersion(e.ctx, e.rootA, &iam.CreatePolicyVersionInput{PolicyARN: arnAdmin, PolicyDocument: allowS3})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: arnAdmin})
	wantErr(t, err, apierr.AccessDenied)
}

func TestManagedPolicyLifecycle(t *testing.T) {
	e := newEnv(t)
	doc := "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"s3:Get*\", \"s3:List*\"], \"Resource\": \"*\"}]}"
	out := must[*iam.CreatePolicyOutput](t)(e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{
		PolicyName: "Reader", Path: "/data/", PolicyDocument: doc, Description: "reads", Tags: []iam.Tag{{Key: "a", Value: "b"}},
	}))
	arn := "arn:aws:iam::111122223333:policy/data/Reader"
	want := iam.Policy{PolicyName: "Reader", PolicyID: out.Policy.PolicyID, ARN: arn, Path: "/data/", DefaultVersionID: "v1",
		IsAttachable: true, CreateDate: epoch.Truncate(time.Second), UpdateDate: epoch.Truncate(time.Second),
		Tags: &[]iam.Tag{{Key: "a", Value: "b"}}}
	// CreatePolicy does not echo the Description (AWS leaves it out).
	if diff := cmp.Diff(want, out.Policy); diff != "" {
		t.Errorf("CreatePolicy (-want +got):\n%s", diff)
	}
	// GetPolicy has it, and Tags even when there are none; ListPolicies
	// has neither.
	got := must[*iam.GetPolicyOutput](t)(e.svc.GetPolicy(e.ctx, e.rootA, &iam.GetPolicyInput{PolicyARN: arn}))
	if got.Policy.Description != "reads" || got.Policy.Tags == nil || len(*got.Policy.Tags) != 1 {
		t.Errorf("GetPolicy: %+v", got.Policy)
	}
	untagged := must[*iam.CreatePolicyOutput](t)(e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{PolicyName: "Untagged", PolicyDocument: doc}))
	if untagged.Policy.Tags != nil {
		t.Errorf("CreatePolicy without tags has Tags %v", *untagged.Policy.Tags)
	}
	got = must[*iam.GetPolicyOutput](t)(e.svc.GetPolicy(e.ctx, e.rootA, &iam.GetPolicyInput{PolicyARN: untagged.Policy.ARN}))
	if got.Policy.Tags == nil || len(*got.Policy.Tags) != 0 {
		t.Errorf("GetPolicy without tags: Tags %v", got.Policy.Tags)
	}
	listed := must[*iam.ListPoliciesOutput](t)(e.svc.ListPolicies(e.ctx, e.rootA, &iam.ListPoliciesInput{Scope: "Local"}))
	for _, p := range listed.Policies {
		if p.Description != "" || p.Tags != nil {
			t.Errorf("ListPolicies: %+v", p)
		}
	}
	if _, err := e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: untagged.Policy.ARN}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{PolicyName: "reader", PolicyDocument: doc})
	wantErr(t, err, apierr.EntityAlreadyExists)
	_, err = e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{PolicyName: "bad", PolicyDocument: `{"Statement":[]}`})
	wantErr(t, err, apierr.MalformedPolicyDocument)
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("a", 6144) + `"}]}`
	_, err = e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{PolicyName: "big", PolicyDocument: big})
	wantErr(t, err, apierr.LimitExceeded)

	// Versions: up to five.
	for i := 2; i <= 5; i++ {
		v := must[*iam.CreatePolicyVersionOutput](t)(e.svc.CreatePolicyVersion(e.ctx, e.rootA, &iam.CreatePolicyVersionInput{
			PolicyARN: arn, PolicyDocument: allowS3, SetAsDefault: ptr(i == 3)}))
		if v.PolicyVersion.VersionID != fmt.Sprintf("v%d", i) || v.PolicyVersion.IsDefaultVersion != (i == 3) || v.PolicyVersion.Document != "" {
			t.Errorf("version %d = %+v", i, v.PolicyVersion)
		}
	}
	_, err = e.svc.CreatePolicyVersion(e.ctx, e.rootA, &iam.CreatePolicyVersionInput{PolicyARN: arn, PolicyDocument: allowS3})
	wantErr(t, err, apierr.LimitExceeded)
	if ae, _ := apierr.As(err); ae.Message != "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version." {
		t.Errorf("message = %q", ae.Message)
	}
	lv := must[*iam.ListPolicyVersionsOutput](t)(e.svc.ListPolicyVersions(e.ctx, e.rootA, &iam.ListPolicyVersionsInput{PolicyARN: arn}))
	var ids []string
	for _, v := range lv.Versions {
		ids = append(ids, fmt.Sprintf("%s/%v", v.VersionID, v.IsDefaultVersion))
	}
	if diff := cmp.Diff([]string{"v5/false", "v4/false", "v3/true", "v2/false", "v1/false"}, ids); diff != "" {
		t.Errorf("ListPolicyVersions (-want +got):\n%s", diff)
	}
	_, err = e.svc.DeletePolicyVersion(e.ctx, e.rootA, &iam.DeletePolicyVersionInput{PolicyARN: arn, VersionID: "v3"})
	wantErr(t, err, apierr.DeleteConflict)
	_, err = e.svc.GetPolicyVersion(e.ctx, e.rootA, &iam.GetPolicyVersionInput{PolicyARN: arn, VersionID: "v9"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.SetDefaultPolicyVersion(e.ctx, e.rootA, &iam.SetDefaultPolicyVersionInput{PolicyARN: arn, VersionID: "v9"})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.SetDefaultPolicyVersionOutput](t)(e.svc.SetDefaultPolicyVersion(e.ctx, e.rootA, &iam.SetDefaultPolicyVersionInput{PolicyARN: arn, VersionID: "v1"}))
	v1 := must[*iam.GetPolicyVersionOutput](t)(e.svc.GetPolicyVersion(e.ctx, e.rootA, &iam.GetPolicyVersionInput{PolicyARN: arn, VersionID: "v1"}))
	if decode(t, v1.PolicyVersion.Document) != doc || !v1.PolicyVersion.IsDefaultVersion {
		t.Errorf("v1 = %+v", v1.PolicyVersion)
	}

	// Attach, and the counts GetPolicy reports.
	e.user("u", "/")
	e.createRole("r")
	e.attachUser("u", arn)
	must[*iam.AttachRolePolicyOutput](t)(e.svc.AttachRolePolicy(e.ctx, e.rootA, &iam.AttachRolePolicyInput{RoleName: "r", PolicyARN: arn}))
	must[*iam.PutRolePermissionsBoundaryOutput](t)(e.svc.PutRolePermissionsBoundary(e.ctx, e.rootA, &iam.PutRolePermissionsBoundaryInput{RoleName: "r", PermissionsBoundary: arn}))
	gp := must[*iam.GetPolicyOutput](t)(e.svc.GetPolicy(e.ctx, e.rootA, &iam.GetPolicyInput{PolicyARN: arn}))
	if gp.Policy.AttachmentCount != 2 || gp.Policy.PermissionsBoundaryUsageCount != 1 || gp.Policy.DefaultVersionID != "v1" {
		t.Errorf("GetPolicy = %+v", gp.Policy)
	}
	ents := must[*iam.ListEntitiesForPolicyOutput](t)(e.svc.ListEntitiesForPolicy(e.ctx, e.rootA, &iam.ListEntitiesForPolicyInput{PolicyARN: arn, PolicyUsageFilter: "PermissionsPolicy"}))
	if len(ents.PolicyUsers) != 1 || ents.PolicyUsers[0].UserName != "u" || len(ents.PolicyRoles) != 1 || len(ents.PolicyGroups) != 0 {
		t.Errorf("ListEntitiesForPolicy = %+v", ents)
	}
	ents = must[*iam.ListEntitiesForPolicyOutput](t)(e.svc.ListEntitiesForPolicy(e.ctx, e.rootA, &iam.ListEntitiesForPolicyInput{PolicyARN: arn, EntityFilter: "Role"}))
	if len(ents.PolicyRoles) != 1 || len(ents.PolicyUsers) != 0 || ents.IsTruncated {
		t.Errorf("ListEntitiesForPolicy Role = %+v", ents)
	}
	// Attached and boundary uses count once; one page spans users and roles.
	ents = must[*iam.ListEntitiesForPolicyOutput](t)(e.svc.ListEntitiesForPolicy(e.ctx, e.rootA, &iam.ListEntitiesForPolicyInput{PolicyARN: arn, MaxItems: ptr[int32](1)}))
	if len(ents.PolicyUsers) != 1 || len(ents.PolicyRoles) != 0 || !ents.IsTruncated {
		t.Errorf("ListEntitiesForPolicy page 1 = %+v", ents)
	}
	ents = must[*iam.ListEntitiesForPolicyOutput](t)(e.svc.ListEntitiesForPolicy(e.ctx, e.rootA, &iam.ListEntitiesForPolicyInput{PolicyARN: arn, MaxItems: ptr[int32](1), Marker: ents.Marker}))
	if len(ents.PolicyUsers) != 0 || len(ents.PolicyRoles) != 1 || ents.IsTruncated {
		t.Errorf("ListEntitiesForPolicy page 2 = %+v", ents)
	}

	// OnlyAttached, Scope and PathPrefix.
	e.createPolicy("Unused", allowS3)
	listNames := func(in iam.ListPoliciesInput) []string {
		var names []string
		for {
			out := must[*iam.ListPoliciesOutput](t)(e.svc.ListPolicies(e.ctx, e.rootA, &in))
			for _, p := range out.Policies {
				if p.Description != "" || p.Tags != nil {
					t.Errorf("ListPolicies returned description/tags for %s", p.PolicyName)
				}
				names = append(names, p.PolicyName)
			}
			if !out.IsTruncated {
				return names
			}
			in.Marker = out.Marker
		}
	}
	tests := []struct {
		name string
		in   iam.ListPoliciesInput
		want []string
	}{
		{"local", iam.ListPoliciesInput{Scope: "Local"}, []string{"Reader", "Unused"}},
		{"local paged", iam.ListPoliciesInput{Scope: "Local", MaxItems: ptr[int32](1)}, []string{"Reader", "Unused"}},
		{"all attached", iam.ListPoliciesInput{OnlyAttached: ptr(true)}, []string{"Reader"}},
		{"boundaries", iam.ListPoliciesInput{OnlyAttached: ptr(true), PolicyUsageFilter: "PermissionsBoundary"}, []string{"Reader"}},
		{"path prefix", iam.ListPoliciesInput{PathPrefix: "/data/"}, []string{"Reader"}},
		{"all paged", iam.ListPoliciesInput{MaxItems: ptr[int32](2)}, []string{"AdministratorAccess", "AWSCompromisedKeyQuarantine", "IAMAuditRootUserCredentials",
			"IAMCreateRootUserPassword", "IAMDeleteRootUserCredentials", "IAMFullAccess", "IAMReadOnlyAccess", "PowerUserAccess", "Reader",
			"ReadOnlyAccess", "S3UnlockBucketPolicy", "SQSUnlockQueuePolicy", "Unused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, listNames(tt.in)); diff != "" {
				t.Errorf("ListPolicies (-want +got):\n%s", diff)
			}
		})
	}

	// DeletePolicy refuses while attached, used as a boundary, or versioned.
	_, err = e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: arn})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DetachUserPolicyOutput](t)(e.svc.DetachUserPolicy(e.ctx, e.rootA, &iam.DetachUserPolicyInput{UserName: "u", PolicyARN: arn}))
	must[*iam.DetachRolePolicyOutput](t)(e.svc.DetachRolePolicy(e.ctx, e.rootA, &iam.DetachRolePolicyInput{RoleName: "r", PolicyARN: arn}))
	_, err = e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: arn})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DeleteRolePermissionsBoundaryOutput](t)(e.svc.DeleteRolePermissionsBoundary(e.ctx, e.rootA, &iam.DeleteRolePermissionsBoundaryInput{RoleName: "r"}))
	_, err = e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: arn})
	wantErr(t, err, apierr.DeleteConflict)
	if ae, _ := apierr.As(err); !strings.HasPrefix(ae.Message, "This policy has more than one version.") {
		t.Errorf("message = %q", ae.Message)
	}
	for _, v := range []string{"v2", "v3", "v4", "v5"} {
		must[*iam.DeletePolicyVersionOutput](t)(e.svc.DeletePolicyVersion(e.ctx, e.rootA, &iam.DeletePolicyVersionInput{PolicyARN: arn, VersionID: v}))
	}
	must[*iam.DeletePolicyOutput](t)(e.svc.DeletePolicy(e.ctx, e.rootA, &iam.DeletePolicyInput{PolicyARN: arn}))
	_, err = e.svc.GetPolicy(e.ctx, e.rootA, &iam.GetPolicyInput{PolicyARN: arn})
	wantErr(t, err, apierr.NoSuchEntity)
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	e.user("u", "/")
	var arns []string
	for i := range 11 {
		arns = append(arns, e.createPolicy(fmt.Sprintf("p%02d", i), allowS3))
	}
	for _, arn := range arns[:9] {
		e.attachUser("u", arn)
	}
	e.attachUser("u", arnReadOnly) // AWS managed policies attach too
	e.attachUser("u", arnReadOnly) // idempotent
	_, err := e.svc.AttachUserPolicy(e.ctx, e.rootA, &iam.AttachUserPolicyInput{UserName: "u", PolicyARN: arns[10]})
	wantErr(t, err, apierr.LimitExceeded)
	if ae, _ := apierr.As(err); ae.Message != "Cannot exceed quota for PoliciesPerUser: 10" {
		t.Errorf("message = %q", ae.Message)
	}

	tests := []struct {
		name string
		arn  string
		want apierr.Code
	}{
		{"unknown policy", arnNoSuchPol, apierr.NoSuchEntity},
		{"not a policy arn", arnBadPolicy, apierr.InvalidInput},
		{"garbage", "not-an-arn-at-all-xxxx", apierr.InvalidInput},
		{"other account", "arn:aws:iam::444455556666:policy/p00", apierr.NoSuchEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.AttachRolePolicy(e.ctx, e.rootA, &iam.AttachRolePolicyInput{RoleName: "r", PolicyARN: tt.arn})
			if tt.want == apierr.NoSuchEntity { // the role does not exist either; either is NoSuchEntity
				wantErr(t, err, apierr.NoSuchEntity)
				return
			}
			wantErr(t, err, tt.want)
		})
	}
	e.createRole("r")
	_, err = e.svc.AttachRolePolicy(e.ctx, e.rootA, &iam.AttachRolePolicyInput{RoleName: "r", PolicyARN: arnNoSuchPol})
	wantErr(t, err, apierr.NoSuchEntity)
	if ae, _ := apierr.As(err); ae.Message != "Policy "+arnNoSuchPol+" does not exist or is not attachable." {
		t.Errorf("message = %q", ae.Message)
	}
	_, err = e.svc.DetachRolePolicy(e.ctx, e.rootA, &iam.DetachRolePolicyInput{RoleName: "r", PolicyARN: arns[0]})
	wantErr(t, err, apierr.NoSuchEntity)

	var got []string
	marker := ""
	for {
		out := must[*iam.ListAttachedPoliciesOutput](t)(e.svc.ListAttachedUserPolicies(e.ctx, e.rootA, &iam.ListAttachedUserPoliciesInput{UserName: "u", Marker: marker, MaxItems: ptr[int32](4)}))
		for _, a := range out.AttachedPolicies {
			got = append(got, a.PolicyName)
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	want := []string{"p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "ReadOnlyAccess"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAttachedUserPolicies (-want +got):\n%s", diff)
	}
}

func TestPermissionsBoundaries(t *testing.T) {
	e := newEnv(t)
	e.user("u", "/")
	e.createRole("r")
	tests := []struct {
		name string
		arn  string
		want apierr.Code
	}{
		{"unknown", arnNoSuchPol, apierr.NoSuchEntity},
		{"invalid", arnBadPolicy, apierr.InvalidInput},
		{"other account", "arn:aws:iam::444455556666:policy/x", apierr.NoSuchEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.PutUserPermissionsBoundary(e.ctx, e.rootA, &iam.PutUserPermissionsBoundaryInput{UserName: "u", PermissionsBoundary: tt.arn})
			wantErr(t, err, tt.want)
			_, err = e.svc.PutRolePermissionsBoundary(e.ctx, e.rootA, &iam.PutRolePermissionsBoundaryInput{RoleName: "r", PermissionsBoundary: tt.arn})
			wantErr(t, err, tt.want)
		})
	}
	must[*iam.PutUserPermissionsBoundaryOutput](t)(e.svc.PutUserPermissionsBoundary(e.ctx, e.rootA, &iam.PutUserPermissionsBoundaryInput{UserName: "u", PermissionsBoundary: arnIAMRead}))
	u := must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "u"}))
	if u.User.PermissionsBoundary == nil || u.User.PermissionsBoundary.PermissionsBoundaryARN != arnIAMRead {
		t.Errorf("boundary = %+v", u.User.PermissionsBoundary)
	}
	must[*iam.DeleteUserPermissionsBoundaryOutput](t)(e.svc.DeleteUserPermissionsBoundary(e.ctx, e.rootA, &iam.DeleteUserPermissionsBoundaryInput{UserName: "u"}))
	u = must[*iam.GetUserOutput](t)(e.svc.GetUser(e.ctx, e.rootA, &iam.GetUserInput{UserName: "u"}))
	if u.User.PermissionsBoundary != nil {
		t.Errorf("boundary after delete = %+v", u.User.PermissionsBoundary)
	}
	_, err := e.svc.DeleteRolePermissionsBoundary(e.ctx, e.rootA, &iam.DeleteRolePermissionsBoundaryInput{RoleName: "ghost"})
	wantErr(t, err, apierr.NoSuchEntity)
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.createRole("r")
	e.user("u", "/")
	pArn := e.createPolicy("p", allowS3)
	type tagger struct {
		tag   func(tags []iam.Tag) error
		untag func(keys []string) error
		list  func(marker string, max int32) ([]iam.Tag, iam.Page, error)
	}
	taggers := map[string]tagger{
		"role": {
			tag: func(tags []iam.Tag) error {
				_, err := e.svc.TagRole(e.ctx, e.rootA, &iam.TagRoleInput{RoleName: "R", Tags: tags})
				return err
			},
			untag: func(keys []string) error {
				_, err := e.svc.UntagRole(e.ctx, e.rootA, &iam.UntagRoleInput{RoleName: "r", TagKeys: keys})
				return err
			},
			list: func(m string, max int32) ([]iam.Tag, iam.Page, error) {
				out, err := e.svc.ListRoleTags(e.ctx, e.rootA, &iam.ListRoleTagsInput{RoleName: "r", Marker: m, MaxItems: &max})
				if err != nil {
					return nil, iam.Page{}, err
				}
				return out.Tags, out.Page, nil
			},
		},
		"user": {
			tag: func(tags []iam.Tag) error {
				_, err := e.svc.TagUser(e.ctx, e.rootA, &iam.TagUserInput{UserName: "U", Tags: tags})
				return err
			},
			untag: func(keys []string) error {
				_, err := e.svc.UntagUser(e.ctx, e.rootA, &iam.UntagUserInput{UserName: "u", TagKeys: keys})
				return err
			},
			list: func(m string, max int32) ([]iam.Tag, iam.Page, error) {
				out, err := e.svc.ListUserTags(e.ctx, e.rootA, &iam.ListUserTagsInput{UserName: "u", Marker: m, MaxItems: &max})
				if err != nil {
					return nil, iam.Page{}, err
				}
				return out.Tags, out.Page, nil
			},
		},
		"policy": {
			tag: func(tags []iam.Tag) error {
				_, err := e.svc.TagPolicy(e.ctx, e.rootA, &iam.TagPolicyInput{PolicyARN: pArn, Tags: tags})
				return err
			},
			untag: func(keys []string) error {
				_, err := e.svc.UntagPolicy(e.ctx, e.rootA, &iam.UntagPolicyInput{PolicyARN: pArn, TagKeys: keys})
				return err
			},
			list: func(m string, max int32) ([]iam.Tag, iam.Page, error) {
				out, err := e.svc.ListPolicyTags(e.ctx, e.rootA, &iam.ListPolicyTagsInput{PolicyARN: pArn, Marker: m, MaxItems: &max})
				if err != nil {
					return nil, iam.Page{}, err
				}
				return out.Tags, out.Page, nil
			},
		},
	}
	for name, tg := range taggers {
		t.Run(name, func(t *testing.T) {
			listAll := func() []iam.Tag {
				var all []iam.Tag
				marker := ""
				for {
					tags, p, err := tg.list(marker, 2)
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, tags...)
					if !p.IsTruncated {
						return all
					}
					marker = p.Marker
				}
			}
			if err := tg.tag([]iam.Tag{{Key: "Env", Value: "dev"}, {Key: "team", Value: "a"}, {Key: "x", Value: ""}}); err != nil {
				t.Fatal(err)
			}
			// Keys are case-insensitive: ENV replaces Env.
			if err := tg.tag([]iam.Tag{{Key: "ENV", Value: "prod"}}); err != nil {
				t.Fatal(err)
			}
			want := []iam.Tag{{Key: "ENV", Value: "prod"}, {Key: "team", Value: "a"}, {Key: "x", Value: ""}}
			if diff := cmp.Diff(want, listAll()); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if err := tg.untag([]string{"env", "nope"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[1:], listAll()); diff != "" {
				t.Errorf("tags after untag (-want +got):\n%s", diff)
			}
			wantErr(t, tg.tag([]iam.Tag{{Key: "aws:reserved", Value: "1"}}), apierr.InvalidInput)
			wantErr(t, tg.tag([]iam.Tag{{Key: "k", Value: "1"}, {Key: "K", Value: "2"}}), apierr.InvalidInput)
			var many []iam.Tag
			for i := range 49 {
				many = append(many, iam.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
			}
			wantErr(t, tg.tag(many), apierr.LimitExceeded) // 2 existing + 49
			if err := tg.tag(many[:48]); err != nil {
				t.Fatalf("50 tags: %v", err)
			}
		})
	}
}

// TestListPoliciesPages walks ListPolicies a page at a time across both
// owners (a customer policy shares an AWS managed policy's name, and sorts
// first), with and without OnlyAttached, and compares with one big page.
func TestListPoliciesPages(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"ReadOnlyAccess", "aaa", "Zed", "iamx", "PowerUserAccess2"} {
		e.createPolicy(n, allowS3)
	}
	e.user("u", "/")
	for _, arn := range []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", policyARNOf(e, "ReadOnlyAccess"), policyARNOf(e, "Zed")} {
		must[*iam.AttachUserPolicyOutput](t)(e.svc.AttachUserPolicy(e.ctx, e.rootA, &iam.AttachUserPolicyInput{UserName: "u", PolicyARN: arn}))
	}
	list := func(in iam.ListPoliciesInput, size int32) []string {
		var got []string
		for range 100 {
			in.MaxItems = ptr(size)
			out := must[*iam.ListPoliciesOutput](t)(e.svc.ListPolicies(e.ctx, e.rootA, &in))
			for _, p := range out.Policies {
				got = append(got, p.ARN)
			}
			if !out.IsTruncated {
				return got
			}
			in.Marker = out.Marker
		}
		t.Fatal("pages do not end")
		return nil
	}
	for _, in := range []iam.ListPoliciesInput{{}, {Scope: "Local"}, {Scope: "AWS"}, {OnlyAttached: ptr(true)}, {PathPrefix: "/"}} {
		all := list(in, 1000)
		if len(all) == 0 {
			t.Fatalf("%+v: empty list", in)
		}
		for _, size := range []int32{1, 2, 3} {
			if diff := cmp.Diff(all, list(in, size)); diff != "" {
				t.Errorf("%+v in pages of %d (-want +got):\n%s", in, size, diff)
			}
		}
	}
	attached := list(iam.ListPoliciesInput{OnlyAttached: ptr(true)}, 1000)
	want := []string{policyARNOf(e, "ReadOnlyAccess"), "arn:aws:iam::aws:policy/ReadOnlyAccess", policyARNOf(e, "Zed")}
	if diff := cmp.Diff(want, attached); diff != "" {
		t.Errorf("OnlyAttached (-want +got):\n%s", diff)
	}
	_, err := e.svc.ListPolicies(e.ctx, e.rootA, &iam.ListPoliciesInput{Marker: "!!!"})
	wantErr(t, err, apierr.InvalidInput)
}

func policyARNOf(e *env, name string) string {
	return "arn:aws:iam::" + e.rootA.Account + ":policy/" + name
}

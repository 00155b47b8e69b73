package iam_test

import (
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestInstanceProfiles(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	e.createRole("App")
	e.createRole("Other")

	created := must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{
		InstanceProfileName: "Web", Path: "/app/", Tags: []iam.Tag{{Key: "team", Value: "core"}}}))
	p := created.InstanceProfile
	if p.ARN != "arn:aws:iam::"+acctA+":instance-profile/app/Web" || len(p.InstanceProfileID) != 21 || p.InstanceProfileID[:4] != "AIPA" ||
		p.Roles == nil || len(p.Roles) != 0 || len(p.Tags) != 1 {
		t.Fatalf("created %+v", p)
	}
	_, err := e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{InstanceProfileName: "WEB"})
	wantErr(t, err, apierr.EntityAlreadyExists)
	_, err = e.svc.GetInstanceProfile(e.ctx, root, &iam.GetInstanceProfileInput{InstanceProfileName: "nope"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{InstanceProfileName: "x", Path: "noslash"})
	wantErr(t, err, apierr.ValidationError)

	// One role per profile.
	_, err = e.svc.AddRoleToInstanceProfile(e.ctx, root, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "web", RoleName: "nope"})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.AddRoleToInstanceProfileOutput](t)(e.svc.AddRoleToInstanceProfile(e.ctx, root, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "web", RoleName: "app"}))
	_, err = e.svc.AddRoleToInstanceProfile(e.ctx, root, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "web", RoleName: "Other"})
	wantErr(t, err, apierr.LimitExceeded)
	got := must[*iam.GetInstanceProfileOutput](t)(e.svc.GetInstanceProfile(e.ctx, root, &iam.GetInstanceProfileInput{InstanceProfileName: "web"}))
	if len(got.InstanceProfile.Roles) != 1 || got.InstanceProfile.Roles[0].RoleName != "App" {
		t.Fatalf("roles %+v", got.InstanceProfile.Roles)
	}

	// Neither the profile nor its role can be deleted while joined.
	_, err = e.svc.DeleteInstanceProfile(e.ctx, root, &iam.DeleteInstanceProfileInput{InstanceProfileName: "web"})
	wantErr(t, err, apierr.DeleteConflict)
	_, err = e.svc.DeleteRole(e.ctx, root, &iam.DeleteRoleInput{RoleName: "App"})
	wantErr(t, err, apierr.DeleteConflict)

	forRole := must[*iam.ListInstanceProfilesForRoleOutput](t)(e.svc.ListInstanceProfilesForRole(e.ctx, root, &iam.ListInstanceProfilesForRoleInput{RoleName: "App"}))
	if len(forRole.InstanceProfiles) != 1 || forRole.InstanceProfiles[0].InstanceProfileName != "Web" {
		t.Fatalf("for role %+v", forRole)
	}
	_, err = e.svc.ListInstanceProfilesForRole(e.ctx, root, &iam.ListInstanceProfilesForRoleInput{RoleName: "nope"})
	wantErr(t, err, apierr.NoSuchEntity)

	_, err = e.svc.RemoveRoleFromInstanceProfile(e.ctx, root, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: "web", RoleName: "Other"})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.RemoveRoleFromInstanceProfileOutput](t)(e.svc.RemoveRoleFromInstanceProfile(e.ctx, root, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: "web", RoleName: "App"}))
	must[*iam.DeleteRoleOutput](t)(e.svc.DeleteRole(e.ctx, root, &iam.DeleteRoleInput{RoleName: "App"}))

	// Tags.
	must[*iam.TagInstanceProfileOutput](t)(e.svc.TagInstanceProfile(e.ctx, root, &iam.TagInstanceProfileInput{InstanceProfileName: "web",
		Tags: []iam.Tag{{Key: "TEAM", Value: "infra"}, {Key: "env", Value: "prod"}}}))
	_, err = e.svc.TagInstanceProfile(e.ctx, root, &iam.TagInstanceProfileInput{InstanceProfileName: "web", Tags: []iam.Tag{{Key: "aws:x", Value: "1"}}})
	wantErr(t, err, apierr.InvalidInput)
	must[*iam.UntagInstanceProfileOutput](t)(e.svc.UntagInstanceProfile(e.ctx, root, &iam.UntagInstanceProfileInput{InstanceProfileName: "web", TagKeys: []string{"env", "absent"}}))
	tags := must[*iam.ListInstanceProfileTagsOutput](t)(e.svc.ListInstanceProfileTags(e.ctx, root, &iam.ListInstanceProfileTagsInput{InstanceProfileName: "web"}))
	if len(tags.Tags) != 1 || tags.Tags[0] != (iam.Tag{Key: "TEAM", Value: "infra"}) {
		t.Fatalf("tags %+v", tags.Tags)
	}

	// Pages by name under a path.
	for _, n := range []string{"b", "A", "c"} {
		must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{InstanceProfileName: n}))
	}
	var names []string
	marker := ""
	for {
		page := must[*iam.ListInstanceProfilesOutput](t)(e.svc.ListInstanceProfiles(e.ctx, root, &iam.ListInstanceProfilesInput{Marker: marker, MaxItems: ptr[int32](3)}))
		for _, p := range page.InstanceProfiles {
			if p.Tags != nil {
				t.Errorf("ListInstanceProfiles returns tags of %s", p.InstanceProfileName)
			}
			names = append(names, p.InstanceProfileName)
		}
		if !page.IsTruncated {
			break
		}
		marker = page.Marker
	}
	if want := "A b c Web"; joinNames(names) != want {
		t.Errorf("listed %q, want %q", joinNames(names), want)
	}
	app := must[*iam.ListInstanceProfilesOutput](t)(e.svc.ListInstanceProfiles(e.ctx, root, &iam.ListInstanceProfilesInput{PathPrefix: "/app/"}))
	if len(app.InstanceProfiles) != 1 {
		t.Errorf("under /app/: %+v", app.InstanceProfiles)
	}
	_, err = e.svc.ListInstanceProfiles(e.ctx, root, &iam.ListInstanceProfilesInput{Marker: "bogus"})
	wantErr(t, err, apierr.InvalidInput)

	must[*iam.DeleteInstanceProfileOutput](t)(e.svc.DeleteInstanceProfile(e.ctx, root, &iam.DeleteInstanceProfileInput{InstanceProfileName: "WEB"}))
	_, err = e.svc.DeleteInstanceProfile(e.ctx, root, &iam.DeleteInstanceProfileInput{InstanceProfileName: "web"})
	wantErr(t, err, apierr.NoSuchEntity)
}

// TestInstanceProfileAuthorization: every action needs its iam: action on
// the profile's ARN, a denial does not tell whether the profile exists, and
// adding a role needs iam:PassRole on the role.
func TestInstanceProfileAuthorization(t *testing.T) {
	e := newEnv(t)
	e.createRole("App")
	must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, e.rootA, &iam.CreateInstanceProfileInput{InstanceProfileName: "Web"}))
	bob := e.user("bob", "/")
	_, err := e.svc.GetInstanceProfile(e.ctx, bob, &iam.GetInstanceProfileInput{InstanceProfileName: "Web"})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.GetInstanceProfile(e.ctx, bob, &iam.GetInstanceProfileInput{InstanceProfileName: "missing"})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.CreateInstanceProfile(e.ctx, bob, &iam.CreateInstanceProfileInput{InstanceProfileName: "mine"})
	wantErr(t, err, apierr.AccessDenied)

	e.putUserPolicy("bob", "ip", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*InstanceProfile*"],"Resource":"arn:aws:iam::`+acctA+`:instance-profile/*"}]}`)
	must[*iam.GetInstanceProfileOutput](t)(e.svc.GetInstanceProfile(e.ctx, bob, &iam.GetInstanceProfileInput{InstanceProfileName: "Web"}))
	_, err = e.svc.AddRoleToInstanceProfile(e.ctx, bob, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "Web", RoleName: "App"})
	wantErr(t, err, apierr.AccessDenied) // no iam:PassRole
	e.putUserPolicy("bob", "pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::`+acctA+`:role/App"}]}`)
	must[*iam.AddRoleToInstanceProfileOutput](t)(e.svc.AddRoleToInstanceProfile(e.ctx, bob, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "Web", RoleName: "App"}))

	// Another account sees nothing of account A's profile.
	_, err = e.svc.GetInstanceProfile(e.ctx, e.rootB, &iam.GetInstanceProfileInput{InstanceProfileName: "Web"})
	wantErr(t, err, apierr.NoSuchEntity)
}

func joinNames(ns []string) string {
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out
}

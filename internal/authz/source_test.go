package authz

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// TestPolicySources checks that every policy the authorizer gathers says
// where it came from: a user's and its group's inline policies, managed
// policies attached, as a boundary and to a session, a session's inline
// policy and the organization's SCPs.
func TestPolicySources(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	const member = "444455556666"
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mpARN := "arn:aws:iam::" + member + ":policy/team/mp"
	for _, err := range []error{
		st.CreateAccount(ctx, store.Account{ID: member, Name: "b"}),
		st.PutSetting(ctx, OrgRootSetting, "r-src1"),
		st.CreateOrgPolicy(ctx, store.OrgPolicy{ID: "p-src1", Name: "guard", Type: "SERVICE_CONTROL_POLICY", Content: allowDoc("*")}),
		st.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: "p-src1", TargetID: member}),
		st.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: member, ID: "ANPASRC1", Name: "mp", Path: "/team/", ARN: mpARN, DefaultVersionID: "v1", CreatedAt: created},
			store.PolicyVersion{PolicyARN: mpARN, VersionID: "v1", Document: allowDoc("s3:*"), CreatedAt: created}),
		st.CreateUser(ctx, store.User{Account: member, ID: "AIDASOURCEEXAMPLE001", Name: "alice", Path: "/", PermissionsBoundary: mpARN}),
		st.PutInlinePolicy(ctx, store.InlinePolicy{Account: member, Kind: store.KindUser, Owner: "alice", Name: "up", Document: allowDoc("sqs:*")}),
		st.CreateGroup(ctx, store.Group{Account: member, ID: "AGPASOURCEEXAMPLE001", Name: "devs", Path: "/"}),
		st.AddUserToGroup(ctx, member, "devs", "alice"),
		st.PutInlinePolicy(ctx, store.InlinePolicy{Account: member, Kind: store.KindGroup, Owner: "devs", Name: "gp", Document: allowDoc("sns:*")}),
		st.AttachPolicy(ctx, store.Attachment{Account: member, Kind: store.KindUser, Owner: "alice", PolicyARN: mpARN}),
		st.CreateRole(ctx, store.Role{Account: member, ID: "AROASOURCEEXAMPLE001", Name: "app", Path: "/", TrustPolicy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + member + `"},"Action":"sts:AssumeRole"}}`}),
		st.PutInlinePolicy(ctx, store.InlinePolicy{Account: member, Kind: store.KindRole, Owner: "app", Name: "rp", Document: allowDoc("ec2:*")}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sources := func(list []policy.Named) []policy.Source {
		var out []policy.Source
		for _, n := range list {
			out = append(out, n.Source)
		}
		return out
	}
	managed := policy.Source{Type: policy.SourceManaged, Name: "mp", ARN: mpARN}

	user, err := a.PolicySet(ctx, &Caller{Account: member, Type: policy.User, UserName: "alice", UserID: "AIDASOURCEEXAMPLE001"})
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Source{
		{Type: policy.SourceUserInline, Owner: "alice", Name: "up"},
		managed,
		{Type: policy.SourceGroupInline, Owner: "devs", Name: "gp"},
	}
	if diff := cmp.Diff(want, sources(user.Identity)); diff != "" {
		t.Errorf("identity sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]policy.Source{managed}, sources(user.Boundary)); diff != "" {
		t.Errorf("boundary sources (-want +got):\n%s", diff)
	}
	var scps []policy.Source
	for _, level := range user.SCP {
		scps = append(scps, sources(level)...)
	}
	if diff := cmp.Diff([]policy.Source{{Type: policy.SourceSCP, Name: "guard"}}, scps); diff != "" {
		t.Errorf("SCP sources (-want +got):\n%s", diff)
	}

	role, err := a.PolicySet(ctx, &Caller{Account: member, Type: policy.AssumedRole, Session: &session.Session{Type: session.AssumedRole,
		Account: member, RoleName: "app", RoleID: "AROASOURCEEXAMPLE001", Policy: allowDoc("*"), PolicyARNs: []string{mpARN}, IssuedAt: created.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]policy.Source{{Type: policy.SourceRoleInline, Owner: "app", Name: "rp"}}, sources(role.Identity)); diff != "" {
		t.Errorf("role sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]policy.Source{{Type: policy.SourceSession}, managed}, sources(role.Session)); diff != "" {
		t.Errorf("session sources (-want +got):\n%s", diff)
	}
}

package iam_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/store"
)

// TestOrganizationsAccessReportKnownAnswers seeds an organization (account B
// two OUs down), recorded uses at known times and an SCP on the upper OU,
// and checks every report field, the SCP's narrowing, the sort keys and the
// refusals.
func TestOrganizationsAccessReportKnownAnswers(t *testing.T) {
	e := newEnv(t)
	const (
		orgID = "o-abcdefghij"
		root  = "r-abcd"
		ou1   = "ou-abcd-11111111"
		ou2   = "ou-abcd-22222222"
	)
	st := e.store
	// The users first: the SCP below would deny B's root creating one.
	ua := e.user("ua", "")
	ub, err := e.svc.CreateUser(e.ctx, e.rootB, &iam.CreateUserInput{UserName: "ub"})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.PutSetting(e.ctx, "org.id", orgID),
		st.PutSetting(e.ctx, authz.OrgRootSetting, root),
		st.CreateOrgUnit(e.ctx, store.OrgUnit{ID: ou1, Name: "one", CreatedAt: epoch}),
		st.CreateOrgUnit(e.ctx, store.OrgUnit{ID: ou2, Name: "two", ParentID: ou1, CreatedAt: epoch}),
		st.MoveOrgAccount(e.ctx, acctB, "", ou2),
		st.CreateOrgPolicy(e.ctx, store.OrgPolicy{ID: "p-stsonly1", Name: "sts-only", Type: "SERVICE_CONTROL_POLICY",
			Content: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`}),
		st.AttachOrgPolicy(e.ctx, store.OrgAttachment{PolicyID: "p-stsonly1", TargetID: ou1}),
		st.CreateOrgPolicy(e.ctx, store.OrgPolicy{ID: "p-tagpolicy", Name: "tags", Type: "TAG_POLICY", Content: `{"tags":{}}`}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	err = st.RecordServiceAccess(e.ctx, []store.ServiceAccess{
		{PrincipalID: ua.UserID, Account: acctA, Service: "iam", Action: "ListUsers", At: epoch.Add(-2 * time.Hour), Region: "eu-west-1"},
		{PrincipalID: ub.User.UserID, Account: acctB, Service: "iam", Action: "GetUser", At: epoch.Add(-time.Hour), Region: "us-east-1"},
		{PrincipalID: ub.User.UserID, Account: acctB, Service: "sts", Action: "GetCallerIdentity", At: epoch.Add(-3 * time.Hour), Region: "us-west-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rootPath := orgID + "/" + root
	pathA, pathB := rootPath+"/"+acctA, rootPath+"/"+ou1+"/"+ou2+"/"+acctB

	get := func(path, policyID, sortKey string) *iam.GetOrganizationsAccessReportOutput {
		t.Helper()
		job, err := e.svc.GenerateOrganizationsAccessReport(e.ctx, e.rootA, &iam.GenerateOrganizationsAccessReportInput{EntityPath: path, OrganizationsPolicyID: policyID})
		if err != nil {
			t.Fatalf("generate %s %s: %v", path, policyID, err)
		}
		out, err := e.svc.GetOrganizationsAccessReport(e.ctx, e.rootA, &iam.GetOrganizationsAccessReportInput{JobID: job.JobID, SortKey: sortKey})
		if err != nil {
			t.Fatal(err)
		}
		if out.JobStatus != "COMPLETED" || !out.JobCreationDate.Equal(epoch.Truncate(time.Second)) {
			t.Fatalf("job %+v", out)
		}
		return out
	}
	line := func(d iam.AccessDetail) string {
		when := "-"
		if d.LastAuthenticatedTime != nil {
			when = epoch.Truncate(time.Second).Sub(*d.LastAuthenticatedTime).String()
		}
		return strings.Join([]string{d.ServiceNamespace, when, d.Region, d.EntityPath, string(rune('0' + d.TotalAuthenticatedEntities))}, " ")
	}
	lines := func(out *iam.GetOrganizationsAccessReportOutput) string {
		var ls []string
		for _, d := range out.AccessDetails {
			ls = append(ls, line(d))
		}
		return strings.Join(ls, "\n")
	}
	// The epoch has 891 ms: uses are reported to the second.
	want := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s:\n%s\nwant\n%s", what, got, want)
		}
	}
	all := get(rootPath, "", "")
	want("root", lines(all), strings.Join([]string{
		"cloudtrail -   0",
		"iam 1h0m0s us-east-1 " + pathB + " 2",
		"organizations -   0",
		"sts 3h0m0s us-west-2 " + pathB + " 1",
	}, "\n"))
	if all.NumberOfServicesAccessible != 4 || all.NumberOfServicesNotAccessed != 2 {
		t.Fatalf("counts %d %d", all.NumberOfServicesAccessible, all.NumberOfServicesNotAccessed)
	}
	want("account A", lines(get(pathA, "", sortTimeDesc)), strings.Join([]string{
		"iam 2h0m0s eu-west-1 " + pathA + " 1",
		"cloudtrail -   0", "organizations -   0", "sts -   0",
	}, "\n"))
	want("upper OU, by time", lines(get(rootPath+"/"+ou1, "", sortTimeAsc)), strings.Join([]string{
		"cloudtrail -   0", "organizations -   0",
		"sts 3h0m0s us-west-2 " + pathB + " 1",
		"iam 1h0m0s us-east-1 " + pathB + " 1",
	}, "\n"))
	// The SCP allows sts only and applies below ou1: A's uses do not count.
	want("root with the SCP", lines(get(rootPath, "p-stsonly1", sortNamespaceDesc)), "sts 3h0m0s us-west-2 "+pathB+" 1")

	// Refusals.
	bad := func(c *authz.Caller, path, policyID, wantCode string) {
		t.Helper()
		_, err := e.svc.GenerateOrganizationsAccessReport(e.ctx, c, &iam.GenerateOrganizationsAccessReportInput{EntityPath: path, OrganizationsPolicyID: policyID})
		if code(err) != wantCode {
			t.Fatalf("%s %s: %v, want %s", path, policyID, err, wantCode)
		}
	}
	bad(e.rootB, rootPath+"/"+ou1+"/"+ou2+"/"+acctB, "", "AccessDenied") // a member account
	bad(e.rootA, rootPath+"/"+ou2, "", "InvalidInput")                   // ou2 is below ou1
	bad(e.rootA, rootPath+"/"+ou1+"/"+acctB, "", "InvalidInput")         // B is in ou2
	bad(e.rootA, rootPath+"/"+acctB, "", "InvalidInput")
	bad(e.rootA, pathA+"/"+ou1, "", "InvalidInput")
	bad(e.rootA, rootPath+"/"+ou1+"/"+ou2+"/"+acctB+"/"+acctB, "", "InvalidInput")
	bad(e.rootA, "o-zzzzzzzzzz/"+root, "", "InvalidInput")
	bad(e.rootA, rootPath, "p-tagpolicy", "InvalidInput") // not an SCP
	bad(e.rootA, rootPath, "p-nosuchone", "InvalidInput")
	// Without the organization, even the management account is refused.
	if err := st.DeleteOrg(e.ctx); err != nil {
		t.Fatal(err)
	}
	bad(e.rootA, rootPath, "", "AccessDenied")
}

const (
	sortNamespaceDesc = "SERVICE_NAMESPACE_DESCENDING"
	sortTimeAsc       = "LAST_AUTHENTICATED_TIME_ASCENDING"
	sortTimeDesc      = "LAST_AUTHENTICATED_TIME_DESCENDING"
)

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestOrganizationsAccessReport: uses by role sessions in two member
// accounts (one in an OU) show up in the organizations access reports of
// the root, the OU and an account, narrowed by an SCP, through the SDK and
// the AWS CLI; the errors AWS gives for a bad path, another caller and
// another kind of job.
func TestOrganizationsAccessReport(t *testing.T) {
	t.Parallel()
	e := start(t)
	acctA := e.newAccount(t, "ora")
	acctB := e.newAccount(t, "orb")
	c := e.rootOrg()
	root := e.rootID(t)
	orgID := aws.ToString(must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization.Id)
	ou := aws.ToString(must[*organizations.CreateOrganizationalUnitOutput](t)(c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{
		ParentId: aws.String(root), Name: aws.String("Eng")})).OrganizationalUnit.Id)
	must[*organizations.MoveAccountOutput](t)(c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(acctA),
		SourceParentId: aws.String(root), DestinationParentId: aws.String(ou)}))
	rootPath := orgID + "/" + root
	ouPath := rootPath + "/" + ou
	pathA, pathB := ouPath+"/"+acctA, rootPath+"/"+acctB

	// The management account's admin assumes into both (sts uses in the
	// management account); the session in A lists roles (iam in A), the
	// one in B asks who it is (sts in B).
	admin := e.admin(t, "ora-admin")
	inA := e.assumeInto(t, admin, acctA, "OrganizationAccountAccessRole")
	inB := e.assumeInto(t, admin, acctB, "OrganizationAccountAccessRole")
	must[*iam.ListRolesOutput](t)(inA.iam.ListRoles(ctx, &iam.ListRolesInput{}))
	must[*sts.GetCallerIdentityOutput](t)(inB.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))

	rootIAM := e.rootIAM()
	report := func(path, policyID string) map[string]iamtypes.AccessDetail {
		t.Helper()
		in := &iam.GenerateOrganizationsAccessReportInput{EntityPath: aws.String(path)}
		if policyID != "" {
			in.OrganizationsPolicyId = aws.String(policyID)
		}
		job := must[*iam.GenerateOrganizationsAccessReportOutput](t)(rootIAM.GenerateOrganizationsAccessReport(ctx, in))
		if len(aws.ToString(job.JobId)) != 36 {
			t.Fatalf("job id %q", aws.ToString(job.JobId))
		}
		r := must[*iam.GetOrganizationsAccessReportOutput](t)(rootIAM.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: job.JobId}))
		if r.JobStatus != iamtypes.JobStatusTypeCompleted || r.JobCreationDate == nil || r.JobCompletionDate == nil || r.ErrorDetails != nil || r.IsTruncated {
			t.Fatalf("job %s: %+v", path, r)
		}
		out := map[string]iamtypes.AccessDetail{}
		notAccessed := 0
		for _, d := range r.AccessDetails {
			out[aws.ToString(d.ServiceNamespace)] = d
			if d.LastAuthenticatedTime == nil {
				notAccessed++
			}
		}
		if int(aws.ToInt32(r.NumberOfServicesAccessible)) != len(out) || int(aws.ToInt32(r.NumberOfServicesNotAccessed)) != notAccessed {
			t.Fatalf("%s: accessible %d not accessed %d, details %d (%d not accessed)", path, aws.ToInt32(r.NumberOfServicesAccessible),
				aws.ToInt32(r.NumberOfServicesNotAccessed), len(out), notAccessed)
		}
		return out
	}
	wantUse := func(what string, d iamtypes.AccessDetail, entities int32, path string) {
		t.Helper()
		if aws.ToInt32(d.TotalAuthenticatedEntities) != entities || aws.ToString(d.EntityPath) != path {
			t.Fatalf("%s: %d accounts from %q, want %d from %q", what, aws.ToInt32(d.TotalAuthenticatedEntities), aws.ToString(d.EntityPath), entities, path)
		}
		if (path == "") != (d.LastAuthenticatedTime == nil) || (path == "") != (aws.ToString(d.Region) == "") {
			t.Fatalf("%s: last %v in %q", what, d.LastAuthenticatedTime, aws.ToString(d.Region))
		}
	}

	// The root: iam used in A only; sts in the management account and B,
	// B last; organizations and cloudtrail by nobody but the root user,
	// whose uses are not recorded.
	all := report(rootPath, "")
	if len(all) != 4 || aws.ToString(all["iam"].ServiceName) != "AWS Identity and Access Management" {
		t.Fatalf("root report: %+v", all)
	}
	wantUse("root iam", all["iam"], 1, pathA)
	wantUse("root sts", all["sts"], 2, pathB)
	wantUse("root organizations", all["organizations"], 0, "")
	wantUse("root cloudtrail", all["cloudtrail"], 0, "")

	// The OU: only A.
	unit := report(ouPath+"/", "")
	wantUse("ou iam", unit["iam"], 1, pathA)
	wantUse("ou sts", unit["sts"], 0, "")
	// The account B.
	b := report(pathB, "")
	wantUse("B iam", b["iam"], 0, "")
	wantUse("B sts", b["sts"], 1, pathB)

	// An SCP allowing sts only, attached to B: the root's report with it
	// lists sts alone, used in B (the accounts it does not apply to do not
	// count).
	scp := aws.ToString(must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("sts-only"),
		Description: aws.String("d"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`)})).Policy.PolicySummary.Id)
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(scp), TargetId: aws.String(acctB)}))
	limited := report(rootPath, scp)
	if len(limited) != 1 {
		t.Fatalf("report with the SCP: %+v", limited)
	}
	wantUse("scp sts", limited["sts"], 1, pathB)
	// FullAWSAccess, attached to the root, applies everywhere.
	full := report(rootPath, "p-FullAWSAccess")
	wantUse("FullAWSAccess sts", full["sts"], 2, pathB)

	// The AWS CLI, sorted by time, newest first, a page of one.
	cl := newCLIEnv(t, e.endpoint)
	rootEnv := creds(testRootKeyID, testRootSecret, "")
	cli := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, code := cl.run(t, rootEnv, awsCLIPath(), append(args, "--endpoint-url", e.endpoint, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}
	job := cli("iam", "generate-organizations-access-report", "--entity-path", rootPath)["JobId"].(string)
	got := cli("iam", "get-organizations-access-report", "--job-id", job, "--sort-key", "LAST_AUTHENTICATED_TIME_DESCENDING", "--max-items", "1", "--no-paginate")
	details := got["AccessDetails"].([]any)
	if got["JobStatus"] != "COMPLETED" || got["IsTruncated"] != true || got["Marker"] == nil || len(details) != 1 || got["NumberOfServicesAccessible"] != float64(4) ||
		got["NumberOfServicesNotAccessed"] != float64(2) {
		t.Fatalf("cli report: %v", got)
	}
	first := details[0].(map[string]any)
	// B's GetCallerIdentity came after A's ListRoles (whole seconds may tie:
	// then by namespace, iam first).
	if ns := first["ServiceNamespace"]; ns != "sts" && ns != "iam" {
		t.Fatalf("newest first: %v", first)
	}
	// Every page, namespace descending.
	var order []string
	in := &iam.GetOrganizationsAccessReportInput{JobId: aws.String(job), MaxItems: aws.Int32(3), SortKey: iamtypes.SortKeyTypeServiceNamespaceDescending}
	for {
		p := must[*iam.GetOrganizationsAccessReportOutput](t)(rootIAM.GetOrganizationsAccessReport(ctx, in))
		for _, d := range p.AccessDetails {
			order = append(order, aws.ToString(d.ServiceNamespace))
		}
		if !p.IsTruncated {
			break
		}
		in.Marker = p.Marker
	}
	if strings.Join(order, ",") != "sts,organizations,iam,cloudtrail" {
		t.Fatalf("descending pages: %v", order)
	}

	// Errors.
	gen := func(p principal, path, policyID string) error {
		in := &iam.GenerateOrganizationsAccessReportInput{EntityPath: aws.String(path)}
		if policyID != "" {
			in.OrganizationsPolicyId = aws.String(policyID)
		}
		_, err := p.iam.GenerateOrganizationsAccessReport(ctx, in)
		return err
	}
	rootP := e.principal(testRootKeyID, testRootSecret, "")
	wantCode(t, gen(rootP, "not-a-path-at-all-xyz", ""), "ValidationError")
	wantCode(t, gen(rootP, rootPath, "policy-1"), "ValidationError")
	wantCode(t, gen(rootP, "o-zzzzzzzzzz/"+root, ""), "InvalidInput")
	wantCode(t, gen(rootP, orgID+"/r-zzzz", ""), "InvalidInput")
	wantCode(t, gen(rootP, rootPath+"/ou-zzzz-zzzzzzzz", ""), "InvalidInput")
	wantCode(t, gen(rootP, rootPath+"/"+acctA, ""), "InvalidInput") // A is in the OU
	wantCode(t, gen(rootP, ouPath+"/"+acctB, ""), "InvalidInput")   // B is not
	wantCode(t, gen(rootP, pathB+"/"+ou, ""), "InvalidInput")       // nothing below an account
	wantCode(t, gen(rootP, rootPath, "p-zzzzzzzzzz"), "InvalidInput")
	wantCode(t, gen(inA, pathA, ""), "AccessDenied") // a member account
	_, err := rootIAM.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: aws.String(job), SortKey: "NEWEST"})
	wantCode(t, err, "ValidationError")
	_, err = rootIAM.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantCode(t, err, "NoSuchEntity")
	_, err = inA.iam.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: aws.String(job)})
	wantCode(t, err, "NoSuchEntity") // another account's job
	// A service last accessed job is not an organizations job, nor the
	// reverse.
	sj := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(rootIAM.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{
		Arn: aws.String("arn:aws:iam::" + testAccount + ":user/ora-admin")}))
	_, err = rootIAM.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: sj.JobId})
	wantCode(t, err, "NoSuchEntity")
	_, err = rootIAM.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(job)})
	wantCode(t, err, "NoSuchEntity")
}

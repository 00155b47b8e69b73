package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestServiceLastAccessed: calls made by a user and a role session show up
// in the service last accessed reports of the user, its group, the role
// and a managed policy, through the SDK and the real AWS CLI.
func TestServiceLastAccessed(t *testing.T) {
	t.Parallel()
	e := start(t)
	root := e.rootIAM()
	akid, secret := e.user(t, "la-user")
	e.userPolicy(t, "la-user", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:List*","sts:GetCallerIdentity","sts:AssumeRole"],"Resource":"*"}]}`)
	must[*iam.CreateGroupOutput](t)(root.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("la-group")}))
	must[*iam.AddUserToGroupOutput](t)(root.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("la-group"), UserName: aws.String("la-user")}))
	must[*iam.PutGroupPolicyOutput](t)(root.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("la-group"), PolicyName: aws.String("g"),
		PolicyDocument: aws.String(allow("organizations:Describe*", "*"))}))
	roleARN := e.role(t, "la-role", "", trustAccount)
	pol := must[*iam.CreatePolicyOutput](t)(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("la-managed"), PolicyDocument: aws.String(allow("iam:*", "*"))}))
	must[*iam.AttachRolePolicyOutput](t)(root.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("la-role"), PolicyArn: pol.Policy.Arn}))

	before := time.Now().UTC().Truncate(time.Second)
	user := e.iam(akid, secret, "")
	must[*iam.ListUsersOutput](t)(user.ListUsers(ctx, &iam.ListUsersInput{}))
	must[*sts.GetCallerIdentityOutput](t)(e.sts(akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	// A denied call is not a use.
	_, err := user.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	_, err = user.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nope")})
	wantCode(t, err, "AccessDenied")
	as := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("la-session")}))
	sess := e.iam(*as.Credentials.AccessKeyId, *as.Credentials.SecretAccessKey, *as.Credentials.SessionToken)
	must[*iam.GetRoleOutput](t)(sess.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("la-role")}))

	// The user's report, with the AWS CLI, action level.
	c := newCLIEnv(t, e.endpoint)
	rootEnv := creds(testRootKeyID, testRootSecret, "")
	cli := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, code := c.run(t, rootEnv, awsCLIPath(), append(args, "--endpoint-url", e.endpoint, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}
	userARN := "arn:aws:iam::" + testAccount + ":user/la-user"
	job := cli("iam", "generate-service-last-accessed-details", "--arn", userARN, "--granularity", "ACTION_LEVEL")["JobId"].(string)
	got := cli("iam", "get-service-last-accessed-details", "--job-id", job)
	if got["JobStatus"] != "COMPLETED" || got["JobType"] != "ACTION_LEVEL" || got["JobCompletionDate"] == nil {
		t.Fatalf("job: %v", got)
	}
	services := map[string]map[string]any{}
	for _, s := range got["ServicesLastAccessed"].([]any) {
		m := s.(map[string]any)
		services[m["ServiceNamespace"].(string)] = m
	}
	// Granted: iam and sts (its own policy), organizations (its group's);
	// not cloudtrail.
	if len(services) != 3 || services["iam"] == nil || services["sts"] == nil || services["organizations"] == nil {
		t.Fatalf("services: %v", got["ServicesLastAccessed"])
	}
	iamSvc := services["iam"]
	if iamSvc["LastAuthenticatedEntity"] != userARN || iamSvc["TotalAuthenticatedEntities"] != float64(1) || iamSvc["LastAuthenticatedRegion"] != "us-east-1" ||
		iamSvc["ServiceName"] != "AWS Identity and Access Management" {
		t.Fatalf("iam: %v", iamSvc)
	}
	last, err := time.Parse(time.RFC3339, iamSvc["LastAuthenticated"].(string))
	if err != nil || last.Before(before) || last.After(time.Now().Add(time.Second)) {
		t.Fatalf("iam LastAuthenticated %v (%v), want after %v", iamSvc["LastAuthenticated"], err, before)
	}
	var actions []string
	for _, a := range iamSvc["TrackedActionsLastAccessed"].([]any) {
		actions = append(actions, a.(map[string]any)["ActionName"].(string))
	}
	if strings.Join(actions, ",") != "ListRoles,ListUsers" {
		t.Fatalf("iam actions %v, want ListRoles,ListUsers (CreateUser was denied)", actions)
	}
	if services["sts"]["LastAuthenticated"] == nil {
		t.Fatalf("sts: %v", services["sts"])
	}
	if services["organizations"]["LastAuthenticated"] != nil || services["organizations"]["TotalAuthenticatedEntities"] != float64(0) {
		t.Fatalf("organizations was never used: %v", services["organizations"])
	}

	// Pages: one service at a time, in namespace order.
	var pages []string
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(job), MaxItems: aws.Int32(1)}
	for {
		p := must[*iam.GetServiceLastAccessedDetailsOutput](t)(root.GetServiceLastAccessedDetails(ctx, in))
		for _, s := range p.ServicesLastAccessed {
			pages = append(pages, *s.ServiceNamespace)
		}
		if !p.IsTruncated {
			break
		}
		in.Marker = p.Marker
	}
	if strings.Join(pages, ",") != "iam,organizations,sts" {
		t.Fatalf("paged services: %v", pages)
	}
	_, err = root.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(job), Marker: aws.String("not-a-marker")})
	wantCode(t, err, "InvalidInput")

	// The group's report: its members' uses of what the group grants.
	gj := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(root.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{
		Arn: aws.String("arn:aws:iam::" + testAccount + ":group/la-group")}))
	gr := must[*iam.GetServiceLastAccessedDetailsOutput](t)(root.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: gj.JobId}))
	if gr.JobType != iamtypes.AccessAdvisorUsageGranularityTypeServiceLevel || len(gr.ServicesLastAccessed) != 1 || *gr.ServicesLastAccessed[0].ServiceNamespace != "organizations" {
		t.Fatalf("group report: %+v", gr.ServicesLastAccessed)
	}
	ents := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(root.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{
		JobId: gj.JobId, ServiceNamespace: aws.String("organizations")}))
	if len(ents.EntityDetailsList) != 1 || *ents.EntityDetailsList[0].EntityInfo.Arn != userARN || ents.EntityDetailsList[0].LastAuthenticated != nil {
		t.Fatalf("group entities: %+v", ents.EntityDetailsList)
	}

	// The managed policy's report: the role session's use of iam.
	pj := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(root.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: pol.Policy.Arn}))
	pr := must[*iam.GetServiceLastAccessedDetailsOutput](t)(root.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: pj.JobId}))
	if len(pr.ServicesLastAccessed) != 1 || aws.ToString(pr.ServicesLastAccessed[0].LastAuthenticatedEntity) != roleARN {
		t.Fatalf("policy report: %+v", pr.ServicesLastAccessed)
	}
	pe := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(root.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{
		JobId: pj.JobId, ServiceNamespace: aws.String("iam")}))
	if len(pe.EntityDetailsList) != 1 || pe.EntityDetailsList[0].EntityInfo.Type != iamtypes.PolicyOwnerEntityTypeRole || pe.EntityDetailsList[0].LastAuthenticated == nil {
		t.Fatalf("policy entities: %+v", pe.EntityDetailsList)
	}

	// Errors: an unknown job, a bad granularity, a missing entity, and a
	// caller without permission (who cannot read another's job either).
	_, err = root.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantCode(t, err, "NoSuchEntity")
	_, err = root.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(userARN), Granularity: "FINE"})
	wantCode(t, err, "ValidationError")
	_, err = root.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::" + testAccount + ":user/ghost")})
	wantCode(t, err, "NoSuchEntity")
	_, err = root.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:s3:::a-bucket-of-mine")})
	wantCode(t, err, "InvalidInput")
	_, err = user.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(userARN)})
	wantCode(t, err, "AccessDenied")
	_, err = user.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(job)})
	wantCode(t, err, "AccessDenied")
}

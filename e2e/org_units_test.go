package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func (e *env) rootID(t *testing.T) string {
	t.Helper()
	return aws.ToString(must[*organizations.ListRootsOutput](t)(e.rootOrg().ListRoots(ctx, &organizations.ListRootsInput{})).Roots[0].Id)
}

// TestOrgUnitsSDK drives the OU lifecycle with aws-sdk-go-v2, and SCPs on
// an OU against a session in an account below it.
func TestOrgUnitsSDK(t *testing.T) {
	t.Parallel()
	e := start(t)
	acct := e.newAccount(t, "unit")
	c := e.rootOrg()
	root := e.rootID(t)
	mkOU := func(parent, name string) *orgtypes.OrganizationalUnit {
		t.Helper()
		return must[*organizations.CreateOrganizationalUnitOutput](t)(c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{
			ParentId: aws.String(parent), Name: aws.String(name)})).OrganizationalUnit
	}
	top := mkOU(root, "Top")
	id := aws.ToString(top.Id)
	if !strings.HasPrefix(id, "ou-"+strings.TrimPrefix(root, "r-")+"-") || !strings.HasSuffix(aws.ToString(top.Arn), ":ou/"+strings.Split(aws.ToString(top.Arn), "/")[1]+"/"+id) {
		t.Fatalf("OU %+v", top)
	}
	_, err := c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("Top")})
	wantErr[*orgtypes.DuplicateOrganizationalUnitException](t, err)
	_, err = c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String("ou-zzzz-zzzzzzzz"), Name: aws.String("x")})
	wantErr[*orgtypes.ParentNotFoundException](t, err)
	parent := aws.ToString(mkOU(id, "L2").Id)
	mid := parent
	for _, n := range []string{"L3", "L4", "L5"} {
		parent = aws.ToString(mkOU(parent, n).Id)
	}
	_, err = c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String("L6")})
	var cv *orgtypes.ConstraintViolationException
	if wantErr[*orgtypes.ConstraintViolationException](t, err); !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonOuDepthLimitExceeded {
		t.Fatalf("sixth level: %v", err)
	}
	_, err = c.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String("ou-zzzz-zzzzzzzz")})
	wantErr[*orgtypes.OrganizationalUnitNotFoundException](t, err)

	// Paginators walk pages of one.
	mkOU(root, "Other")
	var names []string
	pg := organizations.NewListOrganizationalUnitsForParentPaginator(c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(root), MaxResults: aws.Int32(1)})
	for pg.HasMorePages() {
		for _, u := range must[*organizations.ListOrganizationalUnitsForParentOutput](t)(pg.NextPage(ctx)).OrganizationalUnits {
			names = append(names, aws.ToString(u.Name))
		}
	}
	if len(names) != 2 {
		t.Fatalf("OUs in the root: %v", names)
	}

	// A session in the member account, through OrganizationAccountAccessRole.
	admin := e.assumeInto(t, e.admin(t, "ouadmin"), acct, "OrganizationAccountAccessRole")
	canCreateUser := func(name string) bool {
		t.Helper()
		_, err := admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		if err != nil && apiCode(t, err) != "AccessDenied" {
			t.Fatalf("create user: %v", err)
		}
		return err == nil
	}
	move := func(from, to string) {
		t.Helper()
		must[*organizations.MoveAccountOutput](t)(c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(acct),
			SourceParentId: aws.String(from), DestinationParentId: aws.String(to)}))
	}
	deny := aws.ToString(must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-users"),
		Description: aws.String(""), Type: scpType, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`)})).Policy.PolicySummary.Id)
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(deny), TargetId: aws.String(id)}))
	if !canCreateUser("u1") {
		t.Fatal("the SCP on Top must not bind an account in the root")
	}
	move(root, mid)
	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(acct), SourceParentId: aws.String(root), DestinationParentId: aws.String(mid)})
	wantErr[*orgtypes.DuplicateAccountException](t, err)
	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(acct), SourceParentId: aws.String("ou-zzzz-zzzzzzzz"), DestinationParentId: aws.String(root)})
	wantErr[*orgtypes.SourceParentNotFoundException](t, err)
	_, err = c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(acct), SourceParentId: aws.String(mid), DestinationParentId: aws.String("ou-zzzz-zzzzzzzz")})
	wantErr[*orgtypes.DestinationParentNotFoundException](t, err)
	if canCreateUser("u2") {
		t.Fatal("an SCP on an OU above the account must deny at once")
	}
	parents := must[*organizations.ListParentsOutput](t)(c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(acct)})).Parents
	if len(parents) != 1 || aws.ToString(parents[0].Id) != mid || parents[0].Type != orgtypes.ParentTypeOrganizationalUnit {
		t.Fatalf("parents %+v", parents)
	}
	accts := must[*organizations.ListAccountsForParentOutput](t)(c.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(mid)})).Accounts
	if len(accts) != 1 || aws.ToString(accts[0].Id) != acct {
		t.Fatalf("accounts in L2 %+v", accts)
	}
	targets := must[*organizations.ListTargetsForPolicyOutput](t)(c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(deny)})).Targets
	if len(targets) != 1 || targets[0].Type != orgtypes.TargetTypeOrganizationalUnit || aws.ToString(targets[0].TargetId) != id {
		t.Fatalf("targets %+v", targets)
	}
	_, err = c.DeleteOrganizationalUnit(ctx, &organizations.DeleteOrganizationalUnitInput{OrganizationalUnitId: aws.String(mid)})
	wantErr[*orgtypes.OrganizationalUnitNotEmptyException](t, err)
	move(mid, root)
	if !canCreateUser("u3") {
		t.Fatal("after MoveAccount out of the OU the SCP must no longer apply")
	}

	// An OU whose SCPs allow only S3 blocks IAM below it, though the root
	// and the account keep FullAWSAccess.
	s3only := aws.ToString(must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("s3-only"),
		Description: aws.String(""), Type: scpType, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})).Policy.PolicySummary.Id)
	other := aws.ToString(names2id(t, c, root, "Other"))
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(s3only), TargetId: aws.String(other)}))
	must[*organizations.DetachPolicyOutput](t)(c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(other)}))
	move(root, other)
	if canCreateUser("u4") {
		t.Fatal("an OU level without an Allow must block everything below it")
	}
	move(other, root)
	if !canCreateUser("u5") {
		t.Fatal("back in the root, the account is allowed again")
	}
}

func names2id(t *testing.T, c *organizations.Client, parent, name string) *string {
	t.Helper()
	for _, u := range must[*organizations.ListOrganizationalUnitsForParentOutput](t)(c.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})).OrganizationalUnits {
		if aws.ToString(u.Name) == name {
			return u.Id
		}
	}
	t.Fatalf("no OU %s in %s", name, parent)
	return nil
}

// TestOrgUnitsCLI drives the OU lifecycle through the real AWS CLI.
func TestOrgUnitsCLI(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	run := func(args ...string) (map[string]any, string) {
		t.Helper()
		out, errOut, code := c.run(t, root, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			return nil, errOut
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
		}
		return m, ""
	}
	ok := func(args ...string) map[string]any {
		t.Helper()
		m, errOut := run(args...)
		if errOut != "" {
			t.Fatalf("aws %s: %s", strings.Join(args, " "), errOut)
		}
		return m
	}
	fails := func(code string, args ...string) {
		t.Helper()
		if _, errOut := run(args...); !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws %s: want %s, got %q", strings.Join(args, " "), code, errOut)
		}
	}
	ok("organizations", "create-organization")
	acct := ok("organizations", "create-account", "--account-name", "cli", "--email", "cli@example.com")["CreateAccountStatus"].(map[string]any)["AccountId"].(string)
	rootID := ok("organizations", "list-roots")["Roots"].([]any)[0].(map[string]any)["Id"].(string)
	ou := ok("organizations", "create-organizational-unit", "--parent-id", rootID, "--name", "Eng")["OrganizationalUnit"].(map[string]any)
	ouID := ou["Id"].(string)
	fails("DuplicateOrganizationalUnitException", "organizations", "create-organizational-unit", "--parent-id", rootID, "--name", "Eng")
	if d := ok("organizations", "describe-organizational-unit", "--organizational-unit-id", ouID)["OrganizationalUnit"].(map[string]any); d["Name"] != "Eng" || d["Arn"] != ou["Arn"] {
		t.Fatalf("describe: %v", d)
	}
	if u := ok("organizations", "update-organizational-unit", "--organizational-unit-id", ouID, "--name", "Engineering")["OrganizationalUnit"].(map[string]any); u["Name"] != "Engineering" {
		t.Fatalf("update: %v", u)
	}
	ok("organizations", "move-account", "--account-id", acct, "--source-parent-id", rootID, "--destination-parent-id", ouID)
	ch := ok("organizations", "list-children", "--parent-id", ouID, "--child-type", "ACCOUNT")["Children"].([]any)
	if len(ch) != 1 || ch[0].(map[string]any)["Id"] != acct {
		t.Fatalf("children: %v", ch)
	}
	if ps := ok("organizations", "list-parents", "--child-id", acct)["Parents"].([]any); len(ps) != 1 || ps[0].(map[string]any)["Id"] != ouID {
		t.Fatalf("parents: %v", ps)
	}
	if ous := ok("organizations", "list-organizational-units-for-parent", "--parent-id", rootID)["OrganizationalUnits"].([]any); len(ous) != 1 {
		t.Fatalf("OUs: %v", ous)
	}
	if as := ok("organizations", "list-accounts-for-parent", "--parent-id", ouID)["Accounts"].([]any); len(as) != 1 || as[0].(map[string]any)["Id"] != acct {
		t.Fatalf("accounts for parent: %v", as)
	}
	fails("OrganizationalUnitNotEmptyException", "organizations", "delete-organizational-unit", "--organizational-unit-id", ouID)
	ok("organizations", "move-account", "--account-id", acct, "--source-parent-id", ouID, "--destination-parent-id", rootID)
	ok("organizations", "delete-organizational-unit", "--organizational-unit-id", ouID)
	fails("OrganizationalUnitNotFoundException", "organizations", "describe-organizational-unit", "--organizational-unit-id", ouID)
}

const boto3OUScript = `
import json, sys
import boto3, botocore
endpoint, akid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
org = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key=secret)
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out = {}
org.create_organization(FeatureSet="ALL")
acct = org.create_account(AccountName="py", Email="py@example.com")["CreateAccountStatus"]["AccountId"]
root = org.list_roots()["Roots"][0]["Id"]
a = org.create_organizational_unit(ParentId=root, Name="A")["OrganizationalUnit"]
b = org.create_organizational_unit(ParentId=a["Id"], Name="B")["OrganizationalUnit"]
out["nested_parent"] = org.list_parents(ChildId=b["Id"])["Parents"][0] == {"Id": a["Id"], "Type": "ORGANIZATIONAL_UNIT"}
org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=b["Id"])
out["move_again"] = code(lambda: org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=b["Id"]))
out["accounts_in_b"] = [x["Id"] for x in org.list_accounts_for_parent(ParentId=b["Id"])["Accounts"]] == [acct]
kids = []
for page in org.get_paginator("list_children").paginate(ParentId=root, ChildType="ORGANIZATIONAL_UNIT", PaginationConfig={"PageSize": 1}):
    kids += [c["Id"] for c in page["Children"]]
out["children"] = kids == [a["Id"]]
out["delete_nonempty"] = code(lambda: org.delete_organizational_unit(OrganizationalUnitId=a["Id"]))
out["bad_parent"] = code(lambda: org.create_organizational_unit(ParentId="r-zzzz", Name="X"))
out["bad_id"] = code(lambda: org.describe_organizational_unit(OrganizationalUnitId="nope"))
org.move_account(AccountId=acct, SourceParentId=b["Id"], DestinationParentId=root)
org.delete_organizational_unit(OrganizationalUnitId=b["Id"])
org.delete_organizational_unit(OrganizationalUnitId=a["Id"])
out["after_delete"] = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
print(json.dumps(out))
`

// TestOrgUnitsBoto3 drives the OU lifecycle with boto3.
func TestOrgUnitsBoto3(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	script := c.write(t, "ou.py", boto3OUScript)
	out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, testRootKeyID, testRootSecret)
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\n%s\n%s", code, out, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"nested_parent": true, "move_again": "DuplicateAccountException", "accounts_in_b": true, "children": true,
		"delete_nonempty": "OrganizationalUnitNotEmptyException", "bad_parent": "ParentNotFoundException",
		"bad_id": "InvalidInputException", "after_delete": []any{},
	}
	for k, v := range want {
		if b1, _ := json.Marshal(got[k]); string(b1) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, b1, mustJSON(v))
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestOrgPolicyTypesAndTags drives EnablePolicyType / DisablePolicyType and
// the tag actions with aws-sdk-go-v2.
func TestOrgPolicyTypesAndTags(t *testing.T) {
	t.Parallel()
	e := start(t)
	acct := e.newAccount(t, "typed")
	c := e.rootOrg()
	root := e.rootID(t)
	_, err := c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: scpType})
	wantErr[*orgtypes.PolicyTypeAlreadyEnabledException](t, err)
	_, err = c.DisablePolicyType(ctx, &organizations.DisablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeTagPolicy})
	wantErr[*orgtypes.PolicyTypeNotEnabledException](t, err)
	r := must[*organizations.EnablePolicyTypeOutput](t)(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeTagPolicy})).Root
	if len(r.PolicyTypes) != 2 || r.PolicyTypes[1].Type != orgtypes.PolicyTypeTagPolicy || r.PolicyTypes[1].Status != orgtypes.PolicyTypeStatusEnabled {
		t.Fatalf("root %+v", r.PolicyTypes)
	}
	tp := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("tags"), Description: aws.String(""),
		Type: orgtypes.PolicyTypeTagPolicy, Content: aws.String(`{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}`),
		Tags: []orgtypes.Tag{{Key: aws.String("owner"), Value: aws.String("sec")}}})).Policy.PolicySummary
	if !strings.Contains(aws.ToString(tp.Arn), "/tag_policy/") {
		t.Fatalf("tag policy %+v", tp)
	}
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: tp.Id, TargetId: aws.String(acct)}))
	_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("bad"), Description: aws.String(""), Type: orgtypes.PolicyTypeBackupPolicy, Content: aws.String(`{"tags":{}}`)})
	wantErr[*orgtypes.MalformedPolicyDocumentException](t, err)

	// Disabling SCPs lifts a Deny at once.
	admin := e.assumeInto(t, e.admin(t, "typesadmin"), acct, "OrganizationAccountAccessRole")
	deny := must[*organizations.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-users"), Description: aws.String(""),
		Type: scpType, Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`)})).Policy.PolicySummary.Id
	must[*organizations.AttachPolicyOutput](t)(c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: deny, TargetId: aws.String(acct)}))
	_, err = admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u1")})
	wantCode(t, err, "AccessDenied")
	must[*organizations.DisablePolicyTypeOutput](t)(c.DisablePolicyType(ctx, &organizations.DisablePolicyTypeInput{RootId: aws.String(root), PolicyType: scpType}))
	if _, err := admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u2")}); err != nil {
		t.Fatalf("SCPs disabled: %v", err)
	}
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: deny, TargetId: aws.String(acct)})
	wantErr[*orgtypes.PolicyTypeNotEnabledException](t, err)

	// Tags on an account, an OU, the root and a policy.
	ou := must[*organizations.CreateOrganizationalUnitOutput](t)(c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("t")})).OrganizationalUnit.Id
	for _, id := range []string{acct, aws.ToString(ou), root, aws.ToString(tp.Id)} {
		must[*organizations.TagResourceOutput](t)(c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(id), Tags: []orgtypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}))
		must[*organizations.UntagResourceOutput](t)(c.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(id), TagKeys: []string{"owner"}}))
		tags := must[*organizations.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})).Tags
		if len(tags) != 1 || aws.ToString(tags[0].Key) != "env" || aws.ToString(tags[0].Value) != "dev" {
			t.Fatalf("tags of %s: %+v", id, tags)
		}
	}
	_, err = c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String("999999999999"), Tags: []orgtypes.Tag{{Key: aws.String("k"), Value: aws.String("")}}})
	wantErr[*orgtypes.TargetNotFoundException](t, err)
}

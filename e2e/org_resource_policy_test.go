package e2e

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestOrgResourcePolicy drives PutResourcePolicy, DescribeResourcePolicy
// and DeleteResourcePolicy with aws-sdk-go-v2, and what the policy does: a
// member account's principal may call the Organizations actions it
// delegates, and no others, only while it is in place.
func TestOrgResourcePolicy(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "security")
	ops := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")

	var notFound *orgtypes.ResourcePolicyNotFoundException
	if _, err := admin.org.DescribeResourcePolicy(ctx, &organizations.DescribeResourcePolicyInput{}); !errors.As(err, &notFound) {
		t.Fatalf("DescribeResourcePolicy before any: %v, want ResourcePolicyNotFoundException", err)
	}
	if _, err := admin.org.DeleteResourcePolicy(ctx, &organizations.DeleteResourcePolicyInput{}); !errors.As(err, &notFound) {
		t.Fatalf("DeleteResourcePolicy before any: %v, want ResourcePolicyNotFoundException", err)
	}
	// Without a policy the member's principal is refused.
	_, err := ops.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "AccessDeniedException")

	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"Delegate","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + member + `:root"},` +
		`"Action":["organizations:DescribeOrganization","organizations:ListAccounts","organizations:CreateAccount"],"Resource":"*"}]}`
	put := must[*organizations.PutResourcePolicyOutput](t)(admin.org.PutResourcePolicy(ctx, &organizations.PutResourcePolicyInput{Content: aws.String(doc)}))
	sum := put.ResourcePolicy.ResourcePolicySummary
	if id := aws.ToString(sum.Id); len(id) < 7 || id[:3] != "rp-" || aws.ToString(sum.Arn) == "" || aws.ToString(put.ResourcePolicy.Content) != doc {
		t.Fatalf("PutResourcePolicy = %+v", put.ResourcePolicy)
	}
	got := must[*organizations.DescribeResourcePolicyOutput](t)(admin.org.DescribeResourcePolicy(ctx, &organizations.DescribeResourcePolicyInput{}))
	if aws.ToString(got.ResourcePolicy.ResourcePolicySummary.Id) != aws.ToString(sum.Id) || aws.ToString(got.ResourcePolicy.Content) != doc {
		t.Errorf("DescribeResourcePolicy = %+v", got.ResourcePolicy)
	}

	must[*organizations.DescribeOrganizationOutput](t)(ops.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
	must[*organizations.ListAccountsOutput](t)(ops.org.ListAccounts(ctx, &organizations.ListAccountsInput{}))
	// Not delegated by the policy, and never delegable.
	_, err = ops.org.ListRoots(ctx, &organizations.ListRootsInput{})
	wantCode(t, err, "AccessDeniedException")
	_, err = ops.org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
	wantCode(t, err, "AccessDeniedException")
	_, err = ops.org.PutResourcePolicy(ctx, &organizations.PutResourcePolicyInput{Content: aws.String(doc)})
	wantCode(t, err, "AccessDeniedException")
	// Another account of the deployment, not named by the policy.
	other := e.newAccount(t, "other")
	stranger := e.assumeInto(t, admin, other, "OrganizationAccountAccessRole")
	_, err = stranger.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "AccessDeniedException")

	for name, content := range map[string]string{
		"not JSON":     "{",
		"no principal": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:ListAccounts","Resource":"*"}]}`,
	} {
		_, err := admin.org.PutResourcePolicy(ctx, &organizations.PutResourcePolicyInput{Content: aws.String(content)})
		if code := apiCode(t, err); code != "MalformedPolicyDocumentException" {
			t.Errorf("%s: %s, want MalformedPolicyDocumentException", name, code)
		}
	}

	must[*organizations.DeleteResourcePolicyOutput](t)(admin.org.DeleteResourcePolicy(ctx, &organizations.DeleteResourcePolicyInput{}))
	_, err = ops.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "AccessDeniedException")
	if _, err := admin.org.DescribeResourcePolicy(ctx, &organizations.DescribeResourcePolicyInput{}); !errors.As(err, &notFound) {
		t.Errorf("DescribeResourcePolicy after delete: %v", err)
	}
}

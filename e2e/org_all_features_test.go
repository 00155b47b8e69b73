package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// TestOrgEnableAllFeatures: an organization created with consolidated
// billing moves to all features through an ENABLE_ALL_FEATURES handshake
// that the management account accepts; SCPs become available, not enabled.
// With the SDK and the AWS CLI.
func TestOrgEnableAllFeatures(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootOrg()
	must[*organizations.CreateOrganizationOutput](t)(c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetConsolidatedBilling}))
	member := e.newAccount(t, "eaf-member")
	orgID := aws.ToString(must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization.Id)
	root := e.rootID(t)
	_, err := c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeServiceControlPolicy})
	wantErr[*orgtypes.PolicyTypeNotAvailableForOrganizationException](t, err)

	// A member account cannot start it.
	inMember := e.assumeInto(t, e.admin(t, "eaf-admin"), member, "OrganizationAccountAccessRole")
	// No SCP applies without all features: the member's principals are
	// bounded by their own policies only.
	must[*iam.ListUsersOutput](t)(inMember.iam.ListUsers(ctx, &iam.ListUsersInput{}))
	_, err = inMember.org.EnableAllFeatures(ctx, &organizations.EnableAllFeaturesInput{})
	wantErr[*orgtypes.AccessDeniedException](t, err)

	// Started, and canceled: nothing changes.
	h := must[*organizations.EnableAllFeaturesOutput](t)(c.EnableAllFeatures(ctx, &organizations.EnableAllFeaturesInput{})).Handshake
	if h.Action != orgtypes.ActionTypeEnableAllFeatures || h.State != orgtypes.HandshakeStateOpen || len(h.Parties) != 1 ||
		aws.ToString(h.Parties[0].Id) != orgID || h.Parties[0].Type != orgtypes.HandshakePartyTypeOrganization ||
		aws.ToString(h.Arn) != "arn:aws:organizations::"+testAccount+":handshake/"+orgID+"/enable_all_features/"+aws.ToString(h.Id) {
		t.Fatalf("handshake %+v", h)
	}
	_, err = c.EnableAllFeatures(ctx, &organizations.EnableAllFeaturesInput{})
	wantHandshakeReason(t, err, orgtypes.HandshakeConstraintViolationExceptionReasonOrganizationIsAlreadyPendingAllFeaturesMigration)
	_, err = c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &orgtypes.HandshakeParty{Id: aws.String("someone@example.com"), Type: orgtypes.HandshakePartyTypeEmail}})
	wantHandshakeReason(t, err, orgtypes.HandshakeConstraintViolationExceptionReasonInviteDisabledDuringEnableAllFeatures)
	listed := must[*organizations.ListHandshakesForOrganizationOutput](t)(c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{
		Filter: &orgtypes.HandshakeFilter{ActionType: orgtypes.ActionTypeEnableAllFeatures}})).Handshakes
	if len(listed) != 1 || aws.ToString(listed[0].Id) != aws.ToString(h.Id) {
		t.Fatalf("listed %+v", listed)
	}
	invites := must[*organizations.ListHandshakesForOrganizationOutput](t)(c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{
		Filter: &orgtypes.HandshakeFilter{ActionType: orgtypes.ActionTypeInviteAccountToOrganization}})).Handshakes
	if len(invites) != 0 {
		t.Fatalf("invitations %+v", invites)
	}
	// The member account is no party to it.
	_, err = inMember.org.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantErr[*orgtypes.HandshakeNotFoundException](t, err)
	must[*organizations.CancelHandshakeOutput](t)(c.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h.Id}))
	_, err = c.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantErr[*orgtypes.InvalidHandshakeTransitionException](t, err)
	if fs := must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization.FeatureSet; fs != orgtypes.OrganizationFeatureSetConsolidatedBilling {
		t.Fatalf("feature set after cancel: %s", fs)
	}

	// Started again with the AWS CLI, accepted: all features.
	cl := newCLIEnv(t, e.endpoint)
	rootEnv := creds(testRootKeyID, testRootSecret, "")
	out, errOut, code := cl.run(t, rootEnv, awsCLIPath(), "organizations", "enable-all-features", "--endpoint-url", e.endpoint, "--output", "text",
		"--query", "Handshake.[Id,Action,State]")
	fields := strings.Fields(out)
	if code != 0 || len(fields) != 3 || fields[1] != "ENABLE_ALL_FEATURES" || fields[2] != "OPEN" {
		t.Fatalf("aws organizations enable-all-features: exit %d: %s %s", code, out, errOut)
	}
	acc := must[*organizations.AcceptHandshakeOutput](t)(c.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: aws.String(fields[0])})).Handshake
	if acc.State != orgtypes.HandshakeStateAccepted {
		t.Fatalf("accepted %+v", acc)
	}
	o := must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization
	if o.FeatureSet != orgtypes.OrganizationFeatureSetAll || len(o.AvailablePolicyTypes) != 0 {
		t.Fatalf("organization after accept: %+v", o)
	}
	_, err = c.EnableAllFeatures(ctx, &organizations.EnableAllFeaturesInput{})
	wantHandshakeReason(t, err, orgtypes.HandshakeConstraintViolationExceptionReasonOrganizationAlreadyHasAllFeatures)
	// SCPs are now available.
	must[*organizations.EnablePolicyTypeOutput](t)(c.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeServiceControlPolicy}))
	if o := must[*organizations.DescribeOrganizationOutput](t)(c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})).Organization; len(o.AvailablePolicyTypes) != 1 {
		t.Fatalf("organization after EnablePolicyType: %+v", o)
	}
	// Invitations work again.
	_, err = c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &orgtypes.HandshakeParty{Id: aws.String("someone@example.com"), Type: orgtypes.HandshakePartyTypeEmail}})
	wantErr[*orgtypes.InvalidInputException](t, err) // no such account in the deployment: not the migration's refusal
}

// TestOrgCreateGovCloudAccount: the answer AWS gives a management account
// not paired with GovCloud, after the request's validation and
// authorization; nothing is created.
func TestOrgCreateGovCloudAccount(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.rootOrg()
	in := &organizations.CreateGovCloudAccountInput{AccountName: aws.String("gov"), Email: aws.String("gov@example.com")}
	_, err := c.CreateGovCloudAccount(ctx, in)
	wantErr[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	e.createOrg(t)
	_, err = c.CreateGovCloudAccount(ctx, in)
	var cv *orgtypes.ConstraintViolationException
	if !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonMasterAccountNotGovcloudEnabled {
		t.Fatalf("CreateGovCloudAccount: %v", err)
	}
	_, err = c.CreateGovCloudAccount(ctx, &organizations.CreateGovCloudAccountInput{AccountName: aws.String("gov"), Email: aws.String("not-an-email")})
	wantErr[*orgtypes.InvalidInputException](t, err)
	member := e.newAccount(t, "gov-member")
	inMember := e.assumeInto(t, e.admin(t, "gov-admin"), member, "OrganizationAccountAccessRole")
	_, err = inMember.org.CreateGovCloudAccount(ctx, in)
	wantErr[*orgtypes.AccessDeniedException](t, err)
	accts := must[*organizations.ListAccountsOutput](t)(c.ListAccounts(ctx, &organizations.ListAccountsInput{})).Accounts
	for _, a := range accts {
		if aws.ToString(a.Email) == "gov@example.com" {
			t.Fatalf("an account was created: %+v", a)
		}
	}
	// The AWS CLI sees the same error.
	cl := newCLIEnv(t, e.endpoint)
	_, errOut, code := cl.run(t, creds(testRootKeyID, testRootSecret, ""), awsCLIPath(), "organizations", "create-gov-cloud-account",
		"--account-name", "gov", "--email", "gov@example.com", "--endpoint-url", e.endpoint)
	if code == 0 || !strings.Contains(errOut, "ConstraintViolationException") {
		t.Fatalf("aws organizations create-gov-cloud-account: exit %d: %s", code, errOut)
	}
}

func wantHandshakeReason(t *testing.T, err error, reason orgtypes.HandshakeConstraintViolationExceptionReason) {
	t.Helper()
	var hcv *orgtypes.HandshakeConstraintViolationException
	if !errors.As(err, &hcv) || hcv.Reason != reason {
		t.Fatalf("error %v, want HandshakeConstraintViolationException %s", err, reason)
	}
}

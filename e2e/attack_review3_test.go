package e2e

// Outside review (attack review of session 25): attacks that succeeded,
// kept as tests.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAttackDecodeAuthorizationMessageAcrossAccounts: an encoded denial
// message names the denied account's policies, statements and condition
// values. A principal of another account, with every permission of its
// own (and the same person controlling both is enough), decoded it; and a
// principal its own account denied sts:DecodeAuthorizationMessage got it
// decoded that way. Only the message's own account decodes it now.
func TestAttackDecodeAuthorizationMessageAcrossAccounts(t *testing.T) {
	t.Parallel()
	e := start(t)
	admin := e.admin(t, "org-admin")
	member := e.newAccount(t, "other")
	outsider := e.assumeInto(t, admin, member, "OrganizationAccountAccessRole")

	akid, secret := e.user(t, "nodecode")
	e.userPolicy(t, "nodecode", "guardrail", `{"Version":"2012-10-17","Statement":[{"Sid":"SecretStatementName","Effect":"Deny","Action":"sts:DecodeAuthorizationMessage","Resource":"*"}]}`)
	_, err := e.iam(akid, secret, "").CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})
	wantCode(t, err, "AccessDenied")
	const marker = "Encoded authorization failure message: "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		t.Fatalf("no encoded message in %q", msg)
	}
	enc := aws.String(strings.Fields(msg[i+len(marker):])[0])

	_, err = outsider.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: enc})
	wantCode(t, err, "InvalidAuthorizationMessageException")
	// The account's own administrator still decodes it.
	dec := must[*sts.DecodeAuthorizationMessageOutput](t)(admin.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: enc}))
	if !strings.Contains(aws.ToString(dec.DecodedMessage), "user/nodecode") {
		t.Fatalf("decoded %s", aws.ToString(dec.DecodedMessage))
	}
}

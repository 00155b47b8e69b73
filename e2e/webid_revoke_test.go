package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestWebIdentityTokenFollowsItsSession: a session (here a role session a
// thief holds) asks GetWebIdentityToken for a JWT before it is revoked; the
// session is revoked, and the thief traded the JWT with
// AssumeRoleWithWebIdentity for a fresh session of a role that trusts
// OpenSTS's own issuer, which nothing linked to the revoked one (found by a
// review as an attacker). The token now carries, sealed, the chain of the
// session that minted it: the exchange is refused once that session is
// revoked, and a session exchanged before goes with it.
func TestWebIdentityTokenFollowsItsSession(t *testing.T) {
	t.Parallel()
	ie := startIssuer(t)
	app := ie.role(t, "wit-app", "", trustAccount)
	ie.rolePolicy(t, "wit-app", "wit", allowWebIdentityToken)
	k, s := ie.user(t, "wit-alice")
	ie.userPolicy(t, "wit-alice", "assume", allow("sts:AssumeRole", app))
	thief := credsOf(must[*sts.AssumeRoleOutput](t)(ie.sts(k, s, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(app), RoleSessionName: aws.String("laptop")})).Credentials)
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(ie.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(ie.url), ClientIDList: []string{"sts-self"}, ThumbprintList: []string{ie.thumbprint}}))
	host := strings.TrimPrefix(ie.url, "https://")
	trust := trustDoc(`{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(prov.OpenIDConnectProviderArn) + `"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringEquals":{"` + host + `:sub":"` + app + `","` + host + `:aud":"sts-self"}}}`)
	must[*iam.CreateRoleOutput](t)(ie.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("wit-downstream"), AssumeRolePolicyDocument: aws.String(trust)}))

	tok := aws.ToString(must[*sts.GetWebIdentityTokenOutput](t)(ie.sts(thief.akid, thief.secret, thief.token).GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
		Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(900)})).WebIdentityToken)
	anon := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ie.endpoint), RetryMaxAttempts: 1})
	exchange := func(name string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/wit-downstream"),
			RoleSessionName: aws.String(name), WebIdentityToken: aws.String(tok)})
	}
	// Before the revocation the token is good, and what it gives goes
	// with the session that minted it.
	before := credsOf(must[*sts.AssumeRoleWithWebIdentityOutput](t)(exchange("before-revoke")).Credentials)
	if !ie.works(t, before) {
		t.Fatal("the session exchanged before the revocation does not work")
	}
	time.Sleep(1100 * time.Millisecond) // sessions carry whole seconds
	ie.revoke(t, map[string]any{"AccessKeyId": thief.akid, "Reason": "stolen"})
	ie.revoke(t, map[string]any{"PrincipalArn": "arn:aws:sts::" + testAccount + ":assumed-role/wit-app/laptop", "Reason": "stolen"})
	if ie.works(t, thief) {
		t.Fatal("the revoked session still works")
	}
	if ie.works(t, before) {
		t.Error("the session exchanged from the revoked session's token still works")
	}
	out, err := exchange("after-revoke")
	if err == nil {
		t.Fatalf("a JWT minted by a session before it was revoked gave a session after the revocation: %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
	wantCode(t, err, "InvalidIdentityToken")
}

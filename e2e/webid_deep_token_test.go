package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// TestDeepChainTokenCanBeExchanged (found by a second review as an
// attacker; the chain is now deflated before it is sealed, and a token over
// 20,000 characters refused with JWTPayloadSizeExceededException, after the
// failure as it was): the chain claim was added after the 8 KiB payload
// bound, so nothing bounded the token but the chain. A session role chaining allows (long role and session names, 33
// hops) with request tags under the 8 KiB budget gets a token that this
// deployment's own AssumeRoleWithWebIdentity refuses (WebIdentityToken is
// at most 20,000 characters, as AWS's): GetWebIdentityToken succeeds with a
// token no relying party with AWS's bound can take.
func TestDeepChainTokenCanBeExchanged(t *testing.T) {
	t.Parallel()
	ie := startIssuer(t)
	sessions := deepChain(t, ie, "deep2")
	hops := len(sessions)
	if hops < 33 {
		t.Fatalf("role chaining allowed %d hops", hops)
	}
	cur := sessions[hops-1]
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(ie.rootIAM().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(ie.url), ClientIDList: []string{"sts-self"}, ThumbprintList: []string{ie.thumbprint}}))
	trust := trustDoc(`{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(prov.OpenIDConnectProviderArn) + `"},"Action":"sts:AssumeRoleWithWebIdentity"}`)
	must[*iam.CreateRoleOutput](t)(ie.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deep-downstream"), AssumeRolePolicyDocument: aws.String(trust)}))
	// As many request tags as the 8 KiB payload bound allows.
	var tok string
	var ntags int
	for n := 25; n >= 0; n-- {
		var tags []ststypes.Tag
		for i := range n {
			tags = append(tags, ststypes.Tag{Key: aws.String(fmt.Sprintf("k%03d", i) + strings.Repeat("k", 124)), Value: aws.String(strings.Repeat("v", 256))})
		}
		out, err := ie.sts(cur.akid, cur.secret, cur.token).GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
			Audience: []string{"sts-self"}, SigningAlgorithm: aws.String("RS256"), Tags: tags})
		if err == nil {
			tok, ntags = aws.ToString(out.WebIdentityToken), n
			break
		}
	}
	if tok == "" {
		t.Fatal("no token")
	}
	anon := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ie.endpoint), RetryMaxAttempts: 1})
	_, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/deep-downstream"),
		RoleSessionName: aws.String("x1"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatalf("hop %d, %d request tags (accepted under the 8 KiB bound): GetWebIdentityToken gave a %d-character token, which this deployment's AssumeRoleWithWebIdentity refuses: %v", hops, ntags, len(tok), err)
	}
}

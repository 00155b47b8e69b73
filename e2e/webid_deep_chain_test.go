package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestWebIdentityTokenAtEveryChainDepth (found by a review as an attacker; the chain claim no longer counts against the tag budget, and is bounded one hop past what AssumeRole allows; the failure as it was): a role session that role
// chaining allowed (the deepest hop, or a long one with long names) can no
// longer get a web identity token for an outside audience: the sealed
// chain claim is refused past maxChainAncestors ("The role chain is too
// long"), and with long role and session names it exceeds the 8 KiB payload
// bound (JWTPayloadSizeExceededException, "reduce the request tags", with no
// tags at all) well before that.
func TestWebIdentityTokenAtEveryChainDepth(t *testing.T) {
	t.Parallel()
	ie := startIssuer(t)
	sessions := deepChain(t, ie, "deep")
	if len(sessions) < 33 {
		t.Fatalf("role chaining allowed %d hops, want 33 (the long-term key and 32 sessions)", len(sessions))
	}
	for i, c := range sessions {
		_, err := ie.sts(c.akid, c.secret, c.token).GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
			Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("RS256")})
		if err != nil {
			t.Errorf("hop %d (a session chaining allowed) cannot get a web identity token: %v", i+1, err)
			break
		}
	}
}

// deepChain makes user, allowed to assume a role of a 64-character name
// that may assume itself and call GetWebIdentityToken, and chains that
// role with 64-character session names as far as role chaining allows: the
// sessions, in order.
func deepChain(t *testing.T, ie *issuerEnv, user string) []creds3 {
	t.Helper()
	name := "r" + strings.Repeat("x", 63)
	hop := ie.role(t, name, "", trustAccount)
	ie.rolePolicy(t, name, "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+hop+`"},`+
		`{"Effect":"Allow","Action":"sts:GetWebIdentityToken","Resource":"*"}]}`)
	k, s := ie.user(t, user)
	ie.userPolicy(t, user, "assume", allow("sts:AssumeRole", hop))
	cur := creds3{k, s, ""}
	var sessions []creds3
	for i := 0; i < 40; i++ {
		out, err := ie.sts(cur.akid, cur.secret, cur.token).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(hop),
			RoleSessionName: aws.String(strings.Repeat("s", 62) + string(rune('a'+i%26)) + string(rune('a'+i/26)))})
		if err != nil {
			// The limit, and nothing else: a chain cut short by another
			// error would make the callers' checks of its depth fail
			// without saying why.
			if !strings.Contains(err.Error(), "Role chaining is limited to") {
				t.Fatalf("hop %d: %v%s", i+1, err, closedBy(err))
			}
			break
		}
		cur = credsOf(out.Credentials)
		sessions = append(sessions, cur)
	}
	return sessions
}

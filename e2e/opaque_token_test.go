package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// readableIn reports how v can be read from a session token: in its text,
// its base64url-decoded bytes, or as base64 (standard or URL alphabet, any
// alignment) or hex within either.
func readableIn(token, v string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "token is not base64url: " + err.Error()
	}
	hay := []string{token, string(raw)}
	needles := map[string]string{"raw": v, "hex": hex.EncodeToString([]byte(v))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			e := strings.TrimRight(enc.EncodeToString(append(make([]byte, shift), v...)), "=")
			e = e[(shift*8+5)/6:]
			if (shift+len(v))%3 != 0 {
				e = e[:len(e)-1]
			}
			needles["base64"+string(rune('0'+shift))] = e
		}
	}
	for name, n := range needles {
		for _, h := range hay {
			if len(n) >= 4 && strings.Contains(h, n) {
				return name
			}
		}
	}
	return ""
}

// TestSessionTokenIsOpaque: a holder of credentials from AssumeRole (with
// tags, transitive keys, source identity, a session policy and policy ARNs)
// and from a chained AssumeRole and GetSessionToken learns nothing from the
// token: no account id, ARN, unique id, name, tag, policy text or access
// key id of the caller, in any encoding. Yet the session works and
// GetCallerIdentity tells the holder what AWS would.
func TestSessionTokenIsOpaque(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "vendor-user")
	e.userPolicy(t, "vendor-user", "sts", allow("sts:*", "*"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	role := must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("contractor-access"), Path: aws.String("/vendors/acme/"),
		AssumeRolePolicyDocument: aws.String(trust),
		Tags:                     []iamtypes.Tag{{Key: aws.String("CostCenter"), Value: aws.String("cc-90210")}},
	})).Role
	e.rolePolicy(t, "contractor-access", "p", allow("sts:*", "*"))
	pol := must[*iam.CreatePolicyOutput](t)(e.rootIAM().CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("vendor-boundary-policy"), PolicyDocument: aws.String(allow("sts:*", "*")),
	})).Policy
	sessionPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*","Sid":"OnlyWhoAmIStatement"}]}`

	user := e.sts(akid, secret, "")
	out := must[*sts.AssumeRoleOutput](t)(user.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: role.Arn, RoleSessionName: aws.String("acme-audit-session"),
		SourceIdentity:    aws.String("alice.contractor@acme.example"),
		Tags:              []ststypes.Tag{tag("Project", "falcon-rollout"), tag("Ticket", "CHG-482113")},
		TransitiveTagKeys: []string{"Project"},
		Policy:            aws.String(sessionPolicy),
		PolicyArns:        []ststypes.PolicyDescriptorType{{Arn: pol.Arn}},
	}))
	secrets := []string{
		"123456789012", *role.Arn, *role.RoleId, "contractor-access", "/vendors/acme/", "acme-audit-session",
		*out.AssumedRoleUser.Arn, *out.AssumedRoleUser.AssumedRoleId, "alice.contractor@acme.example",
		"Project", "falcon-rollout", "Ticket", "CHG-482113", "CostCenter", "cc-90210",
		sessionPolicy, "OnlyWhoAmIStatement", *pol.Arn, "vendor-boundary-policy",
		akid, *out.Credentials.AccessKeyId, "vendor-user",
	}
	check := func(what, token string, extra ...string) {
		t.Helper()
		for _, v := range append(secrets, extra...) {
			if how := readableIn(token, v); how != "" {
				t.Errorf("%s: %q readable in the session token (%s)", what, v, how)
			}
		}
	}
	check("AssumeRole", *out.Credentials.SessionToken)

	// The session works and tells its holder what GetCallerIdentity tells.
	sess := e.sts(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	who := must[*sts.GetCallerIdentityOutput](t)(sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *who.Arn != *out.AssumedRoleUser.Arn {
		t.Fatalf("GetCallerIdentity: %s, want %s", *who.Arn, *out.AssumedRoleUser.Arn)
	}

	// A chained session (without the narrowing session policy), and a
	// GetSessionToken session of the user.
	wide := must[*sts.AssumeRoleOutput](t)(user.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: role.Arn, RoleSessionName: aws.String("acme-audit-session"),
		Tags: []ststypes.Tag{tag("Project", "falcon-rollout")}, TransitiveTagKeys: []string{"Project"},
	}))
	wideSTS := e.sts(*wide.Credentials.AccessKeyId, *wide.Credentials.SecretAccessKey, *wide.Credentials.SessionToken)
	chained := must[*sts.AssumeRoleOutput](t)(wideSTS.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: role.Arn, RoleSessionName: aws.String("acme-chained-hop"),
	}))
	check("chained AssumeRole", *chained.Credentials.SessionToken, "acme-chained-hop", *wide.Credentials.AccessKeyId)
	gst := must[*sts.GetSessionTokenOutput](t)(user.GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
	check("GetSessionToken", *gst.Credentials.SessionToken, "arn:aws:iam::123456789012:user/vendor-user")

	// The check can fail: the token text itself is checked too, and a
	// string put there is found.
	if readableIn(*out.Credentials.SessionToken+base64.RawURLEncoding.EncodeToString([]byte("xx"+*role.RoleId)), *role.RoleId) == "" {
		t.Fatal("readableIn is blind to an appended base64 string")
	}
}

// TestSessionTokenVersionRollingUpgrade: a node started with
// --session-token-version 2 (config.SessionTokenVersion) mints readable
// version 2 tokens, which nodes of the release before sealed tokens read;
// restarted with the default on the same data directory, it mints sealed
// tokens and still accepts the version 2 ones it issued.
func TestSessionTokenVersionRollingUpgrade(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v2 := func(c *config.Config, _ *server.Options) { c.SessionTokenVersion = 2 }
	e := startIn(t, dir, v2)
	assume := func(e *env) *ststypes.Credentials {
		t.Helper()
		out := must[*sts.GetSessionTokenOutput](t)(e.rootSTS().GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
		return out.Credentials
	}
	old := assume(e)
	if how := readableIn(*old.SessionToken, testAccount); how == "" {
		t.Fatal("a version 2 token does not show its account: not version 2")
	}
	e.stop()
	e = startIn(t, dir)
	sealed := assume(e)
	if how := readableIn(*sealed.SessionToken, testAccount); how != "" {
		t.Fatalf("default token shows the account (%s)", how)
	}
	for _, c := range []*ststypes.Credentials{old, sealed} {
		s := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
		if _, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("GetCallerIdentity: %v", err)
		}
	}
	// An invalid version is refused at start.
	cfg := config.Default()
	cfg.SessionTokenVersion = 1
	if err := cfg.Validate(); err == nil {
		t.Error("--session-token-version 1 accepted")
	}
}

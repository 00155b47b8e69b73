package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/internal/session"
)

var ctx = context.Background()

const trustAccount = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`

// user creates an IAM user with an access key and returns its key pair.
func (e *env) user(t *testing.T, name string) (akid, secret string) {
	t.Helper()
	c := e.rootIAM()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("create access key: %v", err)
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}

func (e *env) role(t *testing.T, name, path, trust string) string {
	t.Helper()
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}
	if path != "" {
		in.Path = aws.String(path)
	}
	out, err := e.rootIAM().CreateRole(ctx, in)
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return *out.Role.Arn
}

func (e *env) userPolicy(t *testing.T, user, name, doc string) {
	t.Helper()
	if _, err := e.rootIAM().PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("put user policy: %v", err)
	}
}

func (e *env) rolePolicy(t *testing.T, role, name, doc string) {
	t.Helper()
	if _, err := e.rootIAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("put role policy: %v", err)
	}
}

func allow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func TestGetCallerIdentityRoot(t *testing.T) {
	t.Parallel()
	e := start(t)
	out := must[*sts.GetCallerIdentityOutput](t)(e.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *out.Arn != "arn:aws:iam::123456789012:root" || *out.UserId != testAccount || *out.Account != testAccount {
		t.Fatalf("root identity = %s %s %s", *out.Arn, *out.UserId, *out.Account)
	}
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "alice")
	roleARN := e.role(t, "app", "/team/", trustAccount)
	alice := e.sts(akid, secret, "")

	id := must[*sts.GetCallerIdentityOutput](t)(alice.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != "arn:aws:iam::123456789012:user/alice" || !strings.HasPrefix(*id.UserId, "AIDA") || len(*id.UserId) != 21 {
		t.Fatalf("user identity = %s %s", *id.Arn, *id.UserId)
	}

	// The trust policy names the account, so alice's own policies must allow too.
	_, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")})
	wantCode(t, err, "AccessDenied")

	e.userPolicy(t, "alice", "assume", allow("sts:AssumeRole", roleARN))
	out := must[*sts.AssumeRoleOutput](t)(alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)}))
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.AccessKeyId) != 20 || len(*c.SecretAccessKey) != 40 || *c.SessionToken == "" {
		t.Fatalf("credentials = %+v", c)
	}
	if d := time.Until(*c.Expiration); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expiration in %v, want 15m", d)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/app/s1" {
		t.Fatalf("assumed role arn %s (the role path must not appear)", *out.AssumedRoleUser.Arn)
	}
	if !strings.HasPrefix(*out.AssumedRoleUser.AssumedRoleId, "AROA") || !strings.HasSuffix(*out.AssumedRoleUser.AssumedRoleId, ":s1") {
		t.Fatalf("assumed role id %s", *out.AssumedRoleUser.AssumedRoleId)
	}

	sess := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	id = must[*sts.GetCallerIdentityOutput](t)(sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != *out.AssumedRoleUser.Arn || *id.UserId != *out.AssumedRoleUser.AssumedRoleId {
		t.Fatalf("session identity = %s %s", *id.Arn, *id.UserId)
	}

	// Role sessions cannot get session tokens.
	_, err = sess.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantCode(t, err, "AccessDenied")
}

func TestAssumeRoleTrustNamesUserDirectly(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "bob")
	e.user(t, "carol")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"}]}`
	roleARN := e.role(t, "direct", "", trust)
	// Named directly in the same account: no identity policy needed.
	if _, err := e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bb-session")}); err != nil {
		t.Fatal(err)
	}
}

func TestAssumeRoleDenials(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "dave")
	e.userPolicy(t, "dave", "all", allow("sts:*", "*"))
	roleARN := e.role(t, "limited", "", trustAccount)
	dave := e.sts(akid, secret, "")

	_, err := e.rootSTS().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("rr-session")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "Roles may not be assumed by root accounts.") {
		t.Fatalf("root message: %v", err)
	}

	// A missing role and an untrusted caller look the same.
	_, errMissing := dave.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/nope"), RoleSessionName: aws.String("xx-session")})
	wantCode(t, errMissing, "AccessDenied")
	untrusted := e.role(t, "untrusted", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}`)
	_, errUntrusted := dave.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(untrusted), RoleSessionName: aws.String("xx-session")})
	wantCode(t, errUntrusted, "AccessDenied")
	norm := func(s, arn string) string { return strings.ReplaceAll(s, arn, "ROLE") }
	if a, b := norm(errMissing.Error(), "arn:aws:iam::123456789012:role/nope"), norm(errUntrusted.Error(), untrusted); a[strings.Index(a, "api error"):] != b[strings.Index(b, "api error"):] {
		t.Fatalf("missing and untrusted differ:\n%s\n%s", a, b)
	}

	cases := []struct {
		name string
		in   sts.AssumeRoleInput
		code string
	}{
		{"duration too short", sts.AssumeRoleInput{DurationSeconds: aws.Int32(899)}, "ValidationError"},
		{"duration over role max", sts.AssumeRoleInput{DurationSeconds: aws.Int32(3601)}, "ValidationError"},
		{"duration over model max", sts.AssumeRoleInput{DurationSeconds: aws.Int32(43201)}, "ValidationError"},
		{"session name too short", sts.AssumeRoleInput{RoleSessionName: aws.String("a")}, "ValidationError"},
		{"session name bad chars", sts.AssumeRoleInput{RoleSessionName: aws.String("a b")}, "ValidationError"},
		{"bad arn", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123:role/short-account")}, "ValidationError"},
		{"malformed session policy", sts.AssumeRoleInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`)}, "MalformedPolicyDocument"},
		{"session policy not json", sts.AssumeRoleInput{Policy: aws.String(`not json`)}, "MalformedPolicyDocument"},
		{"external id too short", sts.AssumeRoleInput{ExternalId: aws.String("x")}, "ValidationError"},
		{"token code not digits", sts.AssumeRoleInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/d"), TokenCode: aws.String("abcdef")}, "ValidationError"},
		{"source identity aws: prefix", sts.AssumeRoleInput{SourceIdentity: aws.String("aws:me")}, "ValidationError"},
		{"too many policy arns", sts.AssumeRoleInput{PolicyArns: make([]ststypes.PolicyDescriptorType, 11)}, "ValidationError"},
		{"session policy over 2048 characters", sts.AssumeRoleInput{Policy: aws.String(hugePolicy())}, "MalformedPolicyDocument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.RoleArn == nil {
				in.RoleArn = aws.String(roleARN)
			}
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("sess")
			}
			for i := range in.PolicyArns {
				in.PolicyArns[i].Arn = aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")
			}
			_, err := dave.AssumeRole(ctx, &in)
			wantCode(t, err, tc.code)
		})
	}
}

func hugePolicy() string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	for i := 0; i < 120; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-` + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune('a'+i%26)), 3+i%7))) + `/` + strings.Repeat("x", i%13) + `*"}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestExternalID(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "vendor")
	e.userPolicy(t, "vendor", "assume", allow("sts:AssumeRole", "*"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"tenant-42"}}}]}`
	roleARN := e.role(t, "deputy", "", trust)
	c := e.sts(akid, secret, "")
	_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("vv-session")})
	wantCode(t, err, "AccessDenied")
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("vv-session"), ExternalId: aws.String("tenant-43")})
	wantCode(t, err, "AccessDenied")
	if _, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("vv-session"), ExternalId: aws.String("tenant-42")}); err != nil {
		t.Fatal(err)
	}
}

// assume returns a client for a fresh session of role.
func (e *env) assume(t *testing.T, c *sts.Client, roleARN string, mod func(*sts.AssumeRoleInput)) (*sts.AssumeRoleOutput, error) {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ss-session")}
	if mod != nil {
		mod(in)
	}
	return c.AssumeRole(ctx, in)
}

func TestSessionPolicyNarrowsAndChaining(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "erin")
	e.userPolicy(t, "erin", "assume", allow("sts:AssumeRole", "*"))
	adminARN := e.role(t, "admin", "", trustAccount)
	if _, err := e.rootIAM().AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	erin := e.sts(akid, secret, "")
	out, err := e.assume(t, erin, adminARN, func(in *sts.AssumeRoleInput) {
		in.Policy = aws.String(allow("iam:ListUsers", "*"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Fatalf("PackedPolicySize = %v", out.PackedPolicySize)
	}
	c := out.Credentials
	narrowIAM := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := narrowIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("session policy allows ListUsers: %v", err)
	}
	_, err = narrowIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("escalate")})
	wantCode(t, err, "AccessDenied")

	// Chaining from the narrowed session: its own permissions (session
	// policy) do not allow sts:AssumeRole, so it cannot escape into the
	// unrestricted admin role again.
	narrowSTS := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	_, err = e.assume(t, narrowSTS, adminARN, nil)
	wantCode(t, err, "AccessDenied")

	// A full admin session may chain, but only for up to one hour.
	full, err := e.assume(t, erin, adminARN, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := full.Credentials
	fullSTS := e.sts(*fc.AccessKeyId, *fc.SecretAccessKey, *fc.SessionToken)
	_, err = e.assume(t, fullSTS, adminARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(3601) })
	wantCode(t, err, "ValidationError")
	chained, err := e.assume(t, fullSTS, adminARN, func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(3600) })
	if err != nil {
		t.Fatal(err)
	}
	if *chained.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/admin/ss-session" {
		t.Fatal(*chained.AssumedRoleUser.Arn)
	}
}

func TestGetSessionToken(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "frank")
	e.userPolicy(t, "frank", "all", allow("*", "*"))
	out := must[*sts.GetSessionTokenOutput](t)(e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)}))
	c := out.Credentials
	gst := e.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	id := must[*sts.GetCallerIdentityOutput](t)(gst.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != "arn:aws:iam::123456789012:user/frank" {
		t.Fatal(*id.Arn)
	}
	_, err := gst.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantCode(t, err, "AccessDenied")
	_, err = gst.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(akid)})
	wantCode(t, err, "AccessDenied")
	// IAM without MFA is refused for GetSessionToken credentials.
	_, err = e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "InvalidClientTokenId")
	// Durations.
	_, err = e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(129601)})
	wantCode(t, err, "ValidationError")
	// Root is silently capped at one hour.
	root := must[*sts.GetSessionTokenOutput](t)(e.rootSTS().GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)}))
	if d := time.Until(*root.Credentials.Expiration); d > time.Hour+time.Minute {
		t.Fatalf("root session lasts %v", d)
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "gina")
	e.userPolicy(t, "gina", "all", allow("*", "*"))
	roleARN := e.role(t, "r", "", trustAccount)
	out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("gg-session")}))
	c := out.Credentials
	other := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("hh-session")}))

	tok := []byte(*c.SessionToken)
	tok[len(tok)/2] ^= 1
	if tok[len(tok)/2] == '=' || tok[len(tok)/2] == 0 {
		tok[len(tok)/2] = 'A'
	}
	expired, err := e.srv.Sessions().Mint(session.Session{
		Type: session.AssumedRole, Account: testAccount, ARN: "arn:aws:sts::123456789012:assumed-role/r/old", PrincipalID: "AROAEXAMPLEEXAMPLE1:old",
		RoleName: "r", RoleID: "AROAEXAMPLEEXAMPLE1", RolePath: "/", SessionName: "old",
		IssuedAt: time.Now().Add(-2 * time.Hour), Expires: time.Now().Add(-time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                string
		akid, secret, token string
		code                string
	}{
		{"unknown long-term key", "AKIAUNKNOWNUNKNOWN12", secret, "", "InvalidClientTokenId"},
		{"wrong secret", akid, wrongSecret(secret), "", "SignatureDoesNotMatch"},
		{"tampered token", *c.AccessKeyId, *c.SecretAccessKey, string(tok), "InvalidClientTokenId"},
		{"token of another key", *c.AccessKeyId, *c.SecretAccessKey, *other.Credentials.SessionToken, "InvalidClientTokenId"},
		{"temporary key without token", *c.AccessKeyId, *c.SecretAccessKey, "", "InvalidClientTokenId"},
		{"garbage token", *c.AccessKeyId, *c.SecretAccessKey, "garbage", "InvalidClientTokenId"},
		{"long-term key with token", akid, secret, *c.SessionToken, "InvalidClientTokenId"},
		{"expired", expired.AccessKeyID, expired.SecretAccessKey, expired.SessionToken, "ExpiredToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sts(tc.akid, tc.secret, tc.token).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantCode(t, err, tc.code)
		})
	}

	// A deactivated key stops working at once.
	if _, err := e.rootIAM().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("gina"), AccessKeyId: aws.String(akid), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sts(akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

func TestGetAccessKeyInfoAndDecodeMessage(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "hank")
	root := e.rootSTS()
	info := must[*sts.GetAccessKeyInfoOutput](t)(root.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(akid)}))
	if *info.Account != testAccount {
		t.Fatal(*info.Account)
	}
	// Temporary keys carry their account; stored keys answer from the store.
	sess := must[*sts.GetSessionTokenOutput](t)(e.sts(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)}))
	info = must[*sts.GetAccessKeyInfoOutput](t)(root.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: sess.Credentials.AccessKeyId}))
	if *info.Account != testAccount {
		t.Fatalf("temporary key: %s", *info.Account)
	}

	// hank has no permissions: his IAM call is denied with an encoded message.
	_, err := e.iam(akid, secret, "").CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	wantCode(t, err, "AccessDenied")
	msg := err.Error()
	const marker = "Encoded authorization failure message: "
	i := strings.Index(msg, marker)
	if i < 0 {
		t.Fatalf("no encoded message in %q", msg)
	}
	enc := strings.Fields(msg[i+len(marker):])[0]
	_, err = e.sts(akid, secret, "").DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(enc)})
	wantCode(t, err, "AccessDenied")
	dec := must[*sts.DecodeAuthorizationMessageOutput](t)(root.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(enc)}))
	for _, want := range []string{`"allowed":false`, `"action":"iam:CreateUser"`, `arn:aws:iam::123456789012:user/hank`} {
		if !strings.Contains(*dec.DecodedMessage, want) {
			t.Fatalf("decoded message lacks %s: %s", want, *dec.DecodedMessage)
		}
	}
	_, err = root.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("bm90LWEtbWVzc2FnZQ")})
	wantCode(t, err, "InvalidAuthorizationMessageException")
}

func TestPresignedGetCallerIdentity(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "ivy")
	p := sts.NewPresignClient(e.sts(akid, secret, ""))
	req, err := p.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest(req.Method, req.URL, nil)
	for k, v := range req.SignedHeader {
		hr.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Arn>arn:aws:iam::123456789012:user/ivy</Arn>") {
		t.Fatalf("presigned GetCallerIdentity: %d %s", resp.StatusCode, body)
	}
	// Tampering with the presigned URL fails.
	resp, err = http.Get(strings.Replace(req.URL, "GetCallerIdentity", "GetSessionToken", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("tampered presigned URL: %d", resp.StatusCode)
	}
}

func TestSessionsSurviveRestartAndRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startIn(t, dir)
	akid, secret := e.user(t, "jack")
	e.userPolicy(t, "jack", "all", allow("*", "*"))
	roleARN := e.role(t, "r", "", trustAccount)
	before := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("aa-session")}))
	if _, err := e.srv.Sessions().Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	after := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bb-session")}))
	e.stop()

	e2 := startIn(t, dir)
	for _, out := range []*sts.AssumeRoleOutput{before, after} {
		c := out.Credentials
		id, err := e2.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		if *id.Arn != *out.AssumedRoleUser.Arn {
			t.Fatal(*id.Arn)
		}
	}
	// The same root credentials still work; the account is the stored one.
	id := must[*sts.GetCallerIdentityOutput](t)(e2.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Account != testAccount {
		t.Fatal(*id.Account)
	}
}

func TestRevokeOlderSessions(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "kim")
	e.userPolicy(t, "kim", "all", allow("*", "*"))
	roleARN := e.role(t, "rev", "", trustAccount)
	e.rolePolicy(t, "rev", "list", allow("iam:ListUsers", "*"))
	out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("aa-session")}))
	c := out.Credentials
	sessIAM := e.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339)
	e.rolePolicy(t, "rev", "AWSRevokeOlderSessions", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"`+cutoff+`"}}}]}`)
	_, err := sessIAM.ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")
}

func TestPackedPolicyTooLarge(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "tagger")
	e.userPolicy(t, "tagger", "all", allow("sts:*", "*"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	roleARN := e.role(t, "tagged", "", trust)
	c := e.sts(akid, secret, "")
	small := must[*sts.AssumeRoleOutput](t)(c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("small"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}}))
	if small.PackedPolicySize == nil || *small.PackedPolicySize < 1 || *small.PackedPolicySize > 10 {
		t.Fatalf("PackedPolicySize for one tag = %v", small.PackedPolicySize)
	}
	var tags []ststypes.Tag
	for i := 0; i < 50; i++ {
		// Incompressible values: the packed size is measured after compression.
		raw := make([]byte, 180)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		v := base64.RawStdEncoding.EncodeToString(raw)[:240]
		tags = append(tags, ststypes.Tag{Key: aws.String(fmt.Sprintf("key-%02d", i)), Value: aws.String(strings.NewReplacer("/", "-", "+", "=").Replace(v))})
	}
	_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("big"), Tags: tags})
	wantCode(t, err, "PackedPolicyTooLarge")
}

// TestGetFederationTokenPolicyLength: GetFederationToken's Policy is at
// most 2048 characters in the STS model, so one longer is a ValidationError
// (the model's length constraint, checked before the document is read),
// while 2048 characters are accepted.
func TestGetFederationTokenPolicyLength(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "fed")
	e.userPolicy(t, "fed", "all", allow("*", "*"))
	c := e.sts(akid, secret, "")
	doc := func(n int) string {
		head, tail := `{"Version":"2012-10-17","Statement":[{"Sid":"`, `","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
		return head + strings.Repeat("A", n-len(head)-len(tail)) + tail
	}
	if _, err := c.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("bob"), Policy: aws.String(doc(2048))}); err != nil {
		t.Fatalf("2048 characters: %v", err)
	}
	_, err := c.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("bob"), Policy: aws.String(doc(2049))})
	wantCode(t, err, "ValidationError")
	if err != nil && !strings.Contains(err.Error(), "Member must have length less than or equal to 2048") {
		t.Errorf("message: %v", err)
	}
}

// TestConcurrentAssumeRole issues sessions from many goroutines at once (the
// race detector runs this in CI) and checks every one verifies.
func TestConcurrentAssumeRole(t *testing.T) {
	t.Parallel()
	e := start(t)
	akid, secret := e.user(t, "many")
	roleARN := e.role(t, "busy", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/many"},"Action":"sts:AssumeRole"}]}`)
	c := e.sts(akid, secret, "")
	const workers, each = 16, 10
	errs := make(chan error, workers*each)
	seen := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(fmt.Sprintf("w%d-%d", w, i))})
				if err != nil {
					errs <- err
					continue
				}
				cr := out.Credentials
				id, err := e.sts(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					errs <- err
					continue
				}
				if *id.Arn != *out.AssumedRoleUser.Arn {
					errs <- fmt.Errorf("identity %s for session %s", *id.Arn, *out.AssumedRoleUser.Arn)
					continue
				}
				seen <- *cr.AccessKeyId
				errs <- nil
			}
		}(w)
	}
	keys := map[string]bool{}
	for i := 0; i < workers*each; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(seen)
	for k := range seen {
		if keys[k] {
			t.Fatalf("access key id %s issued twice", k)
		}
		keys[k] = true
	}
}

// wrongSecret returns secret with its first character changed.
func wrongSecret(secret string) string {
	c := byte('x')
	if secret[0] == c {
		c = 'y'
	}
	return string(c) + secret[1:]
}

// TestGetAccessKeyInfoOperatorKey: an operator-chosen root key id that
// happens to decode as an AWS-layout id still reports its stored account.
func TestGetAccessKeyInfoOperatorKey(t *testing.T) {
	t.Parallel()
	const key = "AKIAZZZZZZZZZZZZZZZZ" // decodes to another account under AWS's layout
	e := start(t, func(c *config.Config, _ *server.Options) { c.RootAccessKeyID = key })
	out := must[*sts.GetAccessKeyInfoOutput](t)(e.sts(key, testRootSecret, "").GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(key)}))
	if *out.Account != testAccount {
		t.Fatalf("account %s, want %s", *out.Account, testAccount)
	}
}

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// recorder keeps every response body, to prove the seed appears in none
// but CreateVirtualMFADevice's.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

type mfaEnv struct {
	*env
	clk *clock
	rec *recorder
}

func (m *mfaEnv) cfg(akid, secret, token string) aws.Config {
	c := m.awsConfig(akid, secret, token)
	c.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: m.rec}
	return c
}
func (m *mfaEnv) iamc(akid, secret, token string) *iam.Client {
	return iam.NewFromConfig(m.cfg(akid, secret, token))
}
func (m *mfaEnv) stsc(akid, secret, token string) *sts.Client {
	return sts.NewFromConfig(m.cfg(akid, secret, token))
}

// code is the device's TOTP code steps 30-second steps from the server's clock.
func (m *mfaEnv) code(t *testing.T, seed string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(seed, m.clk.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// device creates a virtual MFA device and enables it for user; it returns
// the serial number and the seed.
func (m *mfaEnv) device(t *testing.T, name, user string) (serial, seed string) {
	t.Helper()
	root := m.iamc(testRootKeyID, testRootSecret, "")
	out, err := root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.VirtualMFADevice
	serial, seed = *d.SerialNumber, string(d.Base32StringSeed)
	if _, err := root.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String(user), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(m.code(t, seed, -1)), AuthenticationCode2: aws.String(m.code(t, seed, 0))}); err != nil {
		t.Fatalf("EnableMFADevice: %v", err)
	}
	return serial, seed
}

func wantMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	wantCode(t, err, code)
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("message of %v, want %q", err, msg)
	}
}

const (
	msgInvalidCode = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	msgUnknown     = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
)

func TestMFA(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	m := &mfaEnv{env: start(t, withClock(clk)), clk: clk, rec: &recorder{}}
	root := m.iamc(testRootKeyID, testRootSecret, "")
	akid, secret := m.user(t, "alice")
	m.userPolicy(t, "alice", "all", allow("*", "*"))
	// MFA younger than five minutes is needed for iam:GetUser.
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("recent-mfa"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:GetUser","Resource":"*","Condition":{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"300"}}}]}`)}); err != nil {
		t.Fatal(err)
	}

	// Create: a real PNG, a 64-character base32 seed.
	created, err := root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone"), Path: aws.String("/people/")})
	if err != nil {
		t.Fatal(err)
	}
	d := created.VirtualMFADevice
	serial, seed := *d.SerialNumber, string(d.Base32StringSeed)
	if serial != "arn:aws:iam::123456789012:mfa/people/alice-phone" || len(seed) != 64 {
		t.Fatalf("serial %s, seed length %d", serial, len(seed))
	}
	if img, err := png.Decode(bytes.NewReader(d.QRCodePNG)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("QRCodePNG: %v", err)
	}
	_, err = root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone"), Path: aws.String("/people/")})
	wantCode(t, err, "EntityAlreadyExists")
	// The same name under another path is another device, as in AWS.
	other, err := root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone"), Path: aws.String("/spare/")})
	if err != nil || aws.ToString(other.VirtualMFADevice.SerialNumber) != "arn:aws:iam::"+testAccount+":mfa/spare/alice-phone" {
		t.Fatalf("same name, another path: %v", err)
	}
	if _, err := root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: other.VirtualMFADevice.SerialNumber}); err != nil {
		t.Fatal(err)
	}

	// Enable with two consecutive codes; wrong codes are refused.
	_, err = root.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(m.code(t, seed, 0)), AuthenticationCode2: aws.String(m.code(t, seed, -1))})
	wantCode(t, err, "InvalidAuthenticationCode")
	enableCode := m.code(t, seed, 0)
	if _, err := root.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(m.code(t, seed, -1)), AuthenticationCode2: aws.String(enableCode)}); err != nil {
		t.Fatal(err)
	}
	_, err = root.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(m.code(t, seed, 0)), AuthenticationCode2: aws.String(m.code(t, seed, 1))})
	wantCode(t, err, "EntityAlreadyExists")

	aliceSTS := m.stsc(akid, secret, "")
	gst := func(code string) (*sts.GetSessionTokenOutput, error) {
		return aliceSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code), DurationSeconds: aws.Int32(3600)})
	}
	// The code used to enable the device is spent.
	_, err = gst(enableCode)
	wantMessage(t, err, "AccessDenied", msgInvalidCode)

	clk.Advance(30 * time.Second)
	used := m.code(t, seed, 0)
	out, err := gst(used)
	if err != nil {
		t.Fatalf("GetSessionToken with MFA: %v", err)
	}
	// Attack: replaying an accepted code.
	_, err = gst(used)
	wantMessage(t, err, "AccessDenied", msgInvalidCode)
	// Unknown serial, and a serial of another user.
	_, err = aliceSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/nope"), TokenCode: aws.String("123456")})
	wantMessage(t, err, "AccessDenied", msgUnknown)

	// The MFA session may call IAM; its MFA age is checked.
	c := out.Credentials
	mfaIAM := m.iamc(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := mfaIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("IAM with an MFA session: %v", err)
	}
	if _, err := mfaIAM.GetUser(ctx, &iam.GetUserInput{}); err != nil {
		t.Fatalf("GetUser with fresh MFA: %v", err)
	}

	// A role that requires MFA.
	roleARN := m.role(t, "needs-mfa", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)
	m.rolePolicy(t, "needs-mfa", "list-with-mfa", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}}]}`)
	assume := func(cl *sts.Client, mod func(*sts.AssumeRoleInput)) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("mfa-session")}
		if mod != nil {
			mod(in)
		}
		return cl.AssumeRole(ctx, in)
	}
	_, err = assume(aliceSTS, nil)
	wantCode(t, err, "AccessDenied")
	// Via the MFA GetSessionToken session: the MFA context carries into the role.
	viaSession, err := assume(m.stsc(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken), nil)
	if err != nil {
		t.Fatalf("AssumeRole with the MFA session: %v", err)
	}
	rc := viaSession.Credentials
	if _, err := m.iamc(*rc.AccessKeyId, *rc.SecretAccessKey, *rc.SessionToken).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("role session from an MFA session lacks MFA context: %v", err)
	}
	// Directly with SerialNumber and TokenCode.
	clk.Advance(30 * time.Second)
	direct := m.code(t, seed, 0)
	withMFA := func(code string) func(*sts.AssumeRoleInput) {
		return func(in *sts.AssumeRoleInput) { in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(code) }
	}
	viaCode, err := assume(aliceSTS, withMFA(direct))
	if err != nil {
		t.Fatalf("AssumeRole with MFA: %v", err)
	}
	rc = viaCode.Credentials
	if _, err := m.iamc(*rc.AccessKeyId, *rc.SecretAccessKey, *rc.SessionToken).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("role session with MFA: %v", err)
	}
	_, err = assume(aliceSTS, withMFA(direct))
	wantMessage(t, err, "AccessDenied", msgInvalidCode)

	// MFA age: six minutes later the GetSessionToken session is too old for GetUser.
	clk.Advance(6 * time.Minute)
	_, err = mfaIAM.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, err, "AccessDenied")
	if _, err := mfaIAM.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}

	// List, get, resync.
	list, err := root.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("alice")})
	if err != nil || len(list.MFADevices) != 1 || *list.MFADevices[0].SerialNumber != serial || *list.MFADevices[0].UserName != "alice" || list.MFADevices[0].EnableDate == nil {
		t.Fatalf("ListMFADevices: %+v, %v", list, err)
	}
	self, err := mfaIAM.ListMFADevices(ctx, &iam.ListMFADevicesInput{})
	if err != nil || len(self.MFADevices) != 1 {
		t.Fatalf("ListMFADevices for self: %v", err)
	}
	got, err := root.GetMFADevice(ctx, &iam.GetMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)})
	if err != nil || *got.SerialNumber != serial || *got.UserName != "alice" {
		t.Fatalf("GetMFADevice: %+v, %v", got, err)
	}
	if _, err := root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("spare")}); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[iamtypes.AssignmentStatusType]int{"": 2, iamtypes.AssignmentStatusTypeAssigned: 1, iamtypes.AssignmentStatusTypeUnassigned: 1} {
		v, err := root.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: status})
		if err != nil || len(v.VirtualMFADevices) != want {
			t.Fatalf("ListVirtualMFADevices %q: %v, %v", status, v, err)
		}
		for _, x := range v.VirtualMFADevices {
			if x.Base32StringSeed != nil || x.QRCodePNG != nil {
				t.Fatal("ListVirtualMFADevices returns the seed")
			}
			if *x.SerialNumber == serial && (x.User == nil || *x.User.UserName != "alice" || x.EnableDate == nil) {
				t.Fatalf("assigned device %+v", x)
			}
		}
	}
	// The device's clock runs 4 minutes fast: codes fail until a resync.
	fast := func(steps int) string { return m.code(t, seed, 8+steps) }
	_, err = gst(fast(0))
	wantMessage(t, err, "AccessDenied", msgInvalidCode)
	_, err = root.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(fast(1)), AuthenticationCode2: aws.String(fast(0))})
	wantCode(t, err, "InvalidAuthenticationCode")
	if _, err := root.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(fast(-1)), AuthenticationCode2: aws.String(fast(0))}); err != nil {
		t.Fatalf("ResyncMFADevice: %v", err)
	}
	clk.Advance(30 * time.Second)
	if _, err := gst(fast(0)); err != nil {
		t.Fatalf("code after resync: %v", err)
	}

	// Deactivate and delete.
	_, err = root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)})
	wantCode(t, err, "DeleteConflict")
	_, err = root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	wantCode(t, err, "DeleteConflict")
	if _, err := root.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	_, err = gst(fast(0))
	wantMessage(t, err, "AccessDenied", msgUnknown)
	if _, err := root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
		t.Fatal(err)
	}
	_, err = root.GetMFADevice(ctx, &iam.GetMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial)})
	wantCode(t, err, "NoSuchEntity")

	// The seed appeared in exactly one response: CreateVirtualMFADevice's.
	b64 := base64.StdEncoding.EncodeToString([]byte(seed))
	n := 0
	for _, body := range m.rec.bodies {
		if strings.Contains(body, seed) {
			t.Fatal("a response carries the raw base32 seed")
		}
		if strings.Contains(body, b64) {
			if !strings.Contains(body, "<CreateVirtualMFADeviceResponse") {
				t.Fatalf("seed in a response: %.200s", body)
			}
			n++
		}
	}
	if n != 1 {
		t.Fatalf("seed in %d responses", n)
	}
}

func TestMFAThrottle(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	m := &mfaEnv{env: start(t, withClock(clk)), clk: clk, rec: &recorder{}}
	akid, secret := m.user(t, "bob")
	serial, seed := m.device(t, "bob-phone", "bob")
	clk.Advance(30 * time.Second)
	bob := m.stsc(akid, secret, "")
	gst := func(code string) error {
		_, err := bob.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code)})
		return err
	}
	valid := map[string]bool{m.code(t, seed, -1): true, m.code(t, seed, 0): true, m.code(t, seed, 1): true}
	guesses := 0
	for i := 0; guesses < 5; i++ {
		g := fmt.Sprintf("%06d", i)
		if valid[g] {
			continue
		}
		wantMessage(t, gst(g), "AccessDenied", msgInvalidCode)
		guesses++
	}
	// Now even the right code is refused.
	wantMessage(t, gst(m.code(t, seed, 0)), "AccessDenied", "too many invalid MFA one time pass codes")
	// AssumeRole shares the lockout.
	roleARN := m.role(t, "x", "", trustAccount)
	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("mfa-session"),
		SerialNumber: aws.String(serial), TokenCode: aws.String(m.code(t, seed, 1))})
	wantMessage(t, err, "AccessDenied", "too many invalid MFA one time pass codes")
	// The metrics counted each refusal by reason, and the one lockout.
	_, fams := m.scrape(t)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"opensts_mfa_failures_total", map[string]string{"reason": "invalid_code"}, 5},
		{"opensts_mfa_failures_total", map[string]string{"reason": "throttled"}, 2},
		{"opensts_mfa_lockouts_total", nil, 1},
	} {
		if got := counter(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// An administrator's resync (two fresh consecutive codes) lifts the
	// lockout at once; codes used before stay used.
	clk.Advance(60 * time.Second)
	if _, err := m.iamc(testRootKeyID, testRootSecret, "").ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("bob"),
		SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(m.code(t, seed, -1)), AuthenticationCode2: aws.String(m.code(t, seed, 0))}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	if err := gst(m.code(t, seed, 0)); err != nil {
		t.Fatalf("after resync: %v", err)
	}
}

// TestMFAAWSCLI drives virtual MFA with the real AWS CLI against the real
// binary: create (QR code and seed out-files), enable, get-session-token.
func TestMFAAWSCLI(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	ok := func(env []string, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return m
	}
	code := func(seed string, steps int) string {
		t.Helper()
		s, err := totp.GenerateCodeCustom(seed, time.Now().Add(time.Duration(steps)*30*time.Second),
			totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	ok(root, "iam", "create-user", "--user-name", "carol")
	key := ok(root, "iam", "create-access-key", "--user-name", "carol")["AccessKey"].(map[string]any)
	carol := creds(key["AccessKeyId"].(string), key["SecretAccessKey"].(string), "")

	qr := filepath.Join(c.dir, "qr.png")
	d := ok(root, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "d", "--outfile", qr, "--bootstrap-method", "QRCodePNG")["VirtualMFADevice"].(map[string]any)
	if d["SerialNumber"] != "arn:aws:iam::123456789012:mfa/d" {
		t.Fatalf("device %v", d)
	}
	f, err := os.Open(qr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("qr.png: %v", err)
	}

	seedFile := filepath.Join(c.dir, "seed.txt")
	serial := ok(root, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "carol-phone", "--outfile", seedFile, "--bootstrap-method", "Base32StringSeed")["VirtualMFADevice"].(map[string]any)["SerialNumber"].(string)
	raw, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.TrimSpace(string(raw))
	if len(seed) != 64 {
		t.Fatalf("seed file holds %q", seed)
	}
	ok(root, "iam", "enable-mfa-device", "--user-name", "carol", "--serial-number", serial,
		"--authentication-code1", code(seed, -1), "--authentication-code2", code(seed, 0))
	listed := ok(root, "iam", "list-mfa-devices", "--user-name", "carol")["MFADevices"].([]any)
	if len(listed) != 1 || listed[0].(map[string]any)["SerialNumber"] != serial {
		t.Fatalf("list-mfa-devices %v", listed)
	}
	// One code, computed once: the replay below must send the same string
	// even if a 30-second step ends in between.
	used := code(seed, 1)
	out := ok(carol, "sts", "get-session-token", "--serial-number", serial, "--token-code", used)
	cr := out["Credentials"].(map[string]any)
	session := creds(cr["AccessKeyId"].(string), cr["SecretAccessKey"].(string), cr["SessionToken"].(string))
	// The MFA session may call IAM (carol has no IAM permissions: AccessDenied, not InvalidClientTokenId).
	_, errOut, exit := c.run(t, session, awsCLIPath(), "iam", "list-users", "--endpoint-url", p.endpoint)
	if exit == 0 || !strings.Contains(errOut, "(AccessDenied)") {
		t.Fatalf("list-users with the MFA session: exit %d: %s", exit, errOut)
	}
	// The same code again is refused.
	_, errOut, exit = c.run(t, carol, awsCLIPath(), "sts", "get-session-token", "--serial-number", serial, "--token-code", used, "--endpoint-url", p.endpoint)
	if exit == 0 || !strings.Contains(errOut, "(AccessDenied)") || !strings.Contains(errOut, "invalid MFA one time pass code") {
		t.Fatalf("replayed code: exit %d: %s", exit, errOut)
	}
}

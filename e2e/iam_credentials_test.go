package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/crypto/ssh"
)

// newSSHKey returns a fresh ssh-ed25519 public key in OpenSSH form and its
// MD5 fingerprint.
func newSSHKey(t *testing.T) (string, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), ssh.FingerprintLegacyMD5(k)
}

// readPEMs reads selfSigned's certificate and key files.
func readPEMs(t *testing.T, certFile, keyFile string) (string, string) {
	t.Helper()
	cert, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(cert), string(key)
}

// assertNoSecretInTrail fails if the audit trail holds secret, raw,
// JSON-escaped or URL-encoded.
func assertNoSecretInTrail(t *testing.T, trail, what, secret string) {
	t.Helper()
	quoted, _ := json.Marshal(secret)
	for _, v := range []string{secret, string(quoted[1 : len(quoted)-1]), url.QueryEscape(secret)} {
		if strings.Contains(trail, v) {
			t.Errorf("the audit trail holds the %s", what)
		}
	}
}

func TestIAMCredentialsSDK(t *testing.T) {
	t.Parallel()
	e := start(t, withStrictAudit())
	c := e.rootIAM()
	s := aws.String
	akid, secret := newUserKey(t, c, "dev")
	dev := e.iam(akid, secret, "")

	// SSH public keys.
	body, fingerprint := newSSHKey(t)
	_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyBody: s("ssh-rsa AAAAB3NzaC1yc2E")})
	wantCode(t, err, "InvalidPublicKey")
	key := must[*iam.UploadSSHPublicKeyOutput](t)(c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyBody: s(body)}))
	if aws.ToString(key.SSHPublicKey.Fingerprint) != fingerprint || key.SSHPublicKey.Status != iamtypes.StatusTypeActive {
		t.Fatalf("UploadSSHPublicKey: %+v", key.SSHPublicKey)
	}
	_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyBody: s(body)})
	wantCode(t, err, "DuplicateSSHPublicKey")
	pemKey := must[*iam.GetSSHPublicKeyOutput](t)(c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyId: key.SSHPublicKey.SSHPublicKeyId, Encoding: iamtypes.EncodingTypePem}))
	if !strings.HasPrefix(aws.ToString(pemKey.SSHPublicKey.SSHPublicKeyBody), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("PEM encoding: %q", aws.ToString(pemKey.SSHPublicKey.SSHPublicKeyBody))
	}
	_, err = dev.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{})
	wantCode(t, err, "AccessDenied")
	must[*iam.UpdateSSHPublicKeyOutput](t)(c.UpdateSSHPublicKey(ctx, &iam.UpdateSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyId: key.SSHPublicKey.SSHPublicKeyId, Status: iamtypes.StatusTypeInactive}))
	keys := must[*iam.ListSSHPublicKeysOutput](t)(c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: s("dev")}))
	if len(keys.SSHPublicKeys) != 1 || keys.SSHPublicKeys[0].Status != iamtypes.StatusTypeInactive {
		t.Fatalf("ListSSHPublicKeys: %+v", keys.SSHPublicKeys)
	}

	// Server certificates: the key is checked, sealed and never returned.
	certFile, keyFile, _ := selfSigned(t)
	cert, privateKey := readPEMs(t, certFile, keyFile)
	otherCertFile, otherKeyFile, _ := selfSigned(t)
	_, otherKey := readPEMs(t, otherCertFile, otherKeyFile)
	_, err = c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: s("web"), CertificateBody: s(cert), PrivateKey: s(otherKey)})
	wantCode(t, err, "KeyPairMismatch")
	up := must[*iam.UploadServerCertificateOutput](t)(c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: s("web"), Path: s("/lb/"),
		CertificateBody: s(cert), PrivateKey: s(privateKey), Tags: []iamtypes.Tag{{Key: s("env"), Value: s("prod")}}}))
	if aws.ToString(up.ServerCertificateMetadata.Arn) != "arn:aws:iam::"+testAccount+":server-certificate/lb/web" || up.ServerCertificateMetadata.Expiration == nil {
		t.Fatalf("UploadServerCertificate: %+v", up.ServerCertificateMetadata)
	}
	got := must[*iam.GetServerCertificateOutput](t)(c.GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: s("web")}))
	if aws.ToString(got.ServerCertificate.CertificateBody) != cert || len(got.ServerCertificate.Tags) != 1 {
		t.Fatalf("GetServerCertificate: %+v", got.ServerCertificate)
	}
	must[*iam.UntagServerCertificateOutput](t)(c.UntagServerCertificate(ctx, &iam.UntagServerCertificateInput{ServerCertificateName: s("web"), TagKeys: []string{"env"}}))
	tags := must[*iam.ListServerCertificateTagsOutput](t)(c.ListServerCertificateTags(ctx, &iam.ListServerCertificateTagsInput{ServerCertificateName: s("web")}))
	if tags.Tags == nil || len(tags.Tags) != 0 {
		t.Fatalf("tags after untag: %+v", tags.Tags)
	}
	pager := iam.NewListServerCertificatesPaginator(c, &iam.ListServerCertificatesInput{PathPrefix: s("/lb/"), MaxItems: aws.Int32(1)})
	n := 0
	for pager.HasMorePages() {
		n += len(must[*iam.ListServerCertificatesOutput](t)(pager.NextPage(ctx)).ServerCertificateMetadataList)
	}
	if n != 1 {
		t.Fatalf("listed %d server certificates", n)
	}

	// Signing certificates.
	sc := must[*iam.UploadSigningCertificateOutput](t)(c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: s("dev"), CertificateBody: s(cert)}))
	_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: s("dev"), CertificateBody: s(cert)})
	wantCode(t, err, "DuplicateCertificate")
	_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: s("dev"), CertificateBody: s("not a certificate")})
	wantCode(t, err, "MalformedCertificate")

	// Service-specific credentials: the password once.
	ssc := must[*iam.CreateServiceSpecificCredentialOutput](t)(c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: s("dev"), ServiceName: s("codecommit.amazonaws.com")}))
	password := aws.ToString(ssc.ServiceSpecificCredential.ServicePassword)
	if len(password) < 40 || aws.ToString(ssc.ServiceSpecificCredential.ServiceUserName) != "dev-at-"+testAccount {
		t.Fatalf("CreateServiceSpecificCredential: %+v", ssc.ServiceSpecificCredential)
	}
	reset := must[*iam.ResetServiceSpecificCredentialOutput](t)(c.ResetServiceSpecificCredential(ctx, &iam.ResetServiceSpecificCredentialInput{UserName: s("dev"),
		ServiceSpecificCredentialId: ssc.ServiceSpecificCredential.ServiceSpecificCredentialId}))
	password2 := aws.ToString(reset.ServiceSpecificCredential.ServicePassword)
	_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: s("dev"), ServiceName: s("s3.amazonaws.com")})
	wantCode(t, err, "NotSupportedService")
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("dev")})
	wantCode(t, err, "DeleteConflict")

	// The credential report.
	_, err = c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantCode(t, err, "ReportNotPresent")
	gen := must[*iam.GenerateCredentialReportOutput](t)(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != iamtypes.ReportStateTypeStarted {
		t.Fatalf("GenerateCredentialReport: %s", gen.State)
	}
	rep := must[*iam.GetCredentialReportOutput](t)(c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}))
	lines := strings.Split(strings.TrimSpace(string(rep.Content)), "\n")
	if rep.ReportFormat != iamtypes.ReportFormatTypeTextCsv || len(lines) != 3 || !strings.HasPrefix(lines[0], "user,arn,user_creation_time,password_enabled,") ||
		!strings.HasPrefix(lines[1], "<root_account>,arn:aws:iam::"+testAccount+":root,") || !strings.HasPrefix(lines[2], "dev,arn:aws:iam::"+testAccount+":user/dev,") {
		t.Fatalf("GetCredentialReport: %s\n%s", rep.ReportFormat, rep.Content)
	}

	// Service-linked roles and the token preference.
	slr := must[*iam.CreateServiceLinkedRoleOutput](t)(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: s("autoscaling.amazonaws.com")}))
	if aws.ToString(slr.Role.Path) != "/aws-service-role/autoscaling.amazonaws.com/" || aws.ToString(slr.Role.RoleName) != "AWSServiceRoleForAutoscaling" {
		t.Fatalf("CreateServiceLinkedRole: %+v", slr.Role)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: slr.Role.RoleName})
	wantCode(t, err, "UnmodifiableEntity")
	del := must[*iam.DeleteServiceLinkedRoleOutput](t)(c.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: slr.Role.RoleName}))
	status := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId}))
	if status.Status != iamtypes.DeletionTaskStatusTypeSucceeded {
		t.Fatalf("deletion status %s", status.Status)
	}
	must[*iam.SetSecurityTokenServicePreferencesOutput](t)(c.SetSecurityTokenServicePreferences(ctx, &iam.SetSecurityTokenServicePreferencesInput{GlobalEndpointTokenVersion: iamtypes.GlobalEndpointTokenVersionV2Token}))
	sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
	if sum.SummaryMap["GlobalEndpointTokenVersion"] != 2 || sum.SummaryMap["ServerCertificates"] != 1 {
		t.Fatalf("GetAccountSummary: %v", sum.SummaryMap)
	}

	// Clean up in order, then the user goes.
	must[*iam.DeleteSSHPublicKeyOutput](t)(c.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: s("dev"), SSHPublicKeyId: key.SSHPublicKey.SSHPublicKeyId}))
	must[*iam.DeleteSigningCertificateOutput](t)(c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: s("dev"), CertificateId: sc.Certificate.CertificateId}))
	must[*iam.DeleteServiceSpecificCredentialOutput](t)(c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: s("dev"),
		ServiceSpecificCredentialId: ssc.ServiceSpecificCredential.ServiceSpecificCredentialId}))
	must[*iam.DeleteAccessKeyOutput](t)(c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: s("dev"), AccessKeyId: s(akid)}))
	must[*iam.DeleteUserOutput](t)(c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: s("dev")}))

	// Neither the service passwords nor the private key are in the trail or
	// in the clear in the data directory.
	trail := e.trail(t)
	for _, name := range []string{"UploadServerCertificate", "CreateServiceSpecificCredential", "ResetServiceSpecificCredential"} {
		if !strings.Contains(trail, `"eventName":"`+name+`"`) {
			t.Errorf("no %s event in the trail", name)
		}
	}
	keyLine := strings.Split(privateKey, "\n")[1]
	for what, v := range map[string]string{"service password": password, "reset service password": password2, "server private key": privateKey, "private key line": keyLine} {
		assertNoSecretInTrail(t, trail, what, v)
		assertNotStored(t, e.dataDir, v, "")
	}
}

func TestAWSCLIIAMCredentials(t *testing.T) {
	t.Parallel()
	r, root := newCLIRunner(t)
	r.ok(root, "iam", "create-user", "--user-name", "cli-dev")
	body, fingerprint := newSSHKey(t)
	k := r.ok(root, "iam", "upload-ssh-public-key", "--user-name", "cli-dev", "--ssh-public-key-body", body)["SSHPublicKey"].(map[string]any)
	if k["Fingerprint"] != fingerprint {
		t.Fatalf("upload-ssh-public-key: %v", k)
	}
	got := r.ok(root, "iam", "get-ssh-public-key", "--user-name", "cli-dev", "--ssh-public-key-id", k["SSHPublicKeyId"].(string), "--encoding", "PEM")["SSHPublicKey"].(map[string]any)
	if !strings.HasPrefix(got["SSHPublicKeyBody"].(string), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("get-ssh-public-key: %v", got)
	}
	r.fails("UnrecognizedPublicKeyEncoding", root, "iam", "upload-ssh-public-key", "--user-name", "cli-dev", "--ssh-public-key-body", "hello")

	certFile, keyFile, _ := selfSigned(t)
	md := r.ok(root, "iam", "upload-server-certificate", "--server-certificate-name", "cli-web", "--certificate-body", "file://"+certFile,
		"--private-key", "file://"+keyFile)["ServerCertificateMetadata"].(map[string]any)
	if md["Arn"] != "arn:aws:iam::"+testAccount+":server-certificate/cli-web" {
		t.Fatalf("upload-server-certificate: %v", md)
	}
	r.ok(root, "iam", "update-server-certificate", "--server-certificate-name", "cli-web", "--new-server-certificate-name", "cli-site")
	list := r.ok(root, "iam", "list-server-certificates")["ServerCertificateMetadataList"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["ServerCertificateName"] != "cli-site" {
		t.Fatalf("list-server-certificates: %v", list)
	}
	r.ok(root, "iam", "delete-server-certificate", "--server-certificate-name", "cli-site")
	r.fails("NoSuchEntity", root, "iam", "get-server-certificate", "--server-certificate-name", "cli-site")

	cert := r.ok(root, "iam", "upload-signing-certificate", "--user-name", "cli-dev", "--certificate-body", "file://"+certFile)["Certificate"].(map[string]any)
	if cert["Status"] != "Active" {
		t.Fatalf("upload-signing-certificate: %v", cert)
	}
	cred := r.ok(root, "iam", "create-service-specific-credential", "--user-name", "cli-dev", "--service-name", "cassandra.amazonaws.com")["ServiceSpecificCredential"].(map[string]any)
	if cred["ServicePassword"] == "" || cred["ServiceUserName"] != "cli-dev-at-"+testAccount {
		t.Fatalf("create-service-specific-credential: %v", cred)
	}
	creds := r.ok(root, "iam", "list-service-specific-credentials", "--user-name", "cli-dev")["ServiceSpecificCredentials"].([]any)
	if len(creds) != 1 || creds[0].(map[string]any)["ServicePassword"] != nil {
		t.Fatalf("list-service-specific-credentials: %v", creds)
	}

	if st := r.ok(root, "iam", "generate-credential-report")["State"]; st != "STARTED" {
		t.Fatalf("generate-credential-report: %v", st)
	}
	rep := r.ok(root, "iam", "get-credential-report")
	// The CLI prints the blob as base64.
	if rep["ReportFormat"] != "text/csv" || rep["Content"] == "" {
		t.Fatalf("get-credential-report: %v", rep)
	}

	role := r.ok(root, "iam", "create-service-linked-role", "--aws-service-name", "elasticbeanstalk.amazonaws.com", "--custom-suffix", "cli")["Role"].(map[string]any)
	task := r.ok(root, "iam", "delete-service-linked-role", "--role-name", role["RoleName"].(string))["DeletionTaskId"].(string)
	if st := r.ok(root, "iam", "get-service-linked-role-deletion-status", "--deletion-task-id", task)["Status"]; st != "SUCCEEDED" {
		t.Fatalf("get-service-linked-role-deletion-status: %v", st)
	}
	r.ok(root, "iam", "set-security-token-service-preferences", "--global-endpoint-token-version", "v2Token")

	r.ok(root, "iam", "put-user-policy", "--user-name", "cli-dev", "--policy-name", "s3", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*"}]}`)
	granting := r.ok(root, "iam", "list-policies-granting-service-access", "--arn", "arn:aws:iam::"+testAccount+":user/cli-dev",
		"--service-namespaces", "s3", "sqs")["PoliciesGrantingServiceAccess"].([]any)
	s3 := granting[0].(map[string]any)["Policies"].([]any)
	sqs := granting[1].(map[string]any)["Policies"].([]any)
	if len(granting) != 2 || len(s3) != 1 || s3[0].(map[string]any)["PolicyName"] != "s3" || s3[0].(map[string]any)["EntityType"] != "USER" || len(sqs) != 0 {
		t.Fatalf("list-policies-granting-service-access: %v", granting)
	}
}

// boto3CredentialsScript drives the new IAM credential operations with
// boto3 and prints what the Go side checks.
const boto3CredentialsScript = `
import json, sys
import boto3, botocore
endpoint, akid, secret, sshkey, cert, key = sys.argv[1:7]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key=secret)
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out = {}
iam.create_user(UserName="py")
k = iam.upload_ssh_public_key(UserName="py", SSHPublicKeyBody=sshkey)["SSHPublicKey"]
out["fingerprint"] = k["Fingerprint"]
out["duplicate"] = code(lambda: iam.upload_ssh_public_key(UserName="py", SSHPublicKeyBody=sshkey))
out["server_cert"] = iam.upload_server_certificate(ServerCertificateName="py", CertificateBody=open(cert).read(), PrivateKey=open(key).read())["ServerCertificateMetadata"]["Arn"]
out["server_cert_again"] = code(lambda: iam.upload_server_certificate(ServerCertificateName="py", CertificateBody=open(cert).read(), PrivateKey=open(key).read()))
c = iam.create_service_specific_credential(UserName="py", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
out["password_len"] = len(c["ServicePassword"])
iam.generate_credential_report()
r = iam.get_credential_report()
out["report_header"] = r["Content"].decode().splitlines()[0]
out["report_users"] = [l.split(",")[0] for l in r["Content"].decode().splitlines()[1:]]
role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
out["slr"] = role["Arn"]
t = iam.delete_service_linked_role(RoleName=role["RoleName"])["DeletionTaskId"]
out["slr_status"] = iam.get_service_linked_role_deletion_status(DeletionTaskId=t)["Status"]
print(json.dumps(out))
`

func TestBoto3IAMCredentials(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	script := c.write(t, "credentials.py", boto3CredentialsScript)
	sshKey, fingerprint := newSSHKey(t)
	certFile, keyFile, _ := selfSigned(t)
	out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, testRootKeyID, testRootSecret, sshKey, certFile, keyFile)
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\n%s\n%s", code, out, errOut)
	}
	var got struct {
		Fingerprint     string   `json:"fingerprint"`
		Duplicate       string   `json:"duplicate"`
		ServerCert      string   `json:"server_cert"`
		ServerCertAgain string   `json:"server_cert_again"`
		PasswordLen     int      `json:"password_len"`
		ReportHeader    string   `json:"report_header"`
		ReportUsers     []string `json:"report_users"`
		SLR             string   `json:"slr"`
		SLRStatus       string   `json:"slr_status"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	const header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
	if got.Fingerprint != fingerprint || got.Duplicate != "DuplicateSSHPublicKey" || got.ServerCert != "arn:aws:iam::"+testAccount+":server-certificate/py" ||
		got.ServerCertAgain != "EntityAlreadyExists" || got.PasswordLen != 44 || got.ReportHeader != header ||
		strings.Join(got.ReportUsers, " ") != "<root_account> py" || got.SLR != "arn:aws:iam::"+testAccount+":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForEcs" ||
		got.SLRStatus != "SUCCEEDED" {
		t.Fatalf("boto3: %+v", got)
	}
}

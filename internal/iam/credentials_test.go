package iam_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/csv"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/store"
)

// Keys made with ssh-keygen; the fingerprints are ssh-keygen -l -E md5's.
const (
	sshED25519     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILULTqvmbvw2+TO01lHJFm1DhuUssCxHTw8/1f0W3HdD test"
	sshED25519MD5  = "a2:eb:9f:4a:93:c9:1f:1e:a3:8b:df:df:60:c7:36:fa"
	sshRSA2048     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC13ixWUpP/nQ5NDlW06XasZDNatVguJALDZPM69ev74dZTshfX6j5u4CildlIXLMWYc2xfZUQix+RA4hSiwK/94lQYuN8RULYO0l0LUaJOh7ogK7XleZ3TYYlR12vnpG75hNut+UtP+6H+sPs4uF9NLMgLp/NZKvls3u+CmZuGXfPKXaqQmQOK2iDvtG6GwDsgKzj1k6xmHRUKHxDiGAGlxq8VJsEcayEDNUvfm77gyxLbn8wP8WyB/DWZ5Z2/Fy/gMVtAY6scbQnb/2GHDwxjytpqzqK5uLF2cj+MVSbIrqagtr5ws4AevH2pRMMPNNe3BtTU70N+Yv5mhLQx81B7 r"
	sshRSA2048MD5  = "c5:8f:7f:81:6d:22:f5:98:fc:a2:c4:91:10:af:da:0f"
	sshRSA1024     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCgUwfcffwQ/UsBwgLXLj/hzwk/0KiSmnnMdcpyCG7YcQTXxatyGIey/qs0UTiM3CEYq8DGbxw83G9tizzpWic7TKczVcq2uMRFBZI8R0PaZ2Ks0boyXreCc35M9BkObGtCezYvLhL2Tazljpat//jbTnZcgMgSEC2RM53qO8zFoQ=="
	sshRSA2048PKIX = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtd4sVlKT/50OTQ5VtOl2
rGQzWrVYLiQCw2TzOvXr++HWU7IX1+o+buAopXZSFyzFmHNsX2VEIsfkQOIUosCv
/eJUGLjfEVC2DtJdC1GiToe6ICu15Xmd02GJUddr56Ru+YTbrflLT/uh/rD7OLhf
TSzIC6fzWSr5bN7vgpmbhl3zyl2qkJkDitog77RuhsA7ICs49ZOsZh0VCh8Q4hgB
pcavFSbBHGshAzVL35u+4MsS25/MD/Fsgfw1meWdvxcv4DFbQGOrHG0J2/9hhw8M
Y8raas6iubixdnI/jFUmyK6moLa+cLOAHrx9qUTDDzTXtwbU1O9DfmL+ZoS0MfNQ
ewIDAQAB
-----END PUBLIC KEY-----
`
)

// hugeRSAPEM is a PKCS#1 PEM RSA public key with a modulus of bits bits
// (not a real key: a public key is never checked for one).
func hugeRSAPEM(bits int) string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(1))
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: n, E: 65537})}))
}

func TestSSHPublicKeys(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	e.user("alice", "/")
	up := func(body string) (*iam.UploadSSHPublicKeyOutput, error) {
		return e.svc.UploadSSHPublicKey(e.ctx, root, &iam.UploadSSHPublicKeyInput{UserName: "alice", SSHPublicKeyBody: body})
	}
	for _, c := range []struct {
		name, body string
		want       apierr.Code
	}{
		{"garbage", "not a key at all", apierr.UnrecognizedPublicKeyEncoding},
		{"a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", apierr.UnrecognizedPublicKeyEncoding},
		{"a broken base64", "ssh-rsa AAAA!!!", apierr.InvalidPublicKey},
		{"a short RSA key", sshRSA1024, apierr.InvalidPublicKey},
		{"two keys", sshED25519 + "\n" + sshRSA2048, apierr.InvalidPublicKey},
		{"a PEM that is no key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", apierr.InvalidPublicKey},
		// Over OpenSSH's 16384 bits: accepted in PEM, it was stored in an
		// OpenSSH form that no SSH parser reads back (GetSSHPublicKey with
		// Encoding PEM answered 500).
		{"an RSA key over 16384 bits, PEM", hugeRSAPEM(16385), apierr.InvalidPublicKey},
	} {
		_, err := up(c.body)
		wantErr(t, err, c.want)
	}
	ed := must[*iam.UploadSSHPublicKeyOutput](t)(up(sshED25519))
	if ed.SSHPublicKey.Fingerprint != sshED25519MD5 || ed.SSHPublicKey.Status != "Active" || !strings.HasPrefix(ed.SSHPublicKey.SSHPublicKeyID, "APKA") ||
		ed.SSHPublicKey.SSHPublicKeyBody != strings.TrimSuffix(sshED25519, " test") {
		t.Fatalf("uploaded %+v", ed.SSHPublicKey)
	}
	_, err := up(sshED25519)
	wantErr(t, err, apierr.DuplicateSSHPublicKey)
	// The same RSA key in PEM, then in OpenSSH form: one key.
	rsa := must[*iam.UploadSSHPublicKeyOutput](t)(up(sshRSA2048PKIX))
	if rsa.SSHPublicKey.Fingerprint != sshRSA2048MD5 {
		t.Fatalf("PEM key fingerprint %s", rsa.SSHPublicKey.Fingerprint)
	}
	_, err = up(sshRSA2048)
	wantErr(t, err, apierr.DuplicateSSHPublicKey)
	got := must[*iam.GetSSHPublicKeyOutput](t)(e.svc.GetSSHPublicKey(e.ctx, root, &iam.GetSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: rsa.SSHPublicKey.SSHPublicKeyID, Encoding: "PEM"}))
	if got.SSHPublicKey.SSHPublicKeyBody != sshRSA2048PKIX {
		t.Fatalf("PEM encoding:\n%s\nwant\n%s", got.SSHPublicKey.SSHPublicKeyBody, sshRSA2048PKIX)
	}
	got = must[*iam.GetSSHPublicKeyOutput](t)(e.svc.GetSSHPublicKey(e.ctx, root, &iam.GetSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: rsa.SSHPublicKey.SSHPublicKeyID, Encoding: "SSH"}))
	if got.SSHPublicKey.SSHPublicKeyBody != strings.TrimSuffix(sshRSA2048, " r") {
		t.Fatalf("SSH encoding %s", got.SSHPublicKey.SSHPublicKeyBody)
	}
	// Another user's key id is not found through this user; a user without
	// rights learns nothing.
	e.user("bob", "/")
	_, err = e.svc.GetSSHPublicKey(e.ctx, root, &iam.GetSSHPublicKeyInput{UserName: "bob", SSHPublicKeyID: rsa.SSHPublicKey.SSHPublicKeyID, Encoding: "SSH"})
	wantErr(t, err, apierr.NoSuchEntity)
	bob := e.user("bob2", "/")
	_, err = e.svc.GetSSHPublicKey(e.ctx, bob, &iam.GetSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: rsa.SSHPublicKey.SSHPublicKeyID, Encoding: "SSH"})
	wantErr(t, err, apierr.AccessDenied)

	must[*iam.UpdateSSHPublicKeyOutput](t)(e.svc.UpdateSSHPublicKey(e.ctx, root, &iam.UpdateSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: ed.SSHPublicKey.SSHPublicKeyID, Status: "Inactive"}))
	list := must[*iam.ListSSHPublicKeysOutput](t)(e.svc.ListSSHPublicKeys(e.ctx, root, &iam.ListSSHPublicKeysInput{UserName: "alice", MaxItems: ptr[int32](1)}))
	if len(list.SSHPublicKeys) != 1 || !list.IsTruncated || list.SSHPublicKeys[0].Status != "Inactive" {
		t.Fatalf("first page %+v", list)
	}
	_, err = e.svc.DeleteUser(e.ctx, root, &iam.DeleteUserInput{UserName: "alice"})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DeleteSSHPublicKeyOutput](t)(e.svc.DeleteSSHPublicKey(e.ctx, root, &iam.DeleteSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: ed.SSHPublicKey.SSHPublicKeyID}))
	_, err = e.svc.DeleteSSHPublicKey(e.ctx, root, &iam.DeleteSSHPublicKeyInput{UserName: "alice", SSHPublicKeyID: ed.SSHPublicKey.SSHPublicKeyID})
	wantErr(t, err, apierr.NoSuchEntity)
}

// testCert makes a self-signed P-256 certificate valid from notBefore for a
// day, and its PKCS#8 key, PEM.
func testCert(t *testing.T, cn string, notBefore time.Time) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func TestServerCertificates(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	cert, key := testCert(t, "web", epoch.Add(-time.Hour))
	other, otherKey := testCert(t, "other", epoch.Add(-time.Hour))
	expired, expiredKey := testCert(t, "old", epoch.Add(-48*time.Hour))
	up := func(name, body, key, chain string) (*iam.UploadServerCertificateOutput, error) {
		return e.svc.UploadServerCertificate(e.ctx, root, &iam.UploadServerCertificateInput{ServerCertificateName: name, CertificateBody: body, PrivateKey: key, CertificateChain: chain})
	}
	_, err := up("web", cert, otherKey, "")
	wantErr(t, err, apierr.KeyPairMismatch)
	_, err = up("web", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key, "")
	wantErr(t, err, apierr.MalformedCertificate)
	_, err = up("web", cert, "not a key", "")
	wantErr(t, err, apierr.MalformedCertificate)
	_, err = up("web", cert, key, "garbage")
	wantErr(t, err, apierr.MalformedCertificate)
	_, err = up("web", expired, expiredKey, "")
	wantErr(t, err, apierr.MalformedCertificate)
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Fatalf("error shows the key: %s", err)
	}
	out := must[*iam.UploadServerCertificateOutput](t)(up("web", cert, key, other))
	md := out.ServerCertificateMetadata
	if md.ARN != "arn:aws:iam::"+acctA+":server-certificate/web" || !strings.HasPrefix(md.ServerCertificateID, "ASCA") || !md.Expiration.Equal(epoch.Truncate(time.Second).Add(23*time.Hour)) {
		t.Fatalf("uploaded %+v", md)
	}
	_, err = up("WEB", other, otherKey, "")
	wantErr(t, err, apierr.EntityAlreadyExists)

	// The store holds the key sealed, never in the clear.
	sc, err := e.store.GetServerCertificate(e.ctx, acctA, "web")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sc.PrivateKey), "PRIVATE KEY") || strings.Contains(string(sc.PrivateKey), strings.Split(key, "\n")[1]) {
		t.Fatal("the private key is stored in the clear")
	}
	got := must[*iam.GetServerCertificateOutput](t)(e.svc.GetServerCertificate(e.ctx, root, &iam.GetServerCertificateInput{ServerCertificateName: "web"}))
	if got.ServerCertificate.CertificateBody != cert || got.ServerCertificate.CertificateChain != other {
		t.Fatalf("got %+v", got.ServerCertificate)
	}
	must[*iam.UpdateServerCertificateOutput](t)(e.svc.UpdateServerCertificate(e.ctx, root, &iam.UpdateServerCertificateInput{ServerCertificateName: "web", NewPath: "/cdn/", NewServerCertificateName: "site"}))
	list := must[*iam.ListServerCertificatesOutput](t)(e.svc.ListServerCertificates(e.ctx, root, &iam.ListServerCertificatesInput{PathPrefix: "/cdn/"}))
	if len(list.ServerCertificateMetadataList) != 1 || list.ServerCertificateMetadataList[0].ARN != "arn:aws:iam::"+acctA+":server-certificate/cdn/site" {
		t.Fatalf("list %+v", list)
	}
	// A user allowed only on other certificates cannot touch this one.
	alice := e.user("alice", "/")
	e.putUserPolicy("alice", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*ServerCertificate*","Resource":"arn:aws:iam::`+acctA+`:server-certificate/other/*"}]}`)
	_, err = e.svc.GetServerCertificate(e.ctx, alice, &iam.GetServerCertificateInput{ServerCertificateName: "site"})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.UpdateServerCertificate(e.ctx, alice, &iam.UpdateServerCertificateInput{ServerCertificateName: "site", NewPath: "/other/"})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.DeleteServerCertificateOutput](t)(e.svc.DeleteServerCertificate(e.ctx, root, &iam.DeleteServerCertificateInput{ServerCertificateName: "site"}))
	_, err = e.svc.GetServerCertificate(e.ctx, root, &iam.GetServerCertificateInput{ServerCertificateName: "site"})
	wantErr(t, err, apierr.NoSuchEntity)
}

func TestSigningCertificatesAndServiceCredentials(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	e.user("alice", "/")
	c1, _ := testCert(t, "one", epoch.Add(-time.Hour))
	c2, _ := testCert(t, "two", epoch.Add(-time.Hour))
	c3, _ := testCert(t, "three", epoch.Add(-time.Hour))
	future, _ := testCert(t, "future", epoch.Add(time.Hour))
	upload := func(body string) (*iam.UploadSigningCertificateOutput, error) {
		return e.svc.UploadSigningCertificate(e.ctx, root, &iam.UploadSigningCertificateInput{UserName: "alice", CertificateBody: body})
	}
	_, err := upload(future)
	wantErr(t, err, apierr.InvalidCertificate)
	_, err = upload("nope")
	wantErr(t, err, apierr.MalformedCertificate)
	first := must[*iam.UploadSigningCertificateOutput](t)(upload(c1))
	if len(first.Certificate.CertificateID) < 24 {
		t.Fatalf("certificate id %q", first.Certificate.CertificateID)
	}
	_, err = upload(c1)
	wantErr(t, err, apierr.DuplicateCertificate)
	must[*iam.UploadSigningCertificateOutput](t)(upload(c2))
	_, err = upload(c3)
	wantErr(t, err, apierr.LimitExceeded)

	// Service-specific credentials: the password comes back once, sealed in
	// the store.
	_, err = e.svc.CreateServiceSpecificCredential(e.ctx, root, &iam.CreateServiceSpecificCredentialInput{UserName: "alice", ServiceName: "s3.amazonaws.com"})
	wantErr(t, err, apierr.NotSupportedService)
	cred := must[*iam.CreateServiceSpecificCredentialOutput](t)(e.svc.CreateServiceSpecificCredential(e.ctx, root, &iam.CreateServiceSpecificCredentialInput{UserName: "alice", ServiceName: "codecommit.amazonaws.com", CredentialAgeDays: ptr[int32](1)}))
	ssc := cred.ServiceSpecificCredential
	if len(ssc.ServicePassword) != 44 || ssc.ServiceUserName != "alice-at-"+acctA || ssc.ExpirationDate == nil || !ssc.ExpirationDate.Equal(epoch.Truncate(time.Second).Add(24*time.Hour)) {
		t.Fatalf("created %+v", ssc)
	}
	stored, err := e.store.GetUserCredential(e.ctx, acctA, "alice", store.CredentialService, ssc.ServiceSpecificCredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.Secret), ssc.ServicePassword) {
		t.Fatal("the service password is stored in the clear")
	}
	reset := must[*iam.ResetServiceSpecificCredentialOutput](t)(e.svc.ResetServiceSpecificCredential(e.ctx, root, &iam.ResetServiceSpecificCredentialInput{UserName: "alice", ServiceSpecificCredentialID: ssc.ServiceSpecificCredentialID}))
	if reset.ServiceSpecificCredential.ServicePassword == ssc.ServicePassword || len(reset.ServiceSpecificCredential.ServicePassword) != 44 {
		t.Fatal("reset kept the password")
	}
	must[*iam.CreateServiceSpecificCredentialOutput](t)(e.svc.CreateServiceSpecificCredential(e.ctx, root, &iam.CreateServiceSpecificCredentialInput{UserName: "alice", ServiceName: "codecommit.amazonaws.com"}))
	_, err = e.svc.CreateServiceSpecificCredential(e.ctx, root, &iam.CreateServiceSpecificCredentialInput{UserName: "alice", ServiceName: "codecommit.amazonaws.com"})
	wantErr(t, err, apierr.LimitExceeded)
	must[*iam.CreateServiceSpecificCredentialOutput](t)(e.svc.CreateServiceSpecificCredential(e.ctx, root, &iam.CreateServiceSpecificCredentialInput{UserName: "alice", ServiceName: "cassandra.amazonaws.com"}))
	list := must[*iam.ListServiceSpecificCredentialsOutput](t)(e.svc.ListServiceSpecificCredentials(e.ctx, root, &iam.ListServiceSpecificCredentialsInput{UserName: "alice", ServiceName: "codecommit.amazonaws.com"}))
	if len(list.ServiceSpecificCredentials) != 2 {
		t.Fatalf("listed %+v", list)
	}

	// The credential report: AWS's columns, the root user first, alice's
	// two certificates.
	gen := must[*iam.GenerateCredentialReportOutput](t)(e.svc.GenerateCredentialReport(e.ctx, root, &iam.GenerateCredentialReportInput{}))
	if gen.State != "STARTED" {
		t.Fatalf("first generation %+v", gen)
	}
	gen = must[*iam.GenerateCredentialReportOutput](t)(e.svc.GenerateCredentialReport(e.ctx, root, &iam.GenerateCredentialReportInput{}))
	if gen.State != "COMPLETE" {
		t.Fatalf("second generation %+v", gen)
	}
	rep := must[*iam.GetCredentialReportOutput](t)(e.svc.GetCredentialReport(e.ctx, root, &iam.GetCredentialReportInput{}))
	raw, err := base64.StdEncoding.DecodeString(rep.Content)
	if err != nil || rep.ReportFormat != "text/csv" {
		t.Fatalf("report %v %q", err, rep.ReportFormat)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
	if strings.Join(rows[0], ",") != header || rows[1][0] != "<root_account>" {
		t.Fatalf("report rows %q", rows[:2])
	}
	var alice []string
	for _, r := range rows {
		if r[0] == "alice" {
			alice = r
		}
	}
	if alice == nil || alice[3] != "false" || alice[18] != "true" || alice[20] != "true" || alice[8] != "false" {
		t.Fatalf("alice's row %q", alice)
	}
}

func TestServiceLinkedRoles(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	out := must[*iam.CreateServiceLinkedRoleOutput](t)(e.svc.CreateServiceLinkedRole(e.ctx, root, &iam.CreateServiceLinkedRoleInput{AWSServiceName: "elasticbeanstalk.amazonaws.com", CustomSuffix: "web"}))
	r := out.Role
	if r.RoleName != "AWSServiceRoleForElasticbeanstalk_web" || r.Path != "/aws-service-role/elasticbeanstalk.amazonaws.com/" ||
		!strings.Contains(r.AssumeRolePolicyDocument, "elasticbeanstalk.amazonaws.com") {
		t.Fatalf("created %+v", r)
	}
	_, err := e.svc.CreateServiceLinkedRole(e.ctx, root, &iam.CreateServiceLinkedRoleInput{AWSServiceName: "elasticbeanstalk.amazonaws.com", CustomSuffix: "web"})
	wantErr(t, err, apierr.InvalidInput)
	_, err = e.svc.CreateServiceLinkedRole(e.ctx, root, &iam.CreateServiceLinkedRoleInput{AWSServiceName: "evil.example.com"})
	wantErr(t, err, apierr.InvalidInput)
	// Only DeleteServiceLinkedRole deletes it; nobody fakes one.
	_, err = e.svc.DeleteRole(e.ctx, root, &iam.DeleteRoleInput{RoleName: r.RoleName})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.CreateRole(e.ctx, root, &iam.CreateRoleInput{RoleName: "fake", Path: "/aws-service-role/x.amazonaws.com/", AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"x.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
	wantErr(t, err, apierr.InvalidInput)
	// Its policies are AWS's: none is put, attached, detached, deleted or
	// bounded (attack review: they were, and AWS answers UnmodifiableEntity).
	allowAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	_, err = e.svc.PutRolePolicy(e.ctx, root, &iam.PutRolePolicyInput{RoleName: r.RoleName, PolicyName: "all", PolicyDocument: allowAll})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.DeleteRolePolicy(e.ctx, root, &iam.DeleteRolePolicyInput{RoleName: r.RoleName, PolicyName: "all"})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.AttachRolePolicy(e.ctx, root, &iam.AttachRolePolicyInput{RoleName: r.RoleName, PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.DetachRolePolicy(e.ctx, root, &iam.DetachRolePolicyInput{RoleName: r.RoleName, PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.PutRolePermissionsBoundary(e.ctx, root, &iam.PutRolePermissionsBoundaryInput{RoleName: r.RoleName, PermissionsBoundary: "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	wantErr(t, err, apierr.UnmodifiableEntity)
	_, err = e.svc.DeleteRolePermissionsBoundary(e.ctx, root, &iam.DeleteRolePermissionsBoundaryInput{RoleName: r.RoleName})
	wantErr(t, err, apierr.UnmodifiableEntity)
	// Its description may be edited, its maximum session duration not (a
	// service's sessions of 12 hours where they were of one).
	twelveHours := int32(43200)
	_, err = e.svc.UpdateRole(e.ctx, root, &iam.UpdateRoleInput{RoleName: r.RoleName, MaxSessionDuration: &twelveHours})
	wantErr(t, err, apierr.UnmodifiableEntity)
	desc := "beanstalk's"
	_, err = e.svc.UpdateRole(e.ctx, root, &iam.UpdateRoleInput{RoleName: r.RoleName, Description: &desc, MaxSessionDuration: &twelveHours})
	wantErr(t, err, apierr.UnmodifiableEntity)
	must[*iam.UpdateRoleOutput](t)(e.svc.UpdateRole(e.ctx, root, &iam.UpdateRoleInput{RoleName: r.RoleName, Description: &desc}))
	got := must[*iam.GetRoleOutput](t)(e.svc.GetRole(e.ctx, root, &iam.GetRoleInput{RoleName: r.RoleName}))
	if got.Role.Description != desc || got.Role.MaxSessionDuration != 3600 {
		t.Fatalf("service-linked role after UpdateRole: description %q, max session %d", got.Role.Description, got.Role.MaxSessionDuration)
	}
	// A path that holds ':role/aws-service-role/' past its start is an
	// ordinary role's (':' is a path character): created, and changed.
	lookalike := must[*iam.CreateRoleOutput](t)(e.svc.CreateRole(e.ctx, root, &iam.CreateRoleInput{RoleName: "lookalike", Path: "/x:role/aws-service-role/",
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + root.Account + `:root"},"Action":"sts:AssumeRole"}]}`}))
	if !strings.Contains(lookalike.Role.ARN, ":role/x:role/aws-service-role/lookalike") {
		t.Fatalf("lookalike's ARN %s", lookalike.Role.ARN)
	}
	must[*iam.PutRolePolicyOutput](t)(e.svc.PutRolePolicy(e.ctx, root, &iam.PutRolePolicyInput{RoleName: "lookalike", PolicyName: "all", PolicyDocument: allowAll}))
	e.createRole("plain")
	_, err = e.svc.DeleteServiceLinkedRole(e.ctx, root, &iam.DeleteServiceLinkedRoleInput{RoleName: "plain"})
	wantErr(t, err, apierr.InvalidInput)

	// A role still in an instance profile is not deleted: the task fails.
	must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, root, &iam.CreateInstanceProfileInput{InstanceProfileName: "ip"}))
	must[*iam.AddRoleToInstanceProfileOutput](t)(e.svc.AddRoleToInstanceProfile(e.ctx, root, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: "ip", RoleName: r.RoleName}))
	del := must[*iam.DeleteServiceLinkedRoleOutput](t)(e.svc.DeleteServiceLinkedRole(e.ctx, root, &iam.DeleteServiceLinkedRoleInput{RoleName: r.RoleName}))
	st := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(e.svc.GetServiceLinkedRoleDeletionStatus(e.ctx, root, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskID: del.DeletionTaskID}))
	if st.Status != "FAILED" || st.Reason == nil || !strings.Contains(st.Reason.Reason, "instance-profile/ip") {
		t.Fatalf("status %+v", st)
	}
	must[*iam.RemoveRoleFromInstanceProfileOutput](t)(e.svc.RemoveRoleFromInstanceProfile(e.ctx, root, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: "ip", RoleName: r.RoleName}))
	del = must[*iam.DeleteServiceLinkedRoleOutput](t)(e.svc.DeleteServiceLinkedRole(e.ctx, root, &iam.DeleteServiceLinkedRoleInput{RoleName: r.RoleName}))
	if !strings.HasPrefix(del.DeletionTaskID, "task/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticbeanstalk_web/") {
		t.Fatalf("task id %s", del.DeletionTaskID)
	}
	st = must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(e.svc.GetServiceLinkedRoleDeletionStatus(e.ctx, root, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskID: del.DeletionTaskID}))
	if st.Status != "SUCCEEDED" || st.Reason != nil {
		t.Fatalf("status %+v", st)
	}
	_, err = e.svc.GetRole(e.ctx, root, &iam.GetRoleInput{RoleName: r.RoleName})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.GetServiceLinkedRoleDeletionStatus(e.ctx, root, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskID: "task/nope"})
	wantErr(t, err, apierr.InvalidInput)
	// Another account does not see the task.
	_, err = e.svc.GetServiceLinkedRoleDeletionStatus(e.ctx, e.rootB, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskID: del.DeletionTaskID})
	wantErr(t, err, apierr.NoSuchEntity)
}

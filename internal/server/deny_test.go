package server

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/authorize"
	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/sigv4"
)

// TestEveryRouteDeniesByDefault walks the route tables themselves: every
// IAM, STS and Organizations action the server answers is called by a user
// with no policies at all, on entities that exist, and must be refused with
// AccessDenied (a few STS actions need no permission, as in AWS, and are
// listed). A route added without a fixture here fails the test, so no action
// can slip past deny-by-default unnoticed.
func TestEveryRouteDeniesByDefault(t *testing.T) {
	const (
		acct   = "123456789012"
		rootID = "AKIAOPENSTSDENYTEST1"
		rootSK = "denyTestRootSecretForTestsOnly0123456789"
	)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = acct, rootID, rootSK
	cfg.Audit = true // every request must give exactly one event
	// Every request's id, to check that the trail holds exactly one event
	// for each (audit at the boundary: denials, failures, bad signatures).
	var mu sync.Mutex
	requests := map[string]string{}
	seen := pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) {
		mu.Lock()
		requests[x.RequestID] = x.Action
		mu.Unlock()
	})
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard, Observers: []pipeline.Observer{seen}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h := s.Handler()

	send := func(service, key, secret string, form url.Values) *httptest.ResponseRecorder {
		t.Helper()
		body := []byte(form.Encode())
		req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := sigv4.Sign(req, body, key, secret, "", "us-east-1", service, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	root := func(action string, kv ...string) []byte {
		t.Helper()
		form := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
		for i := 0; i < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		rec := send("iam", rootID, rootSK, form)
		if rec.Code != 200 {
			t.Fatalf("root %s: %d %s", action, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	allowS3 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`
	policyARN := "arn:aws:iam::" + acct + ":policy/pol"
	root("CreateUser", "UserName", "target")
	root("CreateGroup", "GroupName", "grp")
	root("CreateRole", "RoleName", "role", "AssumeRolePolicyDocument", trust)
	root("CreatePolicy", "PolicyName", "pol", "PolicyDocument", allowS3)
	root("CreatePolicyVersion", "PolicyArn", policyARN, "PolicyDocument", allowS3)
	root("PutUserPolicy", "UserName", "target", "PolicyName", "inl", "PolicyDocument", allowS3)
	root("CreateVirtualMFADevice", "VirtualMFADeviceName", "dev")
	root("CreateInstanceProfile", "InstanceProfileName", "ip")
	root("AddRoleToInstanceProfile", "InstanceProfileName", "ip", "RoleName", "role")
	root("CreateLoginProfile", "UserName", "target", "Password", "Deny+Test-Passw0rd")
	root("UpdateAccountPasswordPolicy", "MinimumPasswordLength", "8")
	root("CreateAccountAlias", "AccountAlias", "deny-test")
	var sshKey struct {
		ID string `xml:"UploadSSHPublicKeyResult>SSHPublicKey>SSHPublicKeyId"`
	}
	if err := xml.Unmarshal(root("UploadSSHPublicKey", "UserName", "target", "SSHPublicKeyBody", testSSHKey(t)), &sshKey); err != nil {
		t.Fatal(err)
	}
	signingCert, _ := testCertificate(t, "signing")
	var cert struct {
		ID string `xml:"UploadSigningCertificateResult>Certificate>CertificateId"`
	}
	if err := xml.Unmarshal(root("UploadSigningCertificate", "UserName", "target", "CertificateBody", signingCert), &cert); err != nil {
		t.Fatal(err)
	}
	serverCert, serverKey := testCertificate(t, "server")
	root("UploadServerCertificate", "ServerCertificateName", "web", "CertificateBody", serverCert, "PrivateKey", serverKey)
	var cred struct {
		ID string `xml:"CreateServiceSpecificCredentialResult>ServiceSpecificCredential>ServiceSpecificCredentialId"`
	}
	if err := xml.Unmarshal(root("CreateServiceSpecificCredential", "UserName", "target", "ServiceName", "codecommit.amazonaws.com"), &cred); err != nil {
		t.Fatal(err)
	}
	root("CreateServiceLinkedRole", "AWSServiceName", "elasticbeanstalk.amazonaws.com")
	var task struct {
		ID string `xml:"DeleteServiceLinkedRoleResult>DeletionTaskId"`
	}
	if err := xml.Unmarshal(root("DeleteServiceLinkedRole", "RoleName", "AWSServiceRoleForElasticbeanstalk"), &task); err != nil {
		t.Fatal(err)
	}
	root("CreateServiceLinkedRole", "AWSServiceName", "autoscaling.amazonaws.com")
	otherCert, otherKey := testCertificate(t, "other")
	root("CreateOpenIDConnectProvider", "Url", "https://idp.example.com/t", "ClientIDList.member.1", "app")
	oidcARN := "arn:aws:iam::" + acct + ":oidc-provider/idp.example.com/t"
	var targetKey struct {
		ID string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	}
	if err := xml.Unmarshal(root("CreateAccessKey", "UserName", "target"), &targetKey); err != nil {
		t.Fatal(err)
	}
	root("CreateUser", "UserName", "nobody")
	var key struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(root("CreateAccessKey", "UserName", "nobody"), &key); err != nil {
		t.Fatal(err)
	}
	serial := "arn:aws:iam::" + acct + ":mfa/dev"
	roleARN := "arn:aws:iam::" + acct + ":role/role"
	samlARN := "arn:aws:iam::" + acct + ":saml-provider/idp"
	ldapARN := "arn:aws:iam::" + acct + ":ldap-provider/dir"
	samlMetadataFixture := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"/>` + strings.Repeat(" ", 1000)

	iamParams := map[string]map[string]string{
		"AddRoleToInstanceProfile":           {"InstanceProfileName": "ip", "RoleName": "role"},
		"UploadSSHPublicKey":                 {"UserName": "target", "SSHPublicKeyBody": testSSHKey(t)},
		"GetSSHPublicKey":                    {"UserName": "target", "SSHPublicKeyId": sshKey.ID, "Encoding": "SSH"},
		"ListSSHPublicKeys":                  {"UserName": "target"},
		"UpdateSSHPublicKey":                 {"UserName": "target", "SSHPublicKeyId": sshKey.ID, "Status": "Inactive"},
		"DeleteSSHPublicKey":                 {"UserName": "target", "SSHPublicKeyId": sshKey.ID},
		"UploadSigningCertificate":           {"UserName": "target", "CertificateBody": otherCert},
		"ListSigningCertificates":            {"UserName": "target"},
		"UpdateSigningCertificate":           {"UserName": "target", "CertificateId": cert.ID, "Status": "Inactive"},
		"DeleteSigningCertificate":           {"UserName": "target", "CertificateId": cert.ID},
		"UploadServerCertificate":            {"ServerCertificateName": "web2", "CertificateBody": otherCert, "PrivateKey": otherKey},
		"GetServerCertificate":               {"ServerCertificateName": "web"},
		"ListServerCertificates":             {},
		"UpdateServerCertificate":            {"ServerCertificateName": "web", "NewServerCertificateName": "web3"},
		"DeleteServerCertificate":            {"ServerCertificateName": "web"},
		"TagServerCertificate":               {"ServerCertificateName": "web", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"UntagServerCertificate":             {"ServerCertificateName": "web", "TagKeys.member.1": "k"},
		"ListServerCertificateTags":          {"ServerCertificateName": "web"},
		"CreateServiceSpecificCredential":    {"UserName": "target", "ServiceName": "codecommit.amazonaws.com"},
		"ListServiceSpecificCredentials":     {"UserName": "target"},
		"ResetServiceSpecificCredential":     {"UserName": "target", "ServiceSpecificCredentialId": cred.ID},
		"UpdateServiceSpecificCredential":    {"UserName": "target", "ServiceSpecificCredentialId": cred.ID, "Status": "Inactive"},
		"DeleteServiceSpecificCredential":    {"UserName": "target", "ServiceSpecificCredentialId": cred.ID},
		"CreateServiceLinkedRole":            {"AWSServiceName": "ecs.amazonaws.com"},
		"DeleteServiceLinkedRole":            {"RoleName": "AWSServiceRoleForAutoscaling"},
		"GetServiceLinkedRoleDeletionStatus": {"DeletionTaskId": task.ID},
		"ListPoliciesGrantingServiceAccess":  {"Arn": "arn:aws:iam::" + acct + ":user/target", "ServiceNamespaces.member.1": "s3"},
		"GenerateCredentialReport":           {},
		"GetCredentialReport":                {},
		"SetSecurityTokenServicePreferences": {"GlobalEndpointTokenVersion": "v2Token"},
		"ChangePassword":                     {"OldPassword": "Deny+Test-Passw0rd", "NewPassword": "Deny+Test-Passw0rd-2"},
		"CreateAccountAlias":                 {"AccountAlias": "other-alias"},
		"CreateInstanceProfile":              {"InstanceProfileName": "ip2"},
		"CreateLoginProfile":                 {"UserName": "nobody", "Password": "Deny+Test-Passw0rd"},
		"DeleteAccountAlias":                 {"AccountAlias": "deny-test"},
		"DeleteAccountPasswordPolicy":        {},
		"DeleteInstanceProfile":              {"InstanceProfileName": "ip"},
		"DeleteLoginProfile":                 {"UserName": "target"},
		"GetAccountAuthorizationDetails":     {},
		"GetAccountPasswordPolicy":           {},
		"GetAccountSummary":                  {},
		"GetContextKeysForCustomPolicy":      {"PolicyInputList.member.1": allowS3},
		"GetContextKeysForPrincipalPolicy":   {"PolicySourceArn": "arn:aws:iam::" + acct + ":user/target"},
		"GetInstanceProfile":                 {"InstanceProfileName": "ip"},
		"GetLoginProfile":                    {"UserName": "target"},
		"ListAccountAliases":                 {},
		"ListInstanceProfileTags":            {"InstanceProfileName": "ip"},
		"ListInstanceProfiles":               {},
		"ListInstanceProfilesForRole":        {"RoleName": "role"},
		"ListMFADeviceTags":                  {"SerialNumber": "arn:aws:iam::" + acct + ":mfa/dev"},
		"RemoveRoleFromInstanceProfile":      {"InstanceProfileName": "ip", "RoleName": "role"},
		"TagInstanceProfile":                 {"InstanceProfileName": "ip", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"TagMFADevice":                       {"SerialNumber": "arn:aws:iam::" + acct + ":mfa/dev", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"UntagInstanceProfile":               {"InstanceProfileName": "ip", "TagKeys.member.1": "k"},
		"UntagMFADevice":                     {"SerialNumber": "arn:aws:iam::" + acct + ":mfa/dev", "TagKeys.member.1": "k"},
		"UpdateAccountPasswordPolicy":        {"MinimumPasswordLength": "10"},
		"UpdateLoginProfile":                 {"UserName": "target", "PasswordResetRequired": "true"},
		"AddUserToGroup":                     {"GroupName": "grp", "UserName": "target"},
		"AttachGroupPolicy":                  {"GroupName": "grp", "PolicyArn": policyARN},
		"AttachRolePolicy":                   {"RoleName": "role", "PolicyArn": policyARN},
		"AttachUserPolicy":                   {"UserName": "target", "PolicyArn": policyARN},
		"CreateAccessKey":                    {"UserName": "target"},
		"CreateGroup":                        {"GroupName": "g2"},
		"CreatePolicy":                       {"PolicyName": "p2", "PolicyDocument": allowS3},
		"CreatePolicyVersion":                {"PolicyArn": policyARN, "PolicyDocument": allowS3},
		"CreateRole":                         {"RoleName": "r2", "AssumeRolePolicyDocument": trust},
		"CreateUser":                         {"UserName": "u2"},
		"CreateVirtualMFADevice":             {"VirtualMFADeviceName": "d2"},
		"DeactivateMFADevice":                {"UserName": "target", "SerialNumber": serial},
		"DeleteAccessKey":                    {"UserName": "target", "AccessKeyId": targetKey.ID},
		"DeleteGroup":                        {"GroupName": "grp"},
		"DeleteGroupPolicy":                  {"GroupName": "grp", "PolicyName": "inl"},
		"DeletePolicy":                       {"PolicyArn": policyARN},
		"DeletePolicyVersion":                {"PolicyArn": policyARN, "VersionId": "v1"},
		"DeleteRole":                         {"RoleName": "role"},
		"DeleteRolePermissionsBoundary":      {"RoleName": "role"},
		"DeleteRolePolicy":                   {"RoleName": "role", "PolicyName": "inl"},
		"DeleteUser":                         {"UserName": "target"},
		"DeleteUserPermissionsBoundary":      {"UserName": "target"},
		"DeleteUserPolicy":                   {"UserName": "target", "PolicyName": "inl"},
		"DeleteVirtualMFADevice":             {"SerialNumber": serial},
		"DetachGroupPolicy":                  {"GroupName": "grp", "PolicyArn": policyARN},
		"DetachRolePolicy":                   {"RoleName": "role", "PolicyArn": policyARN},
		"DetachUserPolicy":                   {"UserName": "target", "PolicyArn": policyARN},
		"EnableMFADevice":                    {"UserName": "target", "SerialNumber": serial, "AuthenticationCode1": "123456", "AuthenticationCode2": "234567"},
		"GetAccessKeyLastUsed":               {"AccessKeyId": targetKey.ID},
		"GetGroup":                           {"GroupName": "grp"},
		"GetGroupPolicy":                     {"GroupName": "grp", "PolicyName": "inl"},
		"GetMFADevice":                       {"SerialNumber": serial, "UserName": "target"},
		"GetPolicy":                          {"PolicyArn": policyARN},
		"GetPolicyVersion":                   {"PolicyArn": policyARN, "VersionId": "v1"},
		"GetRole":                            {"RoleName": "role"},
		"GetRolePolicy":                      {"RoleName": "role", "PolicyName": "inl"},
		"GetUser":                            {"UserName": "target"},
		"GetUserPolicy":                      {"UserName": "target", "PolicyName": "inl"},
		"ListAccessKeys":                     {"UserName": "target"},
		"ListAttachedGroupPolicies":          {"GroupName": "grp"},
		"ListAttachedRolePolicies":           {"RoleName": "role"},
		"ListAttachedUserPolicies":           {"UserName": "target"},
		"ListEntitiesForPolicy":              {"PolicyArn": policyARN},
		"ListGroupPolicies":                  {"GroupName": "grp"},
		"ListGroups":                         {},
		"ListGroupsForUser":                  {"UserName": "target"},
		"ListMFADevices":                     {"UserName": "target"},
		"ListPolicies":                       {},
		"ListPolicyTags":                     {"PolicyArn": policyARN},
		"ListPolicyVersions":                 {"PolicyArn": policyARN},
		"ListRolePolicies":                   {"RoleName": "role"},
		"ListRoleTags":                       {"RoleName": "role"},
		"ListRoles":                          {},
		"ListUserPolicies":                   {"UserName": "target"},
		"ListUserTags":                       {"UserName": "target"},
		"ListUsers":                          {},
		"ListVirtualMFADevices":              {},
		"PutGroupPolicy":                     {"GroupName": "grp", "PolicyName": "p", "PolicyDocument": allowS3},
		"PutRolePermissionsBoundary":         {"RoleName": "role", "PermissionsBoundary": policyARN},
		"PutRolePolicy":                      {"RoleName": "role", "PolicyName": "p", "PolicyDocument": allowS3},
		"PutUserPermissionsBoundary":         {"UserName": "target", "PermissionsBoundary": policyARN},
		"PutUserPolicy":                      {"UserName": "target", "PolicyName": "p", "PolicyDocument": allowS3},
		"RemoveUserFromGroup":                {"GroupName": "grp", "UserName": "target"},
		"ResyncMFADevice":                    {"UserName": "target", "SerialNumber": serial, "AuthenticationCode1": "123456", "AuthenticationCode2": "234567"},
		"SetDefaultPolicyVersion":            {"PolicyArn": policyARN, "VersionId": "v2"},
		"SimulateCustomPolicy":               {"PolicyInputList.member.1": allowS3, "ActionNames.member.1": "s3:GetObject"},
		"SimulatePrincipalPolicy":            {"PolicySourceArn": "arn:aws:iam::" + acct + ":user/target", "ActionNames.member.1": "s3:GetObject"},
		"TagPolicy":                          {"PolicyArn": policyARN, "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"TagRole":                            {"RoleName": "role", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"TagUser":                            {"UserName": "target", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"UntagPolicy":                        {"PolicyArn": policyARN, "TagKeys.member.1": "k"},
		"UntagRole":                          {"RoleName": "role", "TagKeys.member.1": "k"},
		"UntagUser":                          {"UserName": "target", "TagKeys.member.1": "k"},
		"UpdateAccessKey":                    {"UserName": "target", "AccessKeyId": targetKey.ID, "Status": "Inactive"},
		"UpdateAssumeRolePolicy":             {"RoleName": "role", "PolicyDocument": trust},
		"UpdateGroup":                        {"GroupName": "grp", "NewGroupName": "g3"},
		"UpdateRole":                         {"RoleName": "role", "Description": "x"},
		"UpdateRoleDescription":              {"RoleName": "role", "Description": "x"},
		"UpdateUser":                         {"UserName": "target", "NewPath": "/x/"},

		"CreateSAMLProvider":                      {"Name": "idp", "SAMLMetadataDocument": samlMetadataFixture},
		"DeleteSAMLProvider":                      {"SAMLProviderArn": samlARN},
		"GetSAMLProvider":                         {"SAMLProviderArn": samlARN},
		"ListSAMLProviderTags":                    {"SAMLProviderArn": samlARN},
		"ListSAMLProviders":                       {},
		"TagSAMLProvider":                         {"SAMLProviderArn": samlARN, "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"UntagSAMLProvider":                       {"SAMLProviderArn": samlARN, "TagKeys.member.1": "k"},
		"UpdateSAMLProvider":                      {"SAMLProviderArn": samlARN, "SAMLMetadataDocument": samlMetadataFixture},
		"CreateOpenIDConnectProvider":             {"Url": "https://idp2.example.com", "ClientIDList.member.1": "app"},
		"GetOpenIDConnectProvider":                {"OpenIDConnectProviderArn": oidcARN},
		"ListOpenIDConnectProviders":              {},
		"DeleteOpenIDConnectProvider":             {"OpenIDConnectProviderArn": oidcARN},
		"AddClientIDToOpenIDConnectProvider":      {"OpenIDConnectProviderArn": oidcARN, "ClientID": "x"},
		"RemoveClientIDFromOpenIDConnectProvider": {"OpenIDConnectProviderArn": oidcARN, "ClientID": "app"},
		"UpdateOpenIDConnectProviderThumbprint":   {"OpenIDConnectProviderArn": oidcARN, "ThumbprintList.member.1": "0123456789abcdef0123456789abcdef01234567"},
		"TagOpenIDConnectProvider":                {"OpenIDConnectProviderArn": oidcARN, "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
		"UntagOpenIDConnectProvider":              {"OpenIDConnectProviderArn": oidcARN, "TagKeys.member.1": "k"},
		"ListOpenIDConnectProviderTags":           {"OpenIDConnectProviderArn": oidcARN},

		"GenerateServiceLastAccessedDetails":        {"Arn": "arn:aws:iam::" + acct + ":user/target"},
		"GetServiceLastAccessedDetails":             {"JobId": "00000000-0000-4000-8000-000000000000"},
		"GenerateOrganizationsAccessReport":         {"EntityPath": "o-0123456789/r-abcd"},
		"GetOrganizationsAccessReport":              {"JobId": "00000000-0000-4000-8000-000000000000"},
		"GetServiceLastAccessedDetailsWithEntities": {"JobId": "00000000-0000-4000-8000-000000000000", "ServiceNamespace": "iam"},

		"CreateLDAPProvider": {"Name": "dir", "Url": "ldaps://dc.example.com", "UserSearchBase": "dc=example,dc=com"},
		"DeleteLDAPProvider": {"LDAPProviderArn": ldapARN},
		"GetLDAPProvider":    {"LDAPProviderArn": ldapARN},
		"ListLDAPProviders":  {},
		"UpdateLDAPProvider": {"LDAPProviderArn": ldapARN, "BindPassword": "x"},
	}
	stsParams := map[string]map[string]string{
		"AssumeRole":                 {"RoleArn": roleARN, "RoleSessionName": "sess"},
		"GetFederationToken":         {"Name": "fed"},
		"GetAccessKeyInfo":           {"AccessKeyId": targetKey.ID},
		"DecodeAuthorizationMessage": {"EncodedMessage": "x"},
		"GetWebIdentityToken":        {"Audience.member.1": "aud", "SigningAlgorithm": "RS256"},
		"AssumeRoot":                 {"TargetPrincipal": "210987654321", "TaskPolicyArn.arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"},
	}
	// Callable by every principal without a policy, as in AWS.
	stsOpen := map[string]bool{"GetCallerIdentity": true, "GetSessionToken": true}
	// Authenticated by what they carry, not by the signature: a caller
	// without any policy gets the answer about the token.
	stsSelf := map[string]struct {
		params map[string]string
		code   string
	}{
		"AssumeRoleWithSAML":        {map[string]string{"RoleArn": roleARN, "PrincipalArn": samlARN, "SAMLAssertion": "bm90IGEgcmVzcG9uc2U="}, "InvalidIdentityToken"},
		"AssumeRoleWithWebIdentity": {map[string]string{"RoleArn": roleARN, "RoleSessionName": "sess", "WebIdentityToken": "not-a-token"}, "InvalidIdentityToken"},
		// The account has no LDAP provider: nothing to authenticate against.
		"AssumeRoleWithLDAPIdentity": {map[string]string{"RoleArn": roleARN, "LDAPUsername": "alice", "LDAPPassword": "pw"}, "InvalidParameterValue"},
	}
	orgParams := map[string]string{
		"DescribeOrganization":                `{}`,
		"CreateOrganization":                  `{"FeatureSet":"ALL"}`,
		"CreateAccount":                       `{"Email":"a@example.com","AccountName":"a"}`,
		"DescribeCreateAccountStatus":         `{"CreateAccountRequestId":"car-0123456789abcdef0123456789abcdef"}`,
		"ListCreateAccountStatus":             `{}`,
		"DescribeAccount":                     `{"AccountId":"` + acct + `"}`,
		"ListAccounts":                        `{}`,
		"ListRoots":                           `{}`,
		"CreatePolicy":                        `{"Name":"p","Description":"d","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`,
		"DescribePolicy":                      `{"PolicyId":"p-FullAWSAccess"}`,
		"UpdatePolicy":                        `{"PolicyId":"p-FullAWSAccess","Name":"x"}`,
		"DeletePolicy":                        `{"PolicyId":"p-FullAWSAccess"}`,
		"AttachPolicy":                        `{"PolicyId":"p-FullAWSAccess","TargetId":"` + acct + `"}`,
		"DetachPolicy":                        `{"PolicyId":"p-FullAWSAccess","TargetId":"` + acct + `"}`,
		"ListPolicies":                        `{"Filter":"SERVICE_CONTROL_POLICY"}`,
		"ListPoliciesForTarget":               `{"TargetId":"` + acct + `","Filter":"SERVICE_CONTROL_POLICY"}`,
		"ListTargetsForPolicy":                `{"PolicyId":"p-FullAWSAccess"}`,
		"CreateOrganizationalUnit":            `{"ParentId":"r-abcd","Name":"ou"}`,
		"UpdateOrganizationalUnit":            `{"OrganizationalUnitId":"ou-abcd-12345678","Name":"x"}`,
		"DeleteOrganizationalUnit":            `{"OrganizationalUnitId":"ou-abcd-12345678"}`,
		"DescribeOrganizationalUnit":          `{"OrganizationalUnitId":"ou-abcd-12345678"}`,
		"ListOrganizationalUnitsForParent":    `{"ParentId":"r-abcd"}`,
		"ListChildren":                        `{"ParentId":"r-abcd","ChildType":"ACCOUNT"}`,
		"ListParents":                         `{"ChildId":"` + acct + `"}`,
		"ListAccountsForParent":               `{"ParentId":"r-abcd"}`,
		"EnablePolicyType":                    `{"RootId":"r-abcd","PolicyType":"TAG_POLICY"}`,
		"DisablePolicyType":                   `{"RootId":"r-abcd","PolicyType":"SERVICE_CONTROL_POLICY"}`,
		"TagResource":                         `{"ResourceId":"` + acct + `","Tags":[{"Key":"k","Value":"v"}]}`,
		"UntagResource":                       `{"ResourceId":"` + acct + `","TagKeys":["k"]}`,
		"ListTagsForResource":                 `{"ResourceId":"` + acct + `"}`,
		"MoveAccount":                         `{"AccountId":"` + acct + `","SourceParentId":"r-abcd","DestinationParentId":"ou-abcd-12345678"}`,
		"CloseAccount":                        `{"AccountId":"` + acct + `"}`,
		"RemoveAccountFromOrganization":       `{"AccountId":"` + acct + `"}`,
		"LeaveOrganization":                   `{}`,
		"DeleteOrganization":                  `{}`,
		"RegisterDelegatedAdministrator":      `{"AccountId":"` + acct + `","ServicePrincipal":"config.amazonaws.com"}`,
		"DeregisterDelegatedAdministrator":    `{"AccountId":"` + acct + `","ServicePrincipal":"config.amazonaws.com"}`,
		"ListDelegatedAdministrators":         `{}`,
		"ListDelegatedServicesForAccount":     `{"AccountId":"` + acct + `"}`,
		"EnableAWSServiceAccess":              `{"ServicePrincipal":"config.amazonaws.com"}`,
		"DisableAWSServiceAccess":             `{"ServicePrincipal":"config.amazonaws.com"}`,
		"ListAWSServiceAccessForOrganization": `{}`,
		"InviteAccountToOrganization":         `{"Target":{"Id":"` + acct + `","Type":"ACCOUNT"}}`,
		"AcceptHandshake":                     `{"HandshakeId":"h-0123456789abcdef"}`,
		"EnableAllFeatures":                   `{}`,
		"CreateGovCloudAccount":               `{"Email":"g@example.com","AccountName":"g"}`,
		"DeclineHandshake":                    `{"HandshakeId":"h-0123456789abcdef"}`,
		"CancelHandshake":                     `{"HandshakeId":"h-0123456789abcdef"}`,
		"DescribeHandshake":                   `{"HandshakeId":"h-0123456789abcdef"}`,
		"ListHandshakesForAccount":            `{}`,
		"ListHandshakesForOrganization":       `{}`,
		"DescribeEffectivePolicy":             `{"PolicyType":"TAG_POLICY"}`,
		"PutResourcePolicy":                   `{"Content":"{}"}`,
		"DescribeResourcePolicy":              `{}`,
		"DeleteResourcePolicy":                `{}`,
	}

	errCode := func(rec *httptest.ResponseRecorder) string {
		var e struct {
			Code string `xml:"Error>Code"`
			Type string `json:"__type"`
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/x-amz-json") {
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			return e.Type
		}
		_ = xml.Unmarshal(rec.Body.Bytes(), &e)
		return e.Code
	}
	check := func(t *testing.T, rec *httptest.ResponseRecorder, want string) {
		t.Helper()
		if got := errCode(rec); rec.Code != 400 && rec.Code != 403 || !strings.HasSuffix(got, want) {
			t.Errorf("got %d %s, want %s: %s", rec.Code, got, want, rec.Body)
		}
	}

	for _, action := range sortedKeys(iamRoutes(s.iam)) {
		t.Run("iam/"+action, func(t *testing.T) {
			p, ok := iamParams[action]
			if !ok {
				t.Fatalf("IAM route %s has no fixture here; add one", action)
			}
			form := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
			for k, v := range p {
				form.Set(k, v)
			}
			check(t, send("iam", key.ID, key.Secret, form), "AccessDenied")
		})
	}
	for _, action := range sortedKeys(stsRoutes(s.sts)) {
		t.Run("sts/"+action, func(t *testing.T) {
			if self, ok := stsSelf[action]; ok {
				form := url.Values{"Action": {action}, "Version": {"2011-06-15"}}
				for k, v := range self.params {
					form.Set(k, v)
				}
				check(t, send("sts", key.ID, key.Secret, form), self.code)
				return
			}
			p, ok := stsParams[action]
			if !ok && !stsOpen[action] {
				t.Fatalf("STS route %s has no fixture here; add one", action)
			}
			form := url.Values{"Action": {action}, "Version": {"2011-06-15"}}
			for k, v := range p {
				form.Set(k, v)
			}
			rec := send("sts", key.ID, key.Secret, form)
			if stsOpen[action] {
				if rec.Code != 200 {
					t.Errorf("%s needs no permission: %d %s", action, rec.Code, rec.Body)
				}
				return
			}
			check(t, rec, "AccessDenied")
		})
	}
	for _, action := range sortedKeys(orgRoutes(s.org)) {
		t.Run("organizations/"+action, func(t *testing.T) {
			body, ok := orgParams[action]
			if !ok {
				t.Fatalf("Organizations route %s has no fixture here; add one", action)
			}
			req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128."+action)
			if err := sigv4.Sign(req, []byte(body), key.ID, key.Secret, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			check(t, rec, "AccessDeniedException")
		})
	}
	cloudtrailParams := map[string]string{"LookupEvents": `{"MaxResults":5}`}
	for _, action := range sortedKeys(cloudtrailRoutes(&audit.Service{})) {
		t.Run("cloudtrail/"+action, func(t *testing.T) {
			body, ok := cloudtrailParams[action]
			if !ok {
				t.Fatalf("CloudTrail route %s has no fixture here; add one", action)
			}
			req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", CloudTrailPrefix+"."+action)
			if err := sigv4.Sign(req, []byte(body), key.ID, key.Secret, "", "us-east-1", "cloudtrail", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			check(t, rec, "AccessDeniedException")
		})
	}

	authorizeParams := map[string]string{
		"Authorize":           `{"Principal":{"AccessKeyId":"ASIAOPENSTSDENYTEST1","SessionToken":"not-a-token"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/key"}`,
		"GetVerificationData": `{"AccessKeyId":"ASIAOPENSTSDENYTEST1","SessionToken":"not-a-token"}`,
		"GetRevocations":      `{}`,
	}
	for _, action := range sortedKeys(authorizeRoutes(nil, nil)) {
		t.Run("authorize/"+action, func(t *testing.T) {
			body, ok := authorizeParams[action]
			if !ok {
				t.Fatalf("authorize route %s has no fixture here; add one", action)
			}
			req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", authorize.Prefix+"."+action)
			if err := sigv4.Sign(req, []byte(body), key.ID, key.Secret, "", "us-east-1", authorize.ServiceName, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			check(t, rec, "AccessDeniedException")
		})
	}

	// A CloudTrail body that does not decode is answered with the JSON
	// protocol's SerializationException, a code CloudTrail's clients know
	// (an attack review found Organizations' InvalidInputException).
	for _, body := range []string{`{"MaxResults":`, `{"MaxResults":"five"}`, `[]`} {
		req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", CloudTrailPrefix+".LookupEvents")
		if err := sigv4.Sign(req, []byte(body), key.ID, key.Secret, "", "us-east-1", "cloudtrail", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"__type":"SerializationException"`) {
			t.Errorf("LookupEvents %s: %d %s, want 400 SerializationException", body, rec.Code, rec.Body)
		}
	}

	// Requests that never reach a handler are audited too.
	bad := func(name string, req *http.Request) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 400 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	form := url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}
	req := httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = sigv4.Sign(req, []byte(form.Encode()), key.ID, "wrong-secret-wrong-secret-wrong-secret00", "", "us-east-1", "iam", time.Now().UTC())
	bad("bad signature", req)
	req = httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = sigv4.Sign(req, []byte(form.Encode()), "AKIAUNKNOWNKEY000000", "x", "", "us-east-1", "iam", time.Now().UTC())
	bad("unknown key", req)
	req = httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bad("unsigned", req)
	bad("unknown action", httptest.NewRequest("GET", "http://opensts.test/?Action=Nope&Version=2011-06-15", nil))
	bad("method", httptest.NewRequest("DELETE", "http://opensts.test/", nil))
	req = httptest.NewRequest("POST", "http://opensts.test/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "NoSuchService.Nope")
	bad("unknown target", req)

	// Exactly one event per request, none without a request.
	if err := s.Trail().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	if err := audit.Query(AuditDir(cfg), audit.Filter{}, func(line []byte) error {
		var r audit.Record
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.EventType != audit.AlertEventType { // detection's alerts are no request's
			events[r.RequestID]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, action := range requests {
		if events[id] != 1 {
			t.Errorf("request %s (%s): %d events, want 1", id, action, events[id])
		}
	}
	if len(events) != len(requests) {
		t.Errorf("%d events for %d requests", len(events), len(requests))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package e2e

import (
	"encoding/json"
	"testing"
)

// boto3FeaturesScript exercises the STS features of the multi-account issue
// with boto3: MFA (codes computed with the standard library, RFC 6238),
// session tags, source identity, chaining, federation tokens and
// Organizations with cross-account AssumeRole, including the attacks.
const boto3FeaturesScript = `
import base64, hashlib, hmac, json, struct, sys, time
import boto3, botocore
endpoint, akid, secret = sys.argv[1], sys.argv[2], sys.argv[3]
def client(svc, creds=None, **kw):
    creds = creds or dict(aws_access_key_id=akid, aws_secret_access_key=secret)
    return boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1", **creds, **kw)
def sess(c):
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
def totp(seed, step):
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o+4])[0] & 0x7fffffff) % 1000000)
def code(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out = {}
iam, sts = client("iam"), client("sts")
iam.create_user(UserName="bob")
k = iam.create_access_key(UserName="bob")["AccessKey"]
bob = dict(aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:*", "iam:ListUsers"], "Resource": "*"}]}))
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}
role = iam.create_role(RoleName="feat", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
iam.put_role_policy(RoleName="feat", PolicyName="chain", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": "*"}]}))
bsts = client("sts", bob)

# Tags, transitive tags and source identity through a chain.
r = bsts.assume_role(RoleArn=role, RoleSessionName="t1", Tags=[{"Key": "team", "Value": "a"}], TransitiveTagKeys=["team"], SourceIdentity="bob")
out["packed"] = r.get("PackedPolicySize")
out["source_identity"] = r.get("SourceIdentity")
s1 = client("sts", sess(r["Credentials"]))
out["override_transitive"] = code(lambda: s1.assume_role(RoleArn=role, RoleSessionName="t2", Tags=[{"Key": "Team", "Value": "b"}]))
out["change_source_identity"] = code(lambda: s1.assume_role(RoleArn=role, RoleSessionName="t2", SourceIdentity="mallory"))
out["chain_too_long"] = code(lambda: s1.assume_role(RoleArn=role, RoleSessionName="t2", DurationSeconds=7200))
c2 = s1.assume_role(RoleArn=role, RoleSessionName="t2")
out["chained_source_identity"] = c2.get("SourceIdentity")

# Federation tokens.
f = bsts.get_federation_token(Name="fed-user", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
out["federated_arn"] = f["FederatedUser"]["Arn"]
fs = sess(f["Credentials"])
out["federated_iam"] = code(lambda: client("iam", fs).list_users())
out["federated_identity"] = client("sts", fs).get_caller_identity()["Arn"]

# MFA: create, enable, use, replay.
d = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob-mfa")["VirtualMFADevice"]
seed = d["Base32StringSeed"].decode() if isinstance(d["Base32StringSeed"], bytes) else d["Base32StringSeed"]
step = int(time.time()) // 30
iam.enable_mfa_device(UserName="bob", SerialNumber=d["SerialNumber"], AuthenticationCode1=totp(seed, step - 1), AuthenticationCode2=totp(seed, step))
out["mfa_replay_enable_code"] = code(lambda: bsts.get_session_token(SerialNumber=d["SerialNumber"], TokenCode=totp(seed, step)))
g = bsts.get_session_token(SerialNumber=d["SerialNumber"], TokenCode=totp(seed, step + 1))
out["mfa_session_iam"] = code(lambda: client("iam", sess(g["Credentials"])).list_users())
out["mfa_replay"] = code(lambda: bsts.get_session_token(SerialNumber=d["SerialNumber"], TokenCode=totp(seed, step + 1)))
nomfa = bsts.get_session_token()
out["no_mfa_session_iam"] = code(lambda: client("iam", sess(nomfa["Credentials"])).list_users())

# Organizations and cross-account AssumeRole with ExternalId.
org = client("organizations")
out["create_org"] = code(lambda: org.create_organization(FeatureSet="ALL"))
out["create_org_again"] = code(lambda: org.create_organization(FeatureSet="ALL"))
st = org.create_account(AccountName="dev", Email="dev@example.com")["CreateAccountStatus"]
st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
out["create_account_state"] = st["State"]
new = st["AccountId"]
admin = bsts.assume_role(RoleArn="arn:aws:iam::%s:role/OrganizationAccountAccessRole" % new, RoleSessionName="admin")
out["new_account_identity"] = client("sts", sess(admin["Credentials"])).get_caller_identity()["Account"] == new
niam = client("iam", sess(admin["Credentials"]))
xtrust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}}}]}
xrole = niam.create_role(RoleName="vendor", AssumeRolePolicyDocument=json.dumps(xtrust))["Role"]["Arn"]
out["cross_no_external_id"] = code(lambda: bsts.assume_role(RoleArn=xrole, RoleSessionName="x1"))
out["cross_with_external_id"] = code(lambda: bsts.assume_role(RoleArn=xrole, RoleSessionName="x1", ExternalId="ext-123"))
iam.create_user(UserName="carol")
kc = iam.create_access_key(UserName="carol")["AccessKey"]
carol = dict(aws_access_key_id=kc["AccessKeyId"], aws_secret_access_key=kc["SecretAccessKey"])
out["cross_without_identity_policy"] = code(lambda: client("sts", carol).assume_role(RoleArn=xrole, RoleSessionName="x1", ExternalId="ext-123"))
out["isolated_users"] = sorted(u["UserName"] for u in niam.list_users()["Users"])
print(json.dumps(out))
`

func TestBoto3Features(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	script := c.write(t, "features.py", boto3FeaturesScript)
	out, errOut, code := c.run(t, nil, pythonPath(), script, p.endpoint, testRootKeyID, testRootSecret)
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\n%s\n%s", code, out, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"source_identity":               "bob",
		"override_transitive":           "InvalidParameterValue",
		"change_source_identity":        "AccessDenied",
		"chain_too_long":                "ValidationError",
		"chained_source_identity":       "bob",
		"federated_arn":                 "arn:aws:sts::123456789012:federated-user/fed-user",
		"federated_iam":                 "AccessDenied",
		"federated_identity":            "arn:aws:sts::123456789012:federated-user/fed-user",
		"mfa_replay_enable_code":        "AccessDenied",
		"mfa_session_iam":               "ok",
		"mfa_replay":                    "AccessDenied",
		"no_mfa_session_iam":            "InvalidClientTokenId",
		"create_org":                    "ok",
		"create_org_again":              "AlreadyInOrganizationException",
		"create_account_state":          "SUCCEEDED",
		"new_account_identity":          true,
		"cross_no_external_id":          "AccessDenied",
		"cross_with_external_id":        "ok",
		"cross_without_identity_policy": "AccessDenied",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if n, ok := got["packed"].(float64); !ok || n <= 0 {
		t.Errorf("PackedPolicySize = %v", got["packed"])
	}
	if users, _ := got["isolated_users"].([]any); len(users) != 0 {
		t.Errorf("the new account sees users of another account: %v", users)
	}
}

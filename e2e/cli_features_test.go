package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAWSCLIFeatures drives session tags, source identity, chaining limits,
// federation tokens, Organizations and a cross-account profile with
// external_id through the real AWS CLI.
func TestAWSCLIFeatures(t *testing.T) {
	t.Parallel()
	p := serveBinary(t, t.TempDir(), "OPENSTS_ACCOUNT_ID="+testAccount, "OPENSTS_ROOT_ACCESS_KEY_ID="+testRootKeyID, "OPENSTS_ROOT_SECRET_ACCESS_KEY="+testRootSecret)
	c := newCLIEnv(t, p.endpoint)
	root := creds(testRootKeyID, testRootSecret, "")
	aws := func(env []string, args ...string) (map[string]any, string) {
		t.Helper()
		out, errOut, code := c.run(t, env, awsCLIPath(), append(append([]string{}, args...), "--endpoint-url", p.endpoint, "--output", "json")...)
		if code != 0 {
			return nil, errOut
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
		}
		return m, ""
	}
	ok := func(env []string, args ...string) map[string]any {
		t.Helper()
		m, errOut := aws(env, args...)
		if errOut != "" {
			t.Fatalf("aws %s: %s", strings.Join(args, " "), errOut)
		}
		return m
	}
	fails := func(code string, env []string, args ...string) {
		t.Helper()
		if _, errOut := aws(env, args...); !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws %s: want %s, got %q", strings.Join(args, " "), code, errOut)
		}
	}

	ok(root, "iam", "create-user", "--user-name", "cli")
	key := ok(root, "iam", "create-access-key", "--user-name", "cli")["AccessKey"].(map[string]any)
	user := creds(key["AccessKeyId"].(string), key["SecretAccessKey"].(string), "")
	ok(root, "iam", "put-user-policy", "--user-name", "cli", "--policy-name", "p", "--policy-document", allow("sts:*", "*"))
	trust := c.write(t, "trust.json", trustTagging)
	roleARN := ok(root, "iam", "create-role", "--role-name", "feat", "--assume-role-policy-document", "file://"+trust)["Role"].(map[string]any)["Arn"].(string)
	ok(root, "iam", "put-role-policy", "--role-name", "feat", "--policy-name", "chain", "--policy-document", allow("sts:*", "*"))

	ar := ok(user, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "cli-tags",
		"--tags", "Key=team,Value=a", "Key=env,Value=dev", "--transitive-tag-keys", "team", "--source-identity", "cli-user")
	if ar["SourceIdentity"] != "cli-user" || ar["PackedPolicySize"] == nil {
		t.Fatalf("assume-role with tags: %v", ar)
	}
	cr := ar["Credentials"].(map[string]any)
	sess := creds(cr["AccessKeyId"].(string), cr["SecretAccessKey"].(string), cr["SessionToken"].(string))
	fails("InvalidParameterValue", sess, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "again", "--tags", "Key=TEAM,Value=b")
	fails("AccessDenied", sess, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "again", "--source-identity", "someone-else")
	fails("ValidationError", sess, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "again", "--duration-seconds", "7200")
	chained := ok(sess, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "again")
	if chained["SourceIdentity"] != "cli-user" {
		t.Fatalf("chained source identity: %v", chained["SourceIdentity"])
	}
	fails("AccessDenied", sess, "sts", "get-session-token")

	fed := ok(user, "sts", "get-federation-token", "--name", "cli-fed", "--policy", allow("s3:*", "*"))
	if fed["FederatedUser"].(map[string]any)["Arn"] != "arn:aws:sts::123456789012:federated-user/cli-fed" {
		t.Fatalf("federation token: %v", fed)
	}
	fc := fed["Credentials"].(map[string]any)
	fedCreds := creds(fc["AccessKeyId"].(string), fc["SecretAccessKey"].(string), fc["SessionToken"].(string))
	fails("AccessDenied", fedCreds, "iam", "list-users")

	// A new account and a role there trusting this account with an
	// ExternalId, used from a profile with role_arn, source_profile and
	// external_id: the CLI's own credential provider calls OpenSTS.
	ok(root, "organizations", "create-organization")
	st := ok(root, "organizations", "create-account", "--account-name", "vendor", "--email", "vendor@example.com")["CreateAccountStatus"].(map[string]any)
	newAcct := st["AccountId"].(string)
	admin := ok(user, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+newAcct+":role/OrganizationAccountAccessRole", "--role-session-name", "admin")
	ac := admin["Credentials"].(map[string]any)
	adminCreds := creds(ac["AccessKeyId"].(string), ac["SecretAccessKey"].(string), ac["SessionToken"].(string))
	xtrust := c.write(t, "xtrust.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-42"}}}]}`)
	xrole := ok(adminCreds, "iam", "create-role", "--role-name", "vendor-access", "--assume-role-policy-document", "file://"+xtrust)["Role"].(map[string]any)["Arn"].(string)
	fails("AccessDenied", user, "sts", "assume-role", "--role-arn", xrole, "--role-session-name", "x1")
	c.write(t, "credentials", "[src]\naws_access_key_id = "+key["AccessKeyId"].(string)+"\naws_secret_access_key = "+key["SecretAccessKey"].(string)+"\n")
	c.write(t, "config", "[profile vendor]\nrole_arn = "+xrole+"\nsource_profile = src\nexternal_id = ext-42\nrole_session_name = via-profile\nregion = us-east-1\n")
	id := ok(nil, "sts", "get-caller-identity", "--profile", "vendor")
	if id["Account"] != newAcct || id["Arn"] != "arn:aws:sts::"+newAcct+":assumed-role/vendor-access/via-profile" {
		t.Fatalf("cross-account profile identity: %v", id)
	}
}

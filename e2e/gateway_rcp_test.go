package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestGatewayResourceControlPolicy drives the gateway with the AWS CLI
// against versitygw, the buckets owned by a member account in an OU: an
// object its identity policy and the bucket policy let a user read is
// refused once a resource control policy denying s3:GetObject is attached
// to the OU with `aws organizations attach-policy`, and read again once it
// is detached, through the server's change feed, without a restart.
func TestGatewayResourceControlPolicy(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	e := start(t, withClock(clk))
	member := e.newAccount(t, "storage")
	rootCreds := aws.Credentials{AccessKeyID: testRootKeyID, SecretAccessKey: testRootSecret}
	orgCLI := &s3cli{dir: t.TempDir(), endpoint: e.endpoint}
	orgJSON := func(args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		if out := orgCLI.ok(t, rootCreds, append(append([]string{"organizations"}, args...), "--output", "json")...); strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws organizations %v: %v: %s", args, err, out)
			}
		}
		return m
	}
	root := e.rootID(t)
	ou := orgJSON("create-organizational-unit", "--parent-id", root, "--name", "Data")["OrganizationalUnit"].(map[string]any)["Id"].(string)
	orgJSON("move-account", "--account-id", member, "--source-parent-id", root, "--destination-parent-id", ou)
	orgJSON("enable-policy-type", "--root-id", root, "--policy-type", "RESOURCE_CONTROL_POLICY")
	// RCPFullAWSAccess is attached everywhere while RCPs are enabled.
	for _, target := range []string{root, ou, member} {
		got := orgJSON("list-policies-for-target", "--target-id", target, "--filter", "RESOURCE_CONTROL_POLICY")["Policies"].([]any)
		if len(got) != 1 || got[0].(map[string]any)["Name"] != "RCPFullAWSAccess" {
			t.Fatalf("RCPs of %s: %v", target, got)
		}
	}
	rcp := orgJSON("create-policy", "--name", "NoReads", "--description", "no object reads", "--type", "RESOURCE_CONTROL_POLICY",
		"--content", `{"Version":"2012-10-17","Statement":[{"Sid":"NoReads","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`,
	)["Policy"].(map[string]any)["PolicySummary"].(map[string]any)["Id"].(string)

	// The gateway's identity and the reader are the member account's, made
	// by an administrator session in it.
	admin := e.assumeInto(t, e.admin(t, "ops"), member, "OrganizationAccountAccessRole")
	memberUser := func(name, policy string) aws.Credentials {
		t.Helper()
		must[*iam.CreateUserOutput](t)(admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
		must[*iam.PutUserPolicyOutput](t)(admin.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}))
		k := must[*iam.CreateAccessKeyOutput](t)(admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).AccessKey
		return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKeyId), SecretAccessKey: aws.ToString(k.SecretAccessKey)}
	}
	gwCreds := memberUser("gateway", gatewayIdentity)
	reader := memberUser("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`)

	up := startUpstream(t, "data")
	up.put(t, "data", "report.txt", "quarterly")
	policies := t.TempDir()
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + member + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`
	if err := os.WriteFile(filepath.Join(policies, "data.json"), []byte(bucketPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, e, up, gwCreds, "--bucket-policies", policies)
	cli := &s3cli{dir: t.TempDir(), endpoint: gw.url}
	read := func() (string, string, int) { return cli.run(t, reader, "s3", "cp", "s3://data/report.txt", "-") }
	if out, errOut, code := read(); code != 0 || out != "quarterly" {
		t.Fatalf("before the RCP: exit %d %q %s", code, out, errOut)
	}

	// eventually waits for the server's change feed (not a restart).
	eventually := func(what string, f func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !f(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15 s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	orgJSON("attach-policy", "--policy-id", rcp, "--target-id", ou)
	eventually("the RCP denies the read", func() bool {
		_, errOut, code := read()
		return code != 0 && strings.Contains(errOut, "403")
	})
	if log := gw.stderr.String(); !strings.Contains(log, "denied_by=rcp") {
		t.Fatalf("the gateway's log does not name the RCP as the denier:\n%s", log)
	}
	if _, ok := up.has(t, "data", "report.txt"); !ok {
		t.Fatal("the object is gone upstream")
	}
	// Other actions are not denied by it: the bucket policy and identity
	// still decide (the reader may not list).
	cli.fails(t, reader, "AccessDenied", "s3", "ls", "s3://data/")

	orgJSON("detach-policy", "--policy-id", rcp, "--target-id", ou)
	eventually("the read is allowed again", func() bool {
		out, _, code := read()
		return code == 0 && out == "quarterly"
	})
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// credsEnv is a server with a user whose key may assume the role "app".
type credsEnv struct {
	*env
	keyID, secret string
	appARN        string
}

func startCreds(t *testing.T) *credsEnv {
	t.Helper()
	e := start(t)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.rootIAM().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")}))
	k := must[*iam.CreateAccessKeyOutput](t)(e.rootIAM().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deployer")}))
	trust := trustDoc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/deployer"},"Action":"sts:AssumeRole"}`)
	must[*iam.CreateRoleOutput](t)(e.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}))
	return &credsEnv{env: e, keyID: aws.ToString(k.AccessKey.AccessKeyId), secret: aws.ToString(k.AccessKey.SecretAccessKey),
		appARN: "arn:aws:iam::" + testAccount + ":role/app"}
}

// serveCredentials runs `opensts credentials serve` with the given
// environment (its own identity) and flags, and returns its base URL once
// it listens.
func serveCredentials(t *testing.T, env []string, args ...string) string {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary(t), append([]string{"credentials", "serve", "--listen", addr}, args...)...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	drained := make(chan struct{}) // stderr read to its end, and kept
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var log []string
	rest := &syncBuffer{} // what it writes once serving
	t.Cleanup(func() {
		// Stopped gracefully, so that all it wrote is read before Wait.
		stop(cmd.Process, syscall.SIGTERM, drained, 10*time.Second)
		_ = cmd.Wait()
		checkRaces(t, "opensts credentials serve", strings.Join(log, "\n")+"\n"+rest.String())
	})
	// Once this stops reading them (serving, or failed), the rest of its
	// lines are kept, so that it never blocks on a full pipe.
	defer func() {
		go func() {
			defer close(drained)
			for l := range lines {
				fmt.Fprintln(rest, l)
			}
		}()
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("opensts credentials serve exited:\n%s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if strings.Contains(l, "credentials: serving") {
				return "http://" + addr
			}
		case <-timeout:
			t.Fatalf("opensts credentials serve did not start:\n%s", strings.Join(log, "\n"))
		}
	}
}

// fetchContainer reads the container endpoint's credentials directly.
func fetchContainer(t *testing.T, url, token string) (akid string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c struct{ AccessKeyId string }
	if resp.StatusCode != 200 || json.Unmarshal(b, &c) != nil {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	return c.AccessKeyId
}

// TestCredentialsServe: unmodified clients obtain the role's credentials
// from `opensts credentials serve`, over the container protocol and over
// IMDSv2, and keep working while they are refreshed.
func TestCredentialsServe(t *testing.T) {
	e := startCreds(t)
	own := creds(e.keyID, e.secret, "")
	token := "container-token-0123456789"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	// Credentials that live 15 minutes, replaced every 2 seconds.
	url := serveCredentials(t, own, "--role-arn", e.appARN, "--endpoint-url", e.endpoint, "--role-session-name", "workload",
		"--auth-token-file", tokenFile, "--duration", "15m", "--refresh-margin", "14m58s")
	imdsURL := serveCredentials(t, own, "--role-arn", e.appARN, "--endpoint-url", e.endpoint, "--role-session-name", "instance", "--imds")
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/app/"

	container := []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token}
	imds := []string{"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imdsURL + "/"}
	ctx := context.Background()

	sdkCaller := func(t *testing.T, vars map[string]string) (*sts.Client, string) {
		t.Helper()
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
		t.Setenv("AWS_CONFIG_FILE", os.DevNull)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
		t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
		for k, v := range vars {
			t.Setenv(k, v)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"), awsconfig.WithBaseEndpoint(e.endpoint))
		if err != nil {
			t.Fatal(err)
		}
		c := sts.NewFromConfig(cfg)
		id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		return c, aws.ToString(id.Arn)
	}

	t.Run("aws-sdk-go-v2 container", func(t *testing.T) {
		c, arn := sdkCaller(t, map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile})
		if arn != wantARN+"workload" {
			t.Errorf("caller %s", arn)
		}
		// The server replaces its credentials; the client's cached ones
		// keep working, and a new client gets the new ones.
		first := fetchContainer(t, url, token)
		deadline := time.Now().Add(30 * time.Second)
		for fetchContainer(t, url, token) == first {
			if time.Now().After(deadline) {
				t.Fatal("the credentials were not refreshed")
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("after a refresh: %v", err)
		}
		if _, arn := sdkCaller(t, map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile}); arn != wantARN+"workload" {
			t.Errorf("after a refresh, caller %s", arn)
		}
	})
	t.Run("aws-sdk-go-v2 container wrong token", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad")
		if err := os.WriteFile(bad, []byte("not-the-token"), 0o600); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": bad,
			"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""} {
			t.Setenv(k, v)
		}
		os.Unsetenv("AWS_ACCESS_KEY_ID")
		os.Unsetenv("AWS_SECRET_ACCESS_KEY")
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"), awsconfig.WithBaseEndpoint(e.endpoint))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			t.Fatal("credentials obtained with the wrong authorization token")
		}
	})
	t.Run("aws-sdk-go-v2 imds", func(t *testing.T) {
		if _, arn := sdkCaller(t, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsURL + "/"}); arn != wantARN+"instance" {
			t.Errorf("caller %s", arn)
		}
	})

	c := newCLIEnv(t, e.endpoint)
	for _, tc := range []struct {
		name string
		vars []string
		want string
	}{{"container", container, "workload"}, {"imds", imds, "instance"}} {
		t.Run("aws cli "+tc.name, func(t *testing.T) {
			out, errOut, code := c.run(t, tc.vars, awsCLIPath(), "sts", "get-caller-identity", "--endpoint-url", e.endpoint, "--output", "json")
			if code != 0 || !strings.Contains(out, `"`+wantARN+tc.want+`"`) {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
		})
		t.Run("boto3 "+tc.name, func(t *testing.T) {
			script := `import boto3, sys
print(boto3.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])`
			out, errOut, code := c.run(t, tc.vars, pythonPath(), "-c", script, e.endpoint)
			if code != 0 || strings.TrimSpace(out) != wantARN+tc.want {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
		})
	}
	t.Run("boto3 across refreshes", func(t *testing.T) {
		// One client, calls spread over several of the server's refreshes
		// (every 2 s): each succeeds, and the keys it used changed.
		script := `import boto3, sys, time
s = boto3.session.Session()
c = s.client("sts", endpoint_url=sys.argv[1])
keys = set()
for i in range(4):
    print(c.get_caller_identity()["Arn"])
    keys.add(s.get_credentials().get_frozen_credentials().access_key)
    time.sleep(2.5)
print(len(keys))`
		out, errOut, code := c.run(t, container, pythonPath(), "-c", script, e.endpoint)
		lines := strings.Fields(out)
		if code != 0 || len(lines) != 5 || lines[0] != wantARN+"workload" || lines[3] != wantARN+"workload" || lines[4] == "1" {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("aws cli container wrong token", func(t *testing.T) {
		_, _, code := c.run(t, []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong"},
			awsCLIPath(), "sts", "get-caller-identity", "--endpoint-url", e.endpoint)
		if code == 0 {
			t.Fatal("the CLI obtained credentials with the wrong authorization token")
		}
	})
}

// TestCredentialsProcess: credential_process in ~/.aws/config, with the
// command's own identity from a named profile, for the AWS CLI, boto3 and
// aws-sdk-go-v2; and from a web identity token file, with no secret at all.
func TestCredentialsProcess(t *testing.T) {
	e := startCreds(t)
	c := newCLIEnv(t, e.endpoint)
	bin := binary(t)
	c.write(t, "credentials", "[base]\naws_access_key_id = "+e.keyID+"\naws_secret_access_key = "+e.secret+"\n")
	cfgFile := c.write(t, "config", "[profile app]\nregion = us-east-1\ncredential_process = "+bin+" credentials process --role-arn "+e.appARN+
		" --endpoint-url "+e.endpoint+" --profile base --role-session-name proc\n")
	want := "arn:aws:sts::" + testAccount + ":assumed-role/app/proc"

	out, errOut, code := c.run(t, nil, bin, "credentials", "process", "--role-arn", e.appARN, "--endpoint-url", e.endpoint, "--profile", "base")
	var p struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if exp, err := time.Parse(time.RFC3339, p.Expiration); p.Version != 1 || !strings.HasPrefix(p.AccessKeyId, "ASIA") || p.SecretAccessKey == "" ||
		p.SessionToken == "" || err != nil || time.Until(exp) < 50*time.Minute {
		t.Errorf("%+v", p)
	}
	t.Run("aws cli", func(t *testing.T) {
		out, errOut, code := c.run(t, []string{"AWS_PROFILE=app"}, awsCLIPath(), "sts", "get-caller-identity", "--endpoint-url", e.endpoint, "--output", "json")
		if code != 0 || !strings.Contains(out, `"`+want+`"`) {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		out, errOut, code := c.run(t, []string{"AWS_PROFILE=app"}, pythonPath(), "-c",
			`import boto3, sys
print(boto3.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])`, e.endpoint)
		if code != 0 || strings.TrimSpace(out) != want {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		// The SDK runs the process with its own environment.
		t.Setenv("AWS_CONFIG_FILE", cfgFile)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(c.dir, "credentials"))
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithSharedConfigProfile("app"), awsconfig.WithBaseEndpoint(e.endpoint))
		if err != nil {
			t.Fatal(err)
		}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Arn) != want {
			t.Fatalf("%v %v", id, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		// A role the identity may not assume: non-zero exit, nothing on
		// stdout, the AWS error on stderr.
		out, errOut, code := c.run(t, nil, bin, "credentials", "process", "--role-arn", "arn:aws:iam::"+testAccount+":role/none",
			"--endpoint-url", e.endpoint, "--profile", "base")
		if code == 0 || out != "" || !strings.Contains(errOut, "AccessDenied") || strings.Contains(errOut, e.secret) {
			t.Fatalf("exit %d: %q %q", code, out, errOut)
		}
		_, errOut, code = c.run(t, nil, bin, "credentials", "process", "--role-arn", e.appARN, "--endpoint-url", e.endpoint, "--profile", "base", "--duration", "5m")
		if code == 0 || !strings.Contains(errOut, "--duration") {
			t.Fatalf("exit %d: %q", code, errOut)
		}
	})
}

// TestCredentialsWebIdentity: a workload with only a web identity token
// file (a Kubernetes projected service-account token) gets role
// credentials: the command's own identity is the web identity role.
func TestCredentialsWebIdentity(t *testing.T) {
	t.Parallel()
	o := startOIDC(t, time.Second, 3*time.Second)
	ctx := context.Background()
	trust := trustDoc(`{"Effect":"Allow","Principal":{"AWS":"` + o.roleARN("web") + `"},"Action":"sts:AssumeRole"}`)
	must[*iam.CreateRoleOutput](t)(o.rootIAM().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("target"), AssumeRolePolicyDocument: aws.String(trust)}))
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(o.idp.Sign(t, "ec1", o.idp.claims("user-1", oidcClientID))), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLIEnv(t, o.endpoint)
	out, errOut, code := c.run(t, []string{"AWS_ROLE_ARN=" + o.roleARN("web"), "AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile, "AWS_ROLE_SESSION_NAME=pod"},
		binary(t), "credentials", "process", "--role-arn", o.roleARN("target"), "--endpoint-url", o.endpoint, "--role-session-name", "from-pod")
	var p struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	id, err := o.sts(p.AccessKeyId, p.SecretAccessKey, p.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::"+testAccount+":assumed-role/target/from-pod" {
		t.Fatalf("%v %v", id, err)
	}
}

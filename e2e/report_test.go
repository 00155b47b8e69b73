package e2e

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// TestReportCommands runs `opensts report unused` and `opensts report
// trust` against a real server holding known data: uses made through the
// API now, and uses seeded in the store 50 days from now. The reports are
// judged as of 100 days from now with --days 90, so that a use counts as
// recent only if it is one of the seeded ones.
func TestReportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startIn(t, dir)
	root := e.rootIAM()
	const own = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	busyARN := e.role(t, "ci-busy", "", own)
	e.rolePolicy(t, "ci-busy", "p", allow("iam:*", "*"))
	e.role(t, "idle", "", `{"Version":"2012-10-17","Statement":[{"Sid":"Anyone","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`)
	admin := must[*iam.CreatePolicyOutput](t)(root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("AdminAll"), PolicyDocument: aws.String(allow("*", "*"))}))
	must[*iam.AttachRolePolicyOutput](t)(root.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("idle"), PolicyArn: admin.Policy.Arn}))
	e.role(t, "partner", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sts:AssumeRole"}]}`)
	must[*iam.CreateOpenIDConnectProviderOutput](t)(root.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://token.actions.githubusercontent.com"), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)}}))
	e.role(t, "github", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`)
	staleARN := e.role(t, "stale", "", own)
	akid, secret := e.user(t, "alice")
	e.userPolicy(t, "alice", "p", allow("sts:AssumeRole", "*"))
	idle := must[*iam.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	// Live uses: alice assumes stale (its RoleLastUsed, her key's last
	// use, her sts use: all now, so older than the cut-off).
	must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(staleARN), RoleSessionName: aws.String("live")}))
	e.stop() // writes what is pending

	now := time.Now().UTC()
	later := now.Add(50 * 24 * time.Hour)
	st, err := sqlite.Open(filepath.Join(dir, "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	busy, err := st.GetRole(ctx, testAccount, "ci-busy")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.TouchRole(ctx, busy.ID, later, "us-east-1"),
		st.TouchAccessKey(ctx, akid, later, "sts", "us-east-1"),
		st.RecordServiceAccess(ctx, []store.ServiceAccess{{PrincipalID: busy.ID, Account: testAccount, Service: "iam", Action: "ListUsers", At: later, Region: "us-east-1"}}),
		st.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	e = startIn(t, dir)

	c := newCLIEnv(t, e.endpoint)
	bin := binary(t)
	rootEnv := creds(testRootKeyID, testRootSecret, "")
	asOf := now.Add(100 * 24 * time.Hour).Format(time.RFC3339)
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := c.run(t, rootEnv, bin, append(args, "--endpoint-url", e.endpoint, "--as-of", asOf)...)
		if code != 0 {
			t.Fatalf("opensts %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	var unused struct {
		Days     int
		Findings []struct{ Kind, Name, ARN, Detail string }
	}
	if err := json.Unmarshal([]byte(run("report", "unused", "--output", "json")), &unused); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range unused.Findings {
		got = append(got, f.Kind+" "+f.Name)
	}
	want := []string{"role github", "role idle", "role partner", "role stale", "user bob", "access-key " + *idle.AccessKey.AccessKeyId, "permission alice sts",
		// AdminAll grants idle every service: none used.
		"permission idle cloudtrail", "permission idle iam", "permission idle organizations", "permission idle sts"}
	if unused.Days != 90 || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("unused:\n got %q\nwant %q", got, want)
	}
	for _, f := range unused.Findings {
		switch f.Name {
		case "stale": // assumed through the API: its RoleLastUsed is known
			if !strings.Contains(f.Detail, "last used") || f.ARN != staleARN {
				t.Errorf("stale: %+v", f)
			}
		case "idle":
			if !strings.Contains(f.Detail, "never used") {
				t.Errorf("idle: %+v", f)
			}
		}
	}
	table := run("report", "unused")
	if !strings.Contains(table, "KIND") || !strings.Contains(table, "access-key") || strings.Contains(table, "ci-busy") || strings.Contains(table, busyARN) {
		t.Fatalf("unused table:\n%s", table)
	}

	var trust struct {
		Findings     []struct{ Role, Statement, Severity, Finding, Fix string }
		CrossAccount []struct {
			Role, Account string
			ExternalID    bool
		}
	}
	if err := json.Unmarshal([]byte(run("report", "trust", "--output", "json")), &trust); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, f := range trust.Findings {
		got = append(got, f.Severity+" "+f.Role+" "+f.Statement)
	}
	sort.Strings(got)
	want = []string{
		"HIGH github #1", "HIGH idle Anyone", "HIGH idle " + *admin.Policy.Arn + " #1", "HIGH partner #1",
		"LOW github -", "LOW idle -", "LOW partner -", "LOW stale -",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("trust:\n got %q\nwant %q", got, want)
	}
	if len(trust.CrossAccount) != 1 || trust.CrossAccount[0].Role != "partner" || trust.CrossAccount[0].Account != "210987654321" || trust.CrossAccount[0].ExternalID {
		t.Fatalf("cross-account: %+v", trust.CrossAccount)
	}
	table = run("report", "trust")
	if !strings.Contains(table, "SEVERITY") || !strings.Contains(table, "Cross-account trust:") || !strings.Contains(table, "210987654321") {
		t.Fatalf("trust table:\n%s", table)
	}

	// Errors exit non-zero: bad flags, and a caller without permission.
	if _, errOut, code := c.run(t, rootEnv, bin, "report", "unused", "--endpoint-url", e.endpoint, "--output", "yaml"); code == 0 || !strings.Contains(errOut, "--output") {
		t.Fatalf("--output yaml: %d %s", code, errOut)
	}
	bobKey := must[*iam.CreateAccessKeyOutput](t)(e.rootIAM().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")}))
	if _, errOut, code := c.run(t, creds(*bobKey.AccessKey.AccessKeyId, *bobKey.AccessKey.SecretAccessKey, ""), bin, "report", "trust", "--endpoint-url", e.endpoint); code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Fatalf("bob: %d %s", code, errOut)
	}
}

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
	"github.com/opensts/opensts/internal/sharedtest"
)

func withPostgres(dsn string) envOption {
	return func(c *config.Config, _ *server.Options) {
		c.Store = "postgres"
		c.DatabaseURL = dsn
		c.RefreshInterval = 200 * time.Millisecond
	}
}

// TestTwoNodesOnPostgres runs two servers on one PostgreSQL database: what
// one node creates and issues, the other serves and verifies.
func TestTwoNodesOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn))
	b := start(t, withPostgres(dsn))

	akid, secret := a.user(t, "pg-user")
	roleARN := a.role(t, "pg-role", "", trustAccount)
	a.userPolicy(t, "pg-user", "assume", allow("sts:AssumeRole", roleARN))
	a.rolePolicy(t, "pg-role", "list", allow("iam:ListUsers", "*"))

	// The long-term key created through node A authenticates on node B.
	out := must[*sts.AssumeRoleOutput](t)(b.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("on-b")}))
	c := out.Credentials
	// Credentials minted by B verify on A without any lookup.
	id := must[*sts.GetCallerIdentityOutput](t)(a.sts(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != "arn:aws:sts::123456789012:assumed-role/pg-role/on-b" {
		t.Fatal(*id.Arn)
	}
	sessB := b.iam(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if _, err := sessB.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	// A policy change made through A reaches B within its refresh interval.
	a.rolePolicy(t, "pg-role", "deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := sessB.ListUsers(ctx, &iam.ListUsersInput{})
		if err != nil {
			wantCode(t, err, "AccessDenied")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node B still allows ListUsers 5s after the deny was written through node A")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Both nodes report the one management account.
	ida := must[*sts.GetCallerIdentityOutput](t)(a.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	idb := must[*sts.GetCallerIdentityOutput](t)(b.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *ida.Account != *idb.Account {
		t.Fatalf("accounts differ: %s %s", *ida.Account, *idb.Account)
	}
}

// postgresSchema returns a DSN for a fresh schema of the test database
// (sharedtest.PostgresSchema).
func postgresSchema(t *testing.T) string {
	t.Helper()
	return sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "e2e")
}

// TestAuditAnchoredHeadPerNode: two nodes of one PostgreSQL database each
// anchor their own trail's head (a setting named after the host and the
// trail's directory), and `opensts audit verify --store postgres` checks
// each trail against its own: a trail cut short fails, the other node's
// passes.
func TestAuditAnchoredHeadPerNode(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn))
	b := start(t, withPostgres(dsn))
	for _, n := range []*env{a, b} {
		if _, err := n.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	a.stop()
	b.stop()
	verify := func(dataDir string, args ...string) (string, error) {
		cmd := exec.Command(binary(t), append([]string{"audit", "verify", "--store", "postgres", "--data-dir", dataDir}, args...)...)
		cmd.Env = append(os.Environ(), "OPENSTS_MASTER_KEY="+testMasterKey, "OPENSTS_DATABASE_URL="+dsn)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	settings := map[string]bool{}
	for _, n := range []*env{a, b} {
		out, err := verify(n.dataDir)
		m := regexp.MustCompile(`anchored in the store \(setting (audit\.head\.\S+)\) present`).FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("verify %s: %v: %s", n.dataDir, err, out)
		}
		settings[m[1]] = true
	}
	if len(settings) != 2 {
		t.Fatalf("the two nodes share an anchor: %v", settings)
	}
	files, _ := filepath.Glob(filepath.Join(a.dataDir, "audit", "audit-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no trail files")
	}
	last := files[len(files)-1]
	data, _ := os.ReadFile(last)
	ls := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	if err := os.WriteFile(last, []byte(strings.Join(ls[:len(ls)-1], "")), 0o600); err != nil { // the digest
		t.Fatal(err)
	}
	if out, err := verify(a.dataDir); err == nil || !strings.Contains(out, "short of the head anchored in the store") {
		t.Fatalf("verify of node A's trail cut short: %v: %s", err, out)
	}
	if out, err := verify(b.dataDir); err != nil {
		t.Fatalf("verify of node B's trail: %v: %s", err, out)
	}
}

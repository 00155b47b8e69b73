package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// postgresSchema returns a DSN for a fresh schema of the test database
// (OPENSTS_TEST_POSTGRES_DSN, which `make test` sets up). In CI a missing
// database fails the test.
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OPENSTS_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OPENSTS_TEST_POSTGRES_DSN is not set; CI must test the postgres backend")
		}
		t.Skip("OPENSTS_TEST_POSTGRES_DSN is not set (make test sets it up)")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "e2e_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(context.Background())
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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

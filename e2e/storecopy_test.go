package e2e

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/server"
)

// TestStoreCopyRoundTrip moves a deployment SQLite -> PostgreSQL -> a new
// SQLite data directory with `opensts store copy`, and checks after each
// move that the server on the copy accepts the old long-term keys and the
// sessions issued before the move, still refuses a revoked session, keeps
// the IAM data, and that a copy into a store that holds data is refused.
func TestStoreCopyRoundTrip(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	bin := binary(t)
	dir1, dir2 := t.TempDir(), filepath.Join(t.TempDir(), "copied")

	a := startIn(t, dir1)
	akid, secret := a.user(t, "mover")
	roleARN := a.role(t, "moved", "", trustAccount)
	a.userPolicy(t, "mover", "assume", allow("sts:AssumeRole", roleARN))
	a.rolePolicy(t, "moved", "list", allow("iam:ListUsers", "*"))
	assume := func(e *env, name string) creds3 {
		out := must[*sts.AssumeRoleOutput](t)(e.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(name)}))
		return credsOf(out.Credentials)
	}
	live, revoked := assume(a, "live"), assume(a, "revoked")
	a.revoke(t, map[string]any{"AccessKeyId": revoked.akid})
	a.stop()

	storeCopy := func(from, to string) (string, error) {
		out, err := exec.Command(bin, "store", "copy", "--from", from, "--to", to).CombinedOutput()
		return string(out), err
	}
	check := func(e *env, where string) {
		t.Helper()
		// The user's long-term key (its secret sealed under the master key).
		if _, err := e.sts(akid, secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("%s: the old access key: %v", where, err)
		}
		// A session issued before the move (signed by the copied keyring),
		// with the role's copied policy.
		if _, err := e.iam(live.akid, live.secret, live.token).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
			t.Fatalf("%s: the old session: %v", where, err)
		}
		if e.works(t, revoked) {
			t.Fatalf("%s: the revoked session is accepted", where)
		}
		// New sessions are issued and the root key still works.
		if !e.works(t, assume(e, "after-"+where)) {
			t.Fatalf("%s: a new session is refused", where)
		}
		users := must[*iam.ListUsersOutput](t)(e.iam(testRootKeyID, testRootSecret, "").ListUsers(ctx, &iam.ListUsersInput{}))
		if len(users.Users) != 1 || *users.Users[0].UserName != "mover" {
			t.Fatalf("%s: users %v", where, users.Users)
		}
	}

	out, err := storeCopy(dir1, dsn)
	if err != nil {
		t.Fatalf("copy to postgres: %v\n%s", err, out)
	}
	if !strings.Contains(out, "users") || !strings.Contains(out, "copied ") {
		t.Fatalf("copy report: %s", out)
	}
	// The target holds data now: a second copy into it is refused, and
	// changes nothing.
	if out, err := storeCopy(dir1, dsn); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("copy into a non-empty database: %v\n%s", err, out)
	}
	// A node with another master key than the data's refuses to start.
	cfg := config.Default()
	cfg.Store, cfg.DatabaseURL, cfg.DataDir = "postgres", dsn, t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{9}, 32)
	if srv, err := server.New(ctx, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard}); !errors.Is(err, seal.ErrOpen) {
		if srv != nil {
			srv.Close()
		}
		t.Fatalf("a node with another master key: %v", err)
	}
	pg := start(t, withPostgres(dsn))
	check(pg, "postgres")
	pg.stop()

	out, err = storeCopy(dsn, dir2)
	if err != nil {
		t.Fatalf("copy back to sqlite: %v\n%s", err, out)
	}
	b := startIn(t, dir2)
	check(b, "sqlite")
	b.stop()
	if out, err := storeCopy(dsn, dir2); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("copy into a non-empty data directory: %v\n%s", err, out)
	}
}

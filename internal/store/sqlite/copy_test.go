package sqlite

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// TestCopy copies one data directory's store into another (the PostgreSQL
// legs run in e2e): the rows arrive as stored, a target with data is
// refused, and so is a schema with a table the copy does not know.
func TestCopy(t *testing.T) {
	ctx := t.Context()
	src, _ := openTemp(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(src.CreateAccount(ctx, store.Account{ID: "111111111111", Name: "a", Email: "a@x", CreatedAt: now, Management: true}))
	must(src.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDAALICE", Name: "alice", Path: "/", CreatedAt: now, Tags: []store.Tag{{Key: "k", Value: "v"}}}))
	sealed := []byte{0, 1, 2, 0xff, 0xfe}
	must(src.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAALICE", Account: "111111111111", UserName: "alice", UserID: "AIDAALICE", Secret: sealed, Status: "Active", CreatedAt: now}))
	must(src.CreateRole(ctx, store.Role{Account: "111111111111", ID: "AROAAPP", Name: "app", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}))
	must(src.CreateInstanceProfile(ctx, store.InstanceProfile{Account: "111111111111", ID: "AIPAAPP", Name: "app", Path: "/", CreatedAt: now}))
	must(src.SetInstanceProfileRole(ctx, "111111111111", "app", "AROAAPP"))
	must(src.CreateLoginProfile(ctx, store.LoginProfile{Account: "111111111111", UserName: "alice", PasswordHash: "$argon2id$hash", PasswordResetRequired: true, CreatedAt: now, PasswordChangedAt: now}))
	must(src.PutPasswordPolicy(ctx, "111111111111", store.PasswordPolicy{MinimumPasswordLength: 12}))
	must(src.PutAccountAlias(ctx, "111111111111", "copied"))
	must(src.CreateUserCredential(ctx, store.UserCredential{Account: "111111111111", UserName: "alice", Kind: store.CredentialService, ID: "ACCAALICE", Status: "Active",
		CreatedAt: now, Fingerprint: "ACCAALICE", ServiceName: "codecommit.amazonaws.com", ServiceUserName: "alice-at-1", Secret: sealed}, 0))
	must(src.CreateServerCertificate(ctx, store.ServerCertificate{Account: "111111111111", ID: "ASCAWEB", Name: "web", Path: "/", Body: "pem", PrivateKey: sealed, UploadedAt: now, Expiration: now}))
	must(src.PutCredentialReport(ctx, store.CredentialReport{Account: "111111111111", GeneratedAt: now, Content: []byte("user\n")}))
	must(src.PutRoleDeletionTask(ctx, store.RoleDeletionTask{Account: "111111111111", ID: "task/1", RoleName: "r", Status: "SUCCEEDED", CreatedAt: now}))
	_, err := src.FailThrottle(ctx, []byte("k"), store.ThrottleLimit{Max: 5, Window: time.Minute, Lockout: time.Minute}, now)
	must(err)

	dst, _ := openTemp(t)
	rep, err := sqlstore.Copy(ctx, dst.Store, src.Store)
	must(err)
	if rep.Rows["users"] != 1 || rep.Rows["access_keys"] != 1 || rep.Rows["throttles"] != 1 || rep.ChangeSeq == 0 {
		t.Fatalf("report %+v", rep)
	}
	k, err := dst.GetAccessKey(ctx, "AKIAALICE")
	must(err)
	if !bytes.Equal(k.Secret, sealed) || !k.CreatedAt.Equal(now) {
		t.Fatalf("copied key %+v", k)
	}
	u, err := dst.GetUser(ctx, "111111111111", "ALICE")
	must(err)
	if u.ID != "AIDAALICE" || len(u.Tags) != 1 {
		t.Fatalf("copied user %+v", u)
	}
	ip, err := dst.GetInstanceProfile(ctx, "111111111111", "app")
	must(err)
	lp, err := dst.GetLoginProfile(ctx, "111111111111", "alice")
	must(err)
	pp, err := dst.GetPasswordPolicy(ctx, "111111111111")
	must(err)
	aliases, err := dst.ListAccountAliases(ctx, "111111111111")
	must(err)
	if ip.RoleID != "AROAAPP" || lp.PasswordHash != "$argon2id$hash" || !lp.PasswordResetRequired || pp.MinimumPasswordLength != 12 || len(aliases) != 1 {
		t.Fatalf("copied IAM surface: %+v %+v %+v %v", ip, lp, pp, aliases)
	}
	uc, err := dst.GetUserCredential(ctx, "111111111111", "alice", store.CredentialService, "ACCAALICE")
	must(err)
	sc, err := dst.GetServerCertificate(ctx, "111111111111", "web")
	must(err)
	cr, err := dst.GetCredentialReport(ctx, "111111111111")
	must(err)
	task, err := dst.GetRoleDeletionTask(ctx, "111111111111", "task/1")
	must(err)
	if string(uc.Secret) != string(sealed) || string(sc.PrivateKey) != string(sealed) || string(cr.Content) != "user\n" || task.Status != "SUCCEEDED" {
		t.Fatalf("copied IAM credentials: %+v %+v %+v %+v", uc, sc, cr, task)
	}
	srcSeq, _ := src.LastChange(ctx)
	dstSeq, _ := dst.LastChange(ctx)
	if srcSeq != dstSeq {
		t.Fatalf("change feed at %d, source at %d", dstSeq, srcSeq)
	}
	// New rows after the copy get keys of their own.
	must(dst.CreateUser(ctx, store.User{Account: "111111111111", ID: "AIDABOB", Name: "bob", Path: "/", CreatedAt: now}))

	// A target with data is refused, and keeps its data.
	if _, err := sqlstore.Copy(ctx, dst.Store, src.Store); !errors.Is(err, sqlstore.ErrTargetNotEmpty) {
		t.Fatalf("copy into a store with data: %v", err)
	}
	if _, err := dst.GetUser(ctx, "111111111111", "bob"); err != nil {
		t.Fatalf("after a refused copy: %v", err)
	}
	// A table the copy does not know stops it before anything is written.
	empty, _ := openTemp(t)
	if _, err := empty.wdb.ExecContext(ctx, `CREATE TABLE unknown_state (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Copy(ctx, empty.Store, src.Store); err == nil {
		t.Fatal("copy into a schema with an unknown table succeeded")
	}
}

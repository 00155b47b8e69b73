package iam_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestLoginProfiles(t *testing.T) {
	e := newEnv(t)
	root := e.rootA
	alice := e.user("alice", "/")
	const pw1, pw2, pw3 = "Correct-Horse-1", "Battery+Staple-2", "Another+Secret-3"

	_, err := e.svc.CreateLoginProfile(e.ctx, root, &iam.CreateLoginProfileInput{UserName: "nobody", Password: pw1})
	wantErr(t, err, apierr.NoSuchEntity)
	// The default policy: 8 characters of three kinds.
	for _, weak := range []string{"Ab1!", "alllowercase", "lowercase123"} {
		_, err = e.svc.CreateLoginProfile(e.ctx, root, &iam.CreateLoginProfileInput{UserName: "alice", Password: weak})
		wantErr(t, err, apierr.PasswordPolicyViolation)
		if strings.Contains(err.Error(), weak) {
			t.Errorf("error %q shows the password", err)
		}
	}
	out := must[*iam.CreateLoginProfileOutput](t)(e.svc.CreateLoginProfile(e.ctx, root, &iam.CreateLoginProfileInput{UserName: "ALICE", Password: pw1, PasswordResetRequired: true}))
	if out.LoginProfile.UserName != "alice" || !out.LoginProfile.PasswordResetRequired || out.LoginProfile.CreateDate.IsZero() {
		t.Fatalf("created %+v", out.LoginProfile)
	}
	_, err = e.svc.CreateLoginProfile(e.ctx, root, &iam.CreateLoginProfileInput{UserName: "alice", Password: pw1})
	wantErr(t, err, apierr.EntityAlreadyExists)

	// The store holds an argon2id hash, never the password.
	lp, err := e.store.GetLoginProfile(e.ctx, acctA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lp.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(lp.PasswordHash, pw1) {
		t.Fatalf("stored hash %q", lp.PasswordHash)
	}

	// ChangePassword: the caller's own, with the old password.
	_, err = e.svc.ChangePassword(e.ctx, root, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: pw2})
	wantErr(t, err, apierr.InvalidUserType)
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: pw2})
	wantErr(t, err, apierr.AccessDenied) // no iam:ChangePassword, no policy allowing it
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(e.svc.UpdateAccountPasswordPolicy(e.ctx, root, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: ptr[int32](12), RequireSymbols: true, RequireNumbers: true, AllowUsersToChangePassword: true, PasswordReusePrevention: ptr[int32](2)}))
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: "Wrong-Password-1", NewPassword: pw2})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: "Short-1"})
	wantErr(t, err, apierr.PasswordPolicyViolation)
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: "NoSymbolsHere123"})
	wantErr(t, err, apierr.PasswordPolicyViolation)
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: pw1})
	wantErr(t, err, apierr.PasswordPolicyViolation) // reuse
	// An explicit deny wins over the policy's permission.
	e.putUserPolicy("alice", "deny", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:ChangePassword","Resource":"*"}}`)
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: pw2})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.DeleteUserPolicyOutput](t)(e.svc.DeleteUserPolicy(e.ctx, root, &iam.DeleteUserPolicyInput{UserName: "alice", PolicyName: "deny"}))
	must[*iam.ChangePasswordOutput](t)(e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw1, NewPassword: pw2}))
	got := must[*iam.GetLoginProfileOutput](t)(e.svc.GetLoginProfile(e.ctx, root, &iam.GetLoginProfileInput{UserName: "alice"}))
	if got.LoginProfile.PasswordResetRequired {
		t.Error("ChangePassword left PasswordResetRequired set")
	}
	// The previous two passwords are refused, the third back is not.
	must[*iam.ChangePasswordOutput](t)(e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw2, NewPassword: pw3}))
	_, err = e.svc.UpdateLoginProfile(e.ctx, root, &iam.UpdateLoginProfileInput{UserName: "alice", Password: ptr(pw2)})
	wantErr(t, err, apierr.PasswordPolicyViolation)
	must[*iam.UpdateLoginProfileOutput](t)(e.svc.UpdateLoginProfile(e.ctx, root, &iam.UpdateLoginProfileInput{UserName: "alice", Password: ptr(pw1), PasswordResetRequired: ptr(true)}))
	_, err = e.svc.ChangePassword(e.ctx, alice, &iam.ChangePasswordInput{OldPassword: pw3, NewPassword: "Yet+Another-4"})
	wantErr(t, err, apierr.AccessDenied) // the administrator reset it

	pp := must[*iam.GetAccountPasswordPolicyOutput](t)(e.svc.GetAccountPasswordPolicy(e.ctx, root, &iam.GetAccountPasswordPolicyInput{}))
	if p := pp.PasswordPolicy; p.MinimumPasswordLength != 12 || !p.RequireSymbols || p.RequireUppercaseCharacters || p.ExpirePasswords ||
		p.PasswordReusePrevention == nil || *p.PasswordReusePrevention != 2 || p.MaxPasswordAge != nil {
		t.Errorf("policy %+v", p)
	}
	_, err = e.svc.GetAccountPasswordPolicy(e.ctx, alice, &iam.GetAccountPasswordPolicyInput{})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.GetAccountPasswordPolicy(e.ctx, e.rootB, &iam.GetAccountPasswordPolicyInput{})
	wantErr(t, err, apierr.NoSuchEntity)

	_, err = e.svc.DeleteUser(e.ctx, root, &iam.DeleteUserInput{UserName: "alice"})
	wantErr(t, err, apierr.DeleteConflict)
	must[*iam.DeleteLoginProfileOutput](t)(e.svc.DeleteLoginProfile(e.ctx, root, &iam.DeleteLoginProfileInput{UserName: "alice"}))
	_, err = e.svc.GetLoginProfile(e.ctx, root, &iam.GetLoginProfileInput{UserName: "alice"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.DeleteLoginProfile(e.ctx, root, &iam.DeleteLoginProfileInput{UserName: "alice"})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.DeleteAccountPasswordPolicyOutput](t)(e.svc.DeleteAccountPasswordPolicy(e.ctx, root, &iam.DeleteAccountPasswordPolicyInput{}))
	_, err = e.svc.DeleteAccountPasswordPolicy(e.ctx, root, &iam.DeleteAccountPasswordPolicyInput{})
	wantErr(t, err, apierr.NoSuchEntity)
}

// TestPasswordNeverStoredInClear writes passwords through every path and
// then scans the whole database (and its WAL) for them.
func TestPasswordNeverStoredInClear(t *testing.T) {
	dir := t.TempDir()
	e := newEnvIn(t, dir)
	e.user("bob", "/")
	carol := e.user("carol", "/")
	const create, update, change = "Create+Secret-Value-1", "Update+Secret-Value-2", "Change+Secret-Value-3"
	must[*iam.CreateLoginProfileOutput](t)(e.svc.CreateLoginProfile(e.ctx, e.rootA, &iam.CreateLoginProfileInput{UserName: "bob", Password: create}))
	must[*iam.UpdateLoginProfileOutput](t)(e.svc.UpdateLoginProfile(e.ctx, e.rootA, &iam.UpdateLoginProfileInput{UserName: "bob", Password: ptr(update)}))
	must[*iam.CreateLoginProfileOutput](t)(e.svc.CreateLoginProfile(e.ctx, e.rootA, &iam.CreateLoginProfileInput{UserName: "carol", Password: create}))
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(e.svc.UpdateAccountPasswordPolicy(e.ctx, e.rootA, &iam.UpdateAccountPasswordPolicyInput{AllowUsersToChangePassword: true}))
	must[*iam.ChangePasswordOutput](t)(e.svc.ChangePassword(e.ctx, carol, &iam.ChangePasswordInput{OldPassword: create, NewPassword: change}))
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{create, update, change} {
			if bytes.Contains(data, []byte(pw)) {
				t.Errorf("%s holds a password in clear", filepath.Base(f))
			}
		}
	}
}

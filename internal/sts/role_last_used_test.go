package sts

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// A successful AssumeRole is the role's last use (RoleLastUsed: date and
// region); a denied one is not.
func TestAssumeRoleRecordsRoleLastUse(t *testing.T) {
	const acct = "123456789012"
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	sr := store.Role{Account: acct, ID: "AROASTOREDSTOREDSTO1", Name: "BreakGlass", Path: "/", MaxSessionDuration: 3600, TrustPolicy: "{}", CreatedAt: now}
	if err := db.CreateRole(ctx, sr); err != nil {
		t.Fatal(err)
	}
	stored := &authz.Role{Role: sr, ARN: "arn:aws:iam::" + acct + ":role/BreakGlass", TrustID: "arn:aws:iam::" + acct + ":role/BreakGlass#trust"}
	az := &fakeAuthz{roles: map[string]*authz.Role{"breakglass": stored}, allow: false}
	s := New(Config{Authz: az, Sessions: &fakeMinter{}, Policies: policy.NewCache(10), Now: func() time.Time { return now }, RoleUse: db, Region: "eu-north-1"})
	caller := &authz.Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/u", UserID: "AIDAUUUUUUUUUUUUUUU1", UserName: "u"}
	in := &AssumeRoleInput{RoleArn: stored.ARN, RoleSessionName: "sess"}

	if _, err := s.AssumeRole(ctx, caller, in); err == nil {
		t.Fatal("denied AssumeRole succeeded")
	}
	r, err := db.GetRole(ctx, acct, "BreakGlass")
	if err != nil {
		t.Fatal(err)
	}
	if !r.LastUsedAt.IsZero() || r.LastUsedRegion != "" {
		t.Fatalf("denied AssumeRole recorded a use: %v %q", r.LastUsedAt, r.LastUsedRegion)
	}

	az.allow = true
	if _, err := s.AssumeRole(ctx, caller, in); err != nil {
		t.Fatal(err)
	}
	r, err = db.GetRole(ctx, acct, "BreakGlass")
	if err != nil {
		t.Fatal(err)
	}
	if !r.LastUsedAt.Equal(now) || r.LastUsedRegion != "eu-north-1" {
		t.Fatalf("RoleLastUsed %v %q, want %v eu-north-1", r.LastUsedAt, r.LastUsedRegion, now)
	}
}

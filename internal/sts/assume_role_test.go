package sts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// fakeAuthz answers Role from a map (keyed by lower-case name, as IAM names
// are looked up) and Decide with allow, recording each request.
type fakeAuthz struct {
	roles    map[string]*authz.Role
	allow    bool
	requests []authz.Request
}

func (f *fakeAuthz) Check(context.Context, *authz.Caller, string, string, ...authz.Key) error {
	return nil
}

func (f *fakeAuthz) Decide(_ context.Context, _ *authz.Caller, r *authz.Request) (policy.Decision, error) {
	f.requests = append(f.requests, *r)
	if f.allow {
		return policy.Decision{Effect: policy.Allow}, nil
	}
	return policy.Decision{Effect: policy.ImplicitDeny}, nil
}

func (f *fakeAuthz) DecodeMessage(string, string) (string, error) { return "", nil }

func (f *fakeAuthz) ManagedPolicy(context.Context, string) (policy.Named, error) {
	return policy.Named{}, store.ErrNotFound
}

func (f *fakeAuthz) Role(_ context.Context, account, name string) (*authz.Role, error) {
	for n, r := range f.roles {
		if r.Account == account && strings.EqualFold(n, name) {
			return r, nil
		}
	}
	return nil, store.ErrNotFound
}

type fakeMinter struct{ minted []session.Session }

func (f *fakeMinter) Mint(s session.Session) (session.Credentials, error) {
	f.minted = append(f.minted, s)
	return session.Credentials{AccessKeyID: "ASIAFAKEFAKEFAKEFAKE", SecretAccessKey: "s", SessionToken: "t", Expiration: s.Expires}, nil
}

// TestAssumeRoleDecidesOnStoredRole: with fakes for everything AssumeRole
// depends on, a RoleArn spelled in another case is authorized, and the
// session is built, on the role as stored (name, id, path and ARN).
func TestAssumeRoleDecidesOnStoredRole(t *testing.T) {
	const acct = "123456789012"
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	stored := &authz.Role{Role: store.Role{Account: acct, ID: "AROASTOREDSTOREDSTO1", Name: "BreakGlass", Path: "/ops/", MaxSessionDuration: 3600},
		ARN: "arn:aws:iam::" + acct + ":role/ops/BreakGlass", TrustID: "arn:aws:iam::" + acct + ":role/ops/BreakGlass#trust"}
	az := &fakeAuthz{roles: map[string]*authz.Role{"breakglass": stored}, allow: true}
	m := &fakeMinter{}
	s := New(Config{Authz: az, Sessions: m, Policies: policy.NewCache(10), Now: func() time.Time { return now }})
	caller := &authz.Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/u", UserID: "AIDAUUUUUUUUUUUUUUU1", UserName: "u"}

	out, err := s.AssumeRole(context.Background(), caller, &AssumeRoleInput{RoleArn: "arn:aws:iam::" + acct + ":role/ops/breakglass", RoleSessionName: "sess"})
	if err != nil {
		t.Fatal(err)
	}
	if len(az.requests) != 1 || az.requests[0].Resource != stored.ARN || az.requests[0].Action != "sts:AssumeRole" {
		t.Fatalf("decided on %+v, want the stored ARN %s", az.requests, stored.ARN)
	}
	if len(m.minted) != 1 {
		t.Fatalf("minted %d sessions", len(m.minted))
	}
	sess := m.minted[0]
	if sess.RoleID != stored.ID || sess.RoleName != "BreakGlass" || sess.RolePath != "/ops/" ||
		sess.ARN != "arn:aws:sts::"+acct+":assumed-role/BreakGlass/sess" || sess.PrincipalID != stored.ID+":sess" {
		t.Errorf("session %+v", sess)
	}
	if out.AssumedRoleUser.ARN != sess.ARN || !sess.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("output %+v", out.AssumedRoleUser)
	}

	// A denial mints nothing and looks like a missing role.
	az.allow, m.minted = false, nil
	_, errDenied := s.AssumeRole(context.Background(), caller, &AssumeRoleInput{RoleArn: stored.ARN, RoleSessionName: "sess"})
	_, errMissing := s.AssumeRole(context.Background(), caller, &AssumeRoleInput{RoleArn: "arn:aws:iam::" + acct + ":role/ops/Nope", RoleSessionName: "sess"})
	for _, err := range []error{errDenied, errMissing} {
		if ae, ok := apierr.As(err); !ok || ae.Code != apierr.AccessDenied {
			t.Fatalf("want AccessDenied, got %v", err)
		}
	}
	if len(m.minted) != 0 {
		t.Fatal("a denied request minted a session")
	}
	// A role at another path with the right name is not the role named.
	_, err = s.AssumeRole(context.Background(), caller, &AssumeRoleInput{RoleArn: "arn:aws:iam::" + acct + ":role/BreakGlass", RoleSessionName: "sess"})
	if ae, ok := apierr.As(err); !ok || ae.Code != apierr.AccessDenied {
		t.Fatalf("wrong path: %v", err)
	}
}

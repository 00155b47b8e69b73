package authz

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

const acct = "111122223333"

func newAuthorizer(t *testing.T) (*Authorizer, store.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.CreateAccount(ctx, store.Account{ID: acct, Name: "a", Management: true}); err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return New(Config{Store: st, Policies: policy.NewCache(1 << 20), Sealer: sl, Now: func() time.Time { return now }}), st
}

func allowDoc(action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
}

func TestFederatedUserIsIntersection(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	if err := st.CreateUser(ctx, store.User{Account: acct, ID: "AIDAEXAMPLEEXAMPLE01", Name: "broker", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindUser, Owner: "broker", Name: "p", Document: allowDoc("s3:*")}); err != nil {
		t.Fatal(err)
	}
	caller := func(sessionPolicy string) *Caller {
		return &Caller{Account: acct, Type: policy.FederatedUser, ARN: "arn:aws:sts::" + acct + ":federated-user/jane", UserID: acct + ":jane", UserName: "broker",
			Session: &session.Session{Type: session.FederatedUser, Account: acct, UserName: "broker", Policy: sessionPolicy, IssuedAt: time.Now()}}
	}
	cases := []struct {
		name, sessionPolicy, action string
		want                        policy.Effect
	}{
		{"both allow", allowDoc("s3:GetObject"), "s3:GetObject", policy.Allow},
		{"user allows, session does not", allowDoc("s3:GetObject"), "s3:PutObject", policy.ImplicitDeny},
		{"session allows, user does not", allowDoc("*"), "iam:CreateUser", policy.ImplicitDeny},
		{"no session policy grants nothing", "", "s3:GetObject", policy.ImplicitDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := a.Decide(ctx, caller(tc.sessionPolicy), &Request{Action: tc.action, Resource: "*"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Effect != tc.want {
				t.Fatalf("effect %v, want %v", d.Effect, tc.want)
			}
		})
	}
}

func TestDeletedRoleSessionHasNoPermissions(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`
	if err := st.CreateRole(ctx, store.Role{Account: acct, ID: "AROAEXAMPLEEXAMPLE01", Name: "r", Path: "/", TrustPolicy: trust, MaxSessionDuration: 3600}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindRole, Owner: "r", Name: "p", Document: allowDoc("*")}); err != nil {
		t.Fatal(err)
	}
	c := &Caller{Account: acct, Type: policy.AssumedRole, ARN: "arn:aws:sts::" + acct + ":assumed-role/r/s", UserID: "AROAEXAMPLEEXAMPLE01:s",
		Session: &session.Session{Type: session.AssumedRole, Account: acct, RoleName: "r", RoleID: "AROAEXAMPLEEXAMPLE01", RolePath: "/", IssuedAt: time.Now()}}
	if err := a.Check(ctx, c, "s3:GetObject", "*"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteInlinePolicy(ctx, acct, store.KindRole, "r", "p"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRole(ctx, acct, "r"); err != nil {
		t.Fatal(err)
	}
	a.Invalidate()
	err := a.Check(ctx, c, "s3:GetObject", "*")
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.AccessDenied {
		t.Fatalf("deleted role: %v", err)
	}
}

func TestDenialCarriesDecodableMessage(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	if err := st.CreateUser(ctx, store.User{Account: acct, ID: "AIDAEXAMPLEEXAMPLE02", Name: "bob", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	c := &Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/bob", UserID: "AIDAEXAMPLEEXAMPLE02", UserName: "bob"}
	err := a.Check(ctx, c, "iam:CreateUser", "arn:aws:iam::"+acct+":user/x")
	ae, ok := apierr.As(err)
	if !ok || ae.Code != apierr.AccessDenied {
		t.Fatalf("want AccessDenied, got %v", err)
	}
	const marker = "Encoded authorization failure message: "
	i := strings.Index(ae.Message, marker)
	if i < 0 {
		t.Fatal(ae.Message)
	}
	enc := ae.Message[i+len(marker):]
	dec, err := a.DecodeMessage(enc)
	if err != nil || !strings.Contains(dec, `"action":"iam:CreateUser"`) || !strings.Contains(dec, `"allowed":false`) {
		t.Fatalf("decode: %v %s", err, dec)
	}
	// A tampered message does not decode.
	b := []byte(enc)
	b[len(b)/2] ^= 1
	if _, err := a.DecodeMessage(string(b)); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("tampered: %v", err)
	}
}

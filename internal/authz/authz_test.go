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
			Session: &session.Session{Type: session.FederatedUser, Account: acct, UserName: "broker", UserID: "AIDAEXAMPLEEXAMPLE01", Policy: sessionPolicy, IssuedAt: time.Now()}}
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

// TestRecreatedPrincipalInheritsNothing: sessions and keys name their role
// or user by unique id, so a role or user deleted and created again with the
// same name (and broader policies) gives the old session nothing, and a
// renamed user keeps its session.
func TestRecreatedPrincipalInheritsNothing(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOK(st.CreateRole(ctx, store.Role{Account: acct, ID: "AROAOLDOLDOLDOLDOLD1", Name: "app", Path: "/", TrustPolicy: trust, MaxSessionDuration: 3600}))
	roleSession := &Caller{Account: acct, Type: policy.AssumedRole, ARN: "arn:aws:sts::" + acct + ":assumed-role/app/s", UserID: "AROAOLDOLDOLDOLDOLD1:s",
		Session: &session.Session{Type: session.AssumedRole, Account: acct, RoleName: "app", RoleID: "AROAOLDOLDOLDOLDOLD1", RolePath: "/", IssuedAt: time.Now()}}
	mustOK(st.DeleteRole(ctx, acct, "app"))
	mustOK(st.CreateRole(ctx, store.Role{Account: acct, ID: "AROANEWNEWNEWNEWNEW1", Name: "APP", Path: "/", TrustPolicy: trust, MaxSessionDuration: 3600}))
	mustOK(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindRole, Owner: "APP", Name: "admin", Document: allowDoc("*")}))

	mustOK(st.CreateUser(ctx, store.User{Account: acct, ID: "AIDAOLDOLDOLDOLDOLD1", Name: "carol", Path: "/"}))
	userSession := &Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/carol", UserID: "AIDAOLDOLDOLDOLDOLD1", UserName: "carol",
		Session: &session.Session{Type: session.SessionToken, Account: acct, UserName: "carol", UserID: "AIDAOLDOLDOLDOLDOLD1", IssuedAt: time.Now()}}
	mustOK(st.DeleteUser(ctx, acct, "carol"))
	mustOK(st.CreateUser(ctx, store.User{Account: acct, ID: "AIDANEWNEWNEWNEWNEW1", Name: "carol", Path: "/"}))
	mustOK(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindUser, Owner: "carol", Name: "admin", Document: allowDoc("*")}))
	a.Invalidate()

	for name, c := range map[string]*Caller{"role session": roleSession, "user session": userSession} {
		if err := a.Check(ctx, c, "s3:GetObject", "*"); err == nil {
			t.Errorf("%s of a deleted principal was allowed through its namesake's policies", name)
		}
	}

	// A renamed user keeps its sessions' permissions.
	u, err := st.GetUser(ctx, acct, "carol")
	mustOK(err)
	u.Name = "caroline"
	mustOK(st.UpdateUser(ctx, u))
	a.Invalidate()
	renamed := &Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/carol", UserID: u.ID, UserName: "carol",
		Session: &session.Session{Type: session.SessionToken, Account: acct, UserName: "carol", UserID: u.ID, IssuedAt: time.Now()}}
	if err := a.Check(ctx, renamed, "s3:GetObject", "*"); err != nil {
		t.Errorf("renamed user's session: %v", err)
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
	dec, err := a.DecodeMessage(acct, enc)
	if err != nil || !strings.Contains(dec, `"action":"iam:CreateUser"`) || !strings.Contains(dec, `"allowed":false`) {
		t.Fatalf("decode: %v %s", err, dec)
	}
	// A tampered message does not decode.
	b := []byte(enc)
	b[len(b)/2] ^= 1
	if _, err := a.DecodeMessage(acct, string(b)); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("tampered: %v", err)
	}
	// Another account's principal does not decode it, whatever its own
	// policies allow (attack review: it read this account's policy and
	// statement names), nor does an anonymous one.
	for _, other := range []string{"210987654321", ""} {
		if _, err := a.DecodeMessage(other, enc); !errors.Is(err, ErrBadMessage) {
			t.Fatalf("decoded by account %q: %v", other, err)
		}
	}
}

// bigManagedDoc is a managed policy of about 5,000 non-whitespace
// characters (over the 2,048 of an inline session policy, under the 6,144
// of a managed policy) that allows s3:GetObject on bucket "data" and on
// many padding buckets.
func bigManagedDoc(t *testing.T) string {
	t.Helper()
	var res []string
	res = append(res, `"arn:aws:s3:::data/*"`)
	for i := 0; len(strings.Join(res, ",")) < 4800; i++ {
		res = append(res, `"arn:aws:s3:::padding-bucket-`+strings.Repeat("x", 20)+`-`+string(rune('a'+i%26))+`/*"`)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[` + strings.Join(res, ",") + `]}]}`
	if n := len(doc); n < 4800 || n > policy.MaxSize(policy.Managed) {
		t.Fatalf("document of %d characters", n)
	}
	return doc
}

// TestManagedSessionPolicyKeepsManagedQuota: a managed policy named in a
// session's PolicyArns is compiled with the managed-policy quota, not the
// inline session policy's, and still acts as a session policy.
func TestManagedSessionPolicyKeepsManagedQuota(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}]}`
	if err := st.CreateRole(ctx, store.Role{Account: acct, ID: "AROAEXAMPLEEXAMPLE03", Name: "r", Path: "/", TrustPolicy: trust, MaxSessionDuration: 3600}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutInlinePolicy(ctx, store.InlinePolicy{Account: acct, Kind: store.KindRole, Owner: "r", Name: "p", Document: allowDoc("s3:*")}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:iam::" + acct + ":policy/big"
	now := time.Now()
	if err := st.CreateManagedPolicy(ctx, store.ManagedPolicy{Account: acct, ID: "ANPAEXAMPLEEXAMPLE01", Name: "big", Path: "/", ARN: arn, DefaultVersionID: "v1", CreatedAt: now, UpdatedAt: now},
		store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: bigManagedDoc(t), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ManagedPolicy(ctx, arn); err != nil {
		t.Fatalf("ManagedPolicy: %v", err)
	}
	c := &Caller{Account: acct, Type: policy.AssumedRole, ARN: "arn:aws:sts::" + acct + ":assumed-role/r/s", UserID: "AROAEXAMPLEEXAMPLE03:s",
		Session: &session.Session{Type: session.AssumedRole, Account: acct, RoleName: "r", RoleID: "AROAEXAMPLEEXAMPLE03", RolePath: "/", IssuedAt: now, PolicyARNs: []string{arn}}}
	for _, tc := range []struct {
		action, resource string
		want             policy.Effect
		deniedBy         policy.Kind
	}{
		{"s3:GetObject", "arn:aws:s3:::data/k", policy.Allow, 0},
		{"s3:GetObject", "arn:aws:s3:::other/k", policy.ImplicitDeny, policy.Session},
		{"s3:PutObject", "arn:aws:s3:::data/k", policy.ImplicitDeny, policy.Session},
	} {
		d, err := a.Decide(ctx, c, &Request{Action: tc.action, Resource: tc.resource})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.action, tc.resource, err)
		}
		if d.Effect != tc.want || d.DeniedBy != tc.deniedBy {
			t.Errorf("%s %s: %v denied by %v, want %v denied by %v", tc.action, tc.resource, d.Effect, d.DeniedBy, tc.want, tc.deniedBy)
		}
	}
}

// TestCheckAsNamesDisplay: the AccessDenied message names the resource as
// the caller gave it, identically for different evaluated resources, and
// the encoded message keeps the evaluated one.
func TestCheckAsNamesDisplay(t *testing.T) {
	a, st := newAuthorizer(t)
	ctx := context.Background()
	if err := st.CreateUser(ctx, store.User{Account: acct, ID: "AIDAEXAMPLEEXAMPLE04", Name: "nobody", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	c := &Caller{Account: acct, Type: policy.User, ARN: "arn:aws:iam::" + acct + ":user/nobody", UserID: "AIDAEXAMPLEEXAMPLE04", UserName: "nobody"}
	const marker = ". Encoded authorization failure message: "
	deny := func(resource, display string) (plain, decoded string) {
		t.Helper()
		err := a.CheckAs(ctx, c, "iam:GetUser", resource, display)
		ae, ok := apierr.As(err)
		if !ok || ae.Code != apierr.AccessDenied {
			t.Fatalf("want AccessDenied, got %v", err)
		}
		plain, enc, ok := strings.Cut(ae.Message, marker)
		if !ok {
			t.Fatalf("no encoded message: %s", ae.Message)
		}
		dec, err := a.DecodeMessage(c.Account, enc)
		if err != nil {
			t.Fatal(err)
		}
		return plain, dec
	}
	hidden, hiddenDec := deny("arn:aws:iam::"+acct+":user/secret/team/Hidden", "user hidden")
	missing, missingDec := deny("arn:aws:iam::"+acct+":user/hidden", "user hidden")
	want := "User: arn:aws:iam::" + acct + ":user/nobody is not authorized to perform: iam:GetUser on resource: user hidden because no identity-based policy allows the iam:GetUser action"
	if hidden != want || missing != want {
		t.Fatalf("messages:\n%s\n%s\nwant\n%s", hidden, missing, want)
	}
	if !strings.Contains(hiddenDec, `"resource":"arn:aws:iam::`+acct+`:user/secret/team/Hidden"`) || !strings.Contains(missingDec, `"resource":"arn:aws:iam::`+acct+`:user/hidden"`) {
		t.Fatalf("encoded messages lost the evaluated resource:\n%s\n%s", hiddenDec, missingDec)
	}
	// Without a display name, Check names the evaluated resource.
	err := a.Check(ctx, c, "iam:GetUser", "arn:aws:iam::"+acct+":user/x")
	if ae, _ := apierr.As(err); ae == nil || !strings.Contains(ae.Message, "on resource: arn:aws:iam::"+acct+":user/x because") {
		t.Fatalf("Check: %v", err)
	}
}

package sts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/ldap"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/throttle"
)

type fakeLDAPStore struct {
	providers []store.LDAPProvider
	roles     []store.Role
}

func (f *fakeLDAPStore) GetLDAPProvider(_ context.Context, account, name string) (store.LDAPProvider, error) {
	for _, p := range f.providers {
		if p.Account == account && strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	return store.LDAPProvider{}, store.ErrNotFound
}

func (f *fakeLDAPStore) ListLDAPProviders(_ context.Context, account string) ([]store.LDAPProvider, error) {
	var out []store.LDAPProvider
	for _, p := range f.providers {
		if p.Account == account {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeLDAPStore) ListRoles(_ context.Context, account string, opt store.ListOptions) ([]store.Role, error) {
	var out []store.Role
	for _, r := range f.roles {
		if r.Account == account && store.NameKey(r.Name) > opt.After {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeLDAPStore) GetRole(_ context.Context, account, name string) (store.Role, error) {
	for _, r := range f.roles {
		if r.Account == account && strings.EqualFold(r.Name, name) {
			return r, nil
		}
	}
	return store.Role{}, store.ErrNotFound
}

// fakeDirectory accepts one user and password and records what it saw.
// Like Active Directory, it finds the user by its name or an alias (the
// UPN) in any case, ignoring leading and trailing spaces; it calls
// BeforeBind with the entry's DN and counts the user binds it makes.
type fakeDirectory struct {
	user, password string
	aliases        []string
	id             ldap.Identity
	down           bool
	// downAtBind: the directory is lost after the search, at the user
	// bind (BeforeBind has counted the entry).
	downAtBind   bool
	calls, binds int
	last         ldap.Config
}

func (f *fakeDirectory) Authenticate(_ context.Context, c ldap.Config, username, password string) (*ldap.Identity, error) {
	f.calls++
	f.last = c
	if f.down {
		return nil, &ldap.Error{Kind: ldap.Unavailable, Reason: "connect"}
	}
	name := strings.TrimSpace(username)
	found := strings.EqualFold(name, f.user)
	for _, a := range f.aliases {
		found = found || strings.EqualFold(name, a)
	}
	if !found {
		return nil, &ldap.Error{Kind: ldap.Denied, Reason: "unknown user"}
	}
	if c.BeforeBind != nil {
		if err := c.BeforeBind(f.id.DN); err != nil {
			return nil, &ldap.Error{Kind: ldap.Denied, Reason: "refused before the user bind", Err: err}
		}
	}
	if f.downAtBind {
		return nil, &ldap.Error{Kind: ldap.Unavailable, Reason: "user bind"}
	}
	f.binds++
	if password != f.password {
		return nil, &ldap.Error{Kind: ldap.Denied, Reason: "wrong password"}
	}
	id := f.id
	if id.Username == "" {
		id.Username = f.user
	}
	id.Given = username
	return &id, nil
}

type plainOpener struct{}

func (plainOpener) Open(sealed, aad []byte) ([]byte, error) {
	if !strings.HasPrefix(string(sealed), "sealed:") {
		return nil, errors.New("not sealed")
	}
	return sealed[len("sealed:"):], nil
}

func code(err error) string {
	if ae, ok := apierr.As(err); ok {
		return ae.Code.Name
	}
	if err == nil {
		return ""
	}
	return "not an API error: " + err.Error()
}

func TestAssumeRoleWithLDAPIdentity(t *testing.T) {
	const acct = "123456789012"
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	provARN := "arn:aws:iam::" + acct + ":ldap-provider/corp"
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},"Action":"sts:AssumeRoleWithLDAPIdentity"}]}`
	role := &authz.Role{Role: store.Role{Account: acct, ID: "AROAREADERSREADERS01", Name: "Readers", Path: "/", MaxSessionDuration: 3600, TrustPolicy: trust},
		ARN: "arn:aws:iam::" + acct + ":role/Readers", TrustID: "t"}
	st := &fakeLDAPStore{
		providers: []store.LDAPProvider{{Account: acct, Name: "corp", ARN: provARN, URL: "ldaps://dc", SealedBindPassword: []byte("sealed:svc-pw"),
			UserSearchBase: "dc=x", UserFilter: ldap.DefaultUserFilter, GroupMode: ldap.GroupsMemberOf}},
		roles: []store.Role{role.Role, {Account: acct, Name: "Unrelated", TrustPolicy: `{}`}},
	}
	dir := &fakeDirectory{user: `CORP\alice`, password: "pw", id: ldap.Identity{DN: "CN=alice,DC=x", UPN: "alice@x", Groups: []string{"CN=g1,DC=x", "CN=g2,DC=x"}}}
	az := &fakeAuthz{roles: map[string]*authz.Role{"readers": role}, allow: true}
	m := &fakeMinter{}
	ths := throttleStore(t)
	users := throttle.New(ths, "ldap-user", store.ThrottleLimit{Max: 3, Window: time.Minute, Lockout: time.Minute})
	s := New(Config{Authz: az, Sessions: m, Policies: policy.NewCache(10), Now: func() time.Time { return now },
		LDAP: LDAPConfig{Store: st, Directory: dir, Sealer: plainOpener{}, Users: users,
			Addresses: throttle.New(ths, "ldap-address", store.ThrottleLimit{Max: 100, Window: time.Minute, Lockout: time.Minute})}})
	caller := &authz.Caller{SourceIP: "192.0.2.1"}
	ctx := context.Background()

	// With RoleArn: the role's trust decides on the ldap: keys.
	out, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: `CORP\alice`, LDAPPassword: "pw", RoleArn: role.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if dir.last.BindPassword != "svc-pw" {
		t.Errorf("the directory got bind password %q", dir.last.BindPassword)
	}
	if out.AssumedRoleUser.ARN != "arn:aws:sts::"+acct+":assumed-role/Readers/CORP_alice" || out.SubjectFromToken != "CN=alice,DC=x" {
		t.Errorf("output %+v", out)
	}
	req := az.requests[len(az.requests)-1]
	keys := map[string][]string{}
	for _, k := range req.Keys {
		keys[k.Name] = k.Values
	}
	want := map[string][]string{
		"ldap:username": {`CORP\alice`}, "ldap:dn": {"CN=alice,DC=x"}, "ldap:upn": {"alice@x"},
		"ldap:groups": {"CN=g1,DC=x", "CN=g2,DC=x"}, "aws:FederatedProvider": {provARN}, "sts:RoleSessionName": {"CORP_alice"},
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("condition keys (-want +got):\n%s", diff)
	}
	if req.Action != "sts:AssumeRoleWithLDAPIdentity" || req.Resource != role.ARN {
		t.Errorf("request %+v", req)
	}
	sess := m.minted[len(m.minted)-1]
	if sess.FederatedProvider != provARN || sess.FederatedSubject != "CN=alice,DC=x" || sess.Type.String() != "LDAP" {
		t.Errorf("session %+v", sess)
	}

	// Without RoleArn (MinIO): the one role whose trust names the
	// provider; the provider is the server's default.
	_, err = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: `CORP\alice`, LDAPPassword: "pw"})
	if code(err) != "ValidationError" {
		t.Errorf("no role, no default provider: %v", err)
	}
	s.ldap.DefaultProvider = provARN
	out, err = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: `CORP\alice`, LDAPPassword: "pw", RoleSessionName: "alice"})
	if err != nil || out.AssumedRoleUser.ARN != "arn:aws:sts::"+acct+":assumed-role/Readers/alice" {
		t.Fatalf("minio shape: %v %+v", err, out)
	}
	// Trust denies: AccessDenied, nothing minted.
	az.allow = false
	n := len(m.minted)
	_, err = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: `CORP\alice`, LDAPPassword: "pw"})
	if code(err) != "AccessDenied" || len(m.minted) != n {
		t.Errorf("no trusting role: %v", err)
	}
	az.allow = true

	// Every credential failure is the same AccessDenied; the empty
	// password too (the directory refuses it before any bind).
	for _, pw := range []string{"wrong", ""} {
		_, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: pw, RoleArn: role.ARN})
		if ae, ok := apierr.As(err); !ok || ae.Code != apierr.AccessDenied || ae.Message != "Not authorized to perform sts:AssumeRoleWithLDAPIdentity" {
			t.Errorf("password %q: %v", pw, err)
		}
	}
	// Throttled per user name: the third failure locks bob out, the
	// directory is not asked again, and alice is unaffected.
	_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "BOB", LDAPPassword: "x", RoleArn: role.ARN})
	calls := dir.calls
	dir.user, dir.password = "bob", "right"
	_, err = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: role.ARN})
	if code(err) != "AccessDenied" || dir.calls != calls {
		t.Errorf("throttled: %v, directory called %d times more", err, dir.calls-calls)
	}
	now = now.Add(time.Minute)
	if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: role.ARN}); err != nil {
		t.Errorf("after the window: %v", err)
	}
	// A directory that is down.
	dir.down = true
	_, err = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: role.ARN})
	if code(err) != "IDPCommunicationError" {
		t.Errorf("down: %v", err)
	}
	// Not configured.
	if _, err := New(Config{}).AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "a", LDAPPassword: "b"}); code(err) != "InvalidAction" {
		t.Errorf("disabled: %v", err)
	}
}

func TestLDAPSessionName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alice": "alice", "alice@corp.example.com": "alice@corp.example.com", `CORP\alice`: "CORP_alice",
		"a": "a_", "é": "__", strings.Repeat("x", 70): strings.Repeat("x", 64), "a b*c": "a_b_c",
	} {
		if got := ldapSessionName(in); got != want {
			t.Errorf("ldapSessionName(%q) = %q, want %q", in, got, want)
		}
	}
}

// ldapAttackFixture is a service with bob in a fake Active Directory and
// the server's throttle limits.
func ldapAttackFixture(t *testing.T, now *time.Time) (*Service, *fakeDirectory, *fakeAuthz, string) {
	return ldapAttackFixtureOn(t, now, throttleStore(t))
}

// ldapAttackFixtureOn is ldapAttackFixture with the throttles in ths (two
// fixtures on one store are two nodes of a deployment).
func ldapAttackFixtureOn(t *testing.T, now *time.Time, ths store.Throttles) (*Service, *fakeDirectory, *fakeAuthz, string) {
	const acct = "123456789012"
	provARN := "arn:aws:iam::" + acct + ":ldap-provider/corp"
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},"Action":"sts:AssumeRoleWithLDAPIdentity"}]}`
	role := &authz.Role{Role: store.Role{Account: acct, ID: "AROABOBROLEBOBROLE01", Name: "BobRole", Path: "/", MaxSessionDuration: 3600, TrustPolicy: trust},
		ARN: "arn:aws:iam::" + acct + ":role/BobRole", TrustID: "t"}
	st := &fakeLDAPStore{
		providers: []store.LDAPProvider{{Account: acct, Name: "corp", ARN: provARN, URL: "ldaps://dc", UserSearchBase: "DC=opensts,DC=test",
			UserFilter: ldap.DefaultUserFilter, GroupMode: ldap.GroupsMemberOf}},
		roles: []store.Role{role.Role},
	}
	dir := &fakeDirectory{user: "bob", password: "right", aliases: []string{"bob@opensts.test"},
		id: ldap.Identity{Username: "bob", DN: "CN=bob,CN=Users,DC=opensts,DC=test", UPN: "bob@opensts.test", SAMAccountName: "bob"}}
	az := &fakeAuthz{roles: map[string]*authz.Role{"bobrole": role}, allow: true}
	clock := func() time.Time { return *now }
	s := New(Config{Authz: az, Sessions: &fakeMinter{}, Policies: policy.NewCache(10), Now: clock,
		LDAP: LDAPConfig{Store: st, Directory: dir, Users: throttle.New(ths, "ldap-user", store.ThrottleLimit{Max: 10, Window: 5 * time.Minute, Lockout: 5 * time.Minute}),
			Addresses: throttle.New(ths, "ldap-address", store.ThrottleLimit{Max: 1000, Window: 5 * time.Minute, Lockout: 5 * time.Minute})}})
	return s, dir, az, role.ARN
}

// TestLDAPThrottleSpellings: the attack review's finding that ten failures
// for bob did not hold back " bob", "bob  ", "BOB" or bob's UPN, which
// reached the directory and got credentials with the right password.
func TestLDAPThrottleSpellings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	caller := &authz.Caller{SourceIP: "192.0.2.7"}
	variants := []string{"bob", " bob", "bob  ", "\tbob", "bob\u00a0", "BOB", "Bob", "bob@opensts.test", "BOB@OPENSTS.TEST"}

	t.Run("after ten failures for bob no spelling reaches a bind", func(t *testing.T) {
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		s, dir, _, roleARN := ldapAttackFixture(t, &now)
		for range 10 {
			_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "wrong", RoleArn: roleARN})
		}
		binds := dir.binds
		for _, v := range variants {
			_, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: v, LDAPPassword: "right", RoleArn: roleARN})
			if code(err) != "AccessDenied" {
				t.Errorf("%q with the right password after 10 failures: %v", v, err)
			}
		}
		if dir.binds != binds {
			t.Errorf("the directory got %d user binds after the limit", dir.binds-binds)
		}
		// The window ends: bob is back, by any accepted spelling.
		now = now.Add(5 * time.Minute)
		if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob@opensts.test", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
			t.Errorf("after the window: %v", err)
		}
	})
	t.Run("failures spread over spellings add up on the entry", func(t *testing.T) {
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		s, dir, _, roleARN := ldapAttackFixture(t, &now)
		for i := range 30 {
			v := []string{"bob", "BOB", "Bob", "bob@opensts.test", "BoB@opensts.test"}[i%5]
			_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: v, LDAPPassword: "wrong", RoleArn: roleARN})
		}
		if dir.binds != 10 {
			t.Errorf("30 wrong passwords over 5 spellings made %d user binds, want 10", dir.binds)
		}
		if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bOB", LDAPPassword: "right", RoleArn: roleARN}); code(err) != "AccessDenied" {
			t.Errorf("a new spelling with the right password: %v", err)
		}
	})
	t.Run("white space around the name is refused before the directory", func(t *testing.T) {
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		s, dir, _, roleARN := ldapAttackFixture(t, &now)
		for _, v := range []string{" bob", "bob ", "bob  ", "\tbob", "bob\u00a0", "\u3000bob"} {
			calls := dir.calls
			_, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: v, LDAPPassword: "right", RoleArn: roleARN})
			if ae, ok := apierr.As(err); !ok || ae.Code != apierr.AccessDenied || ae.Message != "Not authorized to perform sts:AssumeRoleWithLDAPIdentity" {
				t.Errorf("%q: %v", v, err)
			}
			if dir.calls != calls {
				t.Errorf("%q reached the directory", v)
			}
		}
	})
	t.Run("unknown names are throttled by name", func(t *testing.T) {
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		s, dir, _, roleARN := ldapAttackFixture(t, &now)
		for range 10 {
			_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "nosuchuser", LDAPPassword: "x", RoleArn: roleARN})
		}
		calls := dir.calls
		_, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "NoSuchUser", LDAPPassword: "x", RoleArn: roleARN})
		if code(err) != "AccessDenied" || dir.calls != calls {
			t.Errorf("the 11th try for an unknown name: %v, directory asked %d times", err, dir.calls-calls)
		}
		// bob is not held back by another name's failures.
		if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
			t.Errorf("bob: %v", err)
		}
	})
}

// TestLDAPCanonicalUsername: the attack review's finding that a trust
// policy's Deny on ldap:username = alice was evaded with ALICE or the UPN,
// because ldap:username and the default session name were the name typed.
func TestLDAPCanonicalUsername(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, _, az, roleARN := ldapAttackFixture(t, &now)
	s.ldap.DefaultProvider = "arn:aws:iam::123456789012:ldap-provider/corp"
	for _, v := range []string{"bob", "BOB", "Bob", "bob@opensts.test", "BOB@OpenSTS.test"} {
		for _, arn := range []string{roleARN, ""} { // named role, and MinIO's shape
			out, err := s.AssumeRoleWithLDAPIdentity(ctx, &authz.Caller{SourceIP: "192.0.2.8"}, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: v, LDAPPassword: "right", RoleArn: arn})
			if err != nil {
				t.Fatalf("%q: %v", v, err)
			}
			if out.AssumedRoleUser.ARN != "arn:aws:sts::123456789012:assumed-role/BobRole/bob" {
				t.Errorf("%q role %q: assumed %s", v, arn, out.AssumedRoleUser.ARN)
			}
			keys := map[string][]string{}
			for _, k := range az.requests[len(az.requests)-1].Keys {
				keys[k.Name] = k.Values
			}
			want := map[string][]string{
				"ldap:username": {"bob"}, "ldap:samaccountname": {"bob"}, "ldap:upn": {"bob@opensts.test"},
				"ldap:dn": {"CN=bob,CN=Users,DC=opensts,DC=test"}, "sts:RoleSessionName": {"bob"},
				"aws:FederatedProvider": {"arn:aws:iam::123456789012:ldap-provider/corp"},
			}
			if diff := cmp.Diff(want, keys); diff != "" {
				t.Errorf("%q role %q: condition keys (-want +got):\n%s", v, arn, diff)
			}
		}
	}
}

// TestLDAPThrottleAcrossNodes: two nodes on one store draw on one budget;
// five failures on each are the ten that hold bob back on both.
func TestLDAPThrottleAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	caller := &authz.Caller{SourceIP: "192.0.2.8"}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	shared := throttleStore(t)
	a, dirA, _, roleARN := ldapAttackFixtureOn(t, &now, shared)
	b, dirB, _, _ := ldapAttackFixtureOn(t, &now, shared)
	for i := range 10 {
		node := a
		if i%2 == 1 {
			node = b
		}
		_, _ = node.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "wrong", RoleArn: roleARN})
	}
	binds := dirA.binds + dirB.binds
	for name, node := range map[string]*Service{"a": a, "b": b} {
		if _, err := node.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); code(err) != "AccessDenied" {
			t.Errorf("node %s after 5 failures on each node: %v", name, err)
		}
	}
	if got := dirA.binds + dirB.binds; got != binds {
		t.Errorf("%d user binds after the shared limit", got-binds)
	}
}

// throttleStore is a real store for the throttles' failure counts.
func throttleStore(t *testing.T) store.Throttles {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "opensts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// slowDirectory holds every Authenticate until each of n guesses has
// either arrived or been refused without asking it (a directory round
// trip long enough for n guesses sent at once all to be under way), then
// binds as fakeDirectory does, denying every password; it counts the user
// binds.
type slowDirectory struct {
	n int
	// perUser: each user name is its own entry (else every name finds bob).
	perUser bool
	mu      sync.Mutex
	settled map[string]bool // by password: the guess arrived or was answered
	all     chan struct{}
	binds   atomic.Int32
}

// settle records the guess with password p as arrived or answered.
func (d *slowDirectory) settle(p string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled[p] {
		return
	}
	d.settled[p] = true
	if len(d.settled) == d.n {
		close(d.all)
	}
}

func (d *slowDirectory) Authenticate(_ context.Context, c ldap.Config, username, password string) (*ldap.Identity, error) {
	d.settle(password)
	<-d.all
	dn := "CN=bob,CN=Users,DC=opensts,DC=test"
	if d.perUser {
		dn = "CN=" + username + ",CN=Users,DC=opensts,DC=test"
	}
	if err := c.BeforeBind(dn); err != nil {
		return nil, &ldap.Error{Kind: ldap.Denied, Reason: "refused before the user bind", Err: err}
	}
	d.binds.Add(1)
	return nil, &ldap.Error{Kind: ldap.Denied, Reason: "wrong password"}
}

// TestAttackLDAPConcurrentGuesses: password guesses sent at once must not
// all reach a bind. The user throttle was checked before the directory
// was asked and counted only after the bind failed, so n guesses in
// flight together all passed the check, whatever the limit; each attempt
// is now counted before the bind.
func TestAttackLDAPConcurrentGuesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, _, _, roleARN := ldapAttackFixture(t, &now)
	const n = 40
	dir := &slowDirectory{n: n, settled: map[string]bool{}, all: make(chan struct{})}
	s.ldap.Directory = dir
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := fmt.Sprintf("guess-%d", i)
			_, err := s.AssumeRoleWithLDAPIdentity(ctx, &authz.Caller{SourceIP: "192.0.2.9"},
				&AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: guess, RoleArn: roleARN})
			dir.settle(guess) // refused before the directory was asked
			if code(err) != "AccessDenied" {
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if got := dir.binds.Load(); got > 10 {
		t.Fatalf("%d concurrent guesses made %d user binds; the limit is 10", n, got)
	}
}

// ldapAddressFixture is ldapAttackFixture with an address limit of max
// failures.
func ldapAddressFixture(t *testing.T, now *time.Time, max int) (*Service, *fakeDirectory, string) {
	ths := throttleStore(t)
	s, dir, _, roleARN := ldapAttackFixtureOn(t, now, ths)
	s.ldap.Addresses = throttle.New(ths, "ldap-address", store.ThrottleLimit{Max: max, Window: 5 * time.Minute, Lockout: 5 * time.Minute})
	return s, dir, roleARN
}

// TestAttackLDAPConcurrentAddressGuesses: guesses from one address for
// many names sent at once must not all reach a bind. The address throttle
// was checked before the directory was asked and counted only after the
// bind failed, so a password sprayer's n guesses in flight together all
// passed the check whatever the limit; the attempt is now counted before
// the bind.
func TestAttackLDAPConcurrentAddressGuesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, _, roleARN := ldapAddressFixture(t, &now, 10)
	const n = 40
	dir := &slowDirectory{n: n, perUser: true, settled: map[string]bool{}, all: make(chan struct{})}
	s.ldap.Directory = dir
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			guess := fmt.Sprintf("guess-%d", i)
			_, err := s.AssumeRoleWithLDAPIdentity(ctx, &authz.Caller{SourceIP: "192.0.2.10"},
				&AssumeRoleWithLDAPIdentityInput{LDAPUsername: fmt.Sprintf("user%d", i), LDAPPassword: guess, RoleArn: roleARN})
			dir.settle(guess)
			if code(err) != "AccessDenied" {
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := dir.binds.Load(); got > 10 {
		t.Fatalf("%d concurrent guesses from one address made %d user binds; the address limit is 10", n, got)
	}
}

// TestLDAPSuccessesAndTheAddress: sign-ins that succeed do not use up
// their address's budget (many users behind one NAT sign in all day), and
// do not clear the failures counted against it either (a password sprayer
// who knows one valid password must not reset the count of its guesses).
func TestLDAPSuccessesAndTheAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	caller := &authz.Caller{SourceIP: "192.0.2.11"}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, _, roleARN := ldapAddressFixture(t, &now, 5)
	for i := range 20 {
		if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
			t.Fatalf("sign-in %d of 20 with an address limit of 5: %v", i+1, err)
		}
	}
	// Four failures, then bob signs in (the address's count stays at four),
	// then the fifth failure locks the address: bob is held back too.
	for i := range 4 {
		_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: fmt.Sprintf("spray%d", i), LDAPPassword: "Winter2026!", RoleArn: roleARN})
	}
	if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
		t.Fatalf("bob after four failures from his address: %v", err)
	}
	_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "spray4", LDAPPassword: "Winter2026!", RoleArn: roleARN})
	if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); code(err) != "AccessDenied" {
		t.Fatalf("bob after the fifth failure from his address: %v", err)
	}
	// Another address is not held back.
	if _, err := s.AssumeRoleWithLDAPIdentity(ctx, &authz.Caller{SourceIP: "192.0.2.12"}, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
		t.Fatalf("bob from another address: %v", err)
	}
}

// TestLDAPOutagesCountAgainstNobody: a directory that cannot be reached
// (before the search, or lost at the user bind) fails the request with the
// retryable IDPCommunicationError and counts towards no lockout: outages
// used to count against the name and the entry, so a directory flapping
// for a minute locked out every user who retried.
func TestLDAPOutagesCountAgainstNobody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, where := range []string{"connect", "user bind"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			caller := &authz.Caller{SourceIP: "192.0.2.13"}
			now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			s, dir, roleARN := ldapAddressFixture(t, &now, 5)
			dir.down, dir.downAtBind = where == "connect", where == "user bind"
			// 30 tries (user limit 10, address limit 5), with the right
			// password and a wrong one.
			for i := range 30 {
				pw := "right"
				if i%2 == 1 {
					pw = "wrong"
				}
				_, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: pw, RoleArn: roleARN})
				if code(err) != "IDPCommunicationError" {
					t.Fatalf("try %d with the directory down: %v", i+1, err)
				}
			}
			dir.down, dir.downAtBind = false, false
			if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); err != nil {
				t.Fatalf("bob once the directory is back: %v", err)
			}
			// And the failures the throttles do count still add up: four
			// wrong passwords from the address, then the fifth locks it.
			for range 5 {
				_, _ = s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "wrong", RoleArn: roleARN})
			}
			if _, err := s.AssumeRoleWithLDAPIdentity(ctx, caller, &AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "right", RoleArn: roleARN}); code(err) != "AccessDenied" {
				t.Fatalf("after five wrong passwords from the address: %v", err)
			}
		})
	}
}

// lockingStore is a throttle store that starts a lockout of the key it
// was first asked about (the source address: the first key a sign-in
// checks) the second time it is asked about it, just after answering
// that the key is not locked: the lockout another request starts between
// a sign-in's check of its address and its count of it.
type lockingStore struct {
	store.Throttles
	limit store.ThrottleLimit
	now   time.Time
	first []byte
	seen  int
}

func (l *lockingStore) GetThrottle(ctx context.Context, key []byte) (store.Throttle, error) {
	t, err := l.Throttles.GetThrottle(ctx, key)
	if l.first == nil {
		l.first = append([]byte(nil), key...)
	}
	if string(key) == string(l.first) {
		if l.seen++; l.seen == 2 {
			for range l.limit.Max {
				if _, ferr := l.Throttles.FailThrottle(ctx, key, l.limit, l.now); ferr != nil {
					return t, ferr
				}
			}
		}
	}
	return t, err
}

// TestAttackLDAPHeldAddressChargesNoName: a sign-in whose address was
// locked out between its check and its count is refused unchecked; its
// attempt against the user's name must be taken back too. It was not: a
// burst of guesses from one address charged the name once for every
// request the address's lockout held back, though no password was
// checked for them.
func TestAttackLDAPHeldAddressChargesNoName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	addrLimit := store.ThrottleLimit{Max: 3, Window: 5 * time.Minute, Lockout: 5 * time.Minute}
	ls := &lockingStore{Throttles: throttleStore(t), limit: addrLimit, now: now}
	s, dir, _, roleARN := ldapAttackFixtureOn(t, &now, ls)
	s.ldap.Addresses = throttle.New(ls, "ldap-address", addrLimit)
	_, err := s.AssumeRoleWithLDAPIdentity(ctx, &authz.Caller{SourceIP: "192.0.2.30"},
		&AssumeRoleWithLDAPIdentityInput{LDAPUsername: "bob", LDAPPassword: "a guess", RoleArn: roleARN})
	if code(err) != "AccessDenied" {
		t.Fatalf("a sign-in from an address locked out meanwhile: %v", err)
	}
	if dir.calls != 0 {
		t.Fatalf("the directory was asked %d times", dir.calls)
	}
	st, _, err := s.ldap.Users.State(ctx, ldapNameKey("arn:aws:iam::123456789012:ldap-provider/corp", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Failures != 0 || st.Locked(now) {
		t.Fatalf("bob's name: %d failures (locked %v) after a sign-in refused unchecked", st.Failures, st.Locked(now))
	}
}

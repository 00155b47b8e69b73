package iam_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)

// env is one IAM service on a fresh SQLite store with accounts A and B and
// the AWS managed policies seeded.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  store.Store
	svc    *iam.Service
	cache  *policy.Cache // the service's compiled-policy cache
	sealer *seal.Sealer
	rootA  *authz.Caller
	rootB  *authz.Caller
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir())
}

// lockedReader makes a deterministic source safe for the concurrent
// requests some tests make (a ChaCha8 is not).
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// newEnvIn is newEnv with the database in dir.
func newEnvIn(t *testing.T, dir string) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize), &lockedReader{r: rand.NewChaCha8([32]byte{1})})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return epoch }
	cache := policy.NewCache(1 << 20)
	az := authz.New(authz.Config{Store: st, Policies: cache, Sealer: sealer, Now: now})
	svc := iam.New(iam.Config{Store: st, Authz: az, Policies: cache, Sealer: sealer, Now: now, Rand: &lockedReader{r: rand.NewChaCha8([32]byte{2})}})
	// The server applies the store's change feed to the authorizer; here
	// every local write simply clears its cache.
	st.SetChangeHook(az.Invalidate)
	ctx := context.Background()
	for _, a := range []store.Account{
		{ID: acctA, Name: "a", Email: "a@example.com", CreatedAt: epoch, Management: true},
		{ID: acctB, Name: "b", Email: "b@example.com", CreatedAt: epoch},
	} {
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.SeedManagedPolicies(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, store: st, svc: svc, cache: cache, sealer: sealer,
		rootA: rootCaller(acctA), rootB: rootCaller(acctB)}
}

func rootCaller(account string) *authz.Caller {
	return &authz.Caller{Account: account, Type: policy.Root, ARN: authz.RootARN(account), UserID: account}
}

// user creates a user in account A (as root) and returns it as a caller.
func (e *env) user(name, path string) *authz.Caller {
	e.t.Helper()
	out, err := e.svc.CreateUser(e.ctx, e.rootA, &iam.CreateUserInput{UserName: name, Path: path})
	if err != nil {
		e.t.Fatalf("CreateUser %s: %v", name, err)
	}
	return &authz.Caller{Account: acctA, Type: policy.User, ARN: out.User.ARN, UserID: out.User.UserID, UserName: name}
}

func (e *env) putUserPolicy(user, name, doc string) {
	e.t.Helper()
	if _, err := e.svc.PutUserPolicy(e.ctx, e.rootA, &iam.PutUserPolicyInput{UserName: user, PolicyName: name, PolicyDocument: doc}); err != nil {
		e.t.Fatalf("PutUserPolicy %s: %v", name, err)
	}
}

func (e *env) attachUser(user, arn string) {
	e.t.Helper()
	if _, err := e.svc.AttachUserPolicy(e.ctx, e.rootA, &iam.AttachUserPolicyInput{UserName: user, PolicyARN: arn}); err != nil {
		e.t.Fatalf("AttachUserPolicy %s: %v", arn, err)
	}
}

func (e *env) createRole(name string) {
	e.t.Helper()
	if _, err := e.svc.CreateRole(e.ctx, e.rootA, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trustDoc}); err != nil {
		e.t.Fatalf("CreateRole %s: %v", name, err)
	}
}

func (e *env) createGroup(name string) {
	e.t.Helper()
	if _, err := e.svc.CreateGroup(e.ctx, e.rootA, &iam.CreateGroupInput{GroupName: name}); err != nil {
		e.t.Fatalf("CreateGroup %s: %v", name, err)
	}
}

func (e *env) createPolicy(name, doc string) string {
	e.t.Helper()
	out, err := e.svc.CreatePolicy(e.ctx, e.rootA, &iam.CreatePolicyInput{PolicyName: name, PolicyDocument: doc})
	if err != nil {
		e.t.Fatalf("CreatePolicy %s: %v", name, err)
	}
	return out.Policy.ARN
}

// code returns err's API error code name, "" for nil, "?" for a non-API error.
func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apierr.As(err); ok {
		return e.Code.Name
	}
	return "?" + err.Error()
}

// wantErr fails unless err is an API error with code c.
func wantErr(t *testing.T, err error, c apierr.Code) {
	t.Helper()
	if !errors.Is(err, &apierr.Error{Code: c}) {
		t.Fatalf("err = %v, want %s", err, c.Name)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ptr[T any](v T) *T { return &v }

const (
	trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
	allowS3  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	allowIAM = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}`

	arnAdmin      = "arn:aws:iam::aws:policy/AdministratorAccess"
	arnIAMRead    = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	arnIAMFull    = "arn:aws:iam::aws:policy/IAMFullAccess"
	arnReadOnly   = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	arnPowerUser  = "arn:aws:iam::aws:policy/PowerUserAccess"
	arnNoSuchPol  = "arn:aws:iam::111122223333:policy/nope"
	arnBadPolicy  = "arn:aws:iam::111122223333:role/notapolicy"
	arnUserPrefix = "arn:aws:iam::111122223333:user"
)

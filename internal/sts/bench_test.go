package sts

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/mfa"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/seal"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlite"
)

// The service-level AssumeRole benchmarks: plain, and with MFA, session tags
// and a session policy, side by side. The MFA variant moves an injected
// clock one TOTP step per call, so every call presents a fresh code and
// writes the device's counter (replay protection); the plain variant must
// touch no store at all.
//
//	go test ./internal/sts -run '^$' -bench AssumeRole -benchmem

const benchAccount = "123456789012"

type benchEnv struct {
	svc    *Service
	caller *authz.Caller
	seed   string
	serial string
	now    atomic.Int64 // unix seconds
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	sl, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{serial: "arn:aws:iam::" + benchAccount + ":mfa/bench"}
	e.now.Store(time.Now().Unix())
	now := func() time.Time { return time.Unix(e.now.Load(), 0) }
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateAccount(ctx, store.Account{ID: benchAccount, Name: "m", Management: true}))
	must(st.CreateUser(ctx, store.User{Account: benchAccount, ID: "AIDABENCHBENCHBENCH1", Name: "bench", Path: "/"}))
	must(st.PutInlinePolicy(ctx, store.InlinePolicy{Account: benchAccount, Kind: store.KindUser, Owner: "bench", Name: "p",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`}))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + benchAccount + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	must(st.CreateRole(ctx, store.Role{Account: benchAccount, ID: "AROABENCHBENCHBENCH1", Name: "r", Path: "/", TrustPolicy: trust, MaxSessionDuration: 3600,
		Tags: []store.Tag{{Key: "team", Value: "blue"}}}))
	if e.seed, err = mfa.NewSeed(rand.Reader); err != nil {
		b.Fatal(err)
	}
	sealed, err := mfa.SealSecret(sl, e.serial, mfa.Secret{Seed: e.seed})
	must(err)
	must(st.CreateMFADevice(ctx, store.MFADevice{Account: benchAccount, SerialNumber: e.serial, Name: "bench", Path: "/", Seed: sealed, UserName: "bench", EnabledAt: now(), CreatedAt: now()}))
	cache := policy.NewCache(1 << 20)
	az := authz.New(authz.Config{Store: st, Policies: cache, Sealer: sl, Now: now})
	st.SetChangeHook(az.Invalidate) // as the server's change feed would
	sm, err := session.NewManager(ctx, session.Config{Keys: st, Sealer: sl, Now: now})
	must(err)
	e.svc = New(Config{Keys: st, Authz: az, Sessions: sm, Policies: cache, Now: now,
		MFA: mfa.NewChecker(mfa.CheckerConfig{Devices: st, Throttles: st, Sealer: sl})})
	e.caller = &authz.Caller{Account: benchAccount, Type: policy.User, ARN: "arn:aws:iam::" + benchAccount + ":user/bench",
		UserID: "AIDABENCHBENCHBENCH1", UserName: "bench", AccessKeyID: "AKIABENCHBENCHBENCH1", SourceIP: "10.0.0.1"}
	return e
}

func BenchmarkAssumeRolePlain(b *testing.B) {
	e := newBenchEnv(b)
	in := &AssumeRoleInput{RoleArn: "arn:aws:iam::" + benchAccount + ":role/r", RoleSessionName: "bench"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.AssumeRole(ctx, e.caller, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssumeRoleTagsPolicy(b *testing.B) {
	e := newBenchEnv(b)
	in := &AssumeRoleInput{RoleArn: "arn:aws:iam::" + benchAccount + ":role/r", RoleSessionName: "bench",
		Tags:   []Tag{{Key: "project", Value: "apollo"}, {Key: "cost", Value: "42"}},
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.AssumeRole(ctx, e.caller, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssumeRoleMFATagsPolicy(b *testing.B) {
	e := newBenchEnv(b)
	in := &AssumeRoleInput{RoleArn: "arn:aws:iam::" + benchAccount + ":role/r", RoleSessionName: "bench",
		Tags:         []Tag{{Key: "project", Value: "apollo"}, {Key: "cost", Value: "42"}},
		Policy:       `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`,
		SerialNumber: e.serial}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		t := e.now.Add(30)
		code, err := mfa.Code(e.seed, mfa.Step(time.Unix(t, 0)))
		if err != nil {
			b.Fatal(err)
		}
		in.TokenCode = code
		b.StartTimer()
		if _, err := e.svc.AssumeRole(ctx, e.caller, in); err != nil {
			b.Fatal(err)
		}
	}
}

package sts

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/oidc"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

type fakeProviders map[string]store.OIDCProvider

func (f fakeProviders) OIDCProvider(_ context.Context, account, name string) (store.OIDCProvider, error) {
	if p, ok := f[account+"/"+name]; ok {
		return p, nil
	}
	return store.OIDCProvider{}, store.ErrNotFound
}

type fakeVerifier struct {
	claims *oidc.Claims
	err    error
	got    []oidc.Provider
}

func (f *fakeVerifier) Parse(raw string) (*oidc.Token, error) { return oidc.Parse(raw) }

func (f *fakeVerifier) Verify(_ context.Context, _ *oidc.Token, p oidc.Provider) (*oidc.Claims, error) {
	f.got = append(f.got, p)
	return f.claims, f.err
}

// callerAuthz records the callers Decide is asked about.
type callerAuthz struct {
	*fakeAuthz
	callers []authz.Caller
	deny    map[string]bool // actions to deny
}

func (f *callerAuthz) Decide(ctx context.Context, c *authz.Caller, r *authz.Request) (policy.Decision, error) {
	f.callers = append(f.callers, *c)
	if f.deny[r.Action] {
		f.requests = append(f.requests, *r)
		return policy.Decision{Effect: policy.ImplicitDeny}, nil
	}
	return f.fakeAuthz.Decide(ctx, c, r)
}

// unverifiedToken is a syntactically valid RS256 JWS whose signature the
// fake verifier never checks.
func unverifiedToken(iss string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + e([]byte(`{"iss":"`+iss+`"}`)) + "." + e([]byte("sig"))
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	const acct = "123456789012"
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	role := &authz.Role{Role: store.Role{Account: acct, ID: "AROAWEBWEBWEBWEBWEB1", Name: "web", Path: "/", MaxSessionDuration: 3600,
		Tags: []store.Tag{{Key: "env", Value: "prod"}}},
		ARN: "arn:aws:iam::" + acct + ":role/web", TrustID: "arn:aws:iam::" + acct + ":role/web#trust"}
	providers := fakeProviders{acct + "/idp.example.com/t": {Account: acct, Name: "idp.example.com/t", ClientIDs: []string{"app"}, Thumbprints: []string{"ab"}}}
	claims := func() *oidc.Claims {
		return &oidc.Claims{Issuer: "https://idp.example.com/t", Subject: "user-1", Audience: []string{"app", "x"}, ClientID: "app", AMR: []string{"mfa"},
			Strings: map[string][]string{"sub": {"user-1"}, "email": {"u@example.com"}, "https://aws.amazon.com/source_identity": {"alice"}}}
	}
	type env struct {
		s  *Service
		az *callerAuthz
		v  *fakeVerifier
		m  *fakeMinter
	}
	newEnv := func(cl *oidc.Claims, verr error) env {
		az := &callerAuthz{fakeAuthz: &fakeAuthz{roles: map[string]*authz.Role{"web": role}, allow: true}, deny: map[string]bool{}}
		v := &fakeVerifier{claims: cl, err: verr}
		m := &fakeMinter{}
		return env{s: New(Config{Authz: az, Sessions: m, Policies: policy.NewCache(1 << 20), Now: func() time.Time { return now }, OIDC: providers, WebIdentity: v}), az: az, v: v, m: m}
	}
	in := func(iss string) *AssumeRoleWithWebIdentityInput {
		return &AssumeRoleWithWebIdentityInput{RoleArn: role.ARN, RoleSessionName: "sess", WebIdentityToken: unverifiedToken(iss)}
	}
	ctx := context.Background()
	env0 := &authz.Caller{SourceIP: "192.0.2.1"}

	t.Run("ok", func(t *testing.T) {
		cl := claims()
		cl.Tags = []oidc.Tag{{Key: "team", Value: "id"}}
		cl.TransitiveTagKeys = []string{"team"}
		cl.SourceIdentity = "alice"
		e := newEnv(cl, nil)
		out, err := e.s.AssumeRoleWithWebIdentity(ctx, env0, in("https://idp.example.com/t"))
		if err != nil {
			t.Fatal(err)
		}
		if out.SubjectFromWebIdentityToken != "user-1" || out.Audience != "app" || out.Provider != "https://idp.example.com/t" || out.SourceIdentity != "alice" || out.PackedPolicySize == nil {
			t.Errorf("%+v", out)
		}
		if p := e.v.got[0]; p.URL != "https://idp.example.com/t" || len(p.Thumbprints) != 1 || p.ClientIDs[0] != "app" {
			t.Errorf("verified against %+v", p)
		}
		providerARN := "arn:aws:iam::" + acct + ":oidc-provider/idp.example.com/t"
		var actions []string
		for _, r := range e.az.requests {
			actions = append(actions, r.Action)
		}
		if len(actions) != 3 || actions[0] != "sts:AssumeRoleWithWebIdentity" || actions[1] != "sts:TagSession" || actions[2] != "sts:SetSourceIdentity" {
			t.Errorf("actions %v", actions)
		}
		c := e.az.callers[0]
		if c.Type != policy.WebIdentity || c.Federated != providerARN || c.SourceIP != "192.0.2.1" || c.Account != "" {
			t.Errorf("caller %+v", c)
		}
		keys := map[string][]string{}
		for _, k := range e.az.requests[0].Keys {
			keys[k.Name] = k.Values
		}
		want := map[string]string{
			"idp.example.com/t:sub": "user-1", "idp.example.com/t:aud": "app", "idp.example.com/t:oaud": "app,x", "idp.example.com/t:amr": "mfa",
			"idp.example.com/t:email": "u@example.com", "sts:RoleSessionName": "sess", "aws:FederatedProvider": providerARN,
			"sts:SourceIdentity": "alice", "sts:TransitiveTagKeys": "team", "aws:RequestTag/team": "id", "aws:ResourceTag/env": "prod",
		}
		for k, v := range want {
			if got := keys[k]; joinComma(got) != v {
				t.Errorf("%s = %v, want %s", k, got, v)
			}
		}
		if _, ok := keys["idp.example.com/t:https://aws.amazon.com/source_identity"]; ok {
			t.Error("the AWS claims are exposed as provider keys")
		}
		s := e.m.minted[0]
		if s.Type != session.WebIdentity || s.FederatedSubject != "user-1" || s.FederatedProvider != providerARN || s.RoleID != role.ID ||
			s.SourceIdentity != "alice" || len(s.Tags) != 1 || s.Expires != now.Add(time.Hour) {
			t.Errorf("session %+v", s)
		}
	})

	errCode := func(err error) string {
		var e *apierr.Error
		if !errors.As(err, &e) {
			return "not an API error: " + err.Error()
		}
		return e.Code.Name
	}
	cases := []struct {
		name string
		iss  string
		cl   *oidc.Claims
		verr error
		deny string
		mod  func(*AssumeRoleWithWebIdentityInput)
		code string
	}{
		{name: "no provider", iss: "https://other.example.com", cl: claims(), code: "InvalidIdentityToken"},
		{name: "http issuer", iss: "http://idp.example.com/t", cl: claims(), code: "InvalidIdentityToken"},
		{name: "invalid", iss: "https://idp.example.com/t", verr: &oidc.Error{Kind: oidc.Invalid, Message: "bad"}, code: "InvalidIdentityToken"},
		{name: "expired", iss: "https://idp.example.com/t", verr: &oidc.Error{Kind: oidc.Expired, Message: "Token expired"}, code: "ExpiredTokenException"},
		{name: "rejected", iss: "https://idp.example.com/t", verr: &oidc.Error{Kind: oidc.Rejected, Message: "no sub"}, code: "IDPRejectedClaim"},
		{name: "communication", iss: "https://idp.example.com/t", verr: &oidc.Error{Kind: oidc.Communication, Message: "down"}, code: "IDPCommunicationError"},
		{name: "trust denies", iss: "https://idp.example.com/t", cl: claims(), deny: "sts:AssumeRoleWithWebIdentity", code: "AccessDenied"},
		{name: "source identity needs SetSourceIdentity", iss: "https://idp.example.com/t", cl: func() *oidc.Claims { c := claims(); c.SourceIdentity = "alice"; return c }(), deny: "sts:SetSourceIdentity", code: "AccessDenied"},
		{name: "bad source identity", iss: "https://idp.example.com/t", cl: func() *oidc.Claims { c := claims(); c.SourceIdentity = "aws:x"; return c }(), code: "InvalidIdentityToken"},
		{name: "missing role", iss: "https://idp.example.com/t", cl: claims(), mod: func(in *AssumeRoleWithWebIdentityInput) { in.RoleArn = "arn:aws:iam::" + acct + ":role/nope" }, code: "AccessDenied"},
		{name: "malformed policy", iss: "https://idp.example.com/t", cl: claims(), mod: func(in *AssumeRoleWithWebIdentityInput) { in.Policy = `{"Statement":"x"}` }, code: "MalformedPolicyDocument"},
		{name: "ProviderId", iss: "https://idp.example.com/t", cl: claims(), mod: func(in *AssumeRoleWithWebIdentityInput) { in.ProviderId = "www.amazon.com" }, code: "InvalidParameterValue"},
		{name: "not a JWT", iss: "", cl: claims(), mod: func(in *AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = "abcd" }, code: "InvalidIdentityToken"},
	}
	// Session tags from the token get AssumeRole's limits (attack review:
	// empty, 1000-character and NUL keys and 300-character values were
	// minted into sessions).
	for name, tag := range map[string]oidc.Tag{
		"empty tag key": {Key: "", Value: "v"}, "long tag key": {Key: strings.Repeat("k", 129), Value: "v"},
		"NUL in tag key": {Key: "a\x00b", Value: "v"}, "newline in tag key": {Key: "a\nb", Value: "v"},
		"long tag value": {Key: "k", Value: strings.Repeat("v", 257)}, "wildcard tag value": {Key: "k", Value: "*"},
		"variable in tag value": {Key: "k", Value: "${aws:username}"},
	} {
		cl := claims()
		cl.Tags = []oidc.Tag{tag}
		cases = append(cases, struct {
			name string
			iss  string
			cl   *oidc.Claims
			verr error
			deny string
			mod  func(*AssumeRoleWithWebIdentityInput)
			code string
		}{name: name, iss: "https://idp.example.com/t", cl: cl, code: "InvalidIdentityToken"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(tc.cl, tc.verr)
			if tc.deny != "" {
				e.az.deny[tc.deny] = true
			}
			req := in(tc.iss)
			if tc.mod != nil {
				tc.mod(req)
			}
			_, err := e.s.AssumeRoleWithWebIdentity(ctx, env0, req)
			if err == nil {
				t.Fatal("succeeded")
			}
			if got := errCode(err); got != tc.code {
				t.Errorf("code %s, want %s (%v)", got, tc.code, err)
			}
			if len(e.m.minted) != 0 {
				t.Error("a session was minted")
			}
		})
	}
}

func joinComma(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// TestWebIdentityKeysReserved: a token cannot set the keys OpenSTS derives
// itself (sub, aud, oaud, amr) through claims spelled in another case, nor
// spell another provider's key with a colon, nor expose two claims that
// differ only in case (whichever was set last would win). Attack review:
// a claim "SUB":"admin" beside sub=user won a trust policy's
// PROVIDER:sub = admin condition in 13 of 20 tries.
func TestWebIdentityKeysReserved(t *testing.T) {
	t.Parallel()
	cl := &oidc.Claims{Subject: "user", ClientID: "app-b", Audience: []string{"app-b"}, Strings: map[string][]string{
		"sub": {"user"}, "SUB": {"admin"}, "Aud": {"app-a"}, "OAUD": {"app-a"}, "Amr": {"mfa"},
		"8443:sub": {"admin"}, "Email": {"a@example.com"}, "email": {"b@example.com"}, "team": {"blue"},
		"https://aws.amazon.com/tags": {"x"},
	}}
	for range 20 { // map order must not matter
		got := map[string][]string{}
		for _, k := range webIdentityKeys("idp", "arn:aws:iam::123456789012:oidc-provider/idp", cl, "s", nil, &authz.Role{}) {
			lk := strings.ToLower(k.Name)
			if _, dup := got[lk]; dup {
				t.Fatalf("key %s twice", k.Name)
			}
			got[lk] = k.Values
		}
		want := map[string][]string{"idp:sub": {"user"}, "idp:aud": {"app-b"}, "idp:oaud": {"app-b"}, "idp:team": {"blue"}}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		for _, k := range []string{"idp:amr", "idp:email", "idp:8443:sub", "idp:https://aws.amazon.com/tags"} {
			if v, ok := got[k]; ok {
				t.Errorf("%s = %v exposed", k, v)
			}
		}
	}
}

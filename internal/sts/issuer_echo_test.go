package sts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
)

// An unauthenticated caller's unverified JWT "iss" was echoed whole in the
// InvalidIdentityToken message (and, up to 4096 bytes, in the audit
// record's errorMessage): it is cut to apierr.MaxQuoted (found by a review
// of the bounds as an attacker).
func TestIssuerEchoIsBounded(t *testing.T) {
	now := time.Now()
	s := New(Config{Authz: &fakeAuthz{roles: map[string]*authz.Role{}}, Sessions: &fakeMinter{}, Policies: policy.NewCache(1 << 20),
		Now: func() time.Time { return now }, OIDC: fakeProviders{}, WebIdentity: &fakeVerifier{}})
	iss := "https://" + strings.Repeat("a", 14000)
	_, err := s.AssumeRoleWithWebIdentity(context.Background(), &authz.Caller{}, &AssumeRoleWithWebIdentityInput{
		RoleArn: "arn:aws:iam::123456789012:role/web", RoleSessionName: "sess", WebIdentityToken: unverifiedToken(iss)})
	if err == nil || len(err.Error()) > 1024 {
		t.Errorf("error message of %d bytes quotes the issuer whole", len(err.Error()))
	}
}

package iam

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// SetSecurityTokenServicePreferences records which session tokens the
// global STS endpoint issues in an account: v1Token (valid only in regions
// enabled by default) or v2Token (valid in every region). OpenSTS has no
// regions that are disabled by default, so its tokens are valid everywhere
// either way; the preference is stored and reported by GetAccountSummary
// (GlobalEndpointTokenVersion), as AWS does.

// tokenVersionSetting is the settings key of an account's preference.
func tokenVersionSetting(account string) string {
	return "iam.sts-global-endpoint-token-version." + account
}

// globalEndpointTokenVersion is the account's preference: 1 (the default)
// or 2.
func (s *Service) globalEndpointTokenVersion(ctx context.Context, account string) (int, error) {
	v, err := s.store.GetSetting(ctx, tokenVersionSetting(account))
	switch {
	case isNotFound(err):
		return 1, nil
	case err != nil:
		return 0, internal(err, "load the token version preference")
	case v == "v2Token":
		return 2, nil
	}
	return 1, nil
}

// SetSecurityTokenServicePreferencesInput is the input of SetSecurityTokenServicePreferences.
type SetSecurityTokenServicePreferencesInput struct {
	GlobalEndpointTokenVersion string `required:"true"`
}

// SetSecurityTokenServicePreferencesOutput is the (empty) output of SetSecurityTokenServicePreferences.
type SetSecurityTokenServicePreferencesOutput struct{}

// SetSecurityTokenServicePreferences sets the account's token version
// preference.
func (s *Service) SetSecurityTokenServicePreferences(ctx context.Context, c *authz.Caller, in *SetSecurityTokenServicePreferencesInput) (*SetSecurityTokenServicePreferencesOutput, error) {
	if in.GlobalEndpointTokenVersion != "v1Token" && in.GlobalEndpointTokenVersion != "v2Token" {
		return nil, apierr.Validation("Value '" + in.GlobalEndpointTokenVersion + "' at 'globalEndpointTokenVersion' failed to satisfy constraint: Member must satisfy enum value set: [v1Token, v2Token]")
	}
	if err := s.check(ctx, c, "iam:SetSecurityTokenServicePreferences", "*"); err != nil {
		return nil, err
	}
	if err := s.store.PutSetting(ctx, tokenVersionSetting(c.Account), in.GlobalEndpointTokenVersion); err != nil {
		return nil, internal(err, "store the token version preference")
	}
	return &SetSecurityTokenServicePreferencesOutput{}, nil
}

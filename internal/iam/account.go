package iam

import (
	"context"
	"regexp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Account aliases and the account summary. An account has at most one
// alias, unique across the deployment; creating another replaces it, as in
// AWS.

// aliasPattern is accountAliasType's pattern without its look-ahead (Go's
// regexp has none): lowercase letters, digits and single hyphens, starting
// and ending with a letter or digit. Double hyphens are checked apart.
var aliasPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-)*[a-z0-9]$`)

const aliasPatternText = `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`

func checkAlias(alias string) error {
	if !aliasPattern.MatchString(alias) || containsDoubleHyphen(alias) {
		return apierr.Validation("Value '" + alias + "' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: " + aliasPatternText)
	}
	return nil
}

func containsDoubleHyphen(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == '-' && s[i-1] == '-' {
			return true
		}
	}
	return false
}

// CreateAccountAliasInput is the input of CreateAccountAlias.
type CreateAccountAliasInput struct {
	AccountAlias string `required:"true" min:"3" max:"63"`
}

// CreateAccountAliasOutput is the (empty) output of CreateAccountAlias.
type CreateAccountAliasOutput struct{}

// CreateAccountAlias sets the account's alias; EntityAlreadyExists if
// another account has it.
func (s *Service) CreateAccountAlias(ctx context.Context, c *authz.Caller, in *CreateAccountAliasInput) (*CreateAccountAliasOutput, error) {
	if err := checkAlias(in.AccountAlias); err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:CreateAccountAlias", "*"); err != nil {
		return nil, err
	}
	if err := s.store.PutAccountAlias(ctx, c.Account, in.AccountAlias); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "The account alias %s already exists.", in.AccountAlias)
		}
		return nil, internal(err, "create account alias")
	}
	return &CreateAccountAliasOutput{}, nil
}

// DeleteAccountAliasInput is the input of DeleteAccountAlias.
type DeleteAccountAliasInput struct {
	AccountAlias string `required:"true" min:"3" max:"63"`
}

// DeleteAccountAliasOutput is the (empty) output of DeleteAccountAlias.
type DeleteAccountAliasOutput struct{}

// DeleteAccountAlias removes the account's alias.
func (s *Service) DeleteAccountAlias(ctx context.Context, c *authz.Caller, in *DeleteAccountAliasInput) (*DeleteAccountAliasOutput, error) {
	if err := checkAlias(in.AccountAlias); err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:DeleteAccountAlias", "*"); err != nil {
		return nil, err
	}
	if err := s.store.DeleteAccountAlias(ctx, c.Account, in.AccountAlias); err != nil {
		if isNotFound(err) {
			return nil, apierr.New(apierr.NoSuchEntity, "The account alias %s cannot be found.", in.AccountAlias)
		}
		return nil, internal(err, "delete account alias")
	}
	return &DeleteAccountAliasOutput{}, nil
}

// ListAccountAliasesInput is the input of ListAccountAliases.
type ListAccountAliasesInput struct {
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListAccountAliasesOutput is the output of ListAccountAliases: the alias,
// or an empty list.
type ListAccountAliasesOutput struct {
	AccountAliases []string `xml:"AccountAliases>member"`
	Page
}

// ListAccountAliases lists the account's alias.
func (s *Service) ListAccountAliases(ctx context.Context, c *authz.Caller, in *ListAccountAliasesInput) (*ListAccountAliasesOutput, error) {
	if err := s.check(ctx, c, "iam:ListAccountAliases", "*"); err != nil {
		return nil, err
	}
	aliases, err := s.store.ListAccountAliases(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "list account aliases")
	}
	page, p, err := paginate(aliases, func(a string) string { return a }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListAccountAliasesOutput{AccountAliases: page, Page: p}, nil
}

// SummaryEntry is one entry of GetAccountSummary's SummaryMap.
type SummaryEntry struct {
	Key   string `xml:"key"`
	Value int32  `xml:"value"`
}

// GetAccountSummaryInput is the (empty) input of GetAccountSummary.
type GetAccountSummaryInput struct{}

// GetAccountSummaryOutput is the output of GetAccountSummary.
type GetAccountSummaryOutput struct {
	SummaryMap []SummaryEntry `xml:"SummaryMap>entry"`
}

// Quotas GetAccountSummary reports, AWS's defaults.
const (
	quotaUsers            = 5000
	quotaGroups           = 300
	quotaRoles            = 1000
	quotaPolicies         = 1500
	quotaInstanceProfiles = 1000
	quotaPolicyVersions   = 10000
)

// GetAccountSummary counts the account's IAM entities (from the store) and
// reports the quotas OpenSTS enforces or AWS's defaults. The root user has
// no signing certificates (they belong to users): AccountSigningCertificatesPresent is 0.
func (s *Service) GetAccountSummary(ctx context.Context, c *authz.Caller, _ *GetAccountSummaryInput) (*GetAccountSummaryOutput, error) {
	if err := s.check(ctx, c, "iam:GetAccountSummary", "*"); err != nil {
		return nil, err
	}
	sum, err := s.store.AccountSummary(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "account summary")
	}
	tokenVersion, err := s.globalEndpointTokenVersion(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	present := func(n int) int { return min(n, 1) }
	entries := []struct {
		key string
		v   int
	}{
		{"AccessKeysPerUserQuota", maxAccessKeysPerUser},
		{"AccountAccessKeysPresent", present(sum.RootAccessKeys)},
		{"AccountMFAEnabled", present(sum.RootMFADevices)},
		{"AccountSigningCertificatesPresent", 0},
		{"AssumeRolePolicySizeQuota", maxTrustPolicySize},
		{"AttachedPoliciesPerGroupQuota", maxAttachedPolicies},
		{"AttachedPoliciesPerRoleQuota", maxAttachedPolicies},
		{"AttachedPoliciesPerUserQuota", maxAttachedPolicies},
		{"GlobalEndpointTokenVersion", tokenVersion},
		{"GroupPolicySizeQuota", maxGroupInlineSize},
		{"Groups", sum.Groups},
		{"GroupsPerUserQuota", maxGroupsPerUser},
		{"GroupsQuota", quotaGroups},
		{"InstanceProfiles", sum.InstanceProfiles},
		{"InstanceProfilesQuota", quotaInstanceProfiles},
		{"MFADevices", sum.MFADevices},
		{"MFADevicesInUse", sum.MFADevicesInUse},
		{"Policies", sum.Policies},
		{"PoliciesQuota", quotaPolicies},
		{"PolicySizeQuota", maxManagedPolicySize},
		{"PolicyVersionsInUse", sum.PolicyVersionsInUse},
		{"PolicyVersionsInUseQuota", quotaPolicyVersions},
		{"Providers", sum.Providers},
		{"RolePolicySizeQuota", maxRoleInlineSize},
		{"Roles", sum.Roles},
		{"RolesQuota", quotaRoles},
		{"ServerCertificates", sum.ServerCertificates},
		{"ServerCertificatesQuota", maxServerCertificates},
		{"SigningCertificatesPerUserQuota", credentialKinds[store.CredentialSigningCert].max},
		{"UserPolicySizeQuota", maxUserInlineSize},
		{"Users", sum.Users},
		{"UsersQuota", quotaUsers},
		{"VersionsPerPolicyQuota", maxPolicyVersions},
	}
	out := &GetAccountSummaryOutput{SummaryMap: make([]SummaryEntry, 0, len(entries))}
	for _, e := range entries {
		out.SummaryMap = append(out.SummaryMap, SummaryEntry{Key: e.key, Value: int32(e.v)})
	}
	return out, nil
}

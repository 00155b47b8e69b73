package iam

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/ldap"
	"github.com/opensts/opensts/internal/store"
)

// LDAP identity providers (an OpenSTS extension of IAM): an account resource
// named arn:aws:iam::ACCOUNT:ldap-provider/NAME that tells
// AssumeRoleWithLDAPIdentity where the directory is and how to find users
// and their groups. The service account's password is sealed under the
// master key (aad: the provider ARN) and never returned.

const maxLDAPProvidersPerAccount = 100

func noSuchLDAPProvider(a string) error {
	return apierr.New(apierr.NoSuchEntity, "LDAP provider %s does not exist.", a)
}

// authLDAPProvider is authSAMLProvider for LDAP providers.
func (s *Service) authLDAPProvider(ctx context.Context, c *authz.Caller, action, providerARN string) (store.LDAPProvider, error) {
	r, ok := arn.ParseIAM(providerARN, "ldap-provider")
	if !ok || r.Path != "/" || !validSAMLProviderName(r.Name) {
		return store.LDAPProvider{}, apierr.New(apierr.InvalidInput, "ARN %s is not valid.", providerARN)
	}
	var p store.LDAPProvider
	found := false
	if r.Account == c.Account {
		var err error
		p, err = s.store.GetLDAPProvider(ctx, c.Account, r.Name)
		switch {
		case err == nil:
			found = true
		case !isNotFound(err):
			return store.LDAPProvider{}, internal(err, "load ldap provider")
		}
	}
	resource := providerARN
	if found {
		resource = p.ARN
	}
	if err := s.checkAs(ctx, c, action, resource, providerARN); err != nil {
		return store.LDAPProvider{}, err
	}
	if !found {
		return store.LDAPProvider{}, noSuchLDAPProvider(providerARN)
	}
	return p, nil
}

// ldapSettings are the fields Create and Update take (nil: not given).
type ldapSettings struct {
	URL, CACertificates, BindDN, BindPassword           *string
	StartTLS, AllowInsecure                             *bool
	UserSearchBase, UserSearchFilter                    *string
	GroupSearchMode, GroupSearchBase, GroupSearchFilter *string
}

// apply sets p from the given fields, checks the result and seals a new
// password.
func (s *Service) applyLDAPSettings(p *store.LDAPProvider, in *ldapSettings) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.URL, in.URL)
	set(&p.CACertificates, in.CACertificates)
	set(&p.BindDN, in.BindDN)
	set(&p.UserSearchBase, in.UserSearchBase)
	set(&p.UserFilter, in.UserSearchFilter)
	set(&p.GroupMode, in.GroupSearchMode)
	set(&p.GroupSearchBase, in.GroupSearchBase)
	set(&p.GroupFilter, in.GroupSearchFilter)
	if in.StartTLS != nil {
		p.StartTLS = *in.StartTLS
	}
	if in.AllowInsecure != nil {
		p.AllowInsecure = *in.AllowInsecure
	}
	if p.UserFilter == "" {
		p.UserFilter = ldap.DefaultUserFilter
	}
	if p.GroupMode == "" {
		p.GroupMode = ldap.GroupsMemberOf
	}
	if p.GroupMode == ldap.GroupsSearch && p.GroupFilter == "" {
		p.GroupFilter = ldap.DefaultGroupFilter
	}
	if err := ldap.Check(ldap.Config{URL: p.URL, StartTLS: p.StartTLS, AllowInsecure: p.AllowInsecure, BindDN: p.BindDN,
		UserSearchBase: p.UserSearchBase, UserFilter: p.UserFilter, GroupMode: p.GroupMode,
		GroupSearchBase: p.GroupSearchBase, GroupFilter: p.GroupFilter}); err != nil {
		return apierr.New(apierr.InvalidInput, "Invalid LDAP provider: %s.", err.Error())
	}
	if p.CACertificates != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(p.CACertificates)) {
		return apierr.New(apierr.InvalidInput, "Invalid LDAP provider: CACertificates holds no PEM certificate.")
	}
	if in.BindPassword != nil {
		if s.sealer == nil {
			return apierr.New(apierr.InvalidInput, "This server has no master key to seal the bind password with.")
		}
		sealed, err := s.sealer.Seal([]byte(*in.BindPassword), []byte(p.ARN))
		if err != nil {
			return internal(err, "seal ldap bind password")
		}
		p.SealedBindPassword = sealed
	}
	return nil
}

// CreateLDAPProviderInput is the input of CreateLDAPProvider.
type CreateLDAPProviderInput struct {
	Name              string  `required:"true" min:"1" max:"128" pattern:"[\\w._-]+"`
	URL               *string `query:"Url" min:"1" max:"2048"`
	StartTLS          *bool   `query:"StartTLS"`
	AllowInsecure     *bool   `query:"AllowInsecure"`
	CACertificates    *string `max:"65536"`
	BindDN            *string `query:"BindDN" max:"1024"`
	BindPassword      *string `max:"1024" sensitive:"true"`
	UserSearchBase    *string `max:"1024"`
	UserSearchFilter  *string `max:"1024"`
	GroupSearchMode   *string `pattern:"memberOf|search|none"`
	GroupSearchBase   *string `max:"1024"`
	GroupSearchFilter *string `max:"1024"`
}

func (in *CreateLDAPProviderInput) settings() *ldapSettings {
	return &ldapSettings{URL: in.URL, StartTLS: in.StartTLS, AllowInsecure: in.AllowInsecure, CACertificates: in.CACertificates,
		BindDN: in.BindDN, BindPassword: in.BindPassword, UserSearchBase: in.UserSearchBase, UserSearchFilter: in.UserSearchFilter,
		GroupSearchMode: in.GroupSearchMode, GroupSearchBase: in.GroupSearchBase, GroupSearchFilter: in.GroupSearchFilter}
}

// CreateLDAPProviderOutput is the output of CreateLDAPProvider.
type CreateLDAPProviderOutput struct {
	LDAPProviderARN string `xml:"LDAPProviderArn"`
}

// CreateLDAPProvider creates an LDAP identity provider.
func (s *Service) CreateLDAPProvider(ctx context.Context, c *authz.Caller, in *CreateLDAPProviderInput) (*CreateLDAPProviderOutput, error) {
	if !validSAMLProviderName(in.Name) {
		return nil, apierr.Validation("Value '" + in.Name + "' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: " + samlProviderNamePattern)
	}
	a := arn.IAM(c.Account, "ldap-provider/"+in.Name)
	if err := s.check(ctx, c, "iam:CreateLDAPProvider", a); err != nil {
		return nil, err
	}
	if in.URL == nil || in.UserSearchBase == nil {
		return nil, apierr.Validation("Url and UserSearchBase are required")
	}
	now := s.time()
	p := store.LDAPProvider{Account: c.Account, Name: in.Name, ARN: a, CreatedAt: now, UpdatedAt: now}
	if err := s.applyLDAPSettings(&p, in.settings()); err != nil {
		return nil, err
	}
	existing, err := s.store.ListLDAPProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "count ldap providers")
	}
	if len(existing) >= maxLDAPProvidersPerAccount {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for LDAPProvidersPerAccount: %d", maxLDAPProvidersPerAccount)
	}
	if err := s.store.CreateLDAPProvider(ctx, p); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "LDAPProvider %s already exists.", in.Name)
		}
		return nil, internal(err, "create ldap provider")
	}
	return &CreateLDAPProviderOutput{LDAPProviderARN: a}, nil
}

// LDAPProviderInput names a provider.
type LDAPProviderInput struct {
	LDAPProviderARN string `query:"LDAPProviderArn" required:"true" min:"20" max:"2048"`
}

// GetLDAPProviderInput is the input of GetLDAPProvider.
type GetLDAPProviderInput = LDAPProviderInput

// GetLDAPProviderOutput is the output of GetLDAPProvider: the settings,
// never the bind password.
type GetLDAPProviderOutput struct {
	LDAPProviderARN   string    `xml:"LDAPProviderArn"`
	URL               string    `xml:"Url"`
	StartTLS          bool      `xml:"StartTLS"`
	AllowInsecure     bool      `xml:"AllowInsecure"`
	CACertificates    string    `xml:"CACertificates,omitempty"`
	BindDN            string    `xml:"BindDN"`
	BindPasswordSet   bool      `xml:"BindPasswordSet"`
	UserSearchBase    string    `xml:"UserSearchBase"`
	UserSearchFilter  string    `xml:"UserSearchFilter"`
	GroupSearchMode   string    `xml:"GroupSearchMode"`
	GroupSearchBase   string    `xml:"GroupSearchBase,omitempty"`
	GroupSearchFilter string    `xml:"GroupSearchFilter,omitempty"`
	CreateDate        time.Time `xml:"CreateDate"`
	UpdateDate        time.Time `xml:"UpdateDate"`
}

// GetLDAPProvider returns a provider's settings.
func (s *Service) GetLDAPProvider(ctx context.Context, c *authz.Caller, in *GetLDAPProviderInput) (*GetLDAPProviderOutput, error) {
	p, err := s.authLDAPProvider(ctx, c, "iam:GetLDAPProvider", in.LDAPProviderARN)
	if err != nil {
		return nil, err
	}
	return &GetLDAPProviderOutput{LDAPProviderARN: p.ARN, URL: p.URL, StartTLS: p.StartTLS, AllowInsecure: p.AllowInsecure,
		CACertificates: p.CACertificates, BindDN: p.BindDN, BindPasswordSet: len(p.SealedBindPassword) > 0,
		UserSearchBase: p.UserSearchBase, UserSearchFilter: p.UserFilter, GroupSearchMode: p.GroupMode,
		GroupSearchBase: p.GroupSearchBase, GroupSearchFilter: p.GroupFilter, CreateDate: p.CreatedAt.UTC(), UpdateDate: p.UpdatedAt.UTC()}, nil
}

// ListLDAPProvidersInput is the input of ListLDAPProviders.
type ListLDAPProvidersInput struct{}

// LDAPProviderListEntry is one provider of ListLDAPProviders.
type LDAPProviderListEntry struct {
	ARN        string    `xml:"Arn"`
	URL        string    `xml:"Url"`
	CreateDate time.Time `xml:"CreateDate"`
}

// ListLDAPProvidersOutput is the output of ListLDAPProviders.
type ListLDAPProvidersOutput struct {
	LDAPProviderList []LDAPProviderListEntry `xml:"LDAPProviderList>member"`
}

// ListLDAPProviders lists the account's providers (at most 100, not
// paginated).
func (s *Service) ListLDAPProviders(ctx context.Context, c *authz.Caller, _ *ListLDAPProvidersInput) (*ListLDAPProvidersOutput, error) {
	if err := s.check(ctx, c, "iam:ListLDAPProviders", "*"); err != nil {
		return nil, err
	}
	list, err := s.store.ListLDAPProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "list ldap providers")
	}
	out := &ListLDAPProvidersOutput{LDAPProviderList: make([]LDAPProviderListEntry, 0, len(list))}
	for _, p := range list {
		out.LDAPProviderList = append(out.LDAPProviderList, LDAPProviderListEntry{ARN: p.ARN, URL: p.URL, CreateDate: p.CreatedAt.UTC()})
	}
	return out, nil
}

// UpdateLDAPProviderInput is the input of UpdateLDAPProvider: the fields
// given replace the stored ones.
type UpdateLDAPProviderInput struct {
	LDAPProviderARN   string  `query:"LDAPProviderArn" required:"true" min:"20" max:"2048"`
	URL               *string `query:"Url" min:"1" max:"2048"`
	StartTLS          *bool   `query:"StartTLS"`
	AllowInsecure     *bool   `query:"AllowInsecure"`
	CACertificates    *string `max:"65536"`
	BindDN            *string `query:"BindDN" max:"1024"`
	BindPassword      *string `max:"1024" sensitive:"true"`
	UserSearchBase    *string `max:"1024"`
	UserSearchFilter  *string `max:"1024"`
	GroupSearchMode   *string `pattern:"memberOf|search|none"`
	GroupSearchBase   *string `max:"1024"`
	GroupSearchFilter *string `max:"1024"`
}

func (in *UpdateLDAPProviderInput) settings() *ldapSettings {
	return &ldapSettings{URL: in.URL, StartTLS: in.StartTLS, AllowInsecure: in.AllowInsecure, CACertificates: in.CACertificates,
		BindDN: in.BindDN, BindPassword: in.BindPassword, UserSearchBase: in.UserSearchBase, UserSearchFilter: in.UserSearchFilter,
		GroupSearchMode: in.GroupSearchMode, GroupSearchBase: in.GroupSearchBase, GroupSearchFilter: in.GroupSearchFilter}
}

// UpdateLDAPProviderOutput is the output of UpdateLDAPProvider.
type UpdateLDAPProviderOutput struct {
	LDAPProviderARN string `xml:"LDAPProviderArn"`
}

// UpdateLDAPProvider changes a provider's settings (password rotation
// included); the result is checked as a new provider is.
func (s *Service) UpdateLDAPProvider(ctx context.Context, c *authz.Caller, in *UpdateLDAPProviderInput) (*UpdateLDAPProviderOutput, error) {
	p, err := s.authLDAPProvider(ctx, c, "iam:UpdateLDAPProvider", in.LDAPProviderARN)
	if err != nil {
		return nil, err
	}
	if err := s.applyLDAPSettings(&p, in.settings()); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.time()
	if err := s.store.UpdateLDAPProvider(ctx, p); err != nil {
		if isNotFound(err) {
			return nil, noSuchLDAPProvider(p.ARN)
		}
		return nil, internal(err, "update ldap provider")
	}
	return &UpdateLDAPProviderOutput{LDAPProviderARN: p.ARN}, nil
}

// DeleteLDAPProviderInput is the input of DeleteLDAPProvider.
type DeleteLDAPProviderInput = LDAPProviderInput

// DeleteLDAPProviderOutput is the (empty) output of DeleteLDAPProvider.
type DeleteLDAPProviderOutput struct{}

// DeleteLDAPProvider deletes a provider. Sessions it issued stay valid until
// they expire (revoke them to end them earlier).
func (s *Service) DeleteLDAPProvider(ctx context.Context, c *authz.Caller, in *DeleteLDAPProviderInput) (*DeleteLDAPProviderOutput, error) {
	p, err := s.authLDAPProvider(ctx, c, "iam:DeleteLDAPProvider", in.LDAPProviderARN)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteLDAPProvider(ctx, p.Account, p.Name); err != nil {
		if isNotFound(err) {
			return nil, noSuchLDAPProvider(in.LDAPProviderARN)
		}
		return nil, internal(err, "delete ldap provider")
	}
	return &DeleteLDAPProviderOutput{}, nil
}

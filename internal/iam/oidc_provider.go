package iam

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// OpenID Connect identity providers (reference §6.4, §11.3). A provider is
// named by its URL without https:// (host lowercased, then the path as
// given), which is also its ARN's suffix: arn:aws:iam::ACCOUNT:oidc-provider/
// HOST/PATH (HOST:PORT when the URL has a port, which AWS does not allow
// and OpenSTS does). AssumeRoleWithWebIdentity trusts tokens whose iss is the URL.

const (
	maxOIDCProviders    = 100
	maxOIDCClientIDs    = 100
	maxOIDCThumbprints  = 5
	oidcThumbprintChars = 40
)

func noSuchOIDCProvider(a string) error {
	return apierr.New(apierr.NoSuchEntity, "OpenIDConnect Provider not found for arn %s", a)
}

// oidcName validates a provider URL and returns its name.
func oidcName(raw string) (string, error) {
	bad := apierr.New(apierr.InvalidInput, "Invalid Url: %s. The URL must begin with https://, and have no query, fragment or user information.", raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#") {
		return "", bad
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	host := strings.ToLower(u.Hostname())
	if u.Port() != "" {
		// AWS refuses ports; a self-hosted IdP often listens on another
		// port than 443, so OpenSTS keeps it, as part of the name.
		host += ":" + u.Port()
	}
	return host + path, nil
}

// parseOIDCARN splits a provider ARN of the caller's account.
func parseOIDCARN(c *authz.Caller, s string) (name string, err error) {
	a, perr := arn.Parse(s)
	if perr != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "oidc-provider/") || len(a.Resource) == len("oidc-provider/") {
		return "", apierr.New(apierr.InvalidInput, "Invalid ARN: %s", s)
	}
	if a.Account != c.Account {
		return "", noSuchOIDCProvider(s)
	}
	return strings.TrimPrefix(a.Resource, "oidc-provider/"), nil
}

func checkThumbprints(tps []string) ([]string, error) {
	if len(tps) > maxOIDCThumbprints {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: %d", maxOIDCThumbprints)
	}
	out := make([]string, 0, len(tps))
	for _, t := range tps {
		if len(t) != oidcThumbprintChars || strings.Trim(strings.ToLower(t), "0123456789abcdef") != "" {
			return nil, apierr.Validation("Value '" + t + "' at 'thumbprintList' failed to satisfy constraint: Member must have length 40 and consist of hexadecimal digits")
		}
		if t = strings.ToLower(t); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func checkClientIDs(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if id == "" || len(id) > 255 {
			return nil, apierr.Validation("Value at 'clientIDList' failed to satisfy constraint: Member must have length between 1 and 255")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxOIDCClientIDs {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxOIDCClientIDs)
	}
	return out, nil
}

// authOIDC authorizes action on the provider ARN and loads the provider.
func (s *Service) authOIDC(ctx context.Context, c *authz.Caller, action, providerARN string, keys ...authz.Key) (store.OIDCProvider, error) {
	name, err := parseOIDCARN(c, providerARN)
	if err != nil {
		return store.OIDCProvider{}, err
	}
	resource := arn.OIDCProvider(c.Account, name)
	p, err := s.store.GetOIDCProvider(ctx, c.Account, name)
	if err == nil {
		keys = append(keys, resourceTagKeys(p.Tags)...)
	} else if !store.IsNotFound(err) {
		return store.OIDCProvider{}, internal(err, action)
	}
	if err := s.check(ctx, c, action, resource, keys...); err != nil {
		return store.OIDCProvider{}, err
	}
	if err != nil {
		return store.OIDCProvider{}, noSuchOIDCProvider(providerARN)
	}
	return p, nil
}

func (s *Service) saveOIDC(ctx context.Context, p store.OIDCProvider, what string) error {
	if err := s.store.UpdateOIDCProvider(ctx, p); err != nil {
		if store.IsNotFound(err) {
			return noSuchOIDCProvider(arn.OIDCProvider(p.Account, p.Name))
		}
		return internal(err, what)
	}
	return nil
}

// CreateOpenIDConnectProviderInput is the input of CreateOpenIDConnectProvider.
type CreateOpenIDConnectProviderInput struct {
	Url            string   `required:"true" min:"1" max:"255"`
	ClientIDList   []string `max:"100" memberMin:"1" memberMax:"255"`
	ThumbprintList []string `max:"5" memberMin:"40" memberMax:"40"`
	Tags           []Tag    `max:"50"`
}

// CreateOpenIDConnectProviderOutput is the output of CreateOpenIDConnectProvider.
type CreateOpenIDConnectProviderOutput struct {
	OpenIDConnectProviderArn string `xml:"OpenIDConnectProviderArn"`
	Tags                     []Tag  `xml:"Tags>member,omitempty"`
}

// CreateOpenIDConnectProvider creates a provider. Without ThumbprintList the
// provider's TLS certificate must chain to a trusted root.
func (s *Service) CreateOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *CreateOpenIDConnectProviderInput) (*CreateOpenIDConnectProviderOutput, error) {
	name, err := oidcName(in.Url)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	ids, err := checkClientIDs(in.ClientIDList)
	if err != nil {
		return nil, err
	}
	tps, err := checkThumbprints(in.ThumbprintList)
	if err != nil {
		return nil, err
	}
	a := arn.OIDCProvider(c.Account, name)
	if err := s.check(ctx, c, "iam:CreateOpenIDConnectProvider", a, requestTagKeys(in.Tags)...); err != nil {
		return nil, err
	}
	existing, err := s.store.ListOIDCProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "create oidc provider")
	}
	if len(existing) >= maxOIDCProviders {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for OpenIdConnectProvidersPerAccount: %d", maxOIDCProviders)
	}
	p := store.OIDCProvider{Account: c.Account, Name: name, ClientIDs: ids, Thumbprints: tps, CreatedAt: s.time(), Tags: storeTags(in.Tags)}
	if err := s.store.CreateOIDCProvider(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "Provider with url %s already exists.", in.Url)
		}
		return nil, internal(err, "create oidc provider")
	}
	return &CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: a, Tags: tagsOut(p.Tags)}, nil
}

// OIDCProviderInput names a provider.
type OIDCProviderInput struct {
	OpenIDConnectProviderArn string `required:"true" min:"20" max:"2048"`
}

// GetOpenIDConnectProviderOutput is the output of GetOpenIDConnectProvider.
type GetOpenIDConnectProviderOutput struct {
	Url            string    `xml:"Url"`
	ClientIDList   []string  `xml:"ClientIDList>member"`
	ThumbprintList []string  `xml:"ThumbprintList>member"`
	CreateDate     time.Time `xml:"CreateDate"`
	Tags           []Tag     `xml:"Tags>member"`
}

// GetOpenIDConnectProvider returns a provider.
func (s *Service) GetOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *OIDCProviderInput) (*GetOpenIDConnectProviderOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:GetOpenIDConnectProvider", in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	return &GetOpenIDConnectProviderOutput{Url: p.Name, ClientIDList: p.ClientIDs, ThumbprintList: p.Thumbprints, CreateDate: p.CreatedAt.UTC(), Tags: tagsOut(p.Tags)}, nil
}

// ListOpenIDConnectProvidersInput is the (empty) input of ListOpenIDConnectProviders.
type ListOpenIDConnectProvidersInput struct{}

// OIDCProviderListEntry is one entry of ListOpenIDConnectProviders.
type OIDCProviderListEntry struct {
	ARN string `xml:"Arn"`
}

// ListOpenIDConnectProvidersOutput is the output of ListOpenIDConnectProviders.
type ListOpenIDConnectProvidersOutput struct {
	OpenIDConnectProviderList []OIDCProviderListEntry `xml:"OpenIDConnectProviderList>member"`
}

// ListOpenIDConnectProviders lists the account's providers (at most 100,
// so unpaginated, as in AWS).
func (s *Service) ListOpenIDConnectProviders(ctx context.Context, c *authz.Caller, _ *ListOpenIDConnectProvidersInput) (*ListOpenIDConnectProvidersOutput, error) {
	if err := s.check(ctx, c, "iam:ListOpenIDConnectProviders", "*"); err != nil {
		return nil, err
	}
	ps, err := s.store.ListOIDCProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "list oidc providers")
	}
	out := &ListOpenIDConnectProvidersOutput{OpenIDConnectProviderList: []OIDCProviderListEntry{}}
	for _, p := range ps {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, OIDCProviderListEntry{ARN: arn.OIDCProvider(p.Account, p.Name)})
	}
	return out, nil
}

// DeleteOpenIDConnectProviderOutput is the (empty) output of DeleteOpenIDConnectProvider.
type DeleteOpenIDConnectProviderOutput struct{}

// DeleteOpenIDConnectProvider deletes a provider; deleting one that does
// not exist succeeds, as in AWS. Sessions already issued stay valid.
func (s *Service) DeleteOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *OIDCProviderInput) (*DeleteOpenIDConnectProviderOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:DeleteOpenIDConnectProvider", in.OpenIDConnectProviderArn)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.NoSuchEntity {
			return &DeleteOpenIDConnectProviderOutput{}, nil
		}
		return nil, err
	}
	if err := s.store.DeleteOIDCProvider(ctx, p.Account, p.Name); err != nil && !store.IsNotFound(err) {
		return nil, internal(err, "delete oidc provider")
	}
	return &DeleteOpenIDConnectProviderOutput{}, nil
}

// ClientIDInput names a provider and a client id.
type ClientIDInput struct {
	OpenIDConnectProviderArn string `required:"true" min:"20" max:"2048"`
	ClientID                 string `required:"true" min:"1" max:"255"`
}

// AddClientIDToOpenIDConnectProviderOutput is the (empty) output.
type AddClientIDToOpenIDConnectProviderOutput struct{}

// AddClientIDToOpenIDConnectProvider adds a client id (no-op when listed).
func (s *Service) AddClientIDToOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *ClientIDInput) (*AddClientIDToOpenIDConnectProviderOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:AddClientIDToOpenIDConnectProvider", in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	if slices.Contains(p.ClientIDs, in.ClientID) {
		return &AddClientIDToOpenIDConnectProviderOutput{}, nil
	}
	if len(p.ClientIDs) >= maxOIDCClientIDs {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxOIDCClientIDs)
	}
	p.ClientIDs = append(p.ClientIDs, in.ClientID)
	return done[AddClientIDToOpenIDConnectProviderOutput](s.saveOIDC(ctx, p, "add client id"))
}

// RemoveClientIDFromOpenIDConnectProviderOutput is the (empty) output.
type RemoveClientIDFromOpenIDConnectProviderOutput struct{}

// RemoveClientIDFromOpenIDConnectProvider removes a client id (no-op when
// not listed).
func (s *Service) RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *ClientIDInput) (*RemoveClientIDFromOpenIDConnectProviderOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:RemoveClientIDFromOpenIDConnectProvider", in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	i := slices.Index(p.ClientIDs, in.ClientID)
	if i < 0 {
		return &RemoveClientIDFromOpenIDConnectProviderOutput{}, nil
	}
	p.ClientIDs = slices.Delete(p.ClientIDs, i, i+1)
	return done[RemoveClientIDFromOpenIDConnectProviderOutput](s.saveOIDC(ctx, p, "remove client id"))
}

// UpdateOpenIDConnectProviderThumbprintInput is the input of UpdateOpenIDConnectProviderThumbprint.
type UpdateOpenIDConnectProviderThumbprintInput struct {
	OpenIDConnectProviderArn string   `required:"true" min:"20" max:"2048"`
	ThumbprintList           []string `required:"true" max:"5" memberMin:"40" memberMax:"40"`
}

// UpdateOpenIDConnectProviderThumbprintOutput is the (empty) output.
type UpdateOpenIDConnectProviderThumbprintOutput struct{}

// UpdateOpenIDConnectProviderThumbprint replaces the thumbprint list.
func (s *Service) UpdateOpenIDConnectProviderThumbprint(ctx context.Context, c *authz.Caller, in *UpdateOpenIDConnectProviderThumbprintInput) (*UpdateOpenIDConnectProviderThumbprintOutput, error) {
	tps, err := checkThumbprints(in.ThumbprintList)
	if err != nil {
		return nil, err
	}
	p, err := s.authOIDC(ctx, c, "iam:UpdateOpenIDConnectProviderThumbprint", in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	p.Thumbprints = tps
	return done[UpdateOpenIDConnectProviderThumbprintOutput](s.saveOIDC(ctx, p, "update thumbprints"))
}

// TagOpenIDConnectProviderInput is the input of TagOpenIDConnectProvider.
type TagOpenIDConnectProviderInput struct {
	OpenIDConnectProviderArn string `required:"true" min:"20" max:"2048"`
	Tags                     []Tag  `required:"true" max:"50"`
}

// TagOpenIDConnectProviderOutput is the (empty) output.
type TagOpenIDConnectProviderOutput struct{}

// TagOpenIDConnectProvider adds or replaces tags.
func (s *Service) TagOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *TagOpenIDConnectProviderInput) (*TagOpenIDConnectProviderOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	p, err := s.authOIDC(ctx, c, "iam:TagOpenIDConnectProvider", in.OpenIDConnectProviderArn, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	if p.Tags, err = mergeTags(p.Tags, in.Tags, "TagsPerOpenIdConnectProvider"); err != nil {
		return nil, err
	}
	return done[TagOpenIDConnectProviderOutput](s.saveOIDC(ctx, p, "tag oidc provider"))
}

// UntagOpenIDConnectProviderInput is the input of UntagOpenIDConnectProvider.
type UntagOpenIDConnectProviderInput struct {
	OpenIDConnectProviderArn string   `required:"true" min:"20" max:"2048"`
	TagKeys                  []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagOpenIDConnectProviderOutput is the (empty) output.
type UntagOpenIDConnectProviderOutput struct{}

// UntagOpenIDConnectProvider removes tags.
func (s *Service) UntagOpenIDConnectProvider(ctx context.Context, c *authz.Caller, in *UntagOpenIDConnectProviderInput) (*UntagOpenIDConnectProviderOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:UntagOpenIDConnectProvider", in.OpenIDConnectProviderArn, authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	p.Tags = removeTags(p.Tags, in.TagKeys)
	return done[UntagOpenIDConnectProviderOutput](s.saveOIDC(ctx, p, "untag oidc provider"))
}

// ListOpenIDConnectProviderTagsInput is the input of ListOpenIDConnectProviderTags.
type ListOpenIDConnectProviderTagsInput struct {
	OpenIDConnectProviderArn string `required:"true" min:"20" max:"2048"`
	Marker                   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems                 *int32 `min:"1" max:"1000"`
}

// ListOpenIDConnectProviderTagsOutput is the output of ListOpenIDConnectProviderTags.
type ListOpenIDConnectProviderTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListOpenIDConnectProviderTags lists a provider's tags.
func (s *Service) ListOpenIDConnectProviderTags(ctx context.Context, c *authz.Caller, in *ListOpenIDConnectProviderTagsInput) (*ListOpenIDConnectProviderTagsOutput, error) {
	p, err := s.authOIDC(ctx, c, "iam:ListOpenIDConnectProviderTags", in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	tags, page, err := listTags(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListOpenIDConnectProviderTagsOutput{Tags: tags, Page: page}, nil
}

package iam

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/federation/saml"
	"github.com/opensts/opensts/internal/store"
)

// SAML identity providers (reference §6.4, §11.2): an account resource named
// arn:aws:iam::ACCOUNT:saml-provider/NAME whose metadata document supplies
// the IdP's entity id and signing certificates for AssumeRoleWithSAML. The
// document is checked when it is uploaded and stored as uploaded.
// AssertionEncryptionMode and private keys (encrypted assertions) are not
// supported yet: a request that sets them is refused, never ignored.

const (
	maxSAMLProvidersPerAccount = 100
	samlProviderNamePattern    = `[\w._-]+`
	// samlValidity is how long a provider is valid when its metadata says
	// nothing (IAM reports ValidUntil 100 years after creation).
	samlValidity = 100 * 365 * 24 * time.Hour
)

func validSAMLProviderName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
		default:
			return false
		}
	}
	return true
}

// samlMetadata validates a metadata document for upload.
func samlMetadata(doc string) (*saml.Metadata, error) {
	md, err := saml.ParseMetadata([]byte(doc))
	if err != nil {
		return nil, apierr.New(apierr.InvalidInput, "Could not parse metadata: %s", err.Error())
	}
	return md, nil
}

func noSuchSAMLProvider(a string) error {
	return apierr.New(apierr.NoSuchEntity, "Manifest not found for arn %s", a)
}

// authSAMLProvider parses a provider ARN of the caller's account, authorizes
// action on it (on the stored ARN when it exists, so a Deny on one spelling
// holds for every spelling) and returns the provider; NoSuchEntity after
// authorization when it does not exist.
func (s *Service) authSAMLProvider(ctx context.Context, c *authz.Caller, action, providerARN string, keys ...authz.Key) (store.SAMLProvider, error) {
	r, ok := arn.ParseIAM(providerARN, "saml-provider")
	if !ok || r.Path != "/" || !validSAMLProviderName(r.Name) {
		return store.SAMLProvider{}, apierr.New(apierr.InvalidInput, "ARN %s is not valid.", providerARN)
	}
	var p store.SAMLProvider
	found := false
	if r.Account == c.Account {
		var err error
		p, err = s.store.GetSAMLProvider(ctx, c.Account, r.Name)
		switch {
		case err == nil:
			found = true
		case !isNotFound(err):
			return store.SAMLProvider{}, internal(err, "load saml provider")
		}
	}
	resource := providerARN
	if found {
		resource = p.ARN
		keys = append(keys, resourceTagKeys(p.Tags)...)
	}
	if err := s.checkAs(ctx, c, action, resource, providerARN, keys...); err != nil {
		return store.SAMLProvider{}, err
	}
	if !found {
		return store.SAMLProvider{}, noSuchSAMLProvider(providerARN)
	}
	return p, nil
}

func refuseEncryption(mode, addKey string) error {
	if mode != "" || addKey != "" {
		return apierr.New(apierr.InvalidInput, "Encrypted SAML assertions are not supported by this server.")
	}
	return nil
}

// CreateSAMLProviderInput is the input of CreateSAMLProvider.
type CreateSAMLProviderInput struct {
	SAMLMetadataDocument    string `required:"true" min:"1000" max:"10000000"`
	Name                    string `required:"true" min:"1" max:"128" pattern:"[\\w._-]+"`
	Tags                    []Tag  `max:"50"`
	AssertionEncryptionMode string `pattern:"Required|Allowed"`
	AddPrivateKey           string `min:"1" max:"16384" sensitive:"true"`
}

// CreateSAMLProviderOutput is the output of CreateSAMLProvider.
type CreateSAMLProviderOutput struct {
	SAMLProviderARN string `xml:"SAMLProviderArn"`
	Tags            []Tag  `xml:"Tags>member,omitempty"`
}

// CreateSAMLProvider creates a SAML identity provider from its metadata.
func (s *Service) CreateSAMLProvider(ctx context.Context, c *authz.Caller, in *CreateSAMLProviderInput) (*CreateSAMLProviderOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if !validSAMLProviderName(in.Name) {
		return nil, apierr.Validation("Value '" + in.Name + "' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: " + samlProviderNamePattern)
	}
	a := arn.IAM(c.Account, "saml-provider/"+in.Name)
	if err := s.check(ctx, c, "iam:CreateSAMLProvider", a, requestTagKeys(in.Tags)...); err != nil {
		return nil, err
	}
	if err := refuseEncryption(in.AssertionEncryptionMode, in.AddPrivateKey); err != nil {
		return nil, err
	}
	if _, err := samlMetadata(in.SAMLMetadataDocument); err != nil {
		return nil, err
	}
	existing, err := s.store.ListSAMLProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "count saml providers")
	}
	if len(existing) >= maxSAMLProvidersPerAccount {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for SAMLProvidersPerAccount: %d", maxSAMLProvidersPerAccount)
	}
	now := s.time()
	p := store.SAMLProvider{Account: c.Account, Name: in.Name, ARN: a, MetadataDocument: in.SAMLMetadataDocument,
		CreatedAt: now, ValidUntil: now.Add(samlValidity), Tags: storeTags(in.Tags)}
	if err := s.store.CreateSAMLProvider(ctx, p); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "SAMLProvider %s already exists.", in.Name)
		}
		return nil, internal(err, "create saml provider")
	}
	return &CreateSAMLProviderOutput{SAMLProviderARN: a, Tags: tagsOut(p.Tags)}, nil
}

// GetSAMLProviderInput is the input of GetSAMLProvider.
type GetSAMLProviderInput struct {
	SAMLProviderARN string `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
}

// GetSAMLProviderOutput is the output of GetSAMLProvider.
type GetSAMLProviderOutput struct {
	SAMLMetadataDocument string    `xml:"SAMLMetadataDocument"`
	CreateDate           time.Time `xml:"CreateDate"`
	ValidUntil           time.Time `xml:"ValidUntil"`
	Tags                 []Tag     `xml:"Tags>member,omitempty"`
}

// GetSAMLProvider returns a provider's metadata document.
func (s *Service) GetSAMLProvider(ctx context.Context, c *authz.Caller, in *GetSAMLProviderInput) (*GetSAMLProviderOutput, error) {
	p, err := s.authSAMLProvider(ctx, c, "iam:GetSAMLProvider", in.SAMLProviderARN)
	if err != nil {
		return nil, err
	}
	return &GetSAMLProviderOutput{SAMLMetadataDocument: p.MetadataDocument, CreateDate: p.CreatedAt.UTC(), ValidUntil: p.ValidUntil.UTC(), Tags: tagsOut(p.Tags)}, nil
}

// ListSAMLProvidersInput is the input of ListSAMLProviders.
type ListSAMLProvidersInput struct{}

// SAMLProviderListEntry is one provider of ListSAMLProviders.
type SAMLProviderListEntry struct {
	ARN        string    `xml:"Arn"`
	ValidUntil time.Time `xml:"ValidUntil"`
	CreateDate time.Time `xml:"CreateDate"`
}

// ListSAMLProvidersOutput is the output of ListSAMLProviders.
type ListSAMLProvidersOutput struct {
	SAMLProviderList []SAMLProviderListEntry `xml:"SAMLProviderList>member"`
}

// ListSAMLProviders lists the account's providers (not paginated, as in AWS;
// at most 100).
func (s *Service) ListSAMLProviders(ctx context.Context, c *authz.Caller, _ *ListSAMLProvidersInput) (*ListSAMLProvidersOutput, error) {
	if err := s.check(ctx, c, "iam:ListSAMLProviders", "*"); err != nil {
		return nil, err
	}
	list, err := s.store.ListSAMLProviders(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "list saml providers")
	}
	out := &ListSAMLProvidersOutput{SAMLProviderList: make([]SAMLProviderListEntry, 0, len(list))}
	for _, p := range list {
		out.SAMLProviderList = append(out.SAMLProviderList, SAMLProviderListEntry{ARN: p.ARN, ValidUntil: p.ValidUntil.UTC(), CreateDate: p.CreatedAt.UTC()})
	}
	return out, nil
}

// UpdateSAMLProviderInput is the input of UpdateSAMLProvider.
type UpdateSAMLProviderInput struct {
	SAMLMetadataDocument    string `min:"1000" max:"10000000"`
	SAMLProviderARN         string `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
	AssertionEncryptionMode string `pattern:"Required|Allowed"`
	AddPrivateKey           string `min:"1" max:"16384" sensitive:"true"`
	RemovePrivateKey        string `min:"22" max:"64"`
}

// UpdateSAMLProviderOutput is the output of UpdateSAMLProvider.
type UpdateSAMLProviderOutput struct {
	SAMLProviderARN string `xml:"SAMLProviderArn"`
}

// UpdateSAMLProvider replaces a provider's metadata document (key rotation).
func (s *Service) UpdateSAMLProvider(ctx context.Context, c *authz.Caller, in *UpdateSAMLProviderInput) (*UpdateSAMLProviderOutput, error) {
	p, err := s.authSAMLProvider(ctx, c, "iam:UpdateSAMLProvider", in.SAMLProviderARN)
	if err != nil {
		return nil, err
	}
	if err := refuseEncryption(in.AssertionEncryptionMode, in.AddPrivateKey+in.RemovePrivateKey); err != nil {
		return nil, err
	}
	if in.SAMLMetadataDocument == "" {
		return nil, apierr.Validation("SAMLMetadataDocument is required")
	}
	if _, err := samlMetadata(in.SAMLMetadataDocument); err != nil {
		return nil, err
	}
	p.MetadataDocument = in.SAMLMetadataDocument
	if err := s.updateSAMLProvider(ctx, p); err != nil {
		return nil, err
	}
	return &UpdateSAMLProviderOutput{SAMLProviderARN: p.ARN}, nil
}

func (s *Service) updateSAMLProvider(ctx context.Context, p store.SAMLProvider) error {
	if err := s.store.UpdateSAMLProvider(ctx, p); err != nil {
		if isNotFound(err) {
			return noSuchSAMLProvider(p.ARN)
		}
		return internal(err, "update saml provider")
	}
	return nil
}

// DeleteSAMLProviderInput is the input of DeleteSAMLProvider.
type DeleteSAMLProviderInput struct {
	SAMLProviderARN string `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
}

// DeleteSAMLProviderOutput is the (empty) output of DeleteSAMLProvider.
type DeleteSAMLProviderOutput struct{}

// DeleteSAMLProvider deletes a provider. Sessions it issued stay valid until
// they expire (revoke them to end them earlier); new assertions are refused.
func (s *Service) DeleteSAMLProvider(ctx context.Context, c *authz.Caller, in *DeleteSAMLProviderInput) (*DeleteSAMLProviderOutput, error) {
	p, err := s.authSAMLProvider(ctx, c, "iam:DeleteSAMLProvider", in.SAMLProviderARN)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteSAMLProvider(ctx, p.Account, p.Name); err != nil {
		if isNotFound(err) {
			return nil, noSuchSAMLProvider(in.SAMLProviderARN)
		}
		return nil, internal(err, "delete saml provider")
	}
	return &DeleteSAMLProviderOutput{}, nil
}

// TagSAMLProviderInput is the input of TagSAMLProvider.
type TagSAMLProviderInput struct {
	SAMLProviderARN string `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
	Tags            []Tag  `required:"true" max:"50"`
}

// TagSAMLProviderOutput is the (empty) output of TagSAMLProvider.
type TagSAMLProviderOutput struct{}

// TagSAMLProvider adds or replaces tags on a provider.
func (s *Service) TagSAMLProvider(ctx context.Context, c *authz.Caller, in *TagSAMLProviderInput) (*TagSAMLProviderOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	p, err := s.authSAMLProvider(ctx, c, "iam:TagSAMLProvider", in.SAMLProviderARN, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	if p.Tags, err = mergeTags(p.Tags, in.Tags, "TagsPerSAMLProvider"); err != nil {
		return nil, err
	}
	return done[TagSAMLProviderOutput](s.updateSAMLProvider(ctx, p))
}

// UntagSAMLProviderInput is the input of UntagSAMLProvider.
type UntagSAMLProviderInput struct {
	SAMLProviderARN string   `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
	TagKeys         []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagSAMLProviderOutput is the (empty) output of UntagSAMLProvider.
type UntagSAMLProviderOutput struct{}

// UntagSAMLProvider removes tags (keys compare case-insensitively).
func (s *Service) UntagSAMLProvider(ctx context.Context, c *authz.Caller, in *UntagSAMLProviderInput) (*UntagSAMLProviderOutput, error) {
	p, err := s.authSAMLProvider(ctx, c, "iam:UntagSAMLProvider", in.SAMLProviderARN,
		authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	p.Tags = removeTags(p.Tags, in.TagKeys)
	return done[UntagSAMLProviderOutput](s.updateSAMLProvider(ctx, p))
}

// ListSAMLProviderTagsInput is the input of ListSAMLProviderTags.
type ListSAMLProviderTagsInput struct {
	SAMLProviderARN string `query:"SAMLProviderArn" required:"true" min:"20" max:"2048"`
	Marker          string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems        *int32 `min:"1" max:"1000"`
}

// ListSAMLProviderTagsOutput is the output of ListSAMLProviderTags.
type ListSAMLProviderTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListSAMLProviderTags lists a provider's tags.
func (s *Service) ListSAMLProviderTags(ctx context.Context, c *authz.Caller, in *ListSAMLProviderTagsInput) (*ListSAMLProviderTagsOutput, error) {
	p, err := s.authSAMLProvider(ctx, c, "iam:ListSAMLProviderTags", in.SAMLProviderARN)
	if err != nil {
		return nil, err
	}
	tags, page, err := listTags(p.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListSAMLProviderTagsOutput{Tags: tags, Page: page}, nil
}

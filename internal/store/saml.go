package store

import (
	"context"
	"time"
)

// SAMLProvider is an IAM SAML identity provider: its metadata document
// (entity id and signing certificates) as uploaded. Names are unique
// case-insensitively within an account.
type SAMLProvider struct {
	Account          string
	Name             string
	ARN              string // arn:aws:iam::ACCOUNT:saml-provider/NAME
	MetadataDocument string
	CreatedAt        time.Time
	// ValidUntil is the end of the provider's validity ("" metadata
	// validUntil: CreatedAt + 100 years, as IAM reports it).
	ValidUntil time.Time
	Tags       []Tag
}

// SAMLProviders stores SAML identity providers.
type SAMLProviders interface {
	CreateSAMLProvider(ctx context.Context, p SAMLProvider) error
	// GetSAMLProvider looks a provider up by name (case-insensitively).
	GetSAMLProvider(ctx context.Context, account, name string) (SAMLProvider, error)
	// UpdateSAMLProvider replaces MetadataDocument, ValidUntil and Tags of
	// the provider with p's Account and Name.
	UpdateSAMLProvider(ctx context.Context, p SAMLProvider) error
	DeleteSAMLProvider(ctx context.Context, account, name string) error
	// ListSAMLProviders lists an account's providers sorted by name.
	ListSAMLProviders(ctx context.Context, account string) ([]SAMLProvider, error)
}

// SAMLAssertions is the replay cache of accepted SAML assertions, shared by
// every node of a deployment. Keys are opaque (a hash of issuer and
// assertion id); no assertion content is stored.
type SAMLAssertions interface {
	// RecordSAMLAssertion records key as used until expires. It returns
	// ErrAlreadyExists, atomically, when key is recorded with an expiry
	// after now (a replay); an entry that expired by now is replaced.
	RecordSAMLAssertion(ctx context.Context, key []byte, expires, now time.Time) error
	// PruneSAMLAssertions deletes the entries that expired before before
	// and returns how many.
	PruneSAMLAssertions(ctx context.Context, before time.Time) (int64, error)
}
